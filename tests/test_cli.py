from pathlib import Path

from typer.testing import CliRunner

from seedforge.cli import app
from seedforge.config.params import load_params
from seedforge.testing.project import REPO

runner = CliRunner()


def test_iterations_rewrites_both_lists_and_keeps_comments(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text((REPO / "params.yaml").read_text())
    result = runner.invoke(app, ["iterations", "4", "--params", str(params)])
    assert result.exit_code == 0, result.output
    p = load_params(params)
    assert p.loop.iterations == [0, 1, 2, 3, 4] and [r.next for r in p.loop.rounds] == [1, 2, 3, 4]
    assert "# hardest | wrong (LLM2LLM) | all | wrong_any (wrong incl. generated)" in params.read_text()


def test_validate_reports_bad_key_in_one_line(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text((REPO / "params.yaml").read_text().replace("  k: 4", "  k: four"))
    result = runner.invoke(app, ["validate", "--params", str(params)])
    assert result.exit_code == 1
    assert "key 'loop.k'" in result.output and result.output.count("\n") == 1


def test_exp_args() -> None:
    result = runner.invoke(app, ["iterations", "2", "--exp-args"])
    assert (
        result.output.strip() == "-S 'loop.iterations=[0,1,2]' -S 'loop.rounds=[{i:0,next:1},{i:1,next:2}]'"
    )


def test_exp_args_are_accepted_by_dvc_overrides(tmp_path: Path) -> None:
    """The printed -S arguments, applied by DVC's own override code, give a valid 3-round recipe."""
    import shlex

    from dvc.utils.hydra import apply_overrides

    params = tmp_path / "params.yaml"
    params.write_text((REPO / "params.yaml").read_text())
    printed = runner.invoke(app, ["iterations", "3", "--exp-args"]).output
    overrides = [arg for arg in shlex.split(printed) if arg != "-S"]
    apply_overrides(params, overrides)
    loop = load_params(params).loop
    assert loop.iterations == [0, 1, 2, 3] and [(r.i, r.next) for r in loop.rounds] == [
        (0, 1),
        (1, 2),
        (2, 3),
    ]


def test_cache_stats_and_prune(tmp_path: Path) -> None:
    import sqlite3
    import time

    from seedforge.teachers.cache import CallCache

    db = tmp_path / "calls.sqlite"
    cache = CallCache(db)
    for i in range(3):
        cache.put(f"k{i}", {"text": "x"}, profile="tiny")
    cache.put("old", {"text": "y"}, profile="llama70b")
    cache.close()
    with sqlite3.connect(db) as con:  # make one entry ten days old
        con.execute("UPDATE calls SET created = ? WHERE key = 'old'", (time.time() - 10 * 86400,))
    result = runner.invoke(app, ["cache", "stats", "--cache", str(db)])
    assert result.exit_code == 0, result.output
    assert "4 answered calls" in result.output and "tiny: 3 calls" in result.output
    assert "llama70b: 1 calls" in result.output
    result = runner.invoke(app, ["cache", "prune", "--cache", str(db), "--older-than", "5"])
    assert result.exit_code == 0 and "removed 1 answered calls" in result.output
    result = runner.invoke(app, ["cache", "prune", "--cache", str(db), "--profile", "tiny"])
    assert "removed 3 answered calls" in result.output
    assert CallCache(db).get("k0") is None
    result = runner.invoke(app, ["cache", "prune", "--cache", str(db)])
    assert result.exit_code == 1 and "--older-than" in result.output
    missing = runner.invoke(app, ["cache", "stats", "--cache", str(tmp_path / "none.sqlite")])
    assert missing.exit_code == 1 and "no call cache here yet" in missing.output

"""final: the shipped dataset is the iteration whose student scored best on dev (ties: earlier)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from seedforge.audit import checks, diff
from seedforge.audit.snapshot import Snapshot
from seedforge.io import read_json, write_json
from seedforge.loop import final
from seedforge.schema import layout
from seedforge.schema.records import Record, write_records
from seedforge.testing.project import REPO


def project(tmp_path: Path, dev: list[float] | None) -> Path:
    """Three iterations with growing datasets and the given dev scores (None: no dev set)."""
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["loop"].update(iterations=[0, 1, 2], rounds=[{"i": 0, "next": 1}, {"i": 1, "next": 2}])
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    rows = [Record.seed("classification", f"text {n}", "a" if n % 2 else "b") for n in range(6)]
    for i in range(3):
        write_records(tmp_path / layout.dataset(i), rows[: 2 + 2 * i])
        ev = {"iteration": i, "test_accuracy": 0.5 + i / 10, "test_score": 0.5 + i / 10, "test_total": 10}
        if dev is not None:
            ev |= {"dev_accuracy": dev[i], "dev_score": dev[i], "dev_total": 10}
        write_json(tmp_path / layout.metrics("evaluate", i), ev)
    return tmp_path


def run_final(root: Path) -> subprocess.CompletedProcess[str]:
    args = ["--evaluations", "metrics/evaluate", "--iterations", "data/iterations"]
    args += ["--out", layout.FINAL_DATASET, "--metrics", layout.FINAL_METRICS]
    cmd = [sys.executable, "-m", "stages.final", *args]
    env_path = f"{REPO / 'src'}:{REPO}"
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, env={"PYTHONPATH": env_path})


def test_best_dev_wins_ties_go_to_the_earlier_and_the_bytes_are_the_iterations(tmp_path: Path) -> None:
    root = project(tmp_path, dev=[0.6, 0.8, 0.8])
    out = run_final(root)
    assert out.returncode == 0, out.stderr
    chosen = read_json(root / layout.FINAL_METRICS)
    assert chosen["iteration"] == 1 and chosen["chosen_by"] == "dev" and "tied with 2" in chosen["reason"]
    assert chosen["student"] == "models/student/1" and chosen["dataset_size"] == 4
    assert chosen["dev_accuracy"] == 0.8 and chosen["test_accuracy"] == 0.6
    assert (root / layout.FINAL_DATASET).read_bytes() == (root / layout.dataset(1)).read_bytes()
    assert "final: iteration 1 (best dev score" in out.stderr  # its one log line
    # diff and audit read it: `final` is a dataset spec; an edited final file is a finding
    assert diff.resolve("final", root).path == layout.FINAL_DATASET
    assert not [f for f in checks.audit(Snapshot(root)).findings if f.check == "final_mismatch"]
    write_records(root / layout.FINAL_DATASET, [Record.seed("classification", "edited", "a")])
    found = [f for f in checks.audit(Snapshot(root)).findings if f.check == "final_mismatch"]
    assert len(found) == 1 and "iteration 1" in found[0].message


def test_without_a_dev_set_the_last_iteration_is_taken_and_it_says_so(tmp_path: Path) -> None:
    root = project(tmp_path, dev=None)
    assert run_final(root).returncode == 0
    chosen = read_json(root / layout.FINAL_METRICS)
    assert chosen["iteration"] == 2 and chosen["chosen_by"] == "last" and "no dev set" in chosen["reason"]
    assert chosen["dev_accuracy"] is None and chosen["test_accuracy"] == 0.7


def test_a_missing_evaluation_is_one_line_naming_the_file(tmp_path: Path) -> None:
    root = project(tmp_path, dev=[0.1, 0.2, 0.3])
    (root / layout.metrics("evaluate", 2)).unlink()
    out = run_final(root)
    assert out.returncode == 1 and not (root / layout.FINAL_DATASET).exists()
    assert out.stderr.strip().splitlines() == [
        "error: metrics/evaluate/2.json: missing (evaluate@2 has not run)"
    ]


def test_choose_prefers_dev_over_a_better_test_score() -> None:
    """The test set plays no part in the choice: the final test score stays an honest estimate."""
    ev = {0: {"dev_score": 0.9, "dev_total": 5, "test_score": 0.1}, 1: {"dev_score": 0.5, "dev_total": 5}}
    assert final.choose(ev)["iteration"] == 0

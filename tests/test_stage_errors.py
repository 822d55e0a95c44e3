"""Bad input to the prepare stage: one line naming the file/row/key, exit status 1, nothing written.

The recipe errors run the stage in-process, through the same `stage.run` wrapper its script uses
(seconds); one case goes through `dvc repro` in a real project, for the exit-code contract end to end.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from seedforge import stage
from seedforge.testing.project import REPO, copy_project

# stages/prepare.py's arguments as dvc.yaml passes them.
PREPARE_ARGS = [
    "--out", "data/prepared", "--dataset", "data/iterations/0/dataset.jsonl",
    "--cache", ".seedforge/cache/embeddings", "--metrics", "metrics/prepare.json",
]  # fmt: skip


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What prepare reads, as copy_project lays it out (teacher: tiny), without git or DVC."""
    dest = tmp_path_factory.mktemp("errors")
    for name in ("data/raw", "prompts"):
        shutil.copytree(REPO / name, dest / name)
    recipe = re.sub(r"(?m)^teacher: .*$", "teacher: tiny", (REPO / "params.yaml").read_text())
    (dest / "params.yaml").write_text(recipe)
    return dest


def run_prepare(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> str:
    """Run stages/prepare.py's main in `project`, as its script does; its stderr once it exits 1."""
    from stages import prepare as script

    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "argv", ["stages/prepare.py", *PREPARE_ARGS])
    # stage.run's logging.basicConfig would leave the root logger writing to this test's captured
    # stderr for the rest of the session: give it a handler list of its own, restored afterwards.
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        stage.run(script.main)
    assert exit.value.code == 1
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        (
            "teacher: tiny\n",
            "teacher: gpt9\n",
            "error: params.yaml: key 'teacher': unknown teacher profile 'gpt9' (profiles: llama70b, ",
        ),
        (
            "student: minilm\n",
            "student: bert9\n",
            "error: params.yaml: key 'student': unknown student profile 'bert9'",
        ),
        (
            "output: label}\n  dev:",
            "output: intent}\n  dev:",
            "error: data/raw/demo/test.csv: row 1: missing column 'intent' (columns: text, label)",
        ),
        (
            "seed: {path: data/raw/demo/seed.csv",
            "seed: {path: data/raw/demo/nope.csv",
            "error: data/raw/demo/nope.csv: file not found",
        ),
    ],
)
def test_bad_recipe_fails_prepare_cleanly(
    clean: Path, tmp_path: Path, old: str, new: str, error: str, monkeypatch, capsys
) -> None:
    project = tmp_path / "p"
    shutil.copytree(clean, project)
    params = (project / "params.yaml").read_text()
    assert old in params
    (project / "params.yaml").write_text(params.replace(old, new, 1))
    err = run_prepare(project, monkeypatch, capsys)
    ours = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(ours) == 1 and ours[0].startswith(error), err
    assert not (project / "data" / "prepared").exists()
    assert not (project / "data" / "iterations").exists()
    assert not (project / "metrics").exists()


def test_a_test_label_missing_from_the_seed_set(tmp_path: Path, dvc_cache: Path) -> None:
    """Through `dvc repro` in a real project: the stage's one line, and DVC's own non-zero exit."""
    project = copy_project(tmp_path / "p", cache_dir=dvc_cache)
    test_csv = project / "data" / "raw" / "demo" / "test.csv"
    lines = test_csv.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",refunds"
    test_csv.write_text("\n".join(lines) + "\n")
    out = subprocess.run(["dvc", "repro", "prepare"], cwd=project, capture_output=True, text=True)
    assert out.returncode != 0
    assert (
        "error: data/raw/demo/test.csv: row 3: column 'label': label 'refunds' is not in the seed set's "
        "labels (account, billing, delivery, technical)"
    ) in out.stderr


def test_stages_silence_library_bars_and_future_warnings_but_not_ours() -> None:
    """A stage's log reads like a tool's: no weight-loading or de-quantizing bars, no libraries'
    FutureWarnings; a warning from anywhere else still prints."""
    import os
    import subprocess
    import sys

    code = (
        "import stages, warnings, os\n"
        "from transformers.utils import logging\n"
        "print(logging.is_progress_bar_enabled(), os.environ['TQDM_DISABLE'])\n"
        "warnings.warn_explicit('old api', FutureWarning, 'x.py', 1, module='transformers.modeling_utils')\n"
        "warnings.warn_explicit('act on this', UserWarning, 'y.py', 1, module='seedforge.loop')\n"
        "from seedforge import stage\n"
        "stage.run(lambda: (__import__('logging').getLogger('sentence_transformers.base').info('loading'),"
        " stage.result('filter@0', 'kept 3')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TQDM_DISABLE", "SEEDFORGE_VERBOSE")}
    env.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["False", "1"]
    assert "old api" not in out.stderr and "act on this" in out.stderr
    assert "filter@0: kept 3" in out.stderr and "loading" not in out.stderr  # results, not library chatter

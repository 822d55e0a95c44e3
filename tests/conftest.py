"""Shared fixtures: repository paths, the shared public datasets, a tiny GGUF teacher."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# DVC stages run `python` and tests run `dvc`: both must be this environment's, whoever started pytest.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
os.environ["DVC_NO_ANALYTICS"] = "1"
SHARED_DATA = REPO.parent / "shared" / "data"
DEMO = REPO / "data" / "raw" / "demo"


def pytest_itemcollected(item: pytest.Item) -> None:
    """Under pytest-xdist (`make test` runs `-n 2 --dist loadgroup`) each module's tests stay on one
    worker, so a module-scoped pipeline run is built once, and the modules that read the session's
    `light_run` share a worker, so it is reproduced once. Without xdist the marks do nothing.
    (Marked as each item is collected: xdist reads the marks in its own collection hook.)"""
    uses_light_run = "light_run" in getattr(item, "fixturenames", ())
    item.add_marker(pytest.mark.xdist_group("light_run" if uses_light_run else item.nodeid.split("::")[0]))


def shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} is missing: tests read the public datasets from ../shared/data")
    return path


def copy_project(dest: Path) -> Path:
    """A fresh copy of the project (code, recipe, demo data) as its own git + DVC repo."""
    for name in ("stages", "prompts", "src", "data/raw"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("params.yaml", "dvc.yaml", ".dvcignore", ".gitignore"):
        shutil.copy(REPO / name, dest / name)
    # Tests run the loop with the tiny teacher (seconds a round), whatever `make repro` defaults to;
    # a text edit keeps the recipe's comments, which some tests edit by text.
    recipe = dest / "params.yaml"
    text, n = re.subn(r"(?m)^teacher: .*$", "teacher: tiny", recipe.read_text())
    assert n == 1, "params.yaml must have one top-level `teacher:` line"
    recipe.write_text(text)
    run = lambda *cmd: subprocess.run(cmd, cwd=dest, check=True, capture_output=True)  # noqa: E731
    run("git", "init", "-q")
    run("git", "config", "user.email", "tests@seedforge.invalid")
    run("git", "config", "user.name", "seedforge tests")
    run("dvc", "init", "-q")
    run("dvc", "config", "core.analytics", "false")
    run("git", "add", "-A")
    run("git", "commit", "-qm", "project")
    return dest


def dvc(project: Path, *args: str) -> str:
    """Run dvc in `project`; a failure shows its output."""
    out = subprocess.run(["dvc", *args], cwd=project, capture_output=True, text=True)
    assert out.returncode == 0, f"dvc {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


@pytest.fixture(scope="session")
def light_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The default recipe with 2 rounds and lighter training, reproduced ONCE per session.

    Returns the project and the output of its `dvc repro`. Tests must not change it: take a copy
    with `clone_run` (a plain copy of the folder, git and DVC cache included, is a valid project).
    """
    import yaml

    dest = copy_project(tmp_path_factory.mktemp("light_run"))
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["tiny_teacher"].update(steps=200, pairs=240)
    params["students"]["minilm"].update(epochs=6)
    params["loop"]["k"] = 3
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "commit", "-qam", "light settings"], cwd=dest, check=True)
    return dest, dvc(dest, "repro")


def clone_run(src: Path, dest: Path) -> Path:
    """A private copy of a reproduced project (DVC copies files out of its cache, no links)."""
    shutil.copytree(src, dest, symlinks=True)
    return dest


def tiny_causal_student(model: Path, max_new_tokens: int) -> dict:
    """A students.* profile: a tiny llama saved at `model`, fully fine-tuned for one quick epoch."""
    return {
        "kind": "causal",
        "model": str(model),
        "finetune": "full",
        "epochs": 1,
        "batch_size": 4,
        "learning_rate": 1e-3,
        "max_length": 256,
        "max_new_tokens": max_new_tokens,
    }


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny llama teacher trained briefly on the demo seed set, as GGUF (seconds to build)."""
    from seedforge.config.params import TinyTeacher, load_params
    from seedforge.loop.prepare import prepare
    from seedforge.teachers.prompts import load_template
    from seedforge.training import tiny_teacher

    params = load_params(REPO / "params.yaml")
    prepared = prepare(params.data, root=REPO)
    template = load_template(params.data.template, root=REPO)
    pairs = tiny_teacher.training_pairs(prepared.splits["seed"], template, prepared.task, 2, 64, seed=0)
    out = tmp_path_factory.mktemp("tiny_teacher")
    tiny_teacher.build(pairs, TinyTeacher(steps=60, pairs=64), seed=0, out_dir=out)
    return out / "model.gguf"

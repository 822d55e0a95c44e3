"""Shared fixtures: repository paths, the shared public datasets, a tiny GGUF teacher."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from seedforge.testing.project import REPO, copy_project, dvc

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


@pytest.fixture(scope="session")
def dvc_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One DVC cache and run-cache for every test project of the session, both xdist workers included.

    `copy_project(dest, cache_dir=dvc_cache)`: a stage another project already ran with the same
    command, dependencies and params is restored from the run-cache instead of recomputed (the
    teacher experiment on `light_run`'s two clones, for one). Under xdist each worker's base temp is
    a `popen-gwN` folder of the session's; the cache goes beside them. Without xdist it stays inside
    the session's own folder, so a later session never starts from this one's results.
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cache = root / "dvc-cache"
    cache.mkdir(exist_ok=True)
    return cache


@pytest.fixture(scope="session")
def light_run(tmp_path_factory: pytest.TempPathFactory, dvc_cache: Path) -> tuple[Path, str]:
    """The default recipe with 2 rounds and lighter training, reproduced ONCE per session.

    Returns the project and the output of its `dvc repro`. Tests must not change it: take a copy
    with `clone_run` (a plain copy of the folder, git and DVC cache included, is a valid project).
    """
    import yaml

    dest = copy_project(tmp_path_factory.mktemp("light_run"), cache_dir=dvc_cache)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["tiny_teacher"].update(steps=200, pairs=240)
    params["students"]["minilm"].update(epochs=6)
    params["loop"]["k"] = 3
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "commit", "-qam", "light settings"], cwd=dest, check=True)
    return dest, dvc(dest, "repro")


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

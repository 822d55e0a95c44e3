"""Shared fixtures: repository paths, the shared public datasets, a tiny GGUF teacher."""

from __future__ import annotations

import inspect
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from seedforge.testing.project import REPO, copy_project, dvc

# Hypothesis times each example (200 ms deadline, "too slow" health check): on a loaded 2-core
# machine that fails correct code. Speed is measured in bench/, never asserted in tests.
settings.register_profile("seedforge", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("seedforge")

# DVC stages run `python` and tests run `dvc`: both must be this environment's, whoever started pytest.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
os.environ["DVC_NO_ANALYTICS"] = "1"
SHARED_DATA = REPO.parent / "shared" / "data"
DEMO = REPO / "data" / "raw" / "demo"


# `slow` (deselected by `make test-fast`; `make test` runs everything): every test that builds a test
# project, runs DVC or loads a real model. Marked here from what a test uses, so a new test is tiered
# without anyone remembering to: the fixtures below, a body that calls `copy_project(`, or a module
# listed with its reason. Modules whose every test is end-to-end also say `pytestmark = slow` themselves.
SLOW_FIXTURES = {
    "light_run": "reproduces the default recipe",
    "dvc_cache": "builds a test project and runs DVC on it",
    "tiny_gguf": "trains a tiny llama and loads it in llama.cpp",
    "llama_server": "starts llama_cpp.server",
}
SLOW_MODULES = {
    "tests/test_tinylm.py": "trains tiny llamas and loads them in llama.cpp",
    "tests/gates/test_label_student.py": "trains MiniLM and causal students",
    "tests/test_generate_stage.py": "runs the generate stage as subprocesses, kill -9 included",
    "tests/students/test_students.py": "trains the real students",
    "tests/test_finetune.py": "trains LoRA adapters and loads one in llama.cpp",
}


def slow_reason(item: pytest.Item) -> str | None:
    for name in getattr(item, "fixturenames", ()):
        if name in SLOW_FIXTURES:
            return SLOW_FIXTURES[name]
    module = item.nodeid.split("::")[0]
    if module in SLOW_MODULES:
        return SLOW_MODULES[module]
    function = getattr(item, "function", None)
    try:
        source = inspect.getsource(function) if function is not None else ""
    except (OSError, TypeError):
        source = ""
    return "builds a test project" if "copy_project(" in source else None


def pytest_itemcollected(item: pytest.Item) -> None:
    """Tiers (see SLOW_FIXTURES), and xdist groups: under pytest-xdist (`make test` runs `-n 2
    --dist loadgroup`) each module's tests stay on one worker, so a module-scoped pipeline run is
    built once; the modules that read the session's `light_run` share a worker, so it is reproduced
    once, and so do those that talk to the session's `llama_server`. Without xdist the groups do
    nothing. (Marked as each item is collected: xdist reads the marks in its own collection hook.)"""
    if slow_reason(item) and not item.get_closest_marker("slow"):
        item.add_marker(pytest.mark.slow)
    fixtures = getattr(item, "fixturenames", ())
    group = next((name for name in ("light_run", "llama_server") if name in fixtures), None)
    item.add_marker(pytest.mark.xdist_group(group or item.nodeid.split("::")[0]))


def shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} is missing: tests read the public datasets from ../shared/data")
    return path


def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of this session's that both xdist workers see. Under xdist each worker's base temp
    is a `popen-gwN` folder of the session's, so this is their parent; without xdist it is the
    session's own folder, so a later session never starts from this one's results."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def dvc_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One DVC cache and run-cache for every test project of the session, both xdist workers included.

    `copy_project(dest, cache_dir=dvc_cache)`: a stage another project already ran with the same
    command, dependencies and params is restored from the run-cache instead of recomputed (the
    teacher experiment on `light_run`'s two clones, for one).
    """
    cache = session_dir(tmp_path_factory) / "dvc-cache"
    cache.mkdir(exist_ok=True)
    return cache


@pytest.fixture(scope="session")
def light_run(tmp_path_factory: pytest.TempPathFactory, dvc_cache: Path) -> tuple[Path, str]:
    """The default recipe with 2 rounds and lighter training, reproduced ONCE per session.

    Returns the project and the output of its `dvc repro`. Tests must not change it: take a copy
    with `clone_run` (a plain copy of the folder, git and DVC cache included, is a valid project).
    Built once for both xdist workers (pytest-xdist's FileLock recipe): the first to ask builds it
    in the session's shared folder, the other waits and reads it.
    """
    import yaml
    from filelock import FileLock

    root = session_dir(tmp_path_factory)
    dest, output = root / "light_run", root / "light_run.repro.txt"
    with FileLock(str(root / "light_run.lock")):
        if not output.exists():
            shutil.rmtree(dest, ignore_errors=True)  # what a build that failed half-way left
            dest.mkdir()
            copy_project(dest, cache_dir=dvc_cache)
            params = yaml.safe_load((dest / "params.yaml").read_text())
            params["tiny_teacher"].update(steps=200, pairs=240)
            # No step floor: these tests are about the pipeline, not a converged student (the floor has
            # its own tests in tests/students and its figures in bench/student_steps.py).
            params["students"]["minilm"].update(epochs=6, min_steps=0)
            params["loop"]["k"] = 3
            (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
            subprocess.run(["git", "commit", "-qam", "light settings"], cwd=dest, check=True)
            output.write_text(dvc(dest, "repro"))
    return dest, output.read_text()


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class LlamaServer:
    base: str  # http://127.0.0.1:PORT/v1
    key: str  # the API key it demands (Authorization: Bearer KEY)
    log: Path  # its stdout and stderr: the access log has one line per request it answered


LLAMA_SERVER_KEY = "sk-seedforge-test-0123456789"


@pytest.fixture(scope="session")
def llama_server(tiny_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """`python -m llama_cpp.server` serving the session's tiny GGUF on loopback, with an API key:
    started once per worker for every test that talks to a real OpenAI-compatible server."""
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    args = ["--model", str(tiny_gguf), "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024"]
    args += ["--api_key", LLAMA_SERVER_KEY, "--model_alias", "tiny"]
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", *args], stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                request = urllib.request.Request(
                    f"{base}/models", headers={"Authorization": f"Bearer {LLAMA_SERVER_KEY}"}
                )
                try:
                    urllib.request.urlopen(request, timeout=2)
                    break
                except OSError:
                    if proc.poll() is not None:
                        pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
                    if time.monotonic() > deadline:
                        pytest.fail("llama_cpp.server did not start in 60 s")
                    time.sleep(0.3)
            yield LlamaServer(base, LLAMA_SERVER_KEY, log)
        finally:
            proc.terminate()
            proc.wait(timeout=10)

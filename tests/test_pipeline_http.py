"""The whole pipeline with an HTTP teacher: the tiny teacher is not built, the key in the
environment reaches the server, and no file the run wrote holds it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from seedforge.io import read_jsonl
from seedforge.testing.loopback import Loopback
from seedforge.testing.project import copy_project

pytestmark = pytest.mark.slow

KEY = "sk-seedforge-FAKE-7f3a9c1e5b2d4f60"


def test_http_teacher_pipeline_never_writes_the_key(tmp_path: Path, dvc_cache: Path) -> None:
    with Loopback(api_key=KEY) as server:
        project = copy_project(tmp_path / "p", cache_dir=dvc_cache)
        params = yaml.safe_load((project / "params.yaml").read_text())
        params["teachers"]["http"] = {
            "backend": "openai",
            "base_url": server.url,
            "model": "loop",
            "api_key_env": "SEEDFORGE_FAKE_KEY",
            "max_tokens": 64,
        }
        params["teacher"] = "http"
        params["loop"].update(iterations=[0, 1], rounds=[{"i": 0, "next": 1}])
        params["students"]["minilm"].update(epochs=2, min_steps=0)
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        env = {**os.environ, "SEEDFORGE_FAKE_KEY": KEY}
        out = subprocess.run(["dvc", "repro"], cwd=project, capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stdout + out.stderr
        assert server.requests > 0
        assert all(h.get("authorization") == f"Bearer {KEY}" for h in server.headers)
    # The HTTP teacher reads no local model: the tiny teacher stage left a marker, trained nothing.
    assert (project / "models/tiny_teacher/NOT_BUILT").exists()
    assert not (project / "models/tiny_teacher/model.gguf").exists()
    rows = read_jsonl(project / "data/iterations/0/calls.jsonl")
    assert rows and all(r["teacher"]["backend"] == "openai" and r["raw"] for r in rows)
    written = [p for p in project.rglob("*") if p.is_file() and p.relative_to(project).parts[0] != ".git"]
    assert any(p.suffix == ".sqlite" for p in written)  # the call cache is searched too
    assert any(p.name == "dvc.lock" for p in written) and any(".dvc" in p.parts for p in written)
    leaks = [str(p.relative_to(project)) for p in written if KEY.encode() in p.read_bytes()]
    assert leaks == [] and KEY not in out.stdout + out.stderr

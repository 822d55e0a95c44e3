"""The second task and student kinds through DVC: GSM8K-form math with a causal-LM student."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from seedforge.io import read_json, read_jsonl
from seedforge.schema.records import read_records
from seedforge.tasks import Example, get_task
from seedforge.testing.project import copy_project
from tests.conftest import shared, tiny_causal_student

pytestmark = pytest.mark.slow


def test_gsm8k_round_with_a_causal_student(tmp_path: Path, dvc_cache: Path) -> None:
    from seedforge.training import tinylm

    # A causal student that loads by local path, as any hub model would by id.
    texts = [
        row["question"] + "\n" + row["answer"] for row in read_jsonl(shared("gsm8k", "train.jsonl"))[:200]
    ]
    tok = tinylm.train_tokenizer(texts, 600)
    tinylm.save(tinylm.build_model(tok, tinylm.TinyConfig(context_length=512)), tok, tmp_path / "base")

    project = copy_project(tmp_path / "project", cache_dir=dvc_cache)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["data"] = {
        "task": "math",
        "template": "prompts/math.jinja",
        "seed": {
            "path": str(shared("gsm8k", "train.jsonl")),
            "input": "question",
            "output": "answer",
            "limit": 12,
        },
        "test": {
            "path": str(shared("gsm8k", "test.jsonl")),
            "input": "question",
            "output": "answer",
            "limit": 10,
        },
        "dev": None,
    }
    params["loop"].update(iterations=[0, 1], rounds=[{"i": 0, "next": 1}], k=1, select="wrong", budget=None)
    params["tiny_teacher"].update(steps=60, pairs=48, context_length=2048)
    params["teachers"]["tiny"].update(n_ctx=2048, max_tokens=200)
    params["students"]["tiny_causal"] = tiny_causal_student(tmp_path / "base", max_new_tokens=12)
    params["student"] = "tiny_causal"
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = subprocess.run(["dvc", "repro", "merge@0"], cwd=project, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr

    it0 = project / "data" / "iterations" / "0"
    assert read_json(project / "data" / "prepared" / "task.json") == {
        "kind": "math",
        "input_field": "Question",
        "output_field": "Answer",
        "threshold": 1.0,
        "labels": None,
    }
    assert (project / "models" / "student" / "0" / "model.safetensors").exists()
    predictions = read_jsonl(it0 / "predictions.jsonl")
    assert {p["split"] for p in predictions} == {"seed", "test"} and len(predictions) == 22
    # Causal predictions are free text; the evaluator extracted (or failed to extract) a number.
    assert all(isinstance(p["prediction"], str) for p in predictions)
    wrong = sorted(p["id"] for p in predictions if p["split"] == "seed" and not p["correct"])
    assert [s["id"] for s in read_jsonl(it0 / "selected.jsonl")] == wrong
    calls = read_jsonl(it0 / "calls.jsonl")
    # One first call per wrong seed example (sample 0), plus re-asks of calls with no valid example.
    firsts = [g for g in calls if g["sampling"]["sample"] == 0]
    assert sorted(g["parent_id"] for g in firsts) == wrong
    assert all("Question:" in g["request"]["messages"][0]["content"] for g in calls)
    kept = read_records(it0 / "kept.jsonl")
    math = get_task("math")
    assert all(math.validate(Example(r.input, r.output)) == (True, "ok") for r in kept)
    f = read_json(project / "metrics" / "filter" / "0.json")
    assert f["calls"] == len(calls) and f["kept"] == len(kept)  # re-asks are calls too
    assert len(read_records(project / "data" / "iterations" / "1" / "dataset.jsonl")) == 12 + len(kept)

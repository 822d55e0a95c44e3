"""The multiple-choice and instruction task kinds end to end under DVC, one round each."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from seedforge.io import read_json, read_jsonl
from seedforge.schema.records import read_records
from seedforge.tasks import Example, from_info
from seedforge.testing.project import REPO, copy_project
from tests.conftest import shared, tiny_causal_student

pytestmark = pytest.mark.slow

MC = REPO / "tests" / "data" / "mc"


def repro(project: Path, params: dict, target: str = "merge@0") -> None:
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = subprocess.run(["dvc", "repro", target], cwd=project, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def check_round(project: Path, n_seed: int) -> list:
    """What every task kind's round must satisfy; returns the kept records."""
    task = from_info(read_json(project / "data" / "prepared" / "task.json"))
    it0 = project / "data" / "iterations" / "0"
    predictions = read_jsonl(it0 / "predictions.jsonl")
    assert all(
        0.0 <= p["score"] <= 1.0 and p["correct"] == (p["score"] >= task.threshold) for p in predictions
    )
    wrong = sorted(p["id"] for p in predictions if p["split"] == "seed" and not p["correct"])
    assert wrong, "a lightly trained student must get some seed examples wrong"
    assert [s["id"] for s in read_jsonl(it0 / "selected.jsonl")] == wrong
    calls = read_jsonl(it0 / "calls.jsonl")  # first calls (sample 0) plus re-asks
    assert sorted(c["parent_id"] for c in calls if c["sampling"]["sample"] == 0) == sorted(wrong)
    kept = read_records(it0 / "kept.jsonl")
    assert all(task.validate(Example(r.input, r.output)) == (True, "ok") for r in kept)
    f = read_json(project / "metrics" / "filter" / "0.json")
    assert f["calls"] == len(calls) and f["kept"] == len(kept)
    assert len(read_records(project / "data" / "iterations" / "1" / "dataset.jsonl")) == n_seed + len(kept)
    return kept


def test_multiple_choice_round_with_the_minilm_student(tmp_path: Path, dvc_cache: Path) -> None:
    project = copy_project(tmp_path, cache_dir=dvc_cache)
    params = yaml.safe_load((project / "params.yaml").read_text())
    kw = {"input": "context", "output": "label", "options": "endings"}
    params["data"] = {
        "task": "multiple_choice",
        "template": "prompts/multiple_choice.jinja",
        "seed": {"path": str(MC / "questions_seed.jsonl"), **kw},
        "test": {"path": str(MC / "questions_held_out.jsonl"), **kw},
        "dev": None,
    }
    params["loop"].update(iterations=[0, 1], rounds=[{"i": 0, "next": 1}], k=2, select="wrong", budget=None)
    params["tiny_teacher"].update(steps=120, pairs=96)
    params["students"]["minilm"].update(epochs=2, min_steps=0, max_length=96)
    repro(project, params)
    info = read_json(project / "data" / "prepared" / "task.json")
    assert info["kind"] == "multiple_choice" and info["labels"] == ["A", "B", "C", "D"]
    seed = read_records(project / "data" / "prepared" / "seed.jsonl")
    assert all(r.output in "ABCD" and r.input.count("\n") == 4 for r in seed)
    predictions = read_jsonl(project / "data" / "iterations" / "0" / "predictions.jsonl")
    assert {p["answer"] for p in predictions} <= {"A", "B", "C", "D"}
    calls = read_jsonl(project / "data" / "iterations" / "0" / "calls.jsonl")
    assert all("each with options A, B, C, D" in g["request"]["messages"][0]["content"] for g in calls)
    check_round(project, 16)


def test_instruction_round_with_a_causal_student(tmp_path: Path, dvc_cache: Path) -> None:
    from seedforge.training import tinylm

    rows = json.loads(shared("instruct", "alpaca_en_demo.json").read_text())
    tok = tinylm.train_tokenizer([r["instruction"] + "\n" + r["output"] for r in rows[:200]], 600)
    tinylm.save(tinylm.build_model(tok, tinylm.TinyConfig(context_length=512)), tok, tmp_path / "base")

    project = copy_project(tmp_path / "project", cache_dir=dvc_cache)
    params = yaml.safe_load((project / "params.yaml").read_text())
    source = {"path": str(shared("instruct", "alpaca_en_demo.json")), "input": ["instruction", "input"]}
    params["data"] = {
        "task": {"kind": "instruction", "threshold": 0.3},
        "template": "prompts/instruction.jinja",
        "seed": {**source, "output": "output", "limit": 8},
        "test": {**source, "output": "output", "limit": 4},
        "dev": None,
    }
    params["loop"].update(iterations=[0, 1], rounds=[{"i": 0, "next": 1}], k=1, select="wrong", budget=None)
    params["tiny_teacher"].update(steps=40, pairs=24, context_length=2048)
    params["teachers"]["tiny"].update(n_ctx=2048, max_tokens=160)
    params["students"]["tiny_causal"] = tiny_causal_student(tmp_path / "base", max_new_tokens=16)
    params["student"] = "tiny_causal"
    repro(project, params)
    info = read_json(project / "data" / "prepared" / "task.json")
    assert info == {
        "kind": "instruction",
        "input_field": "Instruction",
        "output_field": "Response",
        "threshold": 0.3,
        "labels": None,
    }
    calls = read_jsonl(project / "data" / "iterations" / "0" / "calls.jsonl")
    assert all(g["template"]["path"] == "prompts/instruction.jinja" for g in calls)
    assert all(
        "The student's response, which fell short:" in g["request"]["messages"][0]["content"] for g in calls
    )
    metrics = read_json(project / "metrics" / "evaluate" / "0.json")
    assert 0.0 <= metrics["test_score"] <= 1.0 and metrics["seed_total"] == 8
    check_round(project, 8)

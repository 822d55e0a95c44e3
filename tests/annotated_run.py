"""A small run folder, built by hand, in which round 0 annotated pool rows (real SST-2 sentences).

It has what the loop writes for one round with data.pool: the prepared seed, test and pool files,
round 0's predictions and selection, annotate@0's annotated rows and rejects, and iteration 1's
dataset (seed set plus the annotated rows). Files are written as the stages write them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seedforge.io import write_jsonl, write_rows
from seedforge.schema import layout
from seedforge.schema.records import Record, TeacherRef, record_id, write_records
from seedforge.schema.rows import PredictionRow, RejectRow, SelectionRow
from seedforge.testing.planted import read_tsv_texts
from tests.conftest import shared

TASK = "classification"
TEACHER = TeacherRef(profile="smollm2_tuned", backend="llamacpp", model="smollm2.gguf+lora:5e1f")


@dataclass
class AnnotatedRun:
    root: Path
    seeds: list[Record]
    test: list[Record]
    pool: list[dict[str, str]]
    annotated: list[Record]  # pool[0], pool[1], made for seeds[0]
    rejects: list[RejectRow]  # pool[2] unsure; pool[3] a near-copy of seeds[1]

    def write(self, name: str, records: list[Record], i: int = 0) -> None:
        write_records(self.root / layout.iteration_file(i, name), records)  # type: ignore[arg-type]


def annotated_row(text: str, label: str, parent: Record, probability: float) -> Record:
    """A row as annotate@0 keeps it: `annotate.label`'s scores plus those the gates attached."""
    return Record(
        id=record_id(TASK, text, label),
        task=TASK,
        input=text,
        output=label,
        origin="annotated",
        iteration=1,
        parent_id=parent.id,
        teacher=TEACHER,
        gates={
            "leak_cosine_test": 0.31,
            "near_duplicate": 0.52,
            "pool_cosine": 0.64,
            "probability": probability,
        },
    )


def build(root: Path) -> AnnotatedRun:
    train = read_tsv_texts(shared("sst2", "train.tsv"))
    seeds = [Record.seed(TASK, text, label) for label, text in train[:4]]
    test = [Record.seed(TASK, text, label) for label, text in read_tsv_texts(shared("sst2", "test.tsv"))[:5]]
    pool_texts = [text for _, text in train[5000:5003]] + [seeds[1].input.upper()]
    pool = sorted(({"id": record_id(TASK, t, ""), "input": t} for t in pool_texts), key=lambda r: r["id"])
    by_text = {r["input"]: r for r in pool}
    p = [by_text[t] for t in pool_texts]
    parent = seeds[0]
    annotated = [
        annotated_row(p[0]["input"], "Negative", parent, 0.83),
        annotated_row(p[1]["input"], "Positive", parent, 0.71),
    ]
    rejects = [
        RejectRow(
            reason="unsure",
            parent_id=parent.id,
            id=record_id(TASK, p[2]["input"], "Positive"),
            input=p[2]["input"],
            output="Positive",
            score=0.41,
        ),
        RejectRow(
            reason="near_duplicate:dataset",
            parent_id=parent.id,
            id=record_id(TASK, p[3]["input"], seeds[1].output),
            input=p[3]["input"],
            output=seeds[1].output,
            matched_id=seeds[1].id,
            score=1.0,
        ),
    ]
    write_records(root / layout.prepared("seed"), seeds)
    write_records(root / layout.prepared("test"), test)
    write_records(root / layout.prepared("dev"), [])
    write_jsonl(root / layout.prepared("pool"), pool)
    wrong = "Positive" if parent.output == "Negative" else "Negative"
    write_rows(
        root / layout.predictions(0),
        [
            PredictionRow(
                id=r.id,
                split="seed",
                input=r.input,
                output=r.output,
                prediction=wrong if r is parent else r.output,
                answer=wrong if r is parent else r.output,
                score=0.0 if r is parent else 1.0,
                correct=r is not parent,
            )
            for r in seeds
        ],
    )
    write_rows(
        root / layout.selected(0),
        [SelectionRow(id=parent.id, input=parent.input, output=parent.output, prediction=wrong)],
    )
    run = AnnotatedRun(root, seeds, test, pool, annotated, rejects)
    run.write("dataset", seeds)
    run.write("kept", [])
    run.write("annotated", annotated)
    write_rows(root / layout.annotate_rejects(0), rejects)
    run.write("dataset", seeds + annotated, i=1)
    return run

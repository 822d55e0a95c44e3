"""Score a student's predictions; every prediction is kept for selection and later audits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seedforge.schema.records import Record
from seedforge.schema.rows import PredictionRow
from seedforge.tasks import Task


def score(
    task: Task,
    split: str,
    records: Sequence[Record],
    predictions: Sequence[str],
    confidences: Sequence[float | None] | None = None,
) -> list[PredictionRow]:
    """One row per example: gold output, the raw prediction, the answer extracted from it, its
    score in [0, 1], whether that reaches the task's threshold, and the student's probability of
    the gold answer where it has one.

    >>> from seedforge.tasks import get_task
    >>> r = Record.seed("math", "2+2?", "2+2=4 #### 4")
    >>> row = score(get_task("math"), "seed", [r], ["It is 4."])[0]
    >>> row.answer, row.score, row.correct
    ('4', 1.0, True)
    """
    rows = []
    confidences = [None] * len(records) if confidences is None else confidences
    for record, prediction, confidence in zip(records, predictions, confidences, strict=True):
        value = task.score(prediction, record.output)
        rows.append(
            PredictionRow(
                id=record.id,
                split=split,
                input=record.input,
                output=record.output,
                prediction=prediction,
                answer=task.answer(prediction),
                score=value,
                correct=value >= task.threshold,
                confidence=confidence,
            )
        )
    return rows


def read_probabilities(
    labels: Sequence[str], probs: Sequence[Sequence[float]], golds: Sequence[str]
) -> tuple[list[str], list[float | None]]:
    """A classifier's predictions (its argmax, the first on ties, as `predict` picks) and each
    gold label's probability, rounded to 4 places so float noise does not churn dvc.lock.

    >>> read_probabilities(["neg", "pos"], [[0.25, 0.75], [0.5, 0.5]], ["neg", "other"])
    (['pos', 'neg'], [0.25, 0.0])
    """
    index = {label: i for i, label in enumerate(labels)}
    predictions = [labels[max(range(len(labels)), key=p.__getitem__)] for p in probs]
    gold = [round(p[index[g]], 4) if g in index else 0.0 for p, g in zip(probs, golds, strict=True)]
    return predictions, gold


def accuracy(rows: Sequence[PredictionRow]) -> float | None:
    """Share of correct rows, rounded to 4 places (None for an empty split).

    >>> from types import SimpleNamespace as R
    >>> accuracy([R(correct=True), R(correct=False), R(correct=True)])
    0.6667
    """
    return round(sum(r.correct for r in rows) / len(rows), 4) if rows else None


def metrics(iteration: int, rows: Sequence[PredictionRow]) -> dict[str, Any]:
    by_split: dict[str, list[PredictionRow]] = {}
    for row in rows:
        by_split.setdefault(row.split, []).append(row)
    out: dict[str, Any] = {"iteration": iteration}
    for split, split_rows in sorted(by_split.items()):
        out[f"{split}_accuracy"] = accuracy(split_rows)
        out[f"{split}_total"] = len(split_rows)
        # Mean score: the same as accuracy for exact tasks, the mean overlap for free-form ones.
        out[f"{split}_score"] = round(sum(r.score for r in split_rows) / len(split_rows), 4)
    seed_rows = by_split.get("seed", [])
    out["seed_wrong"] = sum(not r.correct for r in seed_rows)
    return out

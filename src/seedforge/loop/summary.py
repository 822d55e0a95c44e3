"""Collect the per-iteration metrics into one summary and one plot table."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seedforge.io import read_json

COLUMNS = [
    "iteration",
    "dataset_size",
    "generated_total",
    "seed_accuracy",
    "test_accuracy",
    "dev_accuracy",
    "seed_wrong",
    "calls",
    "parsed",
    "kept",
    "rejected",
]
# Reject reasons are "<family>:<detail>" (parse:missing_field:label, leak:test:ngram, ...): one
# column per family keeps the table's shape fixed whatever details a run produced.
REJECT_FAMILIES = [
    "call",
    "parse",
    "invalid",
    "duplicate",
    "near_duplicate",
    "leak",
    "label",
    "balance",
    "other",
]
COLUMNS += [f"rejected_{family}" for family in REJECT_FAMILIES]


def by_family(rejected_by_reason: dict[str, int]) -> dict[str, int]:
    """
    >>> by_family({"leak:test:ngram": 2, "leak:dev:embedding": 1, "parse:no_examples": 4})["rejected_leak"]
    3
    """
    out = {f"rejected_{family}": 0 for family in REJECT_FAMILIES}
    for reason, n in rejected_by_reason.items():
        key = f"rejected_{reason.split(':', 1)[0]}"
        out[key if key in out else "rejected_other"] += n
    return out


def rows(iterations: Sequence[int], metrics_dir: Path) -> list[dict[str, Any]]:
    """One row per iteration from metrics/{train,evaluate,filter,merge}/<i>.json (the last
    iteration has no round: no filter or merge). merge@i's balance drops add to filter@i's."""
    out = []
    for i in iterations:
        row: dict[str, Any] = {"iteration": i}
        for step in ("train", "evaluate", "filter"):
            path = metrics_dir / step / f"{i}.json"
            if path.exists():
                metrics = read_json(path)
                row.update({k: v for k, v in metrics.items() if k in COLUMNS})
                if "rejected_by_reason" in metrics:
                    row.update(by_family(metrics["rejected_by_reason"]))
        merge = metrics_dir / "merge" / f"{i}.json"
        if merge.exists() and "rejected" in row:
            metrics = read_json(merge)
            row["rejected"] += metrics["rejected"]
            for key, n in by_family(metrics["rejected_by_reason"]).items():
                row[key] = row.get(key, 0) + n
        out.append(row)
    return out


def summary(table: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The final iteration's numbers, the change since iteration 0, and each iteration's row.

    >>> s = summary([{"iteration": 0, "test_accuracy": 0.5, "dataset_size": 10},
    ...              {"iteration": 1, "test_accuracy": 0.6, "dataset_size": 14}])
    >>> s["final"]["test_accuracy"], s["test_accuracy_gain"], s["dataset_growth"]
    (0.6, 0.1, 4)
    """
    first, last = table[0], table[-1]
    out: dict[str, Any] = {"final": dict(last), "by_iteration": {str(r["iteration"]): dict(r) for r in table}}
    if first.get("test_accuracy") is not None and last.get("test_accuracy") is not None:
        out["test_accuracy_gain"] = round(last["test_accuracy"] - first["test_accuracy"], 4)
    if "dataset_size" in first and "dataset_size" in last:
        out["dataset_growth"] = last["dataset_size"] - first["dataset_size"]
    return out


def to_csv(table: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: row.get(k, "") for k in COLUMNS})
    return buf.getvalue()

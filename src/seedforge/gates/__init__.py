"""Gates decide which generated examples enter the dataset.

A gate is a callable `record -> (keep, reason)`. Every drop is counted by reason and written to the
stage's rejects file with the call it came from, so no example disappears without a trace.
Later gates (embedding near-duplicates, test leakage) plug in as more callables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from seedforge.gates.exact import ExactDuplicate
from seedforge.gates.validate import TaskGate
from seedforge.records import Record, TeacherRef, TemplateRef, record_id
from seedforge.tasks import Task

Gate = Callable[[Record], tuple[bool, str]]

__all__ = ["ExactDuplicate", "Gate", "TaskGate", "candidates", "filter_generations", "run_gates"]


def candidates(
    generation: dict[str, Any], task: Task, iteration: int
) -> tuple[list[Record], list[dict[str, Any]]]:
    """Parse one teacher call into candidate records and parse-error rejects.

    `iteration` is the iteration the records would enter (the one after the call's). Labels are
    put in the label set's spelling first, so "Billing" and "billing" are one example.
    """
    parsed = task.parse(generation["raw"])
    common = {
        "task": task.name,
        "origin": "generated",
        "iteration": iteration,
        "parent_id": generation["parent_id"],
        "teacher": TeacherRef(**generation["teacher"]),
        "template": TemplateRef(**generation["template"]),
        "generation": {**generation["generation"], "call": generation["call"]},
        "raw": generation["raw"],
    }
    records = []
    for ex in parsed.examples:
        output = ex.output.strip()
        if task.labels is not None:
            output = task.answer(output) or output  # unknown labels stay for TaskGate to reject
        text = ex.input.strip()
        records.append(Record(id=record_id(task.name, text, output), input=text, output=output, **common))
    rejects = [
        {"reason": f"parse:{err}", "call": generation["call"], "parent_id": generation["parent_id"]}
        for err in parsed.errors
    ]
    if not parsed.examples and not parsed.errors:
        rejects.append(
            {"reason": "parse:no_examples", "call": generation["call"], "parent_id": generation["parent_id"]}
        )
    return records, rejects


def run_gates(records: Sequence[Record], gates: Sequence[Gate]) -> tuple[list[Record], list[dict[str, Any]]]:
    """Pass records through the gates in order; the first gate that says no names the reason."""
    kept, rejects = [], []
    for record in records:
        for gate in gates:
            keep, reason = gate(record)
            if not keep:
                rejects.append(
                    {
                        "reason": reason,
                        "call": _call(record),
                        "parent_id": record.parent_id,
                        "id": record.id,
                        "input": record.input,
                        "output": record.output,
                    }
                )
                break
        else:
            kept.append(record)
    return kept, rejects


def _call(record: Record) -> str | None:
    return None if record.generation is None else record.generation.get("call")


def count_reasons(rejects: Sequence[dict[str, Any]]) -> dict[str, int]:
    return dict(sorted(Counter(r["reason"] for r in rejects).items()))


def filter_generations(
    generations: Sequence[dict[str, Any]],
    task: Task,
    existing_ids: Iterable[str],
    iteration: int,
) -> tuple[list[Record], list[dict[str, Any]], dict[str, Any]]:
    """Round `iteration`'s teacher outputs -> (kept records, rejects, counts).

    Parse failures, task validation (label in set, answer extractable) and exact duplicates of
    the dataset or of each other are each a reason; the first gate to say no names it.
    """
    parsed, rejects = [], []
    for generation in generations:
        records, parse_rejects = candidates(generation, task, iteration + 1)
        parsed.extend(records)
        rejects.extend(parse_rejects)
    kept, gate_rejects = run_gates(parsed, [TaskGate(task), ExactDuplicate(existing_ids)])
    rejects = sorted(rejects + gate_rejects, key=lambda r: (r["call"], r["reason"], r.get("id") or ""))
    counts = {
        "iteration": iteration,
        "calls": len(generations),
        "parsed": len(parsed),
        "kept": len(kept),
        "rejected": len(rejects),
        "rejected_by_reason": count_reasons(rejects),
    }
    return kept, rejects, counts

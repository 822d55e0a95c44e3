"""Teacher call rows -> candidate records, and a reject row for every call that gave none.

This is the one place that reads the call-row shape of `calls.jsonl` (written by the
generate stage): `call`, `parent_id`, `teacher`, `template`, `raw` and the call's sampling
params (`sampling`, or `generation` in older files). A row whose `raw` is null is a failed call:
it is counted as `call:<cause>` (e.g. `call:server`), never parsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seedforge.schema.records import Record, TeacherRef, TemplateRef, record_id
from seedforge.schema.rows import reject_row
from seedforge.tasks import Task


def candidates(call: dict[str, Any], task: Task, iteration: int) -> tuple[list[Record], list[dict[str, Any]]]:
    """Parse one teacher call into candidate records and rejects (failed call, parse errors).

    `iteration` is the iteration the records would enter (the one after the call's). Labels are
    put in the label set's spelling first, so "Billing" and "billing" are one example.
    """
    where = {"call": call["call"], "parent_id": call.get("parent_id")}
    raw = call.get("raw")
    if raw is None:  # failed after its last attempt: the reason names the cause (server, timeout...)
        cause = (call.get("error") or {}).get("cause", "error")
        return [], [reject_row(f"call:{cause}", **where)]
    sampling = call.get("sampling", call.get("generation")) or {}
    common = {
        "task": task.name,
        "origin": "generated",
        "iteration": iteration,
        "parent_id": call.get("parent_id"),
        "teacher": TeacherRef(**call["teacher"]),
        "template": TemplateRef(**call["template"]),
        "sampling": sampling,
        "call": call["call"],  # the raw output stays in the call row, once for all its examples
    }
    parsed = task.parse(raw)
    records = []
    for ex in parsed.examples:
        output = ex.output.strip()
        if task.labels is not None:
            output = task.answer(output) or output  # unknown labels stay for TaskGate to reject
        text = ex.input.strip()
        records.append(Record(id=record_id(task.name, text, output), input=text, output=output, **common))
    rejects = [reject_row(f"parse:{err}", **where) for err in parsed.errors]
    if not parsed.examples and not parsed.errors:
        rejects.append(reject_row("parse:no_examples", **where))
    return records, rejects


def parse_calls(
    calls: Sequence[dict[str, Any]], task: Task, iteration: int
) -> tuple[list[Record], list[dict[str, Any]]]:
    """Every call of round `iteration` -> (candidates in call order, rejects)."""
    records, rejects = [], []
    for call in calls:
        got, bad = candidates(call, task, iteration + 1)
        records.extend(got)
        rejects.extend(bad)
    return records, rejects

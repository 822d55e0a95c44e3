"""filter@i: a round's teacher calls -> candidate records -> the gate chain -> kept, rejects, counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seedforge.gates import Gate, gate_records
from seedforge.loop.candidates import parse_calls
from seedforge.schema.records import Record
from seedforge.tasks import Task


def filter_calls(
    calls: Sequence[dict[str, Any]],
    gates: Sequence[Gate],
    task: Task,
    iteration: int,
) -> tuple[list[Record], list[dict[str, Any]], dict[str, Any]]:
    """Round `iteration`'s call rows -> (kept records, rejects, counts).

    Kept records enter iteration `iteration + 1`; they are returned in candidate order.
    """
    candidates, rejects = parse_calls(calls, task, iteration)
    kept, rejects, gated = gate_records(candidates, gates, rejects)
    counts = {"iteration": iteration, "calls": len(calls), "parsed": len(candidates)} | gated
    return kept, rejects, counts

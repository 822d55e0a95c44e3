"""Task validation as a gate: label in the label set, answer extractable, fields non-empty."""

from __future__ import annotations

from collections.abc import Sequence

from seedforge.gates.base import KEEP, Gate, Verdict
from seedforge.gates.registry import Context, register
from seedforge.schema.records import Record
from seedforge.tasks import Example, Task


class TaskGate:
    name = "task"

    def __init__(self, task: Task) -> None:
        self.task = task

    def filter_batch(self, records: Sequence[Record]) -> list[Verdict]:
        out = []
        for r in records:
            keep, reason = self.task.validate(Example(r.input, r.output))
            out.append(KEEP if keep else Verdict(f"invalid:{reason}"))
        return out


@register("validate", order=10)
def build(ctx: Context) -> Gate | None:
    """Task validity first: the cheapest and most certain verdict (no task: nothing to validate)."""
    return TaskGate(ctx.task) if ctx.task is not None else None

"""Task validation as a gate: label in the label set, answer extractable, fields non-empty."""

from __future__ import annotations

from seedforge.records import Record
from seedforge.tasks import Example, Task


class TaskGate:
    def __init__(self, task: Task) -> None:
        self.task = task

    def __call__(self, record: Record) -> tuple[bool, str]:
        keep, reason = self.task.validate(Example(record.input, record.output))
        return keep, ("ok" if keep else f"invalid:{reason}")

"""Task registry: the params file names a task kind (or a small spec), the pipeline gets a task here.

A task kind is one class (template fields, parser, evaluator; see ``base.Task``) registered in
``KINDS``. ``data.task`` in params is a kind name or ``{kind, input_field, output_field,
threshold}``; `prepare` binds it to the seed data and every later stage rebuilds the bound task
from `data/prepared/task.json` with :func:`from_info`.

>>> get_task("math").output_field
'Answer'
>>> sorted(KINDS)
['classification', 'instruction', 'math', 'multiple_choice']
>>> review = make_task({"kind": "classification", "input_field": "Review", "output_field": "Sentiment"})
>>> review.student_prompt("Fun")
'Review: Fun\\nSentiment:'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from seedforge.errors import SeedforgeError

# Importing a task module registers its kind.
from seedforge.tasks import classification, instruction, math, multiple_choice  # noqa: F401
from seedforge.tasks.base import Example, ParseResult, Task
from seedforge.tasks.classification import ClassificationTask
from seedforge.tasks.instruction import InstructionTask
from seedforge.tasks.math import MathTask
from seedforge.tasks.multiple_choice import MultipleChoiceTask
from seedforge.tasks.registry import KINDS, register


def task_class(kind: str) -> type[Task]:
    """The class of task kind ``kind``; an unknown name is a user error, not a KeyError.

    >>> task_class("sentiment")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seedforge.errors.SeedforgeError: data.task: unknown task kind 'sentiment' (choose one of: ...)
    """
    try:
        return KINDS[kind]
    except KeyError:
        choices = ", ".join(sorted(KINDS))
        raise SeedforgeError(f"data.task: unknown task kind {kind!r} (choose one of: {choices})") from None


def get_task(kind: str) -> Task:
    """The kind's task with its default fields, bound to no data."""
    return task_class(kind)()


def make_task(spec: str | Mapping[str, Any]) -> Task:
    """A task from ``data.task``: a kind name, or a mapping with ``kind`` and field overrides."""
    if isinstance(spec, str):
        return get_task(spec)
    settings = {k: v for k, v in spec.items() if v is not None}
    cls = task_class(settings.pop("kind", "classification"))
    return cls(**settings)


def from_info(info: Mapping[str, Any]) -> Task:
    """Rebuild the bound task that `Task.info()` described (what `task.json` holds)."""
    cls = task_class(info["kind"])
    known = {f.name for f in fields(cls)}
    values = {k: v for k, v in info.items() if k in known}
    if values.get("labels") is not None:
        values["labels"] = tuple(values["labels"])
    return cls(**values)


__all__ = [
    "KINDS",
    "ClassificationTask",
    "Example",
    "InstructionTask",
    "MathTask",
    "MultipleChoiceTask",
    "ParseResult",
    "Task",
    "from_info",
    "get_task",
    "make_task",
    "register",
    "task_class",
]

"""Task registry: the params file names a task, the pipeline gets its behaviour here.

>>> get_task("math").output_field
'Answer'
>>> sorted(TASKS)
['classification', 'math']
"""

from __future__ import annotations

from seedforge.errors import SeedforgeError
from seedforge.tasks.base import Example, ParseResult, Task
from seedforge.tasks.classification import ClassificationTask
from seedforge.tasks.math import MathTask

TASKS: dict[str, Task] = {
    "classification": ClassificationTask(),
    "math": MathTask(),
}


def get_task(name: str) -> Task:
    """The task called ``name``; an unknown name is a user error, not a KeyError.

    >>> get_task("sentiment")
    Traceback (most recent call last):
    ...
    seedforge.errors.SeedforgeError: data.task: unknown task 'sentiment' (choose one of: classification, math)
    """
    try:
        return TASKS[name]
    except KeyError:
        choices = ", ".join(sorted(TASKS))
        raise SeedforgeError(f"data.task: unknown task {name!r} (choose one of: {choices})") from None


__all__ = ["TASKS", "Example", "ParseResult", "Task", "get_task"]

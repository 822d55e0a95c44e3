"""Choose the seed examples to augment: the ones the student got wrong (LLM2LLM), or all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from seedforge.errors import SeedforgeError


def select(predictions: Sequence[dict[str, Any]], mode: Literal["wrong", "all"]) -> list[dict[str, Any]]:
    """Seed rows to augment, sorted by id. Generated examples are never augmented: only rows of
    the `seed` split are considered, whatever the dataset the student was trained on.

    >>> rows = [
    ...     {"id": "b", "split": "seed", "input": "x", "gold": "1", "prediction": "2", "correct": False},
    ...     {"id": "a", "split": "seed", "input": "y", "gold": "1", "prediction": "1", "correct": True},
    ...     {"id": "c", "split": "test", "input": "z", "gold": "1", "prediction": "2", "correct": False},
    ... ]
    >>> [r["id"] for r in select(rows, "wrong")], [r["id"] for r in select(rows, "all")]
    (['b'], ['a', 'b'])
    """
    if mode not in ("wrong", "all"):
        raise SeedforgeError(f"loop.select: expected 'wrong' or 'all', got {mode!r}")
    seed = [r for r in predictions if r["split"] == "seed"]
    chosen = seed if mode == "all" else [r for r in seed if not r["correct"]]
    return [
        {"id": r["id"], "input": r["input"], "output": r["gold"], "prediction": r["prediction"]}
        for r in sorted(chosen, key=lambda r: r["id"])
    ]

"""Choose the seed examples to augment: the ones the student got wrong (LLM2LLM), or all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from seedforge.errors import SeedforgeError
from seedforge.rows import PredictionRow, SelectionRow


def select(predictions: Sequence[PredictionRow], mode: Literal["wrong", "all"]) -> list[SelectionRow]:
    """Seed rows to augment, sorted by id. Generated examples are never augmented: only rows of
    the `seed` split are considered, whatever the dataset the student was trained on.

    >>> def row(id, split, correct):
    ...     return PredictionRow(id=id, split=split, input="x", output="1", prediction="2",
    ...                          answer="2", correct=correct)
    >>> rows = [row("b", "seed", False), row("a", "seed", True), row("c", "test", False)]
    >>> [r.id for r in select(rows, "wrong")], [r.id for r in select(rows, "all")]
    (['b'], ['a', 'b'])
    """
    if mode not in ("wrong", "all"):
        raise SeedforgeError(f"loop.select: expected 'wrong' or 'all', got {mode!r}")
    seed = [r for r in predictions if r.split == "seed"]
    chosen = seed if mode == "all" else [r for r in seed if not r.correct]
    return [
        SelectionRow(id=r.id, input=r.input, output=r.output, prediction=r.prediction)
        for r in sorted(chosen, key=lambda r: r.id)
    ]

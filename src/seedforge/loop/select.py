"""Choose the examples to augment: LLM2LLM's targeted selection, and the ablations around it.

`mode` says which examples are candidates for targeting: the seed examples the student got wrong
(`wrong`, the paper's default), every seed example (`all`), or every wrong example including the
generated ones (`wrong_any`; evaluate then predicts on the generated examples too). `augment`
says what is done with that: `targeted` augments the selection; `random` draws as many examples
uniformly at random (seeded) from the same pool (seed examples, plus generated ones under
`wrong_any`), the equal-budget baseline; `none` augments nothing. `budget` caps a targeted
selection (a seeded random subset) and fixes the size of a random one.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import Literal

from seedforge.errors import SeedforgeError
from seedforge.io import dumps
from seedforge.schema.rows import PredictionRow, SelectionRow

Mode = Literal["wrong", "all", "wrong_any"]
Augment = Literal["targeted", "random", "none"]
POOL_SPLITS = {"wrong": ("seed",), "all": ("seed",), "wrong_any": ("seed", "generated")}


def row(id: str, split: str = "seed", correct: bool = False) -> PredictionRow:
    """A prediction row for the examples below.

    >>> row("a").split
    'seed'
    """
    return PredictionRow(
        id=id,
        split=split,
        input="x",
        output="1",
        prediction="2",
        answer="2",
        score=float(correct),
        correct=correct,
    )


def targeted(predictions: Sequence[PredictionRow], mode: Mode) -> list[PredictionRow]:
    """The rows `mode` targets, sorted by id. Test and dev rows are never candidates.

    >>> rows = [row("b"), row("a", correct=True), row("g", "generated"), row("c", "test")]
    >>> [[r.id for r in targeted(rows, m)] for m in ("wrong", "all", "wrong_any")]
    [['b'], ['a', 'b'], ['b', 'g']]
    """
    if mode not in POOL_SPLITS:
        raise SeedforgeError(f"loop.select: expected one of wrong, all, wrong_any; got {mode!r}")
    pool = pool_rows(predictions, mode)
    chosen = pool if mode == "all" else [r for r in pool if not r.correct]
    return sorted(chosen, key=lambda r: r.id)


def pool_rows(predictions: Sequence[PredictionRow], mode: Mode) -> list[PredictionRow]:
    """The examples `mode` may augment at all: seed rows (plus generated ones for wrong_any)."""
    return sorted((r for r in predictions if r.split in POOL_SPLITS[mode]), key=lambda r: r.id)


def select(
    predictions: Sequence[PredictionRow],
    mode: Mode,
    augment: Augment = "targeted",
    budget: int | None = None,
    seed: int = 0,
    iteration: int = 0,
) -> tuple[list[SelectionRow], dict[str, int]]:
    """Rows to augment (sorted by id) and their counts.

    >>> rows = [row(str(i), correct=i < 7) for i in range(10)]
    >>> [r.id for r in select(rows, "wrong")[0]]
    ['7', '8', '9']
    >>> drawn, counts = select(rows, "wrong", "random")
    >>> len(drawn), counts
    (3, {'pool': 10, 'targeted': 3, 'selected': 3})
    >>> select(rows, "wrong", "none")[1]["selected"], len(select(rows, "all", budget=4)[0])
    (0, 4)
    """
    chosen = targeted(predictions, mode)
    pool = pool_rows(predictions, mode)
    n = len(chosen) if budget is None else min(budget, len(pool) if augment == "random" else len(chosen))
    # One RNG per round, from the run seed: a rerun draws the same rows, a new round draws anew.
    rng = random.Random(hashlib.sha256(dumps([seed, iteration, "select", augment]).encode()).hexdigest())
    if augment == "none":
        picked: list[PredictionRow] = []
    elif augment == "random":
        picked = rng.sample(pool, n)
    elif augment == "targeted":
        picked = chosen if n == len(chosen) else rng.sample(chosen, n)
    else:
        raise SeedforgeError(f"loop.augment: expected one of targeted, random, none; got {augment!r}")
    rows = [
        SelectionRow(id=r.id, input=r.input, output=r.output, prediction=r.prediction)
        for r in sorted(picked, key=lambda r: r.id)
    ]
    return rows, {"pool": len(pool), "targeted": len(chosen), "selected": len(rows)}

"""Choose the examples to augment: LLM2LLM's targeted selection, and the ablations around it.

`mode` says which examples are candidates for targeting: the seed examples the student got wrong
(`wrong`, the paper's default), every seed example (`all`), every wrong example including the
generated ones (`wrong_any`; evaluate then predicts on the generated examples too), or the
`budget` seed examples the student is least sure of (`hardest`: the wrong ones first, then the
right ones by the probability the student gave the gold answer). `hardest` exists because a
small student fits a small seed set: with 1% of SNIPS it got all 131 seed rows right, so `wrong`
selected nothing and the loop added nothing (bench/README.md, The loop on real data); the
least confident right answers are the next-best signal of what it has not learned. `augment`
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

Mode = Literal["wrong", "all", "wrong_any", "hardest"]
Augment = Literal["targeted", "random", "none"]
POOL_SPLITS = {"wrong": ("seed",), "all": ("seed",), "wrong_any": ("seed", "generated"), "hardest": ("seed",)}


def row(
    id: str, split: str = "seed", correct: bool = False, confidence: float | None = None
) -> PredictionRow:
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
        confidence=confidence,
    )


def hardness(r: PredictionRow) -> tuple[bool, float, str]:
    """Sort key, hardest first: wrong before right, then the lower gold probability (a student
    without probabilities gives None: its task score stands in), then the id.

    >>> rows = [row("a", correct=True, confidence=0.9), row("b", correct=True, confidence=0.6), row("c")]
    >>> [r.id for r in sorted(rows, key=hardness)]
    ['c', 'b', 'a']
    """
    return (r.correct, r.score if r.confidence is None else r.confidence, r.id)


def targeted(
    predictions: Sequence[PredictionRow], mode: Mode, budget: int | None = None
) -> list[PredictionRow]:
    """The rows `mode` targets, sorted by id. Test and dev rows are never candidates.

    >>> rows = [row("b"), row("a", correct=True), row("g", "generated"), row("c", "test")]
    >>> [[r.id for r in targeted(rows, m)] for m in ("wrong", "all", "wrong_any")]
    [['b'], ['a', 'b'], ['b', 'g']]
    >>> [r.id for r in targeted(rows + [row("d", correct=True, confidence=0.5)], "hardest", 2)]
    ['b', 'd']
    """
    pool = pool_rows(predictions, mode)
    if mode == "hardest":
        if budget is None:
            raise SeedforgeError("loop.budget: loop.select: hardest needs a budget (how many to select)")
        chosen = sorted(pool, key=hardness)[:budget]
    else:
        chosen = pool if mode == "all" else [r for r in pool if not r.correct]
    return sorted(chosen, key=lambda r: r.id)


def pool_rows(predictions: Sequence[PredictionRow], mode: Mode) -> list[PredictionRow]:
    """The examples `mode` may augment at all: seed rows (plus generated ones for wrong_any)."""
    if mode not in POOL_SPLITS:
        raise SeedforgeError(f"loop.select: expected one of {', '.join(POOL_SPLITS)}; got {mode!r}")
    return sorted((r for r in predictions if r.split in POOL_SPLITS[mode]), key=lambda r: r.id)


def select(
    predictions: Sequence[PredictionRow],
    mode: Mode,
    augment: Augment = "targeted",
    budget: int | float | None = None,
    seed: int = 0,
    iteration: int = 0,
) -> tuple[list[SelectionRow], dict[str, int]]:
    """Rows to augment (sorted by id) and their counts. A float `budget` is a share of the pool
    (rounded, at least 1), so one recipe scales from a 40-row seed set to a 700-row one.

    >>> rows = [row(str(i), correct=i < 7) for i in range(10)]
    >>> [r.id for r in select(rows, "wrong")[0]]
    ['7', '8', '9']
    >>> drawn, counts = select(rows, "wrong", "random")
    >>> len(drawn), counts
    (3, {'pool': 10, 'targeted': 3, 'selected': 3})
    >>> select(rows, "wrong", "none")[1]["selected"], len(select(rows, "all", budget=4)[0])
    (0, 4)
    >>> [r.id for r in select(rows, "hardest", budget=0.4)[0]]
    ['0', '7', '8', '9']
    """
    pool = pool_rows(predictions, mode)
    budget = resolve_budget(budget, len(pool))
    chosen = targeted(predictions, mode, budget)
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
        SelectionRow(id=r.id, input=r.input, output=r.output, prediction=r.prediction, correct=r.correct)
        for r in sorted(picked, key=lambda r: r.id)
    ]
    return rows, {"pool": len(pool), "targeted": len(chosen), "selected": len(rows)}


def resolve_budget(budget: int | float | None, pool: int) -> int | None:
    """A count stays; a share of the pool becomes a count (at least 1 when the pool has rows).

    >>> resolve_budget(16, 131), resolve_budget(0.1, 131), resolve_budget(0.01, 40), resolve_budget(None, 9)
    (16, 13, 1, None)
    """
    if isinstance(budget, float):
        return max(1, round(budget * pool)) if pool else 0
    return budget

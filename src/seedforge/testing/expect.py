"""What a run should have selected, worked out from its files alone, for the end-to-end tests.

Written apart from `seedforge.loop.select` on purpose: a test that asked the selector what it
should have selected could not fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def hardest(predictions: Sequence[dict[str, Any]], share: float) -> list[str]:
    """Ids of the seed rows `loop.select: hardest` with `loop.budget: share` takes, sorted: the
    wrong ones, then the right ones the student gave the least gold probability, `share` of the
    seed rows in all (at least one).

    >>> rows = [
    ...     {"id": "a", "split": "seed", "correct": True, "confidence": 0.9},
    ...     {"id": "b", "split": "seed", "correct": True, "confidence": 0.4},
    ...     {"id": "c", "split": "seed", "correct": False, "confidence": 0.45},
    ...     {"id": "d", "split": "test", "correct": False, "confidence": 0.1},
    ... ]
    >>> hardest(rows, 0.5), hardest(rows, 0.1)
    (['b', 'c'], ['c'])
    """
    seed = [p for p in predictions if p["split"] == "seed"]
    budget = max(1, round(share * len(seed)))
    ranked = sorted(seed, key=lambda p: (p["correct"], p["confidence"], p["id"]))
    return sorted(p["id"] for p in ranked[:budget])

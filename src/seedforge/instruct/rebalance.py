"""Resample a categorised set towards a target category distribution: cap, and report the short.

Counts are allocated deterministically (largest remainder), so each category's wanted count is
round(share_c * total): it differs from the target by less than one row, with no sampling error.
A category with more rows than that keeps a uniform sample (seeded) without replacement. A
category with fewer is *short*: by default it keeps all its rows and the shortfall is reported,
because a repeated row teaches a student nothing new and skews it towards that one example.
Only when the user sets `max_repeat` may each row appear up to 1 + max_repeat times; then every
row is repeated floor(n_c / have_c) times and a uniform sample of the rest once more, so no row is
repeated twice before every row is repeated once.

With `instruct.rebalance.fill: expand` the stage first asks the teacher for new rows of the short
categories (`seedforge.instruct.fill`), then caps the set with them here, as any other rows.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TypeVar

from seedforge.errors import SeedforgeError

T = TypeVar("T")


def shares(counts: Mapping[str, int]) -> dict[str, float]:
    """Counts as shares, sorted by category, rounded to 6 places for stable metrics files.

    >>> shares({"b": 1, "a": 3})
    {'a': 0.75, 'b': 0.25}
    """
    total = sum(counts.values())
    return {c: round(n / total, 6) if total else 0.0 for c, n in sorted(counts.items())}


def target_shares(target: str | Mapping[str, float], categories: Sequence[str]) -> dict[str, float]:
    """The target as shares summing to 1: "equal" over `categories`, or a dict normalised.

    >>> target_shares("equal", ["a", "b"])
    {'a': 0.5, 'b': 0.5}
    >>> target_shares({"a": 3, "b": 1}, ["a", "b"])
    {'a': 0.75, 'b': 0.25}
    """
    if target == "equal":
        return {c: 1 / len(categories) for c in sorted(categories)}
    assert not isinstance(target, str)
    total = sum(target.values())
    if total <= 0:
        raise SeedforgeError("instruct.rebalance.target: shares must sum to more than 0")
    return {c: v / total for c, v in sorted(target.items()) if v > 0}


def allocate(total: int, target: Mapping[str, float]) -> dict[str, int]:
    """Split `total` rows by share with the largest-remainder method (ties by category name).

    >>> allocate(10, {"a": 1/3, "b": 1/3, "c": 1/3})
    {'a': 4, 'b': 3, 'c': 3}
    >>> sum(allocate(7, {"x": 0.5, "y": 0.25, "z": 0.25}).values())
    7
    """
    exact = {c: total * s for c, s in target.items()}
    counts = {c: int(v) for c, v in exact.items()}
    left = total - sum(counts.values())
    for c in sorted(exact, key=lambda c: (-(exact[c] - counts[c]), c))[:left]:
        counts[c] += 1
    return dict(sorted(counts.items()))


def resample(
    rows: Sequence[T],
    categories: Sequence[str],
    target: str | Mapping[str, float],
    total: int,
    seed: int,
    max_repeat: int = 0,
) -> tuple[list[T], dict[str, object]]:
    """Rows resampled so category c has at most allocate(total, target)[c] rows, each row at most
    1 + max_repeat times; metrics before and after, with each short category's missing rows.

    `categories[i]` is the category of `rows[i]`. A target category with no rows at all cannot be
    filled: the target is renormalised over the categories that have rows, and the empty ones are
    listed under `missing` in the metrics (never silently).

    >>> rows = ["a1", "a2", "a3", "a4", "b1"]
    >>> out, m = resample(rows, ["a", "a", "a", "a", "b"], "equal", 6, seed=0)
    >>> sorted(out), m["short"], m["repeated_rows"]
    (['a1', 'a2', 'a4', 'b1'], {'b': 2}, 0)
    >>> out, m = resample(rows, ["a", "a", "a", "a", "b"], "equal", 6, seed=0, max_repeat=2)
    >>> sorted(out)
    ['a1', 'a2', 'a4', 'b1', 'b1', 'b1']
    >>> m["before"], m["after"], m["missing"]
    ({'a': 0.8, 'b': 0.2}, {'a': 0.5, 'b': 0.5}, [])
    """
    if len(rows) != len(categories):
        raise ValueError("one category per row")
    if total <= 0:
        raise SeedforgeError("instruct.rebalance.total: must be positive")
    if max_repeat < 0:
        raise SeedforgeError("instruct.rebalance.max_repeat: must be 0 or more")
    by_cat: dict[str, list[int]] = {}
    for i, c in enumerate(categories):
        by_cat.setdefault(c, []).append(i)
    wanted = target_shares(target, sorted(by_cat))
    missing = sorted(c for c in wanted if c not in by_cat)
    present = {c: s for c, s in wanted.items() if c in by_cat}
    if not present:
        raise SeedforgeError(
            "instruct.rebalance.target: no row has any of the target's categories "
            f"(rows have: {', '.join(sorted(by_cat)) or 'none'})"
        )
    counts = allocate(total, target_shares(present, sorted(present)))
    rng = random.Random(seed)
    picked: list[int] = []
    short: dict[str, int] = {}
    for c, wanted_n in counts.items():
        pool = by_cat[c]
        n = min(wanted_n, len(pool) * (1 + max_repeat))
        if n < wanted_n:
            short[c] = wanted_n - n
        full, rest = divmod(n, len(pool))
        picked.extend(pool * full)
        picked.extend(rng.sample(pool, rest))
    out = [rows[i] for i in picked]
    after = Counter(categories[i] for i in picked)
    metrics: dict[str, object] = {
        "rows_before": len(rows),
        "rows_after": len(out),
        "before": shares(Counter(categories)),
        "after": shares(after),
        "target": {c: round(s, 6) for c, s in wanted.items()},
        "dropped_categories": sorted(set(by_cat) - set(wanted)),  # rows whose category is not targeted
        "missing": missing,
        "short": short,  # rows a category lacks to reach its share (none are made up by copying)
        "max_repeat": max_repeat,
        "repeated_rows": len(picked) - len(set(picked)),
    }
    return out, metrics

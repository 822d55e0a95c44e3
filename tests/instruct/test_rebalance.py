"""Rebalance on a fixture with known categories: the result matches the target distribution.

Bound: counts are allocated by largest remainder, so each category's count differs from
target_share * total by less than 1 row, i.e. its share differs from the target by < 1/total,
with no sampling error (only which rows are picked is random). We assert that bound, and that
repetition is as even as it can be.
"""

from __future__ import annotations

from collections import Counter

import pytest

from seedforge.errors import SeedforgeError
from seedforge.instruct.rebalance import resample

# 60 coding, 25 math, 10 writing, 5 qa: skewed, like a raw expand output.
ROWS = [f"{c}-{i}" for c, n in (("coding", 60), ("math", 25), ("writing", 10), ("qa", 5)) for i in range(n)]
CATS = [r.split("-")[0] for r in ROWS]


@pytest.mark.parametrize("total", [40, 97, 400])
@pytest.mark.parametrize(
    "target",
    ["equal", {"coding": 0.1, "math": 0.2, "writing": 0.3, "qa": 0.4}, {"coding": 1, "qa": 3}],
)
def test_matches_target_within_one_row(target: object, total: int) -> None:
    out, m = resample(ROWS, CATS, target, total, seed=1, max_repeat=total)
    assert len(out) == total == m["rows_after"]
    wanted = {c: 0.25 for c in ("coding", "math", "writing", "qa")} if target == "equal" else target
    norm = sum(wanted.values())
    counts = Counter(r.split("-")[0] for r in out)
    for c, share in wanted.items():
        assert abs(counts[c] - total * share / norm) < 1, (c, counts)
        assert abs(m["after"][c] - share / norm) < 1 / total
    assert set(counts) == set(wanted)
    assert m["before"] == {"coding": 0.6, "math": 0.25, "qa": 0.05, "writing": 0.1}
    # Repetition is even: every row of a category appears floor or ceil(count / available) times.
    have = Counter(CATS)
    for c in counts:
        reps = Counter(r for r in out if r.startswith(c + "-"))
        lo = counts[c] // have[c]
        assert all(lo <= n <= lo + 1 for n in reps.values())
        if counts[c] >= have[c]:
            assert len(reps) == have[c]  # no row repeated twice before all are repeated once


def test_seeded_and_deterministic() -> None:
    a, _ = resample(ROWS, CATS, "equal", 40, seed=3)
    b, _ = resample(ROWS, CATS, "equal", 40, seed=3)
    c, _ = resample(ROWS, CATS, "equal", 40, seed=4)
    assert a == b and sorted(a) != sorted(c)


def test_missing_and_untargeted_categories_are_reported() -> None:
    out, m = resample(ROWS, CATS, {"coding": 1, "poetry": 1}, 10, seed=0)
    assert Counter(r.split("-")[0] for r in out) == {"coding": 10}
    assert m["missing"] == ["poetry"] and m["dropped_categories"] == ["math", "qa", "writing"]
    with pytest.raises(SeedforgeError, match=r"instruct\.rebalance\.target"):
        resample(ROWS, CATS, {"poetry": 1}, 10, seed=0)


def test_no_row_repeats_by_default_and_short_categories_are_reported() -> None:
    # 400 rows wanted equally from 60/25/10/5: each category wants 100, none has that many
    out, m = resample(ROWS, CATS, "equal", 400, seed=1)
    assert len(out) == len(set(out)) == 100 and m["repeated_rows"] == 0
    assert m["short"] == {"coding": 40, "math": 75, "qa": 95, "writing": 90}
    # 40 wanted: coding and math are capped at 10, writing fits exactly, qa is 5 short
    out, m = resample(ROWS, CATS, "equal", 40, seed=1)
    assert Counter(r.split("-")[0] for r in out) == {"coding": 10, "math": 10, "writing": 10, "qa": 5}
    assert m["short"] == {"qa": 5} and len(out) == len(set(out))
    # max_repeat bounds the copies of each row
    out, m = resample(ROWS, CATS, "equal", 40, seed=1, max_repeat=1)
    assert Counter(r.split("-")[0] for r in out)["qa"] == 10 and max(Counter(out).values()) == 2


def test_uniform_is_read_as_equal_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    from seedforge.config.params import Rebalance

    assert Rebalance(target="uniform").target == "equal"
    assert "deprecated" in caplog.text

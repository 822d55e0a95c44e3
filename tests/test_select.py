"""select: which examples each ablation augments, on the predictions evaluate writes."""

import pytest

from seedforge.errors import SeedforgeError
from seedforge.loop.select import select
from seedforge.schema.rows import PredictionRow


def prediction(id: str, split: str, input: str, correct: bool) -> PredictionRow:
    return PredictionRow(
        id=id,
        split=split,
        input=input,
        output="a",
        prediction="b",
        answer="b",
        score=float(correct),
        correct=correct,
    )


PREDICTIONS = (
    [prediction(f"s{i:02}", "seed", f"x{i}", i % 4 != 0) for i in range(40)]
    + [prediction(f"g{i}", "generated", f"y{i}", i % 2 == 0) for i in range(6)]
    + [prediction("t0", "test", "z", False)]
)
WRONG_SEED = [f"s{i:02}" for i in range(0, 40, 4)]


def ids(rows) -> list[str]:
    return [r.id for r in rows]


def test_modes_choose_as_documented() -> None:
    assert ids(select(PREDICTIONS, "wrong")[0]) == WRONG_SEED
    assert ids(select(PREDICTIONS, "all")[0]) == [f"s{i:02}" for i in range(40)]
    assert ids(select(PREDICTIONS, "wrong_any")[0]) == sorted([*WRONG_SEED, "g1", "g3", "g5"])
    row = select(PREDICTIONS, "wrong")[0][0]
    assert row.to_row() == {"id": "s00", "input": "x0", "output": "a", "prediction": "b", "correct": False}


def test_uniform_has_the_targeted_budget_drawn_at_random_from_the_pool() -> None:
    uniform, counts = select(PREDICTIONS, "wrong", "random", seed=0, iteration=0)
    assert counts == {"pool": 40, "targeted": 10, "selected": 10}
    assert len(set(ids(uniform))) == 10 and set(ids(uniform)) <= {f"s{i:02}" for i in range(40)}
    assert ids(uniform) != WRONG_SEED  # 1 chance in C(40, 10) of coinciding; the draw is seeded
    assert select(PREDICTIONS, "wrong", "random", seed=0, iteration=0)[0] == uniform  # reruns agree
    assert ids(select(PREDICTIONS, "wrong", "random", seed=1, iteration=0)[0]) != ids(uniform)
    assert ids(select(PREDICTIONS, "wrong", "random", seed=0, iteration=1)[0]) != ids(uniform)
    fixed, counts = select(PREDICTIONS, "wrong", "random", budget=25)
    assert len(fixed) == 25 and counts["targeted"] == 10


def test_budget_caps_a_targeted_selection_and_none_selects_nothing() -> None:
    capped, counts = select(PREDICTIONS, "wrong", budget=4)
    assert len(capped) == 4 and set(ids(capped)) <= set(WRONG_SEED) and counts["targeted"] == 10
    assert select(PREDICTIONS, "wrong", budget=50)[0] == select(PREDICTIONS, "wrong")[0]
    assert select(PREDICTIONS, "wrong", "none") == ([], {"pool": 40, "targeted": 10, "selected": 0})


def test_unknown_mode_names_the_key() -> None:
    with pytest.raises(SeedforgeError, match=r"loop\.select"):
        select(PREDICTIONS, "mistakes")  # type: ignore[arg-type]


def test_hardest_takes_the_wrong_then_the_least_confident_up_to_the_budget() -> None:
    # A student that fits its seed set leaves `wrong` empty; hardest still finds its weakest rows.
    fitted = [
        prediction(f"s{i:02}", "seed", f"x{i}", True).model_copy(update={"confidence": 1 - i / 100})
        for i in range(20)
    ]
    assert select(fitted, "wrong")[0] == []
    chosen, counts = select(fitted, "hardest", budget=3)
    assert ids(chosen) == ["s17", "s18", "s19"] and counts == {"pool": 20, "targeted": 3, "selected": 3}
    # wrong rows come first whatever their confidence; a share of the pool is a count
    mixed = [*fitted, prediction("s99", "seed", "w", False).model_copy(update={"confidence": 0.99})]
    assert ids(select(mixed, "hardest", budget=0.15)[0]) == ["s18", "s19", "s99"]
    # the random baseline at the same budget draws as many from the whole seed set
    assert select(fitted, "hardest", "random", budget=3)[1]["selected"] == 3
    with pytest.raises(SeedforgeError, match=r"loop\.budget"):
        select(fitted, "hardest")

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seedforge.tasks import Example, from_info
from seedforge.tasks.multiple_choice import MultipleChoiceTask

TASK = MultipleChoiceTask(labels=("A", "B", "C", "D"))
INPUT = "Which planet is red?\nA: Venus\nB: Mars\nC: Jupiter\nD: Saturn"


def test_compose_bind_and_info_round_trip() -> None:
    composed = MultipleChoiceTask().compose("Which  planet\nis red?", ["Venus", "Mars", "Jupiter", "Saturn"])
    assert composed == INPUT  # the context is made one line
    bound = MultipleChoiceTask().bind([Example(composed, "1")])
    assert bound == TASK and from_info(bound.info()) == bound
    with pytest.raises(ValueError, match="has 3 options where the seed set has 4"):
        bound.compose("q", ["a", "b", "c"])
    with pytest.raises(ValueError, match="option B is empty"):
        bound.compose("q", ["a", " ", "c", "d"])
    with pytest.raises(ValueError, match="needs an options column"):
        bound.compose("q", None)


def test_gold_takes_letters_and_indices() -> None:
    assert [TASK.gold(x) for x in ("0", "3", "b", "(C)", "D.")] == ["A", "D", "B", "C", "D"]
    with pytest.raises(ValueError, match="not an option letter"):
        TASK.gold("E")


def test_messy_teacher_output() -> None:
    raw = """Here are two new examples:

1. **Question:** Which planet has rings?
   A: Mercury
   B: Saturn
   C: Mars
   D: Venus
   **Answer:** (B)

2. Question: Which planet is largest?
A: Jupiter
B: Earth
C: Mars
Answer: A

Question: Which is hot?
A: ice
B: ice
C: snow
D: fire
Answer: D
"""
    result = TASK.parse(raw)
    assert result.examples[0] == Example(
        "Which planet has rings?\nA: Mercury\nB: Saturn\nC: Mars\nD: Venus", "B"
    )
    assert result.errors == ["field_out_of_order:answer"]  # the second block lacks option D
    assert [TASK.validate(e) for e in result.examples] == [(True, "ok"), (False, "duplicate_options")]


def test_answer_reads_only_a_letter() -> None:
    assert TASK.answer(" B\nQuestion: next") == "B"
    assert TASK.answer("Answer: c") == "C"
    assert TASK.answer("A person would say B") is None
    assert TASK.answer("E") is None  # not one of this task's letters
    assert TASK.correct("b) Mars", "B") and TASK.score("A", "B") == 0.0


def test_student_prompt_and_format() -> None:
    assert TASK.student_prompt(INPUT) == f"Question: {INPUT}\nAnswer:"
    assert TASK.format_example(Example(INPUT, "B")).endswith("D: Saturn\nAnswer: B")


_TEXT = (
    st.text(
        alphabet=st.characters(whitelist_categories=["L", "N", "Zs"], whitelist_characters=".,?'-"),
        min_size=1,
    )
    .map(lambda s: " ".join(s.split()))
    .filter(bool)
)


@given(
    st.lists(st.tuples(_TEXT, st.lists(_TEXT, min_size=4, max_size=4), st.sampled_from("ABCD")), max_size=4)
)
def test_round_trip(items) -> None:
    examples = [Example(TASK.compose(q, opts), letter) for q, opts, letter in items]
    result = TASK.parse(TASK.format_examples(examples))
    assert result.examples == examples and result.errors == []


@given(st.text())
def test_parse_and_answer_never_raise(raw: str) -> None:
    for example in TASK.parse(raw).examples:
        TASK.validate(example)
    assert 0.0 <= TASK.score(raw, "A") <= 1.0

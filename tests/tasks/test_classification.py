import pytest
from hypothesis import given
from hypothesis import strategies as st

from seedforge.errors import SeedforgeError
from seedforge.tasks import KINDS, Example, from_info, get_task
from seedforge.tasks.classification import ClassificationTask

LABELS = ["billing", "shipping", "Account Access"]
TASK = ClassificationTask(labels=tuple(LABELS))
OPEN = ClassificationTask()  # bound to no label set: any non-empty label


def test_registry() -> None:
    assert type(get_task("classification")) is KINDS["classification"]
    assert get_task("classification").name == "classification"
    assert get_task("math").name == "math"
    assert TASK.has_labels and not get_task("math").has_labels and not OPEN.has_labels
    with pytest.raises(SeedforgeError, match=r"unknown task kind 'sentiment'.*classification, instruction"):
        get_task("sentiment")


def test_bound_task_round_trips_through_its_info() -> None:
    bound = ClassificationTask(input_field="Review").bind([Example("a", "pos"), Example("b", "neg")])
    assert bound.labels == ("neg", "pos")
    info = bound.info()
    assert info == {
        "kind": "classification",
        "input_field": "Review",
        "output_field": "Label",
        "threshold": 1.0,
        "labels": ["neg", "pos"],
    }
    assert from_info(info) == bound
    with pytest.raises(ValueError, match="1 distinct label"):
        ClassificationTask().bind([Example("a", "pos"), Example("b", "pos")])


def test_messy_teacher_output() -> None:
    raw = """Sure! Here are 4 new examples in the requested format:

```
**Example 1**
**Input:** I was charged twice for the same order this month
**Label:** Billing.

**Example 2**
**Input**: "Why does my invoice show a fee I never agreed to?"
**Label**: billing (because it is about an unexpected fee)

**Example 3**
**Input:** My refund still hasn't shown up on my card

**Example 4**
**Input:** The app says my payment failed but money left my account
**Label:** BILLING
```

I hope this helps! Let me know if you'd like more examples.
"""
    result = TASK.parse(raw)
    assert result.examples == [
        Example("I was charged twice for the same order this month", "Billing"),
        Example(
            "Why does my invoice show a fee I never agreed to?",
            "billing (because it is about an unexpected fee)",
        ),
        Example("The app says my payment failed but money left my account", "BILLING"),
    ]
    assert result.errors == ["missing_field:label"]
    kept = [TASK.validate(e) for e in result.examples]
    assert kept == [(True, "ok"), (False, "label_not_in_set"), (True, "ok")]
    # Callers store the label in the set's spelling.
    assert [TASK.answer(e.output) for e in result.examples] == ["billing", None, "billing"]


def test_numbered_list_with_crlf_and_duplicate_label() -> None:
    raw = (
        "1. Input: Package arrived crushed\r\n   Label: shipping\r\n"
        "2. Input: Cannot log in after reset\r\n   Label: account access\r\n   Label: billing\r\n"
        "3) Input: Courier left it at the wrong door\r\n   Label: Shipping\r\n"
    )
    result = TASK.parse(raw)
    assert result.examples == [
        Example("Package arrived crushed", "shipping"),
        Example("Courier left it at the wrong door", "Shipping"),
    ]
    assert result.errors == ["duplicate_field:label"]


def test_validate_reasons() -> None:
    assert TASK.validate(Example("ok text", "Account access")) == (True, "ok")
    assert TASK.validate(Example("ok text", "refunds")) == (False, "label_not_in_set")
    assert TASK.validate(Example("", "billing")) == (False, "empty_input")
    assert TASK.validate(Example("text", " ")) == (False, "empty_label")
    assert OPEN.validate(Example("text", "anything")) == (True, "ok")


def test_answer_matches_case_insensitively_and_returns_set_spelling() -> None:
    assert TASK.answer("account ACCESS") == "Account Access"
    assert TASK.answer(" **Shipping**.\n\nInput: next one") == "shipping"
    assert TASK.answer("shipping or billing") is None
    assert TASK.answer("") is None
    assert OPEN.answer("\n\n") is None


def test_answer_prefers_exact_spelling_among_case_variants() -> None:
    spam = ClassificationTask(labels=("spam", "Spam"))
    assert spam.answer("Spam") == "Spam"
    assert spam.answer("SPAM") == "spam"


def test_label_ending_in_a_period_survives_parse_and_matching() -> None:
    (example,) = TASK.parse("Input: Made in Ohio\nLabel: U.S.").examples
    assert example.output == "U.S"
    places = ClassificationTask(labels=("U.S.", "EU"))
    assert places.answer(example.output) == "U.S."
    assert places.validate(example) == (True, "ok")


def test_score_and_correct() -> None:
    assert TASK.score(" Billing\nInput: x", "billing") == 1.0 and TASK.correct(
        " Billing\nInput: x", "billing"
    )
    assert TASK.score("shipping", "billing") == 0.0 and not TASK.correct("shipping", "billing")
    assert not TASK.correct("refund", "refund")  # neither is a label
    assert not TASK.correct("", "billing")
    assert OPEN.correct("Refund", "refund")


def test_format_and_prompts() -> None:
    examples = [Example("Hi there", "greeting"), Example('"Quoted"', "x")]
    assert TASK.format_examples(examples) == (
        "Input: Hi there\nLabel: greeting\n\nInput: '\"Quoted\"'\nLabel: x"
    )
    assert TASK.student_prompt("Where is my box?") == "Input: Where is my box?\nLabel:"
    assert (TASK.input_field, TASK.output_field) == ("Input", "Label")


_TEXT = (
    st.text(
        alphabet=st.characters(
            whitelist_categories=["L", "N", "Zs"], whitelist_characters=".,:;!?'\"()-*#_/$%&"
        ),
        min_size=1,
        max_size=80,
    )
    .map(lambda s: " ".join(s.split()))
    .filter(bool)
)
_LABEL = st.from_regex(r"[A-Za-z][A-Za-z0-9_ -]{0,15}[A-Za-z0-9]", fullmatch=True)


@given(st.lists(st.builds(Example, _TEXT, _LABEL), max_size=6))
def test_round_trip(examples: list[Example]) -> None:
    result = TASK.parse(TASK.format_examples(examples))
    assert result.examples == examples
    assert result.errors == []


@given(st.text())
def test_parse_and_answer_never_raise(raw: str) -> None:
    result = TASK.parse(raw)
    for example in result.examples:
        TASK.validate(example)
    TASK.answer(raw)
    assert 0.0 <= OPEN.score(raw, raw) <= 1.0

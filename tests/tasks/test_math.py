import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seedforge.tasks import Example
from seedforge.tasks.math import MathTask, normalise_number

TASK = MathTask()
REPO = Path(__file__).resolve().parents[2]
GSM8K_TEST = REPO / ".." / "shared" / "data" / "gsm8k" / "test.jsonl"


@pytest.fixture(scope="module")
def gsm8k_rows() -> list[dict[str, str]]:
    if not GSM8K_TEST.exists():
        pytest.fail(f"{GSM8K_TEST} is missing: tests read the public datasets from ../shared/data")
    with GSM8K_TEST.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _gold(answer: str) -> Decimal:
    return Decimal(answer.rsplit("####", 1)[1].strip().replace(",", ""))


def test_every_gsm8k_answer_extracts_to_its_final_number(gsm8k_rows) -> None:
    assert len(gsm8k_rows) > 1000
    for row in gsm8k_rows:
        extracted = TASK.answer(row["answer"])
        assert extracted is not None, row["answer"]
        assert Decimal(extracted) == _gold(row["answer"]), row["answer"]
        assert TASK.correct(row["answer"], row["answer"])
        assert TASK.validate(Example(row["question"], row["answer"])) == (True, "ok")


def test_last_number_fallback_mostly_finds_the_answer_in_the_reasoning(gsm8k_rows) -> None:
    # Without "####" a student's answer is its last number; GSM8K reasoning
    # usually ends with the result, and annotations must not be picked instead.
    hits = sum(
        TASK.answer(row["answer"].rsplit("####", 1)[0]) == format(_gold(row["answer"]).normalize(), "f")
        for row in gsm8k_rows
    )
    assert hits / len(gsm8k_rows) > 0.95


def test_gsm8k_rows_round_trip_through_the_strict_format(gsm8k_rows) -> None:
    for row in gsm8k_rows:
        example = Example(row["question"].strip(), row["answer"].strip())
        result = TASK.parse(TASK.format_example(example))
        assert result.examples == [example]
        assert result.errors == []
    examples = [Example(r["question"].strip(), r["answer"].strip()) for r in gsm8k_rows[:200]]
    assert TASK.parse(TASK.format_examples(examples)).examples == examples


def test_messy_teacher_output() -> None:
    raw = """Here are 3 new problems that test the same skill:

### Example 1
**Question:** Lena bakes 24 cookies and eats 1/4 of them. How many are left?
**Answer:** She eats 24 / 4 = <<24/4=6>>6 cookies.
So 24 - 6 = <<24-6=18>>18 cookies are left.
#### 18

### Example 2
**Question:** A farmer has 5 pens with 8 sheep each. He sells 12 sheep. How many remain?
**Answer:** He has 5 * 8 = 40 sheep.

After selling he has 40 - 12 = 28 sheep.
#### 28

Note: I kept the same two-step structure.

### Example 3
**Question:** Sam saves $15 a week for 4 weeks. How much does he save?
**Answer:** Sam saves 15 * 4 = $60.
"""
    result = TASK.parse(raw.replace("\n", "\r\n"))
    assert result.errors == []
    assert result.examples == [
        Example(
            "Lena bakes 24 cookies and eats 1/4 of them. How many are left?",
            "She eats 24 / 4 = <<24/4=6>>6 cookies.\nSo 24 - 6 = <<24-6=18>>18 cookies are left.\n#### 18",
        ),
        Example(
            "A farmer has 5 pens with 8 sheep each. He sells 12 sheep. How many remain?",
            "He has 5 * 8 = 40 sheep.\n\nAfter selling he has 40 - 12 = 28 sheep.\n#### 28",
        ),
        Example("Sam saves $15 a week for 4 weeks. How much does he save?", "Sam saves 15 * 4 = $60."),
    ]
    verdicts = [TASK.validate(e) for e in result.examples]
    assert verdicts == [(True, "ok"), (True, "ok"), (False, "no_answer")]


def test_code_fenced_output_with_truncated_last_example() -> None:
    raw = (
        "```markdown\n1. Question: What is 6 * 7?\n   Answer: 6 * 7 = 42\n   #### 42\n\n"
        "2. Question: What is 9 + 10?\n```\n"
    )
    result = TASK.parse(raw)
    assert result.examples == [Example("What is 6 * 7?", "6 * 7 = 42\n#### 42")]
    assert result.errors == ["missing_field:answer"]
    assert TASK.validate(result.examples[0]) == (True, "ok")


def test_duplicate_answer_is_rejected() -> None:
    raw = "Question: q\nAnswer: 1\n#### 1\nAnswer: 2\n#### 2"
    assert TASK.parse(raw).errors == ["duplicate_field:answer"]
    assert TASK.parse(raw).examples == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#### 1,000.50", "1000.5"),
        ("#### -3", "-3"),
        ("#### $18", "18"),
        ("#### 18.00", "18"),
        ("#### <<3*4=12>>12", "12"),
        ("She makes 9 * 2 = $<<9*2=18>>18 every day.", "18"),
        ("First 4, then 5.\n#### 7\nwait, 8?", "7"),
        (" 2 + 3 = 5\n\nQuestion: How many legs do 3 cats have?\nAnswer: 12", "5"),
        ("The temperature drops to -4 degrees.", "-4"),
        ("10 - 6 = 4", "4"),
        ("It costs .5 dollars", "0.5"),
        ("#### \nThe answer is 12", "12"),
        ("I don't know", None),
        ("", None),
    ],
)
def test_answer_extraction(text: str, expected: str | None) -> None:
    assert TASK.answer(text) == expected


def test_normalise_number() -> None:
    assert normalise_number("1,234,567") == "1234567"
    assert normalise_number("-0.0") == "0"
    assert normalise_number("3.14159") == "3.14159"


def test_correct_compares_numbers() -> None:
    assert TASK.correct("So she has $1,000 left.", "... \n#### 1000")
    assert TASK.correct("#### 2.0000004", "#### 2")
    assert not TASK.correct("#### 2.01", "#### 2")
    assert not TASK.correct("#### -18", "#### 18")
    assert not TASK.correct("no number here", "#### 18")


def test_validate_reasons() -> None:
    assert TASK.validate(Example("q", "2 + 2 = 4\n#### 4")) == (True, "ok")
    assert TASK.validate(Example("q", "2 + 2 = 4")) == (False, "no_answer")
    assert TASK.validate(Example("q", "so #### 4 inline")) == (False, "no_answer")
    assert TASK.validate(Example("q", "2 + 2\n#### four")) == (False, "no_answer")
    assert TASK.validate(Example(" ", "#### 4")) == (False, "empty_input")


def test_format_and_prompts() -> None:
    example = Example("What is 2+2?", "2+2=<<2+2=4>>4\n#### 4")
    assert TASK.format_example(example) == "Question: What is 2+2?\nAnswer: 2+2=<<2+2=4>>4\n#### 4"
    assert TASK.student_prompt("What is 2+2?") == "Question: What is 2+2?\nAnswer:"
    assert (TASK.input_field, TASK.output_field) == ("Question", "Answer")


@given(st.text())
def test_parse_and_answer_never_raise(raw: str) -> None:
    result = TASK.parse(raw)
    for example in result.examples:
        TASK.validate(example)
    found = TASK.answer(raw)
    assert found is None or Decimal(found) == Decimal(found)
    TASK.correct(raw, raw)

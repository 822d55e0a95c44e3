import doctest
import importlib
import signal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seedforge.tasks.parsing import parse_blocks, protect, unwrap

FIELDS = ["Input", "Label"]


def blocks(raw: str) -> tuple[list[dict[str, str]], list[str]]:
    return parse_blocks(raw, FIELDS)


@pytest.mark.parametrize(
    "module",
    [
        "seedforge.tasks",
        "seedforge.tasks.base",
        "seedforge.tasks.parsing",
        "seedforge.tasks.classification",
        "seedforge.tasks.math",
    ],
)
def test_doctests_pass(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0


def test_plain_strict_format() -> None:
    assert blocks("Input: a b\nLabel: x\n\nInput: c\nLabel: y") == (
        [{"input": "a b", "label": "x"}, {"input": "c", "label": "y"}],
        [],
    )


@pytest.mark.parametrize(
    "prefix",
    ["1. ", "2) ", "(3) ", "- ", "* ", "Example 3: ", "**Example 1:** ", "- 1. ", "### Example 2: "],
)
def test_numbering_and_bullets_before_the_first_field(prefix: str) -> None:
    assert blocks(f"{prefix}Input: hello\n   Label: greet") == (
        [{"input": "hello", "label": "greet"}],
        [],
    )


@pytest.mark.parametrize(
    "separator", ["1.", "2)", "Example 3:", "### Example 3", "**Example 1**", "---", "## 2."]
)
def test_separator_lines_between_examples(separator: str) -> None:
    raw = f"{separator}\nInput: a\nLabel: x\n{separator}\nInput: b\nLabel: y\n"
    assert blocks(raw)[0] == [{"input": "a", "label": "x"}, {"input": "b", "label": "y"}]


@pytest.mark.parametrize(
    "line",
    [
        "**Input:** hello",
        "**Input**: hello",
        "*Input*: hello",
        "__Input__: hello",
        "INPUT: hello",
        "input : hello",
        "Input:hello",
    ],
)
def test_field_name_decoration_and_case(line: str) -> None:
    assert blocks(f"{line}\n**Label:** greet")[0] == [{"input": "hello", "label": "greet"}]


def test_code_fence_preamble_epilogue_and_crlf() -> None:
    raw = (
        "Sure! Here are 2 new examples:\r\n\r\n```text\r\nInput: I was billed twice\r\n"
        "Label: billing\r\n\r\nInput: Where is my parcel?\r\nLabel: shipping\r\n```\r\n\r\n"
        "I hope this helps! Let me know if you need more.\r\n"
    )
    assert blocks(raw) == (
        [
            {"input": "I was billed twice", "label": "billing"},
            {"input": "Where is my parcel?", "label": "shipping"},
        ],
        [],
    )


def test_quotes_wrapping_whole_value_are_removed_but_inner_quotes_kept() -> None:
    raw = 'Input: "My card was declined"\nLabel: \'billing\'\n\nInput: He said "hi" twice\nLabel: x'
    assert blocks(raw)[0] == [
        {"input": "My card was declined", "label": "billing"},
        {"input": 'He said "hi" twice', "label": "x"},
    ]


def test_emphasis_wrapping_whole_value_is_removed_but_inner_emphasis_kept() -> None:
    raw = "Input: **Refund me now**\nLabel: *billing*\n\nInput: **urgent** and **late**\nLabel: x"
    assert blocks(raw)[0] == [
        {"input": "Refund me now", "label": "billing"},
        {"input": "**urgent** and **late**", "label": "x"},
    ]


def test_missing_label_is_an_error_and_neighbours_survive() -> None:
    raw = "Input: a\nLabel: x\n\nInput: b\n\nInput: c\nLabel: z"
    assert blocks(raw) == (
        [{"input": "a", "label": "x"}, {"input": "c", "label": "z"}],
        ["missing_field:label"],
    )


def test_truncated_last_example() -> None:
    raw = "1. Input: a\nLabel: x\n2. Input: b\nLabel: y\n3. Input: the teacher ran out of tok"
    assert blocks(raw) == (
        [{"input": "a", "label": "x"}, {"input": "b", "label": "y"}],
        ["missing_field:label"],
    )


def test_duplicated_field_rejects_that_example_only() -> None:
    raw = "Input: a\nLabel: x\nLabel: y\n\nInput: b\nLabel: z"
    assert blocks(raw) == ([{"input": "b", "label": "z"}], ["duplicate_field:label"])


def test_label_without_input() -> None:
    assert blocks("Label: x\n\nInput: b\nLabel: z") == (
        [{"input": "b", "label": "z"}],
        ["missing_field:input"],
    )


def test_empty_field() -> None:
    assert blocks("Input: a\nLabel:\n\nInput:   \nLabel: y") == (
        [],
        ["empty_field:label", "empty_field:input"],
    )


def test_value_on_the_line_after_the_field_name() -> None:
    assert blocks("Input:\nI was billed twice\nLabel:\nbilling")[0] == [
        {"input": "I was billed twice", "label": "billing"}
    ]


def test_single_line_field_wrapped_over_two_lines_is_rejected() -> None:
    raw = "Input: I was billed twice\nand nobody answered\nLabel: billing"
    assert blocks(raw) == ([], ["unexpected_text:input"])


def test_extra_blank_lines_and_chatter_between_examples() -> None:
    raw = "Input: a\n\n\nLabel: x\n\nThis one is about refunds.\n\n\nInput: b\nLabel: y\n\n\n"
    assert blocks(raw) == ([{"input": "a", "label": "x"}, {"input": "b", "label": "y"}], [])


def test_multiline_field_keeps_inner_blank_lines_until_the_next_field() -> None:
    raw = (
        "Question: q1\nAnswer: step one\n\nstep two\n#### 3\n\n\n"
        "2. Question: q2\nAnswer: only\n#### 4\nQuestion: q3\nAnswer: x"
    )
    records, errors = parse_blocks(raw, ["Question", "Answer"], ["Answer"])
    assert records == [
        {"question": "q1", "answer": "step one\n\nstep two\n#### 3"},
        {"question": "q2", "answer": "only\n#### 4"},
        {"question": "q3", "answer": "x"},
    ]
    assert errors == []


def test_heading_with_four_hashes_is_not_a_separator() -> None:
    # GSM8K answers end in "#### N"; it must stay part of the answer.
    records, _ = parse_blocks("Question: q\nAnswer: a\n#### 18", ["Question", "Answer"], ["Answer"])
    assert records == [{"question": "q", "answer": "a\n#### 18"}]


def test_no_examples_at_all() -> None:
    assert blocks("I'm sorry, I can't help with that.") == ([], [])
    assert blocks("") == ([], [])


@pytest.mark.parametrize(
    "line",
    [
        "Example" + " " * 5000 + "x",
        "### Example  #  3  :  **  " * 300,
        "- " * 3000 + "x",
        "1. " * 3000 + "Input",
        "\t \t" * 2000 + "Inputx",
        "*" * 5000,
    ],
)
def test_adversarial_lines_parse_in_linear_time(line: str) -> None:
    # Regression: optional tokens separated by plain "\s*" backtracked exponentially (50 spaces
    # after "Example" took seconds; these lines would take longer than the universe). Not a speed
    # assert: the alarm only turns such a hang into a failure, with a margin no load reaches.
    def hung(signum: int, frame: object) -> None:
        raise TimeoutError("parse_blocks backtracks: still running after 120 s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(120)
    try:
        for raw in (line, line + "\n" + line):
            parse_blocks(raw, FIELDS)
            parse_blocks(raw, ["Question", "Answer"], ["Answer"])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@given(st.text())
def test_parse_blocks_never_raises(raw: str) -> None:
    records, errors = parse_blocks(raw, ["Question", "Answer"], ["Answer"])
    assert all(set(r) == {"question", "answer"} for r in records)
    assert all(isinstance(e, str) and ":" in e for e in errors)


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="«»")))
def test_protect_then_unwrap_gives_the_stripped_value(value: str) -> None:
    assert unwrap(protect(value)) == value.strip()

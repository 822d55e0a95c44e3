"""The operators' parsers on realistic messy answers: lists, JSON in fences, missing tags, chatter."""

from __future__ import annotations

import pytest

from seedforge.instruct.parsing import (
    parse_category,
    parse_instruction_list,
    parse_judgement,
    parse_pairs,
    parse_response,
    parse_single_instruction,
)

CHATTY_LIST = """Sure! Here are 5 new instructions for you:

1. **Write a short story about a robot who learns to paint.**
2) Explain the difference between a virus and a bacterium.
3. "Give me a recipe for a vegan chocolate cake."
4.   Translate the following sentence into Spanish: "Where is the train station?"
5. Be kind

I hope these help! Let me know if you need more."""


def test_numbered_list_with_chatter_and_decoration() -> None:
    parsed = parse_instruction_list(CHATTY_LIST)
    assert parsed.items == [
        "Write a short story about a robot who learns to paint.",
        "Explain the difference between a virus and a bacterium.",
        "Give me a recipe for a vegan chocolate cake.",
        'Translate the following sentence into Spanish: "Where is the train station?"',
    ]
    assert parsed.errors == ["too_short"]  # "Be kind" is dropped with its reason, chatter silently


def test_json_list_inside_fence_after_chatter() -> None:
    raw = (
        'Here you go:\n```json\n{"instructions": '
        '["Name three rivers in Africa.", "Sort these numbers: 3, 1, 2.", ""]}\n```'
    )
    parsed = parse_instruction_list(raw)
    assert parsed.items == ["Name three rivers in Africa.", "Sort these numbers: 3, 1, 2."]
    assert parsed.errors == ["too_short"]


def test_unclosed_fence_and_bullets() -> None:
    raw = "```\n- Describe the smell of rain in one paragraph.\n* List four uses of baking soda."
    assert parse_instruction_list(raw).items == [
        "Describe the smell of rain in one paragraph.",
        "List four uses of baking soda.",
    ]


def test_plain_lines_without_markers() -> None:
    raw = "Here are some tasks:\nWrite a limerick about a cat.\nSuggest a name for a coffee shop."
    assert parse_instruction_list(raw).items == [
        "Write a limerick about a cat.",
        "Suggest a name for a coffee shop.",
    ]


def test_refine_with_label_and_trailing_chatter() -> None:
    raw = (
        "**Refined instruction:** Write a 200-word story for children about a robot who paints."
        "\n\nThis version is more specific."
    )
    assert parse_single_instruction(raw).items == [
        "Write a 200-word story for children about a robot who paints."
    ]
    assert parse_single_instruction("").errors == ["no_instruction"]


def test_pairs_labels_json_and_tags() -> None:
    labelled = """Here are the pairs.

Instruction 1: What happens to water vapour as air rises?
Response 1: It cools and condenses into droplets that form clouds.

**Instruction 2:** Name two kinds of precipitation.
**Response 2:** Rain and snow.

Instruction 3: Where does runoff go?"""
    parsed = parse_pairs(labelled)
    assert [p[0] for p in parsed.items] == [
        "What happens to water vapour as air rises?",
        "Name two kinds of precipitation.",
    ]
    assert parsed.items[1][2] == "Rain and snow."
    assert parsed.errors == ["missing_field:response"]

    fenced = (
        '```json\n[{"instruction": "Define transpiration.", "input": "", '
        '"output": "Water vapour released by plants."}, {"instruction": "x"}]\n```'
    )
    parsed = parse_pairs(fenced)
    assert parsed.items == [("Define transpiration.", "", "Water vapour released by plants.")]
    assert parsed.errors == ["missing_field:response"]

    tags = (
        "<instruction>What is groundwater?</instruction>\n<response>Water stored underground.</response>"
        "\n<instruction>Why?</instruction>"
    )
    parsed = parse_pairs(tags)
    assert parsed.items == [("What is groundwater?", "", "Water stored underground.")]
    assert parsed.errors == ["missing_field:response"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"score": 9, "reason": "Correct and complete."}', ([(9, "Correct and complete.")], [])),
        ('```json\n{"rating": "7", "explanation": "Good but brief."}\n```', ([(7, "Good but brief.")], [])),
        ("Score: 8/10\nReason: accurate.", ([(8, "accurate.")], [])),
        ("I would give this a 6 out of 10 because it is vague.", ([(6, "I would give this a")], [])),
        ('{"score": 0, "reason": "empty"}', ([], ["score_out_of_range:0"])),
        ("Score: 12", ([], ["score_out_of_range:12"])),
        ('{"score": "high"}', ([], ["score_not_a_number:high"])),
        ('{"score": null, "reason": "n/a"}', ([], ["missing_score"])),
        ("This response is great.", ([], ["missing_score"])),
        ("", ([], ["missing_score"])),
    ],
)
def test_judge_never_defaults_a_score(raw: str, expected: tuple) -> None:
    parsed = parse_judgement(raw)
    assert (parsed.items, parsed.errors) == expected


def test_category_and_response() -> None:
    cats = ["open_qa", "coding", "creative_writing"]
    assert parse_category('```json\n{"category": "Coding"}\n```', cats).items == ["coding"]
    assert parse_category("The best fit is creative_writing.", cats).items == ["creative_writing"]
    assert parse_category("coding or open_qa", cats).errors == ["ambiguous_category"]
    assert parse_category("", cats).errors == ["unknown_category"]
    assert parse_response("**Answer:** 42").items == ["42"]

import json

from seedforge.tasks import Example, get_task, make_task
from seedforge.tasks.instruction import rouge_l
from tests.conftest import shared

TASK = get_task("instruction")


def test_rouge_l_is_an_f1_of_the_longest_common_subsequence() -> None:
    assert rouge_l("a b c d", "a b c d") == 1.0
    assert rouge_l("a x b y", "a b") == round(2 * 0.5 * 1.0 / 1.5, 4)
    assert rouge_l("Cats!", "dogs") == 0.0
    assert rouge_l("THE Cat", "the cat") == 1.0


def test_score_threshold_decides_correct() -> None:
    gold = "Paris is the capital of France."
    assert TASK.score("The capital of France is Paris.", gold) < 1.0
    assert TASK.correct("Paris is the capital of France, of course.", gold)
    assert not TASK.correct("I do not know.", gold)
    strict = make_task({"kind": "instruction", "threshold": 0.95})
    assert not strict.correct("Paris is the capital of France, of course.", gold)
    # A student that goes on to invent the next instruction is scored on its own response only.
    assert TASK.score(gold + "\nInstruction: now write a poem", gold) == 1.0


def test_multiline_examples_parse_and_round_trip() -> None:
    raw = "Sure!\n\nInstruction: List two fruits.\n\nUse a list.\nResponse: - apple\n- pear\n\nThanks"
    (example,) = TASK.parse(raw).examples
    assert example == Example("List two fruits.\n\nUse a list.", "- apple\n- pear\n\nThanks")
    assert TASK.parse(TASK.format_example(example)).examples == [example]
    assert TASK.validate(Example("do it", " ")) == (False, "empty_output")


def test_alpaca_rows_round_trip_through_the_strict_format() -> None:
    rows = json.loads(shared("instruct", "alpaca_en_demo.json").read_text())[:100]
    for row in rows:
        text = "\n\n".join(p for p in (row["instruction"].strip(), row["input"].strip()) if p)
        # Code blocks survive inside a response; only spaces on otherwise blank lines are lost.
        output = "\n".join(line if line.strip() else "" for line in row["output"].strip().split("\n"))
        example = Example(text, output)
        assert TASK.parse(TASK.format_example(example)).examples == [example], row["instruction"]
        assert TASK.correct(row["output"], row["output"])

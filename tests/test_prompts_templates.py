from pathlib import Path

import jinja2
import pytest

from seedforge.tasks import Example, get_task

PROMPTS = Path(__file__).resolve().parents[1] / "prompts"
LABELS = ["billing", "shipping", "account_access"]


def render(name: str, **variables: object) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PROMPTS),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(name).render(**variables)


def classification_vars(**overrides: object) -> dict[str, object]:
    variables: dict[str, object] = {
        "k": 4,
        "labels": LABELS,
        "example": Example("I was charged twice for one order", "billing"),
        "prediction": "shipping",
        "task": get_task("classification").with_labels(LABELS),
    }
    return {**variables, **overrides}


def math_vars(**overrides: object) -> dict[str, object]:
    variables: dict[str, object] = {
        "k": 3,
        "labels": None,
        "example": Example("Ann has 3 bags of 5 apples. How many apples?", "3 * 5 = <<3*5=15>>15\n#### 15"),
        "prediction": "8",
        "task": get_task("math"),
    }
    return {**variables, **overrides}


def test_classification_template_structure() -> None:
    text = render("classification.jinja", **classification_vars())
    rules = text.index("billing, shipping, account_access")
    demo = text.index("only for illustration")
    seed = text.index("Input: I was charged twice for one order\nLabel: billing")
    request = text.index("Write 4 new examples")
    assert rules < demo < seed < request
    assert "The student wrongly answered: shipping" in text
    assert "Label: positive" not in text  # demo labels appear only as the demo's own
    assert text.count("Label: negative") == 3
    assert text.endswith("in the exact format above.\n")
    assert len(text.splitlines()) < 45


def test_classification_demo_blocks_parse_with_the_task_parser() -> None:
    text = render("classification.jinja", **classification_vars())
    demo = text[text.index("Demonstration") : text.index("Now your turn")]
    parsed = get_task("classification").parse(demo)
    assert len(parsed.examples) == 3
    assert {e.output for e in parsed.examples} == {"negative"}
    assert parsed.errors == []


def test_math_template_structure_and_demo_is_valid() -> None:
    task = get_task("math")
    text = render("math.jinja", **math_vars())
    seed = text.index("Question: Ann has 3 bags of 5 apples. How many apples?\nAnswer: 3 * 5")
    request = text.index("Write 3 new examples")
    assert text.index("Demonstration") < seed < request
    assert "The student's wrong answer: 8" in text
    demo = text[text.index("Demonstration") : text.index("Now your turn")]
    parsed = task.parse(demo)
    assert len(parsed.examples) == 3
    for example in parsed.examples:
        assert task.validate(example) == (True, "ok")
    assert [task.answer(e.output) for e in parsed.examples] == ["26", "37", "49"]


@pytest.mark.parametrize(
    ("name", "variables"),
    [("classification.jinja", classification_vars), ("math.jinja", math_vars)],
)
def test_empty_prediction_is_omitted(name, variables) -> None:
    text = render(name, **variables(prediction=""))
    assert "found this example hard" in text  # the reason it was picked is still said
    assert "answered:" not in text and "wrong answer:" not in text
    assert "\n\n\n" not in text


@pytest.mark.parametrize(
    ("name", "variables", "missing"),
    [
        ("classification.jinja", classification_vars, "k"),
        ("classification.jinja", classification_vars, "labels"),
        ("classification.jinja", classification_vars, "example"),
        ("classification.jinja", classification_vars, "prediction"),
        ("classification.jinja", classification_vars, "task"),
        ("math.jinja", math_vars, "k"),
        ("math.jinja", math_vars, "example"),
        ("math.jinja", math_vars, "prediction"),
        ("math.jinja", math_vars, "task"),
    ],
)
def test_missing_variable_raises(name, variables, missing) -> None:
    kwargs = variables()
    del kwargs[missing]
    with pytest.raises(jinja2.UndefinedError):
        render(name, **kwargs)


@pytest.mark.parametrize(
    ("name", "task_name", "example", "shot"),
    [
        (
            "classification_fewshot.jinja",
            "classification",
            Example("charged twice", "billing"),
            Example("refund missing", "billing"),
        ),
        (
            "math_fewshot.jinja",
            "math",
            Example("What is 2+3?", "2+3=5\n#### 5"),
            Example("What is 1+1?", "1+1=2\n#### 2"),
        ),
    ],
)
def test_fewshot_templates_render_the_tuned_teachers_training_format(
    name: str, task_name: str, example: Example, shot: Example
) -> None:
    """The prompt a completion teacher sees is teacher_finetune's training prompt plus the prefill,
    so the tuned adapter is asked in exactly the format it learned."""
    from seedforge.loop.generate import plan
    from seedforge.teachers.prompts import load_template
    from seedforge.training.teacher_finetune import fewshot_prompt

    task = get_task(task_name)
    task = task.with_labels(["billing"]) if task_name == "classification" else task
    template = load_template(PROMPTS / name)
    seeds = [
        {"id": "s1", "input": shot.input, "output": shot.output},
        {"id": "w", "input": example.input, "output": example.output},
    ]
    (_, req), *_ = plan([seeds[1]], template, task, 4, 0, 0, samples=2, seed_set=seeds, shots=3)
    assert req.prompt() == fewshot_prompt(task, [shot, example]) + task.input_field + ":"
    assert req.prefill == task.input_field + ":" and req.stop == ("\n\n",)
    # no shots asked for: the wrong example alone
    (_, bare), *_ = plan([seeds[1]], template, task, 4, 0, 0, seed_set=seeds, shots=0)
    assert bare.prompt() == fewshot_prompt(task, [example]) + task.input_field + ":"

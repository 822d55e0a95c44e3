"""generate: prompts rendered per selected seed example, teacher called once per prompt, cache resumes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from seedforge.config.params import LlamaCppTeacher
from seedforge.errors import SeedforgeError
from seedforge.loop import generate
from seedforge.tasks import get_task
from seedforge.teachers import make_teacher
from seedforge.teachers.cache import CallCache
from seedforge.teachers.prompts import load_template
from seedforge.testing.project import REPO

LABELS = ["account", "billing", "delivery", "technical"]
TASK = get_task("classification").with_labels(LABELS)
SELECTED = [
    {"id": f"id{i}", "input": text, "output": label, "prediction": "billing"}
    for i, (text, label) in enumerate(
        [
            ("The app freezes on login", "technical"),
            ("Parcel stuck in customs", "delivery"),
            ("Change my email address", "account"),
            ("Refund still missing", "billing"),
        ]
    )
]


def planned(iteration: int = 0) -> list:
    template = load_template("prompts/classification.jinja", root=REPO)
    return generate.plan(SELECTED, template, TASK, 3, 0, iteration)


def test_plan_renders_each_example_with_its_gold_label() -> None:
    plan = planned()
    assert [row["id"] for row, _ in plan] == ["id0", "id1", "id2", "id3"]
    first = plan[0][1].messages[0]["content"]
    assert "The app freezes on login" in first and "technical" in first and "billing" in first
    assert "3" in first
    assert len({req.seed for _, req in plan}) == 4
    assert [r.seed for _, r in planned(1)] != [r.seed for _, r in plan]  # a new iteration samples anew


def test_show_prediction_false_keeps_the_wrong_answer_out_of_the_prompt() -> None:
    template = load_template("prompts/classification.jinja", root=REPO)
    shown = generate.plan(SELECTED, template, TASK, 3, 0, 0)
    hidden = generate.plan(SELECTED, template, TASK, 3, 0, 0, show_prediction=False)
    assert all("The student wrongly answered: billing" in req.prompt() for _, req in shown)
    assert all("wrongly answered" not in req.prompt() for _, req in hidden)
    # Only that line differs: the same example, labels and request.
    assert [req.prompt().replace("\nThe student wrongly answered: billing\n", "") for _, req in shown] == [
        req.prompt() for _, req in hidden
    ]
    # A row `hardest` took though the student got it right: its (right) answer is not called wrong.
    unsure = generate.plan([{**SELECTED[0], "correct": True}], template, TASK, 3, 0, 0)
    assert [req.prompt() for _, req in unsure] == [hidden[0][1].prompt()]


def test_undefined_template_variable_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "t.jinja").write_text("Write {{ k }} examples like {{ exemple.input }}\n")
    template = load_template("t.jinja", root=tmp_path)
    with pytest.raises(SeedforgeError, match=r"^t\.jinja: template error: 'exemple' is undefined$"):
        generate.plan(SELECTED, template, TASK, 3, 0, 0)


def test_run_caches_every_call_and_resumes(tiny_gguf: Path, tmp_path: Path) -> None:
    template = load_template("prompts/classification.jinja", root=REPO)
    teacher = make_teacher(
        "tiny",
        LlamaCppTeacher(backend="llamacpp", model=str(tiny_gguf), n_ctx=1024, temperature=1.0, max_tokens=60),
    )
    cache = CallCache(tmp_path / "cache")
    plan = planned()
    task = get_task("classification").with_labels(LABELS)
    # A first, interrupted run finished two calls...
    half, counts, runner = generate.run(teacher, plan[:2], template, cache)
    assert counts["calls"] == 2 and runner.acct.cache_hits == 0 and runner.acct.requests == 2
    # ...so the resumed run sends only the other two, and the finished ones come back unchanged.
    rows, counts, runner = generate.run(teacher, plan, template, cache)
    assert counts["calls"] == 4 and runner.acct.cache_hits == 2 and runner.acct.requests == 2
    by_call = {r["call"]: r for r in rows}
    assert all(by_call[r["call"]] == r for r in half)
    assert [r["call"] for r in rows] == sorted(r["call"] for r in rows)
    assert {r["parent_id"] for r in rows} == {"id0", "id1", "id2", "id3"}
    again, counts, runner = generate.run(teacher, plan, template, cache)
    assert again == rows and runner.acct.cache_hits == 4 and runner.acct.requests == 0
    row = rows[0]
    sha = hashlib.sha256(tiny_gguf.read_bytes()).hexdigest()  # the row names the exact weights
    assert row["teacher"] == {
        "profile": "tiny",
        "backend": "llamacpp",
        "model": "model.gguf",
        "model_sha256": sha,
    }
    assert row["template"]["path"] == "prompts/classification.jinja" and len(row["template"]["sha256"]) == 64
    assert row["sampling"]["temperature"] == 1.0 and "seed" in row["sampling"]
    assert row["request"]["messages"][0]["role"] == "user" and row["error"] is None
    # With the task given, a call whose output has no valid example is asked again with a fresh
    # sample; the rejected call stays a row, and nothing already answered is sent again.
    rows2, counts2, runner2 = generate.run(teacher, plan, template, cache, task)
    reasked = [r for r in rows2 if r["sampling"]["sample"] > 0]
    assert counts2["reasked"] == len(reasked) == runner2.acct.requests
    assert counts2["calls"] == 4 + len(reasked) and runner2.acct.cache_hits == 4
    for r in reasked:
        parent = next(p for p in rows2 if p["parent_id"] == r["parent_id"] and p["sampling"]["sample"] == 0)
        assert generate.valid_examples(task, parent["raw"])[1] == 0


def test_samples_are_distinct_requests() -> None:
    template = load_template("prompts/classification.jinja", root=REPO)
    plan = generate.plan(SELECTED, template, TASK, 3, 0, 0, samples=3)
    assert len(plan) == 12
    assert len({(r.sample, r.seed) for _, r in plan}) == 12
    assert [r.sample for _, r in plan[:3]] == [0, 1, 2]


def test_structured_requests_carry_the_task_schema() -> None:
    template = load_template("prompts/classification.jinja", root=REPO)
    plan = generate.plan(SELECTED, template, TASK, 3, 0, 0, structured=True)
    schema = plan[0][1].schema
    assert schema["properties"]["examples"]["items"]["properties"]["label"]["enum"] == LABELS

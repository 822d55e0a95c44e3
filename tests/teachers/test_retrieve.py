"""The retrieve teacher: nearest labelled pool examples in the task's strict format, never a
seed/test/dev row, fresh neighbours in later iterations; and the plan -> request path it needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedforge.io import write_json, write_jsonl
from seedforge.loop import generate
from seedforge.tasks import get_task
from seedforge.teachers import Request, call_key, make_teacher
from seedforge.teachers.prompts import load_template
from seedforge.teachers.retrieve import RetrieveTeacher

ROOT = Path(__file__).resolve().parents[2]

POOL = [
    ("weather", "what is the weather like in paris tomorrow"),
    ("weather", "will it rain in london this weekend"),
    ("weather", "forecast for berlin on monday"),
    ("music", "play some jazz by miles davis"),
    ("music", "put on the latest album by adele"),
    ("music", "play my workout playlist"),
    ("weather", "is it going to snow in oslo tonight"),  # also a test row: never returned
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pool.tsv").write_text("".join(f"{label}\t{text}\n" for label, text in POOL))
    task = get_task("classification").with_labels(["music", "weather"])
    write_json(tmp_path / "data/prepared/task.json", task.info())
    write_jsonl(tmp_path / "data/prepared/test.jsonl", [{"input": "Is it going to snow in Oslo tonight"}])
    write_jsonl(tmp_path / "data/prepared/seed.jsonl", [{"input": "forecast for berlin on monday"}])
    return tmp_path


def teacher(project: Path, k: int = 2):
    profile = RetrieveTeacher(
        backend="retrieve",
        pool={"path": "pool.tsv", "header": False, "columns": ["label", "text"], "input": "text"}
        | {"output": "label"},
        k=k,
        cache_dir=None,
    )
    return make_teacher("pool", profile, project)


def ask(t, text: str, iteration: int = 0) -> str:
    return t.generate([Request.user("x", seed=1, meta={"input": text, "iteration": iteration})])[0].text


def test_returns_nearest_pool_rows_in_the_task_format(project: Path) -> None:
    t = teacher(project)
    text = ask(t, "will it be sunny in paris")
    parsed = get_task("classification").with_labels(["music", "weather"]).parse(text).examples
    assert [e.output for e in parsed] == ["weather", "weather"]
    inputs = [e.input for e in parsed]
    assert "what is the weather like in paris tomorrow" in inputs
    # a seed row and a test row (case and spacing aside) are never returned
    assert not {"forecast for berlin on monday", "is it going to snow in oslo tonight"} & set(inputs)
    assert ask(t, "play a song by adele").count("Label: music") == 2


def test_later_iterations_get_fresh_neighbours(project: Path) -> None:
    t = teacher(project, k=1)
    first, second = ask(t, "play jazz", 0), ask(t, "play jazz", 1)
    assert first and second and first != second


def test_request_without_parent_input_is_an_error(project: Path) -> None:
    with pytest.raises(Exception, match="parent input"):
        teacher(project).generate([Request.user("x", seed=1)])


def test_plan_carries_parent_input_without_changing_cache_keys() -> None:
    task = get_task("classification").with_labels(["a", "b"])
    template = load_template(str(ROOT / "prompts/classification.jinja"))
    row = {"id": "r1", "input": "some text", "output": "a", "prediction": "b"}
    ((_, req),) = generate.plan([row], template, task, k=2, run_seed=0, iteration=1)
    assert req.meta == {"input": "some text", "iteration": 1, "k": 2}
    assert "meta" not in req.payload()

    class T:
        backend = "llamacpp"

        def fingerprint(self) -> str:
            return "m"

        def sampling(self) -> dict:
            return {}

    assert call_key(T(), req) == call_key(T(), Request.user(req.messages[0]["content"], seed=req.seed))

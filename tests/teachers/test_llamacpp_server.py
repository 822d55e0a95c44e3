"""The runner against a real `python -m llama_cpp.server` serving the tiny GGUF: real requests,
structured output, and a rerun that sends nothing (counted from the server's own access log)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedforge.config.params import OpenAITeacher
from seedforge.loop import generate
from seedforge.tasks import get_task
from seedforge.tasks.parsing import parse_json
from seedforge.teachers import make_teacher
from seedforge.teachers.cache import CallCache
from seedforge.teachers.prompts import load_template
from seedforge.teachers.runner import Progress
from seedforge.testing.project import REPO
from tests.conftest import LLAMA_SERVER_KEY, LlamaServer

LABELS = ["account", "billing", "delivery", "technical"]
SELECTED = [
    {"id": "a1", "input": "my parcel is late", "output": "delivery", "prediction": "billing"},
    {"id": "b2", "input": "reset my password", "output": "account", "prediction": "technical"},
    {"id": "c3", "input": "charged twice this month", "output": "billing", "prediction": "account"},
]


@pytest.fixture(scope="module")
def logged_server(llama_server: LlamaServer) -> tuple[str, Path]:
    """The session's server, with its access log (one line per request it answered) in a file."""
    return llama_server.base, llama_server.log


def posts(log: Path) -> int:
    return log.read_text().count('"POST /v1/chat/completions HTTP/1.1" 200')


def test_structured_output_over_http_and_a_rerun_sends_nothing(
    logged_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, log = logged_server
    monkeypatch.setenv("SEEDFORGE_TEST_KEY", LLAMA_SERVER_KEY)
    profile = OpenAITeacher(
        backend="openai",
        base_url=base,
        model="tiny",
        api_key_env="SEEDFORGE_TEST_KEY",
        structured=True,
        structured_format="json_object",  # the form llama_cpp.server 0.3 accepts
        temperature=1.0,
        max_tokens=400,  # room for one example of at most 300 characters, even from a weak model
        reasks=0,
        concurrency=2,
        extra_body={"repeat_penalty": 1.1},
    )
    teacher = make_teacher("tiny_http", profile)
    task = get_task("classification").with_labels(LABELS)
    template = load_template("prompts/classification.jinja", root=REPO)
    plan = generate.plan(SELECTED, template, task, 1, 0, 0, structured=True)  # k=1
    cache = CallCache(tmp_path / "calls.sqlite")
    before = posts(log)
    quiet = Progress("t", enabled=False)
    rows, counts, runner = generate.run(teacher, plan, template, cache, task, quiet)
    assert posts(log) - before == runner.acct.requests == 3 and counts["failed"] == 0
    # Constrained decoding: every answer is the JSON form; labels can only come from the enum.
    assert all(r["raw"].lstrip().startswith("{") for r in rows)
    parsed = [parse_json(r["raw"], ["Input", "Label"]) for r in rows]
    assert all(p is not None for p in parsed)  # the schema bounds the answer: it always ends
    assert all(len(recs) == 1 and recs[0]["label"] in LABELS for recs, _ in parsed)
    assert runner.acct.tokens_spent["completion_tokens"] > 0
    # The same plan again: everything from the cache, not one request at the server.
    again, _, rerun = generate.run(teacher, plan, template, cache, task, quiet)
    assert again == rows and rerun.acct.requests == 0 and rerun.acct.cache_hits == 3
    assert posts(log) - before == 3

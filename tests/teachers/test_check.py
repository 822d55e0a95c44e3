"""`seedforge check`, request errors and `structured: auto` against the loopback answering as vLLM,
OpenAI and llama_cpp.server do. Each check has a test here that fails when the server's answer
changes; tests/teachers/test_check_server.py does the same against a real llama_cpp.server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from seedforge import check as preflight
from seedforge.cli import app
from seedforge.config.params import OpenAITeacher, parse_params
from seedforge.errors import SeedforgeError
from seedforge.loop import generate
from seedforge.tasks import get_task
from seedforge.teachers import dialects, make_teacher
from seedforge.teachers.cache import CallCache
from seedforge.teachers.prompts import load_template
from seedforge.teachers.runner import Progress
from seedforge.testing import loopback
from seedforge.testing.loopback import Loopback, structured_form
from seedforge.testing.project import REPO

LABELS = ["account", "billing", "delivery", "technical"]
FAST = dict(timeout=5.0, backoff=0.01, backoff_max=0.05, max_attempts=6, concurrency=8, fail_share=1.0)


def project(tmp: Path, url: str, **profile: Any) -> Path:
    """The recipe, prompts and demo data in `tmp`, with teacher profile `http` pointed at `url`."""
    shutil.copytree(REPO / "prompts", tmp / "prompts")
    shutil.copytree(REPO / "data" / "raw", tmp / "data" / "raw")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["teachers"]["http"] = {"backend": "openai", "base_url": url, "model": "loop", **FAST, **profile}
    params["teacher"] = "http"
    (tmp / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return tmp


def run_check(root: Path, name: str = "http") -> preflight.Report:
    params = parse_params(yaml.safe_load((root / "params.yaml").read_text()), source="params.yaml")
    return preflight.check(name, params, root, fresh=True)


def rows(report: preflight.Report) -> dict[str, tuple[str, str, str]]:
    return {r.check: (r.status, r.result, r.fix) for r in report.rows}


SELECTED = [
    {"id": f"s{i}", "input": f"my parcel is late ({i})", "output": LABELS[i % 4], "prediction": "x"}
    for i in range(10)
]


def generate_with(url: str, root: Path, **profile: Any):
    t = make_teacher(
        "http", OpenAITeacher(backend="openai", base_url=url, model="loop", **{**FAST, **profile}), root
    )
    task = get_task("classification").with_labels(LABELS)
    template = load_template(str(REPO / "prompts/classification.jinja"))
    planned = generate.plan(
        SELECTED, template, task, 2, 0, 0, structured=profile.get("structured", "auto") is not False
    )
    return generate.run(t, planned, template, CallCache(None), task, Progress("t", enabled=False))


# --- request errors: one request, one line ------------------------------------------------------


def test_llamacpp_rejects_json_schema_once_with_the_key_to_change(tmp_path: Path) -> None:
    with Loopback(dialect="llamacpp") as server:
        with pytest.raises(SeedforgeError) as e:
            generate_with(server.url, tmp_path, structured=True)
        assert server.requests == 1  # not max_attempts (6) per call, not one per call in flight
    line = str(e.value)
    assert "\n" not in line
    assert "rejected the request (500: response_format.type: Input should be 'text' or 'json_object')" in line
    assert "change teachers.http.structured_format: json_object" in line


def test_openai_rejects_guided_json_with_400_once(tmp_path: Path) -> None:
    with Loopback(dialect="openai") as server:
        with pytest.raises(
            SeedforgeError,
            match=r"400: Unrecognized request argument supplied: guided_json.*"
            r"change teachers.http.structured: false",
        ) as e:
            generate_with(server.url, tmp_path, structured=True, structured_format="guided_json")
        assert server.requests == 1
    assert "\n" not in str(e.value)


def test_a_500_that_is_not_a_validation_error_is_still_retried(tmp_path: Path) -> None:
    with Loopback(lambda body, seen: "500" if seen < 2 else "ok", dialect="llamacpp") as server:
        _, counts, runner = generate_with(
            server.url, tmp_path, structured=True, structured_format="json_object"
        )
        assert counts["failed"] == 0 and runner.acct.retries["server"] == 20 and server.requests == 30


# --- structured: auto ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "used"), [("llamacpp", "json_object"), ("vllm", "json_schema"), ("openai", "json_schema")]
)
def test_auto_probes_once_then_uses_what_the_server_takes(tmp_path: Path, dialect: str, used: str) -> None:
    with Loopback(dialect=dialect) as server:
        _, counts, runner = generate_with(server.url, tmp_path)
        assert counts["failed"] == 0 and counts["examples_valid"] == 10
        probes = server.requests - runner.acct.requests
        assert probes == 3  # one probe per dialect, for the whole run
        assert {structured_form(b) for b in server.bodies[probes:]} == {used}
        before = server.requests
        # a second run (new process, same project) reads the cached dialect: no probe
        t = make_teacher(
            "http", OpenAITeacher(backend="openai", base_url=server.url, model="loop", **FAST), tmp_path
        )
        assert dialects.dialect_for(t, server.url) == used and server.requests == before


def test_auto_with_a_server_that_ignores_every_dialect_sends_no_schema(tmp_path: Path) -> None:
    text = "Input: my order never came\nLabel: delivery"
    with Loopback(answer=lambda body: text) as server:
        _, counts, _ = generate_with(server.url, tmp_path)
        assert counts["examples_valid"] == 10
        assert all(structured_form(b) is None for b in server.bodies[3:])


# --- seedforge check: each row against each server -------------------------------------------------


def test_check_llamacpp_dialect(tmp_path: Path) -> None:
    with Loopback(dialect="llamacpp") as server:
        report = run_check(project(tmp_path, server.url, structured=True))
    r = rows(report)
    assert r["model"][0] == "ok"
    assert r["prompt"][0] == "ok"
    assert r["structured json_schema"][1].startswith("rejected (500: response_format.type")
    assert r["structured guided_json"][1] == "ignored"
    assert r["structured json_object"][1] == "takes"
    assert r["structured"] == (
        "fail",
        "structured_format json_schema does not work here",
        "teachers.http.structured_format: json_object",
    )
    assert r["logprobs"][0] == "ok"
    assert r["context"][0] == "info"  # llama_cpp.server does not list its context
    assert not report.works


def test_check_vllm_dialect_and_auto(tmp_path: Path) -> None:
    with Loopback(dialect="vllm") as server:
        report = run_check(project(tmp_path, server.url))
    r = rows(report)
    assert report.dialects == {"json_schema": "takes", "guided_json": "takes", "json_object": "takes"}
    assert r["structured"] == ("ok", "auto uses json_schema", "")
    assert r["model"] == ("ok", "loop is served (context 4096)", "")
    assert r["context"][0] == "ok" and "<= 4096" in r["context"][1]
    assert report.works


def test_check_openai_dialect(tmp_path: Path) -> None:
    with Loopback(dialect="openai") as server:
        report = run_check(project(tmp_path, server.url, structured=True))
    assert report.dialects["json_schema"] == "takes"
    assert report.dialects["json_object"].startswith("rejected (400: Invalid parameter")
    assert report.dialects["guided_json"].startswith("rejected (400: Unrecognized request argument")
    assert rows(report)["structured"][0] == "ok" and report.works


def test_check_model_not_served(tmp_path: Path) -> None:
    with Loopback(dialect="vllm", models=["smol", "other"]) as server:
        report = run_check(project(tmp_path, server.url))
    assert rows(report)["model"] == (
        "fail",
        "loop is not among the served models: smol, other",
        "teachers.http.model: smol",
    )
    assert not report.works


def test_check_prompt_that_does_not_parse(tmp_path: Path) -> None:
    with Loopback(answer=lambda body: "Sorry, I only talk about the weather.") as server:
        report = run_check(project(tmp_path, server.url))
    status, result, fix = rows(report)["prompt"]
    assert (
        status == "warn"
        and "0 examples parsed" in result
        and fix == "teachers.http.template (or data.template)"
    )


def test_check_logprobs_missing(tmp_path: Path) -> None:
    with Loopback() as server:  # no dialect: answers without logprobs
        report = run_check(project(tmp_path, server.url))
    assert rows(report)["logprobs"][0] == "warn"


JUDGE_ANSWER = '{"score": 9, "reason": "Right."}'


def judge_over(root: Path, n: int = 2):
    """The instruct judge with profile `http` of the project at `root`, over n seed pairs."""
    from seedforge.config.params import Judge
    from seedforge.instruct.calls import Asker, operator_teacher
    from seedforge.instruct.judge import judge
    from seedforge.instruct.rows import InstructionRow

    params = parse_params(yaml.safe_load((root / "params.yaml").read_text()), source="params.yaml")
    asker = Asker(operator_teacher(params, Judge(), root, profile="http"), CallCache(root / "calls"))
    rows = [
        InstructionRow.make(f"Say {i}.", response=str(i), origin="seed", operator="seed") for i in range(n)
    ]
    return judge(rows, load_template(Judge().template, root=REPO), asker, 1, run_seed=0)


def test_check_finds_logprobs_and_the_judge_asks_no_probe_of_its_own(tmp_path: Path) -> None:
    with Loopback(dialect="vllm", answer=lambda body: JUDGE_ANSWER) as server:
        report = run_check(project(tmp_path, server.url))
        before = server.requests
        out = judge_over(tmp_path)
        judged = server.bodies[before:]
    assert rows(report)["logprobs"] == ("ok", "logprobs and top_logprobs returned (20 alternatives)", "")
    assert len(judged) == 2 and all(b["logprobs"] is True and b["top_logprobs"] == 20 for b in judged)
    assert out.extra["score_source"] == {"top_logprobs": 2}


REFUSES_LOGPROBS = {
    **loopback.DIALECTS["openai"],
    "logprobs": (400, "logprobs is not supported with this model"),
}


def test_a_server_that_refuses_logprobs_is_not_asked_for_them(tmp_path: Path) -> None:
    # check says so, and the judge (logprobs: auto) reads the written JSON instead of stopping.
    with Loopback(dialect=REFUSES_LOGPROBS, answer=lambda body: JUDGE_ANSWER) as server:
        report = run_check(project(tmp_path, server.url))
        before = server.requests
        out = judge_over(tmp_path)
        judged = server.bodies[before:]
    status, result, _ = rows(report)["logprobs"]
    assert status == "warn" and result.startswith("rejected (400: logprobs is not supported")
    assert len(judged) == 2 and not any("logprobs" in b for b in judged)
    assert out.extra["score_source"] == {"json": 2} and not out.rejects


def test_logprobs_true_on_a_server_that_refuses_them_stops_with_the_key(tmp_path: Path) -> None:
    with Loopback(dialect=REFUSES_LOGPROBS, answer=lambda body: JUDGE_ANSWER) as server:
        project(tmp_path, server.url, logprobs=True)
        with pytest.raises(SeedforgeError, match=r"change teachers\.http\.logprobs: false"):
            judge_over(tmp_path)
        # the run's first call went alone (after structured: auto's dialect probe)
        assert sum("logprobs" in b for b in server.bodies) == 1


def test_check_context_too_small(tmp_path: Path) -> None:
    with Loopback(dialect="vllm") as server:
        report = run_check(project(tmp_path, server.url, max_tokens=4090))
    status, result, fix = rows(report)["context"]
    assert status == "fail" and "> context 4096" in result and fix.startswith("teachers.http.max_tokens: ")
    assert not report.works


def test_cli_check_json_exit_code_and_cache_without_the_key(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CHECK_TEST_KEY", "sk-never-stored-1234")
    with Loopback(dialect="llamacpp", api_key="sk-never-stored-1234") as server:
        root = project(tmp_path, server.url, api_key_env="CHECK_TEST_KEY")
        monkeypatch.chdir(root)
        cli = CliRunner()
        out = cli.invoke(app, ["check", "http", "--json"])
        assert out.exit_code == 0, out.output
        (report,) = json.loads(out.output)
        assert report["works"] and report["dialects"]["json_object"] == "takes"
        sent = server.requests
        again = cli.invoke(app, ["check", "http"])  # cached: the server is not asked
        assert again.exit_code == 0 and "(cached)" in again.output and server.requests == sent
        text = yaml.safe_load((root / "params.yaml").read_text())
        text["teachers"]["http"]["structured"] = True
        (root / "params.yaml").write_text(yaml.safe_dump(text))
        bad = cli.invoke(app, ["check", "http"])
        assert bad.exit_code == 1 and "-> teachers.http.structured_format: json_object" in bad.output
    stored = list((root / ".seedforge/cache/check").iterdir())
    assert stored and not any(b"sk-never-stored" in p.read_bytes() for p in stored)


def test_default_profiles_are_deduplicated() -> None:
    params = parse_params(yaml.safe_load((REPO / "params.yaml").read_text()), source="params.yaml")
    assert preflight.default_profiles(params) == ["smollm2_tuned", "smollm2"]


def test_structured_takes_auto_true_false_and_nothing_else() -> None:
    from pydantic import ValidationError

    base = dict(backend="openai", base_url="http://x/v1", model="m")
    assert OpenAITeacher(**base).structured == "auto"
    assert OpenAITeacher(**base, structured=True).structured is True
    assert OpenAITeacher(**base, structured=False).structured is False
    with pytest.raises(ValidationError):
        OpenAITeacher(**base, structured="maybe")
    with pytest.raises(ValidationError):
        OpenAITeacher(**base, structured_format="grammar")

"""`seedforge check` and request errors against a real `python -m llama_cpp.server` serving SmolLM2:
the shipped `llama70b` profile at a changed base_url finds `json_object` as the dialect that works,
and a rejected dialect costs one request (counted from the server's own access log)."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from seedforge import check as preflight
from seedforge.config.params import parse_params
from seedforge.errors import SeedforgeError
from seedforge.loop import generate
from seedforge.teachers import make_teacher
from seedforge.teachers.cache import CallCache
from seedforge.teachers.runner import Progress
from seedforge.testing.project import REPO
from seedforge.weights import gguf_path
from tests.conftest import free_port
from tests.teachers.test_check import project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smol(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """llama_cpp.server serving SmolLM2 as `smol`, with its access log in a file."""
    log = tmp_path_factory.mktemp("smol") / "access.log"
    port = free_port()
    with log.open("w") as sink:
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path("smollm2"))]
        cmd += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--model_alias", "smol"]
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}/v1"
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/models", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
                time.sleep(0.3)
        yield base, log
        proc.terminate()
        proc.wait(timeout=10)


def posts(log: Path) -> int:
    return log.read_text().count('"POST /v1/chat/completions HTTP/1.1"')


def llama70b(tmp: Path, url: str, **change: object):
    """The shipped llama70b profile with base_url and model changed (and a short max_tokens)."""
    shipped = yaml.safe_load((REPO / "params.yaml").read_text())["teachers"]["llama70b"]
    root = project(tmp, url)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["teachers"]["llama70b"] = {
        **shipped,
        "base_url": url,
        "model": "smol",
        "max_tokens": 200,
        **change,
    }
    params["teacher"] = "llama70b"
    return root, parse_params(params, source="params.yaml")


def test_check_llama70b_finds_json_object(smol, tmp_path: Path, monkeypatch) -> None:
    url, _ = smol
    monkeypatch.setenv("SEEDFORGE_API_KEY", "local")
    root, params = llama70b(tmp_path, url)
    report = preflight.check("llama70b", params, root, fresh=True)
    rows = {r.check: (r.status, r.result, r.fix) for r in report.rows}
    assert report.dialects["json_schema"] == (
        "rejected (500: response_format.type: Input should be 'text' or 'json_object')"
    )
    assert report.dialects["guided_json"] == "ignored"  # llama_cpp.server drops unknown fields
    assert report.dialects["json_object"] == "takes"
    assert rows["structured"] == ("ok", "auto uses json_object", "")
    assert rows["model"] == ("ok", "smol is served", "")
    assert rows["logprobs"][0] == "ok" and "top_logprobs returned" in rows["logprobs"][1]
    assert rows["context"][0] == "info"  # its /v1/models says nothing of the context
    assert rows["prompt"][0] in ("ok", "warn") and rows["prompt"][1].startswith("first seed example's prompt")
    assert report.works


def test_check_with_structured_true_names_the_key(smol, tmp_path: Path, monkeypatch) -> None:
    url, _ = smol
    monkeypatch.setenv("SEEDFORGE_API_KEY", "local")
    root, params = llama70b(tmp_path, url, structured=True)
    report = preflight.check("llama70b", params, root, fresh=True)
    fails = [(r.check, r.fix) for r in report.rows if r.status == "fail"]
    assert fails == [("structured", "teachers.llama70b.structured_format: json_object")]


def test_check_model_the_server_does_not_list(smol, tmp_path: Path, monkeypatch) -> None:
    # llama_cpp.server answers any model name with its one model; only /v1/models tells.
    url, _ = smol
    monkeypatch.setenv("SEEDFORGE_API_KEY", "local")
    root, params = llama70b(tmp_path, url)
    params.teachers["llama70b"] = params.teachers["llama70b"].model_copy(update={"model": "llama-3-70b"})
    report = preflight.check("llama70b", params, root, fresh=True)
    model = next(r for r in report.rows if r.check == "model")
    assert (model.status, model.fix) == ("fail", "teachers.llama70b.model: smol")


def test_rejected_dialect_costs_one_request(smol, tmp_path: Path, monkeypatch) -> None:
    url, log = smol
    monkeypatch.setenv("SEEDFORGE_API_KEY", "local")
    root, params = llama70b(tmp_path, url, structured=True)
    profile = params.teachers["llama70b"]
    teacher = make_teacher("llama70b", profile, root)
    recipe = preflight.prompts(params, profile, root)
    from seedforge.teachers.prompts import load_template

    template = load_template(str(root / params.data.template))
    selected = [
        {"id": f"s{i}", "input": f"late parcel {i}", "output": "delivery", "prediction": "billing"}
        for i in range(8)
    ]
    planned = generate.plan(selected, template, recipe.task, 2, 0, 0, structured=True)
    before = posts(log)
    with pytest.raises(SeedforgeError) as e:
        generate.run(teacher, planned, template, CallCache(None), recipe.task, Progress("t", enabled=False))
    assert posts(log) - before == 1  # not 8 calls x 6 attempts
    line = str(e.value)
    assert "\n" not in line and "response_format.type: Input should be 'text' or 'json_object'" in line
    assert "change teachers.llama70b.structured_format: json_object" in line


def test_judge_over_llama_cpp_server_scores_from_top_logprobs(smol, tmp_path: Path, monkeypatch) -> None:
    # The real server's logprobs shape, through check's cache, the runner and the judge: every row
    # scored from the distribution (a fall back to the written JSON would count as "json").
    from seedforge.config.params import Judge
    from seedforge.instruct.calls import Asker, operator_teacher
    from seedforge.instruct.judge import judge
    from seedforge.instruct.loaders import load_seed_tasks
    from seedforge.teachers.prompts import load_template
    from tests.conftest import shared

    url, _ = smol
    monkeypatch.setenv("SEEDFORGE_API_KEY", "local")
    root, params = llama70b(tmp_path, url, max_tokens=48)
    report = preflight.check("llama70b", params, root, fresh=True)
    assert {r.check: r.status for r in report.rows}["logprobs"] == "ok"
    rows = load_seed_tasks(shared("instruct", "alpaca_seed_tasks.jsonl"))[:2]
    rows = [r.model_copy(update={"response": "A short, correct answer."}) for r in rows]
    asker = Asker(operator_teacher(params, Judge(), root, profile="llama70b"), CallCache(root / "calls"))
    out = judge(rows, load_template(Judge().template, root=REPO), asker, 1, run_seed=0)
    assert out.extra["score_source"] == {"top_logprobs": 2}, out.rejects
    for r in out.rows:
        assert r.judge is not None and r.judge.distribution is not None
        assert abs(sum(r.judge.distribution.values()) - 1) < 1e-4 and 1 <= r.judge.score <= 10


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_judge_scores_every_real_pair_through_either_api(smol, tmp_path: Path, monkeypatch, api) -> None:
    # No `seedforge check` first: the judge's own first call probes the server, at the judge's
    # sampling. Real Alpaca pairs, whose answers SmolLM2 rarely follows with a written score:
    # - chat gets the schema; the probe once called llama.cpp's grammar output (a raw newline in a
    #   string) "ignored" and turned it off, and 17 of 24 calls then came back as prose;
    # - completions gets the prompt ending in `{"score":`.
    # Either fault shows as rows scored from the text, or rejected as judge:missing_score.
    import json

    from seedforge.config.params import Judge
    from seedforge.instruct.calls import Asker, operator_teacher
    from seedforge.instruct.judge import judge
    from seedforge.instruct.rows import InstructionRow
    from seedforge.teachers.prompts import load_template
    from tests.conftest import shared

    url, _ = smol
    monkeypatch.setenv("SEEDFORGE_API_KEY", "local")
    root, params = llama70b(tmp_path, url, api=api, max_tokens=48)
    demo = json.loads(shared("instruct", "alpaca_en_demo.json").read_text())[:8]
    rows = [
        InstructionRow.make(
            d["instruction"], context=d["input"], response=d["output"][:600], origin="seed", operator="seed"
        )
        for d in demo
    ]
    asker = Asker(operator_teacher(params, Judge(), root, profile="llama70b"), CallCache(root / "calls"))
    out = judge(rows, load_template(Judge().template, root=REPO), asker, 1, run_seed=0)
    assert out.extra["score_source"] == {"top_logprobs": len(rows)}, [
        (r["reason"], r.get("raw", "")[:80]) for r in out.rejects
    ]
    assert asker.teacher.continues_prefill == (api == "completions")
    for r in out.rows:
        assert r.judge is not None and r.judge.distribution is not None
        assert abs(sum(r.judge.distribution.values()) - 1) < 1e-4 and 1 <= r.judge.score <= 10

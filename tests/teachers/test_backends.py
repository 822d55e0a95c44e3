"""Teacher backends against real llama.cpp: in-process, and over HTTP via llama_cpp.server."""

from __future__ import annotations

import hashlib
import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from seedforge.config.params import HubFile, LlamaCppTeacher, OpenAITeacher
from seedforge.errors import SeedforgeError
from seedforge.tasks import get_task
from seedforge.teachers import Request, make_teacher
from tests.conftest import LLAMA_SERVER_KEY, LlamaServer

SECRET = LLAMA_SERVER_KEY


@pytest.fixture(scope="module")
def server(llama_server: LlamaServer) -> str:
    """The session's `python -m llama_cpp.server` (the tiny GGUF on loopback, with the API key SECRET)."""
    return llama_server.base


def openai_teacher(base: str, **kw) -> object:
    fields = dict(
        backend="openai",
        base_url=base,
        model="tiny",
        api_key_env="SEEDFORGE_TEST_KEY",
        temperature=0.0,
        max_tokens=24,
        timeout=30,
    )
    return make_teacher("local", OpenAITeacher(**{**fields, **kw}))


PROMPT = "Write 2 new examples like this one.\nInput: my parcel is late\nLabel: delivery"


def test_chat_over_http_matches_in_process_llamacpp(server: str, tiny_gguf: Path, monkeypatch) -> None:
    monkeypatch.setenv("SEEDFORGE_TEST_KEY", SECRET)
    # The server's own default repeat penalty is 1.1; send 1.0 to prove extra_body reaches it.
    http_teacher = openai_teacher(server, extra_body={"repeat_penalty": 1.0})
    local = make_teacher(
        "tiny",
        LlamaCppTeacher(
            backend="llamacpp",
            model=str(tiny_gguf),
            n_ctx=1024,
            temperature=0.0,
            max_tokens=24,
            repeat_penalty=1.0,
        ),
    )
    reqs = [Request.user(PROMPT, seed=1), Request.user(PROMPT + "\n", seed=2)]
    over_http = http_teacher.generate(reqs)
    in_process = local.generate(reqs)
    assert [g.text for g in over_http] == [g.text for g in in_process]
    assert all(g.text and g.finish_reason in ("stop", "length") for g in over_http)
    assert over_http[0].usage["completion_tokens"] > 0


def test_completions_api(server: str, monkeypatch) -> None:
    monkeypatch.setenv("SEEDFORGE_TEST_KEY", SECRET)
    gens = openai_teacher(server, api="completions").generate([Request.user("Input: refund", seed=0)])
    assert len(gens) == 1 and isinstance(gens[0].text, str) and gens[0].usage["prompt_tokens"] > 0


def test_sampling_is_seeded(server: str, monkeypatch) -> None:
    monkeypatch.setenv("SEEDFORGE_TEST_KEY", SECRET)
    teacher = openai_teacher(server, temperature=1.0, max_tokens=32)
    a, b, c = teacher.generate(
        [Request.user(PROMPT, seed=5), Request.user(PROMPT, seed=5), Request.user(PROMPT, seed=6)]
    )
    assert a.text == b.text
    assert a.text != c.text


def test_wrong_key_is_one_line_without_the_key(server: str, monkeypatch) -> None:
    monkeypatch.setenv("SEEDFORGE_TEST_KEY", "sk-wrong-key-abcdef")
    with pytest.raises(SeedforgeError) as e:
        openai_teacher(server).generate([Request.user(PROMPT, seed=0)])
    msg = str(e.value)
    assert msg.startswith(f"teachers.local: {server} answered 401")
    assert "\n" not in msg and "sk-wrong-key-abcdef" not in msg and SECRET not in msg


def test_missing_key_variable(monkeypatch) -> None:
    monkeypatch.delenv("SEEDFORGE_TEST_KEY", raising=False)
    with pytest.raises(
        SeedforgeError,
        match=r"teachers\.local\.api_key_env: environment variable SEEDFORGE_TEST_KEY is not set",
    ):
        openai_teacher("http://127.0.0.1:9/v1").generate([Request.user(PROMPT, seed=0)])


class Failing(http.server.BaseHTTPRequestHandler):
    """Answers every request with a 500 and counts them."""

    hits = 0

    def do_POST(self) -> None:
        type(self).hits += 1
        body = json.dumps({"error": {"message": "injected failure", "type": "server_error"}}).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_server_errors_are_retried_then_reported() -> None:
    from seedforge.teachers import call_key
    from seedforge.teachers.cache import CallCache
    from seedforge.teachers.runner import Progress, Runner

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        profile = OpenAITeacher(backend="openai", base_url=base, model="m", max_attempts=3, backoff=0.01)
        teacher = make_teacher("flaky", profile)
        request = Request.user(PROMPT, seed=0)
        with pytest.raises(SeedforgeError) as e:  # 1 of 1 finished calls failed: over fail_share
            Runner(teacher, CallCache(None), Progress("t", enabled=False)).run(
                [(call_key(teacher, request), request)]
            )
        msg = str(e.value)
        assert msg.startswith("teachers.flaky: stopped: 1 of 1 finished calls failed") and "\n" not in msg
        assert "server 3" in msg and "injected failure" in msg
        assert Failing.hits == 3  # one try and two retries, by our runner (the client's are off)
    finally:
        httpd.shutdown()


def test_missing_gguf_file(tmp_path: Path) -> None:
    teacher = make_teacher("mine", LlamaCppTeacher(backend="llamacpp", model=str(tmp_path / "no.gguf")))
    with pytest.raises(SeedforgeError, match=r"teachers\.mine\.model: GGUF file not found"):
        teacher.generate([Request.user(PROMPT, seed=0)])


def test_hub_gguf_offline_says_how_to_provide_the_file(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    profile = LlamaCppTeacher(
        backend="llamacpp",
        hub=HubFile(repo_id="Qwen/Qwen2.5-0.5B-Instruct-GGUF", filename="qwen2.5-0.5b-instruct-q4_k_m.gguf"),
    )
    with pytest.raises(SeedforgeError) as e:
        make_teacher("qwen05b", profile).generate([Request.user(PROMPT, seed=0)])
    msg = str(e.value)
    assert msg.startswith(
        "teachers.qwen05b.hub: cannot fetch Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf"
    )
    assert "teachers.qwen05b.model" in msg and "\n" not in msg


def test_generate_stage_over_http_never_writes_the_key(server: str, tmp_path: Path, monkeypatch) -> None:
    """The generate stage with an OpenAI-compatible teacher: outputs, metrics and logs hold no key."""
    import yaml

    from seedforge.io import read_jsonl, write_json, write_jsonl
    from tests.conftest import REPO

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["teachers"]["local"] = {
        "backend": "openai",
        "base_url": server,
        "model": "tiny",
        "api_key_env": "SEEDFORGE_TEST_KEY",
        "max_tokens": 48,
    }
    params["teacher"] = "local"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    write_jsonl(
        tmp_path / "selected.jsonl",
        [
            {"id": "a1", "input": "my parcel is late", "output": "delivery", "prediction": "billing"},
            {"id": "b2", "input": "reset my password", "output": "account", "prediction": "technical"},
        ],
    )
    write_json(
        tmp_path / "task.json",
        get_task("classification").with_labels(["account", "billing", "delivery", "technical"]).info(),
    )
    env = {**__import__("os").environ, "SEEDFORGE_TEST_KEY": SECRET}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "stages.generate",
            "--params",
            str(tmp_path / "params.yaml"),
            "--iteration",
            "0",
            "--selected",
            str(tmp_path / "selected.jsonl"),
            "--task-info",
            str(tmp_path / "task.json"),
            "--cache",
            str(tmp_path / "cache"),
            "--out",
            str(tmp_path / "calls.jsonl"),
            "--metrics",
            str(tmp_path / "metrics.json"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    rows = read_jsonl(tmp_path / "calls.jsonl")
    # One first call per example, plus a fresh sample for a call whose output had no valid example.
    firsts = sorted(r["parent_id"] for r in rows if r["sampling"]["sample"] == 0)
    assert firsts == ["a1", "b2"] and {r["parent_id"] for r in rows} == {"a1", "b2"}
    assert all(r["teacher"] == {"profile": "local", "backend": "openai", "model": "tiny"} for r in rows)
    written = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    written += [out.stdout.encode(), out.stderr.encode()]
    assert any(p.suffix == ".sqlite" for p in tmp_path.rglob("*"))  # the cache is among them
    assert not any(SECRET.encode() in data for data in written)


def test_cache_fingerprint_tells_a_rebuilt_gguf_from_the_old_one(tmp_path: Path) -> None:
    """A retrained teacher written to the same file name must not be served the old one's calls."""
    from seedforge.teachers import call_key

    path = tmp_path / "model.gguf"
    teacher = make_teacher("tiny", LlamaCppTeacher(backend="llamacpp", model=str(path)))
    request = Request.user(PROMPT, seed=0)
    path.write_bytes(b"GGUF" + bytes(3 << 20))
    before = call_key(teacher, request)
    assert call_key(teacher, request) == before  # stable while the file is unchanged
    path.write_bytes(b"GGUF" + bytes(3 << 20) + b"x")  # same name, a different model
    assert call_key(teacher, request) != before
    # Rows name the whole file's sha256, and the adapter's: two tunings under one name differ.
    assert teacher.ref().model_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert teacher.ref().lora_sha256 is None
    lora = tmp_path / "adapter.gguf"
    lora.write_bytes(b"one tuning")
    tuned = make_teacher("t", LlamaCppTeacher(backend="llamacpp", model=str(path), lora=str(lora)))
    first = tuned.ref()
    lora.write_bytes(b"another tuning")
    assert first.lora_sha256 == hashlib.sha256(b"one tuning").hexdigest() != tuned.ref().lora_sha256
    assert first.model_sha256 == tuned.ref().model_sha256
    hub = make_teacher(
        "q", LlamaCppTeacher(backend="llamacpp", hub=HubFile(repo_id="o/r", filename="f.gguf"))
    )
    assert hub.fingerprint() == "hub:o/r/f.gguf@main"  # no download needed to key the cache
    a = openai_teacher("http://127.0.0.1:1/v1")
    b = openai_teacher(["http://127.0.0.1:2/v1", "http://127.0.0.1:3/v1"])
    assert call_key(a, request) == call_key(b, request)  # two servers of one model share answers


def test_a_completion_teacher_continues_a_prefill_and_a_chat_teacher_does_not() -> None:
    # The judge ends a completion teacher's prompt at `{"score":` and reads the next tokens; a chat
    # teacher gets the schema instead (a chat server closes a prefill as a turn of its own).
    def local(chat: bool) -> bool:
        params = LlamaCppTeacher(backend="llamacpp", model="m.gguf", chat=chat)
        return make_teacher("t", params).continues_prefill

    def http(api: str) -> bool:
        params = OpenAITeacher(backend="openai", base_url="http://127.0.0.1:1/v1", model="m", api=api)
        return make_teacher("t", params).continues_prefill

    assert (local(False), local(True)) == (True, False)
    assert (http("completions"), http("chat")) == (True, False)

"""A scriptable OpenAI-compatible server on 127.0.0.1 for tests and benchmarks.

It answers `/v1/chat/completions` and `/v1/completions`, counts requests by body, and lets a test
script what each attempt of each call gets: a well-formed answer, unparseable text, a 429 with
`Retry-After`, a 500, a stall past the client's timeout, a body cut short, or broken JSON.
`answer=` replaces the text of a well-formed answer with the test's own, and `logprobs=` the
alternatives of its tokens (when the request asks for logprobs and the dialect returns them).

`dialect=` makes it answer as a real server does (see `DIALECTS`): which structured-output form it
takes, which it ignores and which it rejects (and with what status and words), whether it returns
logprobs (True, False, or a (status, message) rejection), and what `/v1/models` lists. Without one,
it takes everything and lists model `loop`.

    python -m seedforge.testing.loopback --port 8765 --delay 0.2     # for bench/teacher.py
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

# What one attempt gets: "ok", "garbage", "429", "500", "stall", "truncate", "badjson".
Script = Callable[[dict[str, Any], int], str]
Answer = Callable[[dict[str, Any]], str]  # the text of a well-formed answer to this request body
# The alternatives at each token of an answer: (request body, token index, token) -> {token: logprob}
Alternatives = Callable[[dict[str, Any], int, str], dict[str, float]]

# How each server treats a structured-output form: "take" (constrained: JSON comes back),
# "ignore" (free text comes back), or (status, message) for a rejection. As observed on vLLM 0.6+,
# api.openai.com and llama_cpp.server 0.3.x; `context` is what /v1/models says about the window.
LLAMACPP_500 = (
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}"
)
DIALECTS: dict[str, dict[str, Any]] = {
    "vllm": {
        "json_schema": "take",
        "json_object": "take",
        "guided_json": "take",
        "logprobs": True,
        "context": 4096,
    },
    "openai": {
        "json_schema": "take",
        "json_object": (400, "Invalid parameter: 'response_format.schema': unknown parameter."),
        "guided_json": (400, "Unrecognized request argument supplied: guided_json"),
        "logprobs": True,
        "context": None,
    },
    "llamacpp": {
        "json_schema": (500, LLAMACPP_500),
        "json_object": "take",
        "guided_json": "ignore",
        "logprobs": True,
        "context": None,
    },
}


def structured_form(body: dict[str, Any]) -> str | None:
    """Which structured-output form a request body asks for, if any."""
    fmt = body.get("response_format") or {}
    if body.get("guided_json") is not None:
        return "guided_json"
    if fmt.get("type") == "json_schema":
        return "json_schema"
    if fmt.get("type") == "json_object":
        return "json_object"
    return None


def schema_answer(schema: dict[str, Any] | None, label: str, tag: str) -> str:
    """A JSON answer that follows `schema` (the task's examples schema, or any object schema)."""
    props = (schema or {}).get("properties") or {}
    if not props or "examples" in props:
        return json.dumps({"examples": [{"input": f"structured example {tag}", "label": label}]})
    return json.dumps({k: f"{k} {tag}" for k in props})


def schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format") or {}
    return body.get("guided_json") or fmt.get("schema") or (fmt.get("json_schema") or {}).get("schema")


def body_id(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def prompt_of(body: dict[str, Any]) -> str:
    if "messages" in body:
        return "\n".join(str(m.get("content", "")) for m in body["messages"])
    return str(body.get("prompt", ""))


def answer_text(body: dict[str, Any]) -> str:
    """Two valid classification examples carrying the label the prompt asks for."""
    found = re.search(r"with the label ([^,\s]+),", prompt_of(body))
    label = found.group(1) if found else "positive"
    tag = f"{body.get('seed', 0)}-{len(prompt_of(body))}"
    if body.get("response_format") or body.get("guided_json"):
        return schema_answer(schema_of(body), label, tag)
    one, two = (f"Input: generated example {tag} {n}\nLabel: {label}" for n in ("one", "two"))
    return f"{one}\n\n{two}"


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 drops connections of a 64-way client
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out and hung up is part of the script, not news


class Loopback:
    """The server; `script` decides each attempt, `delay` is added to every answer."""

    def __init__(
        self,
        script: Script | None = None,
        delay: float = 0.0,
        stall: float = 2.0,
        retry_after: str = "0",
        api_key: str | None = None,
        on_request: Callable[[int], None] | None = None,
        answer: Answer | None = None,
        dialect: str | dict[str, Any] | None = None,
        models: list[str] | None = None,
        logprobs: Alternatives | None = None,
    ) -> None:
        self.script = script or (lambda body, seen: "ok")
        self.answer = answer or answer_text
        if isinstance(dialect, str) and dialect not in DIALECTS:
            raise ValueError(f"dialect: one of {', '.join(DIALECTS)}")
        # a name, or a test's own variant of one (e.g. a server that rejects logprobs)
        self.dialect = dialect if isinstance(dialect, dict) else DIALECTS.get(dialect or "", {})
        self.models = models or ["loop"]
        self.alternatives = logprobs
        self.bodies: list[dict[str, Any]] = []
        self.delay = delay
        self.stall = stall
        self.retry_after = retry_after
        self.api_key = api_key
        self.on_request = on_request
        self.by_body: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.times: dict[str, list[float]] = {}
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.httpd = Server(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @property
    def requests(self) -> int:
        return sum(self.by_body.values())

    def __enter__(self) -> Loopback:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

            def do_GET(self) -> None:
                context = server.dialect.get("context")
                models = [
                    {"id": m, "object": "model", **({"max_model_len": context} if context else {})}
                    for m in server.models
                ]
                self._send(200, {"object": "list", "data": models})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                key = body_id(body)
                with server.lock:
                    seen = server.by_body[key]
                    server.by_body[key] += 1
                    server.times.setdefault(key, []).append(time.monotonic())
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    server.bodies.append(body)
                    n = server.requests
                if server.on_request is not None:
                    server.on_request(n)
                if (
                    server.api_key is not None
                    and self.headers.get("Authorization") != f"Bearer {server.api_key}"
                ):
                    self._send(401, {"error": {"message": "invalid api key", "type": "auth"}})
                    return
                what = server.script(body, seen)
                form = structured_form(body)
                treat = server.dialect.get(form, "take") if form else "take"
                if body.get("logprobs") and isinstance(server.dialect.get("logprobs"), tuple):
                    treat = server.dialect["logprobs"]  # (status, message): it refuses logprobs
                if isinstance(treat, tuple):
                    with server.lock:
                        server.outcomes["rejected"] += 1
                    kind = "internal_server_error" if treat[0] >= 500 else "invalid_request_error"
                    self._send(treat[0], {"error": {"message": treat[1], "type": kind}})
                    return
                if treat == "ignore":  # the server drops what it does not know: free text
                    body = {k: v for k, v in body.items() if k not in ("guided_json", "response_format")}
                with server.lock:
                    server.outcomes[what] += 1
                if server.delay:
                    time.sleep(server.delay)
                if what == "429":
                    self._send(
                        429,
                        {"error": {"message": "rate limited, slow down"}},
                        {"Retry-After": server.retry_after},
                    )
                elif what == "500":
                    self._send(500, {"error": {"message": "injected server error", "type": "server_error"}})
                elif what == "stall":
                    time.sleep(server.stall)
                    self._send(200, completion(body, server.answer(body)))
                elif what == "truncate":
                    data = json.dumps(completion(body, server.answer(body))).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                elif what == "badjson":
                    data = b'{"id": "cmpl-1", "object": "chat.completion", "choices": [{"index": 0, "mess'
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                elif what == "garbage":
                    self._send(200, completion(body, "Sorry, I can only chat about the weather today."))
                else:
                    text = continued(body, server.answer(body))
                    logprobs = server.dialect.get("logprobs", False) and body.get("logprobs")
                    alts = server.alternatives if logprobs else None
                    self._send(200, completion(body, text, bool(logprobs), alts))

            def _send(self, status: int, obj: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(obj).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a stall past its timeout)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def tokens_of(text: str) -> list[str]:
    """Word-sized tokens, each with the spaces before it; digits and punctuation apart, as real
    tokenizers split a JSON score.

    >>> tokens_of('{"score": 7, "reason": "ok"}')
    ['{"', 'score', '":', ' 7', ',', ' "', 'reason', '":', ' "', 'ok', '"}']
    """
    return re.findall(r"\s*(?:\d|[A-Za-z]+|[^\sA-Za-z\d]+)|\s+", text) or [text]


def alternatives_at(
    body: dict[str, Any], text: str, top: int, scripted: Alternatives | None
) -> list[tuple[str, float, dict[str, float]]]:
    """(token, its logprob, the `top` alternatives) per token: the scripted alternatives (the token
    itself among them unless the script says otherwise), else the token and made-up ones."""
    out = []
    for i, token in enumerate(tokens_of(text)):
        alts = dict(scripted(body, i, token)) if scripted is not None else {}
        if not alts:
            alts = {token: -0.1, **{f" alt{j}": -2.0 - j for j in range(1, top)}}
        alts.setdefault(token, min(alts.values()) - 1.0)
        ranked = dict(sorted(alts.items(), key=lambda a: -a[1])[:top])
        out.append((token, alts[token], ranked))
    return out


def token_logprobs(
    body: dict[str, Any], text: str, top: int, scripted: Alternatives | None = None
) -> list[dict[str, Any]]:
    """OpenAI's chat `logprobs.content`: one entry per token, with `top` alternatives."""
    return [
        {
            "token": token,
            "logprob": lp,
            "bytes": None,
            "top_logprobs": [{"token": t, "logprob": x, "bytes": None} for t, x in alts.items()],
        }
        for token, lp, alts in alternatives_at(body, text, top, scripted)
    ]


def legacy_logprobs(
    body: dict[str, Any], text: str, top: int, scripted: Alternatives | None = None
) -> dict[str, Any]:
    """The completions API's `logprobs`: parallel lists, alternatives as {token: logprob}."""
    rows = alternatives_at(body, text, top, scripted)
    offsets, at = [], 0
    for token, _, _ in rows:
        offsets.append(at)
        at += len(token)
    return {
        "tokens": [t for t, _, _ in rows],
        "token_logprobs": [lp for _, lp, _ in rows],
        "top_logprobs": [alts for _, _, alts in rows],
        "text_offset": offsets,
    }


def continued(body: dict[str, Any], text: str) -> str:
    """The answer as a completion server sends it: through the legacy completions API, without the
    part the prompt already ends with (a prefill, of 4 characters or more: a shorter overlap is
    more likely chance); either way, cut before the first `stop` string.

    >>> continued({"prompt": 'Rate it.\\n\\n{"score":', "stop": ["}"]}, '{"score": 8, "reason": "ok"}')
    ' 8, "reason": "ok"'
    >>> continued({"messages": [{"role": "user", "content": "Hi"}]}, "Hello}")
    'Hello}'
    """
    if "messages" not in body:
        prompt = prompt_of(body)
        opened = next((n for n in range(len(text), 3, -1) if prompt.endswith(text[:n])), 0)
        text = text[opened:]
    cuts = [text.find(s) for s in body.get("stop") or [] if s and s in text]
    return text[: min(cuts)] if cuts else text


def completion(
    body: dict[str, Any], text: str, logprobs: bool = False, scripted: Alternatives | None = None
) -> dict[str, Any]:
    usage = {"prompt_tokens": len(prompt_of(body)) // 4, "completion_tokens": len(text) // 4}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    if "messages" in body:
        choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        if logprobs:
            top = int(body.get("top_logprobs") or 0)
            choice["logprobs"] = {"content": token_logprobs(body, text, top, scripted)}
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "loop",
            "choices": [choice],
            "usage": usage,
        }
    choice = {"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}
    if logprobs:  # the legacy API's `logprobs` is the number of alternatives itself
        choice["logprobs"] = legacy_logprobs(body, text, int(body["logprobs"]), scripted)
    return {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 0,
        "model": "loop",
        "choices": [choice],
        "usage": usage,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--delay", type=float, default=0.2)
    p.add_argument("--dialect", choices=sorted(DIALECTS), default=None, help="answer as this server")
    p.add_argument("--model", action="append", default=None, help="a model /v1/models lists")
    args = p.parse_args()
    server = Loopback(delay=args.delay, dialect=args.dialect, models=args.model)
    if args.port:
        server.httpd.server_close()
        server.httpd = Server(("127.0.0.1", args.port), server._handler())
        server.url = f"http://127.0.0.1:{args.port}/v1"
    print(server.url, flush=True)
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()

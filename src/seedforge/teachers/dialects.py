"""Which structured-output dialect an OpenAI-compatible server takes, and whether it returns token
log-probabilities, each probed once and cached.

`structured: auto` sends the schema in the form this server accepts: `json_schema` (OpenAI, vLLM),
llama.cpp's `json_object` + `schema`, or vLLM's `guided_json` through the extra body. The answer is
cached per server and profile under `.seedforge/cache/check/` (the key hashes the URLs, the model and
the profile's options; no API key is ever stored). `seedforge check` (`seedforge.check`) reports the
same probe with the rest of its checks.

`logprobs: auto` asks for `logprobs`/`top_logprobs` (the judge's score distribution) only from a server
whose answer to a small probe carried `top_logprobs`: one that rejects the fields would stop the
stage at its first call, and one that ignores them costs nothing but is not asked again.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from seedforge.io import dumps
from seedforge.tasks.parsing import find_json
from seedforge.teachers.base import Request, Teacher

DIALECTS: tuple[str, ...] = ("json_schema", "guided_json", "json_object")  # auto's preference
CACHE = Path(".seedforge/cache/check")
PROBE_SCHEMA = {
    "type": "object",
    "properties": {"colour": {"type": "string", "maxLength": 20}},
    "required": ["colour"],
}
# Not asking for JSON: free text here means the server ignored the schema.
PROBE = Request.user("Name one colour of the sky, in a few words.", seed=0, schema=PROBE_SCHEMA)
PROBE_TOKENS = 48
# Alternatives per token a logprobs call asks for: OpenAI's maximum, vLLM's default cap.
TOP_LOGPROBS = 20
LOGPROBS_PROBE = Request.user("Say yes.", seed=0)


# --- the cache ---------------------------------------------------------------------------------


def server_key(teacher: Teacher) -> str:
    """The server and what it is asked for: URLs, model, API and extra body (never the key)."""
    p = teacher.params
    ident = {"urls": teacher.endpoints(), "model": p.model, "api": p.api, "extra_body": p.extra_body}
    return hashlib.sha256(dumps(ident).encode()).hexdigest()[:16]


def options_key(teacher: Teacher) -> str:
    """The profile's options too (a changed template or max_tokens asks again)."""
    opts = teacher.params.model_dump(mode="json")
    return hashlib.sha256(dumps({"server": server_key(teacher), "options": opts}).encode()).hexdigest()[:16]


def read_cache(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_cache(path: Path, obj: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(dumps(obj), encoding="utf-8")
    tmp.replace(path)


def dialects_path(teacher: Teacher, root: Path) -> Path:
    return root / CACHE / f"dialects-{server_key(teacher)}.json"


# --- structured-output dialects ------------------------------------------------------------------


def client_for(teacher: Any, endpoint: str) -> Any:
    import openai

    teacher.load()
    return openai.OpenAI(
        base_url=endpoint, api_key=teacher._api_key(), timeout=teacher.params.timeout, max_retries=0
    )


def ask(teacher: Any, client: Any, request: Request, dialect: str | None, **more: Any) -> Any:
    """One request as generate would send it; a rejection comes back as the backend's CallError."""
    import openai

    kwargs = teacher.request_kwargs(request, dialect, **more)
    try:
        if teacher.params.api == "chat":
            return client.chat.completions.create(**kwargs)
        return client.completions.create(**kwargs)
    except openai.APIError as e:
        raise teacher.call_error(e, f"teachers.{teacher.profile}: {client.base_url}") from None


def text_of(teacher: Any, out: Any) -> str:
    choice = out.choices[0]
    text = choice.message.content if teacher.params.api == "chat" else choice.text
    return text or ""


def probe_dialects(teacher: Any, endpoint: str) -> dict[str, str]:
    """Each dialect's fate on this server: `takes` (JSON following the schema came back),
    `ignored` (free text came back) or `rejected (...)` (the server refused the request)."""
    from seedforge.teachers.base import CallError

    client = client_for(teacher, endpoint)
    found: dict[str, str] = {}
    small = min(teacher.params.max_tokens, PROBE_TOKENS)
    try:
        for dialect in DIALECTS:
            try:
                out = ask(teacher, client, PROBE, dialect, max_tokens=small)
            except CallError as e:
                if e.cause != "request":
                    raise  # a fault, not an answer: generate retries it, check reports it
                said = str(e).split("rejected the request (", 1)[-1].split("; change")[0]
                found[dialect] = f"rejected ({said}"
                continue
            found[dialect] = "takes" if follows(text_of(teacher, out)) else "ignored"
    finally:
        client.close()
    return found


def follows(text: str) -> bool:
    """Whether an answer is the probe schema's JSON (a server that took the schema sends it).

    Read as every parser reads JSON (`find_json`): llama.cpp's grammar lets a raw newline into a
    string, which strict JSON refuses; calling that "ignored" turned the schema off for the whole
    run (SmolLM2 behind llama_cpp.server then wrote no score for 17 of 24 judge calls).

    >>> follows('{"colour": "blue"}'), follows("The sky is blue."), follows('{"colour": 3}')
    (True, False, False)
    >>> follows('{ "colour" : "blue, red }\\n\\n" }')
    True
    """
    obj = find_json(text, anywhere=False)
    return isinstance(obj, dict) and isinstance(obj.get("colour"), str)


def preferred(dialects: dict[str, str]) -> str | None:
    """The dialect `structured: auto` uses: the first that the server takes, in DIALECTS order.

    >>> preferred({"json_schema": "rejected: x", "guided_json": "ignored", "json_object": "takes"})
    'json_object'
    >>> preferred({"json_schema": "ignored"}) is None
    True
    """
    return next((d for d in DIALECTS if dialects.get(d) == "takes"), None)


def dialect_for(teacher: Any, endpoint: str) -> str | None:
    """`structured: auto`: the cached dialect of this server, else probe it once now (and cache)."""
    path = dialects_path(teacher, teacher.root)
    cached = read_cache(path)
    if cached is None or not isinstance(cached.get("dialects"), dict):
        found = probe_dialects(teacher, endpoint)
        write_cache(path, {"dialects": found, "checked": time.time()})
    else:
        found = cached["dialects"]
    return preferred(found)


# --- logprobs ----------------------------------------------------------------------------------


def logprobs_path(teacher: Teacher, root: Path) -> Path:
    return root / CACHE / f"logprobs-{server_key(teacher)}.json"


def probe_logprobs(teacher: Any, endpoint: str, top: int = TOP_LOGPROBS) -> dict[str, Any]:
    """What this server does with a request for `top` alternatives per token: `{"logprobs": "top",
    "alternatives": n}` (it returns them), `"tokens"` (log-probabilities without alternatives),
    `"none"` (it ignores the request) or `"rejected (...)"` (it refuses the fields)."""
    from seedforge.teachers.base import CallError

    client = client_for(teacher, endpoint)
    try:
        out = ask(teacher, client, LOGPROBS_PROBE, None, max_tokens=4, **teacher.logprobs_kwargs(top))
    except CallError as e:
        if e.cause != "request":
            raise  # a fault, not an answer: generate retries it, check reports it
        return {"logprobs": f"rejected ({str(e).split('rejected the request (', 1)[-1].split('; change')[0]}"}
    finally:
        client.close()
    tokens = teacher.read_logprobs(out.choices[0]) or ()
    alternatives = len(tokens[0].top) if tokens else 0
    found = "top" if alternatives else "tokens" if tokens else "none"
    return {"logprobs": found, "alternatives": alternatives}


def logprobs_for(teacher: Any, endpoint: str) -> bool:
    """`logprobs: auto`: whether this server returns `top_logprobs`, as `seedforge check` found it
    (cached), else probed once now (and cached)."""
    path = logprobs_path(teacher, teacher.root)
    cached = read_cache(path)
    if cached is None or not isinstance(cached.get("logprobs"), str):
        cached = {**probe_logprobs(teacher, endpoint), "checked": time.time()}
        write_cache(path, cached)
    return cached["logprobs"] == "top"

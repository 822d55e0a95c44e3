"""OpenAI-compatible HTTP teacher: vLLM, llama.cpp's server, or a hosted API, one URL or a fleet.

One `openai.AsyncOpenAI` client per URL, with the client's own retries off: the shared runner
retries (with backoff, Retry-After and a fleet to fall back on), so one failed attempt here is one
`CallError` with a cause. The API key is read from the environment variable the profile names,
and never stored or logged.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from seedforge.errors import SeedforgeError, first_line
from seedforge.teachers.base import CallError, Generation, Options, Request, Teacher, TokenLogprob
from seedforge.teachers.registry import register

Dialect = Literal["json_schema", "json_object", "guided_json"]


class OpenAITeacher(Options):
    backend: Literal["openai"]
    base_url: str | list[str]  # one URL, or a fleet of servers of the same model
    model: str
    api: Literal["chat", "completions"] = "chat"
    api_key_env: str | None = None  # name of the environment variable holding the key
    # server-specific sampling knobs, e.g. {repeat_penalty: 1.0}
    extra_body: dict[str, Any] = Field(default_factory=dict)
    concurrency: int = Field(default=16, gt=0)
    # How `structured: true` asks for the schema: "json_schema" is OpenAI's and vLLM's form;
    # llama_cpp.server (0.3.x) accepts only {"type": "json_object", "schema": ...}.
    # vLLM also takes "guided_json" (the schema in the request body, through extra_body).
    structured_format: Dialect = "json_schema"
    # auto: the dialect `seedforge check` found for this server (cached), else one probe when
    # generate starts; true: always `structured_format`; false: never a schema.
    structured: bool | Literal["auto"] = "auto"
    # Whether a call that asks for token log-probabilities (the judge's score distribution) sends
    # `logprobs`/`top_logprobs`. auto: if `seedforge check` found the server returns them (cached),
    # else one probe when such a call first goes out; false: never (the judge reads the JSON).
    logprobs: bool | Literal["auto"] = "auto"

    @field_validator("base_url")
    @classmethod
    def _some_url(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list) and not v:
            raise ValueError("give at least one URL")
        return v

    def urls(self) -> list[str]:
        return [self.base_url] if isinstance(self.base_url, str) else list(self.base_url)

    def local_files(self) -> list[str]:
        return []  # a server's model is not a file of this project


def retry_after(headers: Any) -> float | None:
    """Seconds from a Retry-After header (a number of seconds; an HTTP date is ignored).

    >>> retry_after({"retry-after": "2"}), retry_after({}), retry_after({"retry-after": "soon"})
    (2.0, None, None)
    """
    value = headers.get("retry-after") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


@register
class OpenAIBackend(Teacher):
    backend = "openai"
    Options = OpenAITeacher
    enforces_timeout = True

    def __init__(self, profile: str, params: OpenAITeacher, root: Path = Path(".")) -> None:
        super().__init__(profile, params, root)
        self.model_id = params.model
        self._clients: dict[str, Any] = {}
        self._openai: Any = None
        # How the schema goes out: fixed by `structured: true/false`, found at the first
        # structured call for `auto` (None: the server takes no dialect; the schema stays home).
        self.dialect: str | None = params.structured_format if params.structured is True else None
        self._resolved = params.structured != "auto"
        # Whether asking for logprobs gets them: fixed by `logprobs: true/false`, found for `auto`
        # at the first call that asks (None until then).
        self.gives_logprobs: bool | None = None if params.logprobs == "auto" else params.logprobs
        self._lock: asyncio.Lock | None = None

    def sampling(self) -> dict[str, Any]:
        p = self.params
        return {
            **super().sampling(),
            "api": p.api,
            **({"extra_body": p.extra_body} if p.extra_body else {}),
            # answers got without logprobs are not the answers a logprobs call would get: turning
            # them off names other cache entries (auto and true keep the keys of before)
            **({"logprobs": False} if p.logprobs is False else {}),
        }

    @property
    def continues_prefill(self) -> bool:
        return self.params.api == "completions"  # the prompt is raw text, the prefill its end

    def fingerprint(self) -> str:
        # Not the URL: a fleet of servers of one model, or a moved server, shares one cache.
        return self.params.model

    def endpoints(self) -> list[str]:
        return self.params.urls()

    def _api_key(self) -> str:
        name = self.params.api_key_env
        if name is None:
            return "not-needed"  # local servers accept any key; the client insists on one
        key = os.environ.get(name)
        if not key:
            raise SeedforgeError(
                f"teachers.{self.profile}.api_key_env: environment variable {name} is not set"
            )
        return key

    def load(self) -> None:
        # Imported here, before the runner starts its clock: a first import inside the event
        # loop blocks it for a second or more and would time out every call already started.
        import openai

        self._openai = openai
        self._api_key()  # fail before any call when the key is missing

    def _client(self, url: str) -> Any:
        client = self._clients.get(url)
        if client is None:
            client = self._openai.AsyncOpenAI(
                base_url=url, api_key=self._api_key(), timeout=self.params.timeout, max_retries=0
            )
            self._clients[url] = client
        return client

    async def aclose(self) -> None:
        self._lock = None  # bound to the event loop that is ending
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.close()

    async def agenerate(self, request: Request, endpoint: str) -> Generation:
        if request.schema is not None and self.params.structured == "auto" and not self._resolved:
            await self._resolve_dialect(endpoint)
        if request.top_logprobs and self.gives_logprobs is None:
            await self._resolve_logprobs(endpoint)
        top = request.top_logprobs if self.gives_logprobs else 0
        kwargs = self.request_kwargs(
            request, self.dialect if request.schema is not None else None, **self.logprobs_kwargs(top)
        )
        where = f"teachers.{self.profile}: {endpoint}"
        try:
            out = await self._send(self._client(endpoint), kwargs)
            choice = out.choices[0]
            text = choice.message.content if self.params.api == "chat" else choice.text
            finish = choice.finish_reason
            logprobs = self.read_logprobs(choice) if top else None
        except self._openai.APIError as e:
            raise self.call_error(e, where) from None
        except (ValueError, TypeError, AttributeError, IndexError, KeyError) as e:
            # A truncated or malformed body (JSONDecodeError is a ValueError) or missing fields.
            raise CallError(
                "bad_response", f"{where} sent an unreadable response ({first_line(e)[:120]})"
            ) from None
        usage = {}
        if out.usage is not None:
            usage = {
                "prompt_tokens": int(out.usage.prompt_tokens or 0),
                "completion_tokens": int(out.usage.completion_tokens or 0),
            }
        return Generation(
            text=text if isinstance(text, str) else "", finish_reason=finish, usage=usage, logprobs=logprobs
        )

    def logprobs_kwargs(self, top: int) -> dict[str, Any]:
        """The request fields asking for `top` alternatives per token (none for 0): the chat API
        takes `logprobs: true, top_logprobs: n`, the legacy completions API `logprobs: n`."""
        if not top:
            return {}
        return {"logprobs": True, "top_logprobs": top} if self.params.api == "chat" else {"logprobs": top}

    def read_logprobs(self, choice: Any) -> tuple[TokenLogprob, ...] | None:
        """The tokens of one answer with their alternatives, in either API's shape; None when the
        server sent none (it ignored the request: the caller falls back to the text)."""
        lp = getattr(choice, "logprobs", None)
        if lp is None:
            return None
        if self.params.api == "chat":
            entries = getattr(lp, "content", None)
            if not entries:
                return None
            return tuple(
                TokenLogprob(
                    e.token,
                    float(e.logprob),
                    tuple((a.token, float(a.logprob)) for a in (getattr(e, "top_logprobs", None) or [])),
                )
                for e in entries
            )
        tokens = getattr(lp, "tokens", None)
        if not tokens:
            return None
        values = getattr(lp, "token_logprobs", None) or [0.0] * len(tokens)
        tops = getattr(lp, "top_logprobs", None) or [{}] * len(tokens)
        return tuple(
            TokenLogprob(
                t,
                float(v if v is not None else 0.0),
                tuple(sorted(((a, float(x)) for a, x in (alts or {}).items()), key=lambda a: -a[1])),
            )
            for t, v, alts in zip(tokens, values, tops, strict=False)
        )

    async def _send(self, client: Any, kwargs: dict[str, Any]) -> Any:
        if self.params.api == "chat":
            return await client.chat.completions.create(**kwargs)
        return await client.completions.create(**kwargs)

    async def _resolve_dialect(self, endpoint: str) -> None:
        """`structured: auto`: the dialect `seedforge check` found for this server (cached), or one
        probe now; calls wait for it, so the server is probed once per run at most."""
        from seedforge.teachers import dialects

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._resolved:
                self.dialect = await asyncio.to_thread(dialects.dialect_for, self, endpoint)
                self._resolved = True

    async def _resolve_logprobs(self, endpoint: str) -> None:
        """`logprobs: auto`: what `seedforge check` found for this server (cached), or one probe now."""
        from seedforge.teachers import dialects

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.gives_logprobs is None:
                self.gives_logprobs = await asyncio.to_thread(dialects.logprobs_for, self, endpoint)

    def request_kwargs(self, request: Request, dialect: str | None, **more: Any) -> dict[str, Any]:
        """The keyword arguments of one `create` call; `dialect` says how the schema is asked for
        (None: not at all). `more` adds request fields (e.g. logprobs) for `seedforge check`."""
        p = self.params
        body = dict(p.extra_body)
        kwargs: dict[str, Any] = dict(
            model=p.model,
            temperature=p.temperature,
            top_p=p.top_p,
            max_tokens=p.max_tokens,
            seed=request.seed,
        )
        kwargs.update(more)
        if request.stop:
            kwargs["stop"] = list(request.stop)
        fmt: dict[str, Any] | None = None
        if request.schema is not None and dialect == "json_object":
            fmt = {"type": "json_object", "schema": request.schema}
        elif request.schema is not None and dialect == "json_schema":
            fmt = {
                "type": "json_schema",
                "json_schema": {"name": "examples", "schema": request.schema, "strict": True},
            }
        elif request.schema is not None and dialect == "guided_json":
            body["guided_json"] = request.schema  # vLLM's own form, outside the OpenAI API
        if p.api == "chat":
            kwargs["messages"] = request.chat()
            if fmt is not None:
                kwargs["response_format"] = fmt
        else:
            kwargs["prompt"] = request.prompt()
            if fmt is not None:
                body.setdefault("response_format", fmt)
        if body:
            kwargs["extra_body"] = body
        return kwargs

    def call_error(self, e: Exception, where: str) -> Exception:
        """The runner's view of a failed attempt: what it is, and whether retrying can help."""
        openai = self._openai
        p = self.params
        if isinstance(e, openai.APITimeoutError):
            return CallError("timeout", f"{where} did not answer within {p.timeout:g} s")
        if isinstance(e, openai.APIConnectionError):
            return CallError(
                "connection", f"{where}: connection failed ({first_line(e.__cause__ or e)[:160]})"
            )
        if not isinstance(e, openai.APIStatusError):
            return CallError("bad_response", f"{where}: {first_line(e)[:200]}")
        # The message of an APIError is the server's; the key is never part of it.
        status = e.status_code
        said = server_words(e)
        message = f"{where} answered {status}: {first_line(e)[:200]}"
        if status in (401, 403):
            return SeedforgeError(message)  # no retry fixes a wrong key
        if status in (400, 404, 422) or (status >= 500 and is_validation_error(said)):
            rejected = what_was_rejected(said) or first_line(e)[:200]
            return CallError(
                "request",
                f"{where} rejected the request ({status}: {rejected}); "
                f"change {fix_for(self.profile, p, self.dialect, said, status)}",
            )
        if status == 429:
            return CallError("rate_limit", message, retry_after(e.response.headers))
        if status >= 500:
            return CallError("server", message, retry_after(e.response.headers))
        return CallError("client", message)


def server_words(e: Any) -> str:
    """The error body as text (a JSON body's message, else the raw text)."""
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("message") or inner)
        return str(inner)
    if body is not None:
        return str(body)
    return str(e)


def is_validation_error(text: str) -> bool:
    """A request-validation error, whatever the status (llama_cpp.server answers pydantic's with 500).

    >>> is_validation_error("1 validation error: {'type': 'literal_error', 'loc': ('body', 'x')}")
    True
    >>> is_validation_error("CUDA out of memory")
    False
    """
    low = text.lower()
    return "validation error" in low or "'loc': ('body'" in low or "extra inputs are not permitted" in low


def what_was_rejected(text: str) -> str:
    """The first field a validation error names, and what the server wanted, in one line.

    >>> what_was_rejected("1 validation error: {'loc': ('body', 'response_format', 'type'), "
    ...     "'msg': 'Input should be text or json_object'}")
    'response_format.type: Input should be text or json_object'
    """
    loc = re.search(r"'loc': \(([^)]*)\)", text)
    msg = re.search(r"'msg': (?:\"([^\"]*)\"|'([^']*)')", text)
    if loc:
        parts = [x.strip().strip("'\"") for x in loc.group(1).split(",")]
        field = ".".join(x for x in parts if x and x != "body")
        said = (msg.group(1) or msg.group(2)) if msg else ""
        return f"{field}: {said}".strip(": ")
    lines = text.strip().splitlines()
    return lines[0][:200] if lines else ""


def fix_for(profile: str, p: OpenAITeacher, dialect: str | None, said: str, status: int) -> str:
    """The params.yaml line that would change what the server rejected."""
    key = f"teachers.{profile}"
    low = said.lower()
    if any(w in low for w in ("response_format", "json_schema", "guided_json", "json_object", "schema")):
        if dialect == "json_schema":
            return f"{key}.structured_format: json_object (or structured: auto)"
        return f"{key}.structured: false (or structured: auto)"
    if "logprob" in low:
        return f"{key}.logprobs: false"
    if "context" in low or "too long" in low or "max_tokens" in low or "maximum" in low:
        return f"{key}.max_tokens: {max(16, p.max_tokens // 2)} (or a shorter template)"
    if "model" in low or status == 404:
        return f"{key}.model (run `seedforge check {profile}` to list the served models)"
    if p.extra_body:
        return f"{key}.extra_body"
    return f"{key} (run `seedforge check {profile}`)"

"""OpenAI-compatible HTTP teacher: vLLM, llama.cpp's server, or a hosted API, one URL or a fleet.

One `openai.AsyncOpenAI` client per URL, with the client's own retries off: the shared runner
retries (with backoff, Retry-After and a fleet to fall back on), so one failed attempt here is one
`CallError` with a cause. The API key is read from the environment variable the profile names,
and never stored or logged.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from seedforge.errors import SeedforgeError, first_line
from seedforge.teachers.base import CallError, Generation, Options, Request, Teacher
from seedforge.teachers.registry import register


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
    structured_format: Literal["json_schema", "json_object"] = "json_schema"

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

    def sampling(self) -> dict[str, Any]:
        p = self.params
        return {
            **super().sampling(),
            "api": p.api,
            **({"extra_body": p.extra_body} if p.extra_body else {}),
        }

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
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.close()

    async def agenerate(self, request: Request, endpoint: str) -> Generation:
        openai = self._openai
        p = self.params
        client = self._client(endpoint)
        body = dict(p.extra_body)
        kwargs: dict[str, Any] = dict(
            model=p.model,
            temperature=p.temperature,
            top_p=p.top_p,
            max_tokens=p.max_tokens,
            seed=request.seed,
        )
        if request.stop:
            kwargs["stop"] = list(request.stop)
        if request.schema is not None and p.structured_format == "json_object":
            kwargs["response_format"] = {"type": "json_object", "schema": request.schema}
        elif request.schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "examples", "schema": request.schema, "strict": True},
            }
        where = f"teachers.{self.profile}: {endpoint}"
        try:
            if p.api == "chat":
                if body:
                    kwargs["extra_body"] = body
                out = await client.chat.completions.create(messages=request.chat(), **kwargs)
                choice = out.choices[0]
                text = choice.message.content or ""
            else:
                if request.schema is not None:
                    body.setdefault("response_format", kwargs.pop("response_format"))
                kwargs.pop("response_format", None)
                if body:
                    kwargs["extra_body"] = body
                out = await client.completions.create(prompt=request.prompt(), **kwargs)
                choice = out.choices[0]
                text = choice.text
            finish = choice.finish_reason
        except openai.APITimeoutError:
            raise CallError("timeout", f"{where} did not answer within {p.timeout:g} s") from None
        except openai.APIConnectionError as e:
            raise CallError(
                "connection", f"{where}: connection failed ({first_line(e.__cause__ or e)[:160]})"
            ) from None
        except openai.APIStatusError as e:
            # The message of an APIError is the server's; the key is never part of it.
            message = f"{where} answered {e.status_code}: {first_line(e)[:200]}"
            if e.status_code in (401, 403):
                raise SeedforgeError(message) from None  # no retry fixes a wrong key
            if e.status_code == 429:
                raise CallError("rate_limit", message, retry_after(e.response.headers)) from None
            if e.status_code >= 500:
                raise CallError("server", message, retry_after(e.response.headers)) from None
            raise CallError("client", message) from None
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
        return Generation(text=text if isinstance(text, str) else "", finish_reason=finish, usage=usage)

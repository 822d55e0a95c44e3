"""The teacher interface: one request in, one `Generation` out, asynchronously.

A backend implements a single `async def agenerate(request, endpoint)`; the shared runner
(`seedforge.teachers.runner`) does concurrency, caching, retries, accounting and progress for all of them.
Each backend lives in one file with its own options model and registers itself, so adding a
backend touches one file (the simonw/llm shape). Backends import their heavy dependencies inside
`load()`, so choosing a teacher in params costs nothing for stages that never call it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from seedforge.io import dumps
from seedforge.schema.records import TeacherRef


class Options(BaseModel):
    """What every teacher profile has: sampling, and how the runner treats its calls."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(default=0.8, ge=0)
    top_p: float = Field(default=0.95, gt=0, le=1)
    max_tokens: int = Field(default=512, gt=0)
    samples: int = Field(default=1, gt=0)  # calls per prompt, each with its own sample index
    # The prompt template for this teacher, instead of data.template: small completion models
    # need a few-shot continuation (prompts/classification_fewshot.jinja), big ones instructions.
    template: str | None = None
    structured: bool = False  # ask for the task's JSON schema (constrained decoding)
    reasks: int = Field(default=1, ge=0)  # fresh samples for a call whose output has no valid example
    concurrency: int = Field(default=8, gt=0)  # calls in flight at once
    timeout: float = Field(default=120.0, gt=0)  # seconds for one attempt of one call
    max_attempts: int = Field(default=5, gt=0)  # per call, counting the first
    backoff: float = Field(default=1.0, ge=0)  # first retry delay in seconds; doubles, with jitter
    backoff_max: float = Field(default=60.0, ge=0)
    fail_share: float = Field(default=0.5, gt=0, le=1)  # stop when this share of finished calls failed
    fail_min: int = Field(default=10, gt=0)  # ...once at least this many calls have finished
    stall_timeout: float = Field(default=600.0, gt=0)  # stop when nothing succeeded for this long
    price_per_million: Price | None = None  # for the cost estimate in the run log only


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: float = Field(ge=0)
    completion: float = Field(ge=0)


Options.model_rebuild()


@dataclass(frozen=True)
class Request:
    """One call: chat messages, an optional assistant prefill, and what makes the sample unique.

    A completion model sees the messages rendered as text with the prefill appended; its answer
    continues the prefill, so `full_text` puts the prefill back before parsing.

    >>> r = Request(messages=({"role": "user", "content": "Write one."},), seed=3, prefill="Input:")
    >>> r.prompt()
    'Write one.\\n\\nInput:'
    >>> r.full_text(" hi")
    'Input: hi'
    """

    messages: tuple[dict[str, str], ...]
    seed: int
    sample: int = 0  # index of this sample when one prompt is asked several times
    prefill: str = ""
    stop: tuple[str, ...] | None = None
    schema: dict[str, Any] | None = None  # JSON schema the output must follow (structured output)
    # What the call is about, for backends that work from the data rather than the prompt (the
    # `retrieve` teacher searches by the parent's input). Left out of `payload`: the prompt already
    # renders the parent, so other backends' cache keys and call rows stay as they were.
    meta: dict[str, Any] | None = None
    # Ask for the log-probabilities of this many alternatives at each generated token (servers
    # that give them: vLLM, OpenAI, llama.cpp's server); 0: none. Backends that cannot ignore it.
    top_logprobs: int = 0

    @classmethod
    def user(cls, prompt: str, seed: int, **kw: Any) -> Request:
        return cls(messages=({"role": "user", "content": prompt},), seed=seed, **kw)

    def prompt(self) -> str:
        """The messages as one completion prompt, prefill appended."""
        return "\n\n".join(m["content"] for m in self.messages) + (
            "\n\n" + self.prefill if self.prefill else ""
        )

    def chat(self) -> list[dict[str, str]]:
        """The messages for a chat API, the prefill as a final assistant turn when given."""
        prefill = [{"role": "assistant", "content": self.prefill}] if self.prefill else []
        return [dict(m) for m in self.messages] + prefill

    def full_text(self, text: str) -> str:
        return self.prefill + text

    def payload(self) -> dict[str, Any]:
        """Everything about the request that can change the answer (for the cache key)."""
        return {
            "messages": [dict(m) for m in self.messages],
            "prefill": self.prefill,
            "stop": list(self.stop) if self.stop else None,
            "schema": self.schema,
            "seed": self.seed,
            "sample": self.sample,
            # only when asked: the keys of calls without logprobs stay as they were
            **({"top_logprobs": self.top_logprobs} if self.top_logprobs else {}),
        }


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token, its log-probability, and the `top` alternatives the server gave there
    (token, log-probability), most likely first.

    >>> t = TokenLogprob.from_json({"token": " 7", "logprob": -0.1, "top": [[" 7", -0.1], [" 8", -2.5]]})
    >>> t.top[1], TokenLogprob.from_json(t.as_json()) == t
    ((' 8', -2.5), True)
    """

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"token": self.token, "logprob": self.logprob, "top": [list(a) for a in self.top]}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> TokenLogprob:
        return cls(
            str(obj["token"]), float(obj["logprob"]), tuple((str(t), float(lp)) for t, lp in obj["top"])
        )


@dataclass(frozen=True)
class Generation:
    text: str
    finish_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    # Per generated token, when the request asked for `top_logprobs` and the server gave them.
    logprobs: tuple[TokenLogprob, ...] | None = None


# "request": the server rejected the request itself (400/404/422, or a 500 that is a validation
# error); sending it again cannot help, so the runner stops the stage at once.
Cause = Literal["rate_limit", "server", "timeout", "connection", "bad_response", "client", "request"]


class CallError(Exception):
    """One failed attempt of a call, with a cause the runner decides retries on.

    The message names the teacher and URL and carries the server's own words (first line only);
    it never contains the API key.
    """

    RETRYABLE: ClassVar[frozenset[str]] = frozenset(
        {"rate_limit", "server", "timeout", "connection", "bad_response"}
    )

    def __init__(self, cause: Cause, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.cause = cause
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.cause in self.RETRYABLE


class Teacher:
    """A backend. Subclasses set `backend` and `Options`, and implement `agenerate`."""

    backend: ClassVar[str]
    Options: ClassVar[type[Options]]
    enforces_timeout: ClassVar[bool] = False  # True: agenerate raises CallError("timeout") itself
    # True: `score` gives log-probabilities of given continuations. Scoring operators (annotate's
    # labels, the judge's score distribution, categorize) ask this instead of probing attributes.
    can_score: ClassVar[bool] = False

    def __init__(self, profile: str, params: Any, root: Path = Path(".")) -> None:
        self.profile = profile  # the params profile name, e.g. "tiny"
        self.params = params
        self.root = root
        self.model_id = ""  # what the backend ran: a GGUF file name or an API model name

    def sampling(self) -> dict[str, Any]:
        """Params that change outputs (recorded in call rows and cache keys)."""
        p = self.params
        return {"temperature": p.temperature, "top_p": p.top_p, "max_tokens": p.max_tokens}

    def fingerprint(self) -> str:
        """Identifies the exact model behind `model_id` for the call cache, without loading it."""
        raise NotImplementedError

    def weights(self) -> dict[str, str]:
        """sha256 of the weight files it runs (`model_sha256`, `lora_sha256`); none for an API model."""
        return {}

    def ref(self) -> TeacherRef:
        """What a call row and a record name as their teacher."""
        return TeacherRef(profile=self.profile, backend=self.backend, model=self.model_id, **self.weights())

    @property
    def continues_prefill(self) -> bool:
        """Whether an answer is the very next text after `Request.prefill` (a completion API), so
        its first tokens' alternatives are the model's distribution right after the prefill. A chat
        API sends the prefill as an assistant turn, which most servers close before answering."""
        return False

    def endpoints(self) -> list[str]:
        """Where calls can go; the runner spreads calls over them and skips unhealthy ones."""
        return ["in-process"]

    def load(self) -> None:
        """Load the model or open clients; idempotent."""

    async def agenerate(self, request: Request, endpoint: str) -> Generation:
        """One attempt of one call; raise `CallError` for a failure the runner may retry."""
        raise NotImplementedError

    def score(self, prefix: str, items: Sequence[str], options: Sequence[str]) -> list[list[float]]:
        """log P(option | prefix + item) for every item and option (backends with `can_score`)."""
        raise NotImplementedError(f"{self.backend} teachers cannot score continuations")

    async def aclose(self) -> None:
        """Release clients bound to the running event loop."""

    def generate(self, batch: Sequence[Request]) -> list[Generation]:
        """Blocking convenience for scripts and tests: one attempt per request, no cache."""
        self.load()

        async def go() -> list[Generation]:
            try:
                ends = self.endpoints()
                return list(
                    await asyncio.gather(
                        *(self.agenerate(r, ends[i % len(ends)]) for i, r in enumerate(batch))
                    )
                )
            finally:
                await self.aclose()

        return asyncio.run(go())


def call_key(teacher: Teacher, request: Request) -> str:
    """Cache key of one call: backend, model fingerprint, sampling params and the whole request
    (messages, prefill, stop, schema, seed, sample index). Never the URL that answered it.

    >>> class T:
    ...     backend = "llamacpp"
    ...     def fingerprint(self): return "m.gguf:1234:abcd"
    ...     def sampling(self): return {"temperature": 0.8}
    >>> call_key(T(), Request.user("hi", seed=1))
    '2a81117c1827fa84f2c60afa6a6222e7'
    """
    payload = dumps(
        {
            "backend": teacher.backend,
            "model": teacher.fingerprint(),
            "params": teacher.sampling(),
            "request": request.payload(),
        }
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]

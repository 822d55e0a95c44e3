"""The teacher interface: a batch of rendered prompts in, one generation per prompt out.

Backends live one per file and import their heavy dependencies inside `load()`, so choosing a
teacher in params costs nothing for stages that never call it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from seedforge.io import dumps


@dataclass(frozen=True)
class Request:
    """One call: the rendered user prompt and the sampling seed for this call."""

    prompt: str
    seed: int
    sample: int = 0  # index of this sample when one prompt is asked several times


@dataclass(frozen=True)
class Generation:
    text: str
    finish_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)


class Teacher(Protocol):
    profile: str  # the params profile name, e.g. "tiny"
    backend: str  # "llamacpp" | "openai"
    model_id: str  # what the backend ran: a GGUF file name or an API model name

    def sampling(self) -> dict[str, Any]:
        """Generation params that change outputs (recorded in records and cache keys)."""
        ...

    def fingerprint(self) -> str:
        """Identifies the exact model behind `model_id` for the call cache, without loading it."""
        ...

    def load(self) -> None: ...

    def generate(self, batch: Sequence[Request]) -> list[Generation]: ...


def call_key(teacher: Teacher, request: Request) -> str:
    """Cache key of one call: backend, model fingerprint, generation params, sample index, prompt.

    >>> class T:
    ...     backend = "llamacpp"
    ...     def fingerprint(self): return "m.gguf:1234:abcd"
    ...     def sampling(self): return {"temperature": 0.8}
    >>> call_key(T(), Request(prompt="hi", seed=1))
    'e2bc095e14aa1169bb03e7e84a4848fd'
    """
    payload = dumps(
        {
            "backend": teacher.backend,
            "model": teacher.fingerprint(),
            "params": teacher.sampling(),
            "seed": request.seed,
            "sample": request.sample,
            "prompt": request.prompt,
        }
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]

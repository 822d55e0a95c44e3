"""OpenAI-compatible HTTP teacher: vLLM, llama.cpp's server, or a hosted API.

Simple and synchronous on purpose; a later issue brings concurrency, retries and several URLs.
The API key is read from the environment variable the profile names, and never stored or logged.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from seedforge.errors import SeedforgeError, first_line
from seedforge.params import OpenAITeacher
from seedforge.teachers.base import Generation, Request


class OpenAIBackend:
    backend = "openai"

    def __init__(self, profile: str, params: OpenAITeacher) -> None:
        self.profile = profile
        self.params = params
        self.model_id = params.model
        self._client: Any = None

    def sampling(self) -> dict[str, Any]:
        p = self.params
        return {
            "temperature": p.temperature,
            "top_p": p.top_p,
            "max_tokens": p.max_tokens,
            "api": p.api,
            **({"extra_body": p.extra_body} if p.extra_body else {}),
        }

    def fingerprint(self) -> str:
        return f"{self.params.base_url.rstrip('/')}|{self.params.model}"

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
        if self._client is not None:
            return
        import openai

        self._client = openai.OpenAI(
            base_url=self.params.base_url,
            api_key=self._api_key(),
            timeout=self.params.timeout,
            max_retries=2,
        )

    def generate(self, batch: Sequence[Request]) -> list[Generation]:
        self.load()
        return [self._one(r) for r in batch]

    def _one(self, request: Request) -> Generation:
        import openai

        p = self.params
        kwargs = dict(
            model=p.model,
            temperature=p.temperature,
            top_p=p.top_p,
            max_tokens=p.max_tokens,
            seed=request.seed,
            extra_body=p.extra_body or None,
        )
        try:
            if p.api == "chat":
                out = self._client.chat.completions.create(
                    messages=[{"role": "user", "content": request.prompt}], **kwargs
                )
                choice = out.choices[0]
                text = choice.message.content or ""
            else:
                out = self._client.completions.create(prompt=request.prompt, **kwargs)
                choice = out.choices[0]
                text = choice.text
        except openai.APIError as e:
            # The message of an APIError is the server's; the key is never part of it.
            first = first_line(e)
            raise SeedforgeError(
                f"teachers.{self.profile}: {p.base_url} answered with an error: {first[:200]}"
            ) from None
        usage = {}
        if out.usage is not None:
            usage = {
                "prompt_tokens": out.usage.prompt_tokens,
                "completion_tokens": out.usage.completion_tokens,
            }
        return Generation(text=text, finish_reason=choice.finish_reason, usage=usage)

"""The one place where the instruction operators talk to a teacher.

`Asker` takes a batch of `Ask`s and returns one `Answer` per ask, in order. Today it drives
`seedforge.teachers` (a batch of `Request(prompt, seed, sample)`) through the per-call cache, so a
crashed stage resumes without repeating finished calls. An `Ask` already carries what the async
runner of the teacher-client issue takes (a JSON schema for structured output); wiring onto that
runner changes this module only: operators and stages stay as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedforge.cache import CallCache
from seedforge.params import OperatorSampling, Params
from seedforge.prompts import Template
from seedforge.records import TeacherRef
from seedforge.teachers import Request, Teacher, call_key, make_teacher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ask:
    """One call an operator wants made: the rendered prompt and its sampling seed.

    `schema` is the JSON schema of the structured answer; it is recorded but not yet sent (the
    current backends have no schema-constrained decoding; the parsers accept free text too).
    """

    prompt: str
    seed: int
    sample: int = 0
    schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class Answer:
    call: str  # the call key (cache key): backend, model fingerprint, sampling, seed, prompt
    text: str
    finish_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    cached: bool = False


def operator_teacher(params: Params, sampling: OperatorSampling, root: Path = Path(".")) -> Teacher:
    """The instruct teacher profile with the operator's sampling laid over it."""
    assert params.instruct is not None
    name = params.instruct.teacher
    update: dict[str, Any] = {"temperature": sampling.temperature, "top_p": sampling.top_p}
    if sampling.max_tokens is not None:
        update["max_tokens"] = sampling.max_tokens
    return make_teacher(name, params.teachers[name].model_copy(update=update), root)


class Asker:
    """Answers batches of asks with one teacher, cached per call; counts what it did."""

    def __init__(self, teacher: Teacher, cache: CallCache, batch_size: int = 8) -> None:
        self.teacher = teacher
        self.cache = cache
        self.batch_size = batch_size
        self.counts = {"calls": 0, "cached": 0, "prompt_tokens": 0, "completion_tokens": 0}

    @property
    def ref(self) -> TeacherRef:
        t = self.teacher
        return TeacherRef(profile=t.profile, backend=t.backend, model=t.model_id)

    def sampling(self, ask: Ask) -> dict[str, Any]:
        """What a row records about the call that wrote it."""
        return {**self.teacher.sampling(), "seed": ask.seed, "sample": ask.sample}

    def stamp(self, template: Template, ask: Ask, answer: Answer) -> dict[str, Any]:
        """The provenance fields of a row written by this call (`InstructionRow` keyword args)."""
        return {
            "teacher": self.ref,
            "template": template.ref,
            "call": answer.call,
            "sampling": self.sampling(ask),
            "raw": answer.text,
        }

    def ask(self, asks: Sequence[Ask]) -> list[Answer]:
        requests = [Request.user(a.prompt, seed=a.seed, sample=a.sample) for a in asks]
        keys = [call_key(self.teacher, r) for r in requests]
        done: dict[str, Answer] = {}
        for key in keys:
            hit = self.cache.get(key)
            if hit is not None:
                done[key] = Answer(key, hit["raw"], hit.get("finish_reason"), hit.get("usage") or {}, True)
        todo = [(k, r) for k, r in zip(keys, requests, strict=True) if k not in done]
        todo = list({k: (k, r) for k, r in todo}.values())  # one call per distinct key
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            for (key, _), gen in zip(chunk, self.teacher.generate([r for _, r in chunk]), strict=True):
                done[key] = Answer(key, gen.text, gen.finish_reason, dict(gen.usage))
                self.cache.put(
                    key,
                    {"raw": gen.text, "finish_reason": gen.finish_reason, "usage": gen.usage},
                    self.teacher.profile,
                )
            log.info("%s: %d/%d calls made", self.teacher.profile, start + len(chunk), len(todo))
        answers = [done[k] for k in keys]
        self.counts["calls"] += len(answers)
        self.counts["cached"] += sum(a.cached for a in answers)
        for a in answers:
            self.counts["prompt_tokens"] += a.usage.get("prompt_tokens", 0)
            self.counts["completion_tokens"] += a.usage.get("completion_tokens", 0)
        return answers

"""The one place where the instruction operators talk to a teacher.

`Asker` takes a batch of `Ask`s and returns one `Answer` per ask, in order. It sends them through
`seedforge.teachers.runner.Runner`, the runner every teacher call goes through: the profile's concurrency,
retries with backoff, the SQLite call cache (a crashed stage resumes without repeating finished
calls; a rerun sends nothing), error rows and accounting. When the teacher profile has
`structured: true`, each operator's JSON schema goes with its request (constrained decoding); the
parsers accept free text too, so a profile without it works unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedforge.config.params import OperatorSampling, Params
from seedforge.schema.records import TeacherRef
from seedforge.teachers import Request, Teacher, call_key, make_teacher
from seedforge.teachers.base import TokenLogprob
from seedforge.teachers.cache import CallCache
from seedforge.teachers.prompts import Template
from seedforge.teachers.runner import Progress, Runner
from seedforge.teachers.stamp import call_sampling, teacher_ref

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ask:
    """One call an operator wants made: the rendered prompt and its sampling seed.

    `schema` is the JSON schema of the structured answer; it is sent only when the teacher
    profile has `structured: true`. `top_logprobs` asks for that many alternatives per answer
    token (the judge's score distribution); a backend or server that cannot give them answers
    without, and the answer's `logprobs` stays None. `prefill` opens the answer (the judge's
    `{"score":` for a teacher that `continues_prefill`); the answer's text is what follows it, up
    to the first of `stop`.
    """

    prompt: str
    seed: int
    sample: int = 0
    schema: dict[str, Any] | None = None
    top_logprobs: int = 0
    prefill: str = ""
    stop: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Answer:
    call: str  # the call key (cache key): backend, model fingerprint, sampling, seed, prompt
    text: str
    finish_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    cached: bool = False
    error: dict[str, str] | None = None  # {"cause", "message"} of a call that failed its last attempt
    logprobs: tuple[TokenLogprob, ...] | None = None  # per answer token, when asked and given


def operator_teacher(
    params: Params, sampling: OperatorSampling, root: Path = Path("."), profile: str | None = None
) -> Teacher:
    """The instruct teacher profile (or `profile`) with the operator's sampling laid over it."""
    assert params.instruct is not None
    name = profile or params.instruct.teacher
    update: dict[str, Any] = {"temperature": sampling.temperature, "top_p": sampling.top_p}
    if sampling.max_tokens is not None:
        update["max_tokens"] = sampling.max_tokens
    return make_teacher(name, params.teachers[name].model_copy(update=update), root)


class Asker:
    """Answers batches of asks with one teacher through the runner; counts what it did.

    `counts` goes into the operator's metrics (calls, how many came from the cache, failures,
    tokens of all answers, cached or not); `acct` is the runner's accounting of this process
    (cache hits, requests sent, answered, failed), for the log and for tests.
    """

    def __init__(self, teacher: Teacher, cache: CallCache, label: str = "instruct") -> None:
        self.teacher = teacher
        self.cache = cache
        self.label = label
        self.counts = {"calls": 0, "cached": 0, "failed": 0, "prompt_tokens": 0, "completion_tokens": 0}
        self.acct: dict[str, int] = {"cache_hits": 0, "requests": 0, "answered": 0, "failed": 0}
        self.errors: dict[str, dict[str, str]] = {}  # call key -> cause and message of a failed call

    @property
    def ref(self) -> TeacherRef:
        return teacher_ref(self.teacher)

    def sampling(self, ask: Ask) -> dict[str, Any]:
        """What a row records about the call that wrote it."""
        return call_sampling(self.teacher, ask.seed, ask.sample)

    def stamp(self, template: Template, ask: Ask, answer: Answer) -> dict[str, Any]:
        """The provenance fields of a row written by this call (`InstructionRow` keyword args)."""
        return {
            "teacher": self.ref,
            "template": template.ref,
            "call": answer.call,
            "sampling": self.sampling(ask),
            "raw": answer.text,
        }

    def request(self, ask: Ask) -> Request:
        schema = ask.schema if getattr(self.teacher.params, "structured", False) else None
        return Request.user(
            ask.prompt,
            seed=ask.seed,
            sample=ask.sample,
            schema=schema,
            top_logprobs=ask.top_logprobs,
            prefill=ask.prefill,
            stop=ask.stop,
        )

    def score(self, prompts: Sequence[str], options: Sequence[str]) -> list[tuple[str, list[float]]]:
        """(call key, log P(option | prompt) per option) for each prompt, for a teacher that
        `can_score`. Scoring is exact (no sampling), so there is nothing to cache or retry: the key
        names the model and the prompt with its options, for provenance."""
        keys = [
            call_key(self.teacher, Request.user(p, seed=0, schema={"enum": list(options)})) for p in prompts
        ]
        logprobs = self.teacher.score("", prompts, options) if prompts else []
        self.counts["calls"] += len(prompts)
        return list(zip(keys, logprobs, strict=True))

    def ask(self, asks: Sequence[Ask]) -> list[Answer]:
        requests = [self.request(a) for a in asks]
        keys = [call_key(self.teacher, r) for r in requests]
        runner = Runner(self.teacher, self.cache, Progress(f"{self.label} {self.teacher.profile}"))
        done = runner.run(list(zip(keys, requests, strict=True)))
        for k in self.acct:
            self.acct[k] += getattr(runner.acct, k)
        answers = []
        for key in keys:
            o = done[key]
            if o.generation is None:
                assert o.error is not None
                self.errors[key] = o.error
                answers.append(Answer(key, "", "error", {}, False, o.error))
            else:
                g = o.generation
                answers.append(
                    Answer(key, g.text, g.finish_reason, dict(g.usage), o.cached, logprobs=g.logprobs)
                )
        log.info(
            "%s: %d calls, %d from the cache, %d requests sent, %d failed",
            self.teacher.profile,
            len(keys),
            runner.acct.cache_hits,
            runner.acct.requests,
            runner.acct.failed,
        )
        self.counts["calls"] += len(answers)
        self.counts["cached"] += sum(a.cached for a in answers)
        self.counts["failed"] += sum(a.error is not None for a in answers)
        for a in answers:
            self.counts["prompt_tokens"] += a.usage.get("prompt_tokens", 0)
            self.counts["completion_tokens"] += a.usage.get("completion_tokens", 0)
        return answers

"""Render the task template for each selected seed example and ask the teacher for k examples."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

from seedforge.cache import CallCache
from seedforge.io import dumps
from seedforge.prompts import Template
from seedforge.records import TeacherRef
from seedforge.tasks import Example, Task
from seedforge.teachers import Request, Teacher, call_key

log = logging.getLogger(__name__)


def call_seed(*parts: Any) -> int:
    """A sampling seed derived from the run seed, iteration and parent, so that augmenting the same
    seed example in a later iteration samples afresh instead of repeating (and being rejected as a
    duplicate), while a rerun samples exactly the same.

    >>> call_seed(0, 1, "abc", 0) == call_seed(0, 1, "abc", 0)
    True
    >>> call_seed(0, 1, "abc", 0) == call_seed(0, 2, "abc", 0)
    False
    """
    return int(hashlib.sha256(dumps(list(parts)).encode()).hexdigest()[:8], 16)


def plan(
    selected: Sequence[dict[str, Any]],
    template: Template,
    task: Task,
    k: int,
    seed: int,
    iteration: int,
    show_prediction: bool = True,
) -> list[tuple[dict[str, Any], Request]]:
    """One request per selected example: its rendered prompt and sampling seed.

    With ``show_prediction`` off the template's ``prediction`` is empty, so the teacher does not
    see the student's wrong answer (the templates print that line only when it is non-empty).
    """
    planned = []
    for row in selected:
        prompt = template.render(
            task=task,
            labels=task.labels,
            k=k,
            example=Example(row["input"], row["output"]),
            prediction=(row.get("prediction") or "") if show_prediction else "",
        )
        planned.append((row, Request(prompt=prompt, seed=call_seed(seed, iteration, row["id"], 0))))
    return planned


def run(
    teacher: Teacher,
    planned: Sequence[tuple[dict[str, Any], Request]],
    template: Template,
    cache: CallCache,
    batch_size: int = 8,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Call the teacher for every planned request not already in the cache.

    Returns the generation rows (sorted by call key) and call counts (`calls`, `cached`).
    """
    ref = TeacherRef(profile=teacher.profile, backend=teacher.backend, model=teacher.model_id)
    keyed = [(call_key(teacher, req), row, req) for row, req in planned]
    answers: dict[str, dict[str, Any]] = {}
    for key, _, _ in keyed:
        hit = cache.get(key)
        if hit is not None:
            answers[key] = hit
    todo = [(key, req) for key, _, req in keyed if key not in answers]
    counts = {"calls": len(keyed), "cached": len(keyed) - len(todo)}
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        for (key, _), gen in zip(chunk, teacher.generate([req for _, req in chunk]), strict=True):
            answers[key] = {"raw": gen.text, "finish_reason": gen.finish_reason, "usage": gen.usage}
            cache.put(key, answers[key])
        log.info("generate: %d/%d calls done", counts["cached"] + start + len(chunk), len(keyed))
    rows = []
    for key, row, req in sorted(keyed, key=lambda t: t[0]):
        rows.append(
            {
                "call": key,
                "parent_id": row["id"],
                "prompt": req.prompt,
                "teacher": ref.model_dump(),
                "template": template.ref.model_dump(),
                "generation": {**teacher.sampling(), "seed": req.seed, "sample": req.sample},
                **answers[key],
            }
        )
    return rows, counts

"""Render the task template for each selected seed example and ask the teacher for k examples.

`plan` makes the requests (one per sample of each prompt); `run` sends them through the shared
runner, re-asks a call whose output yields no valid example with a fresh sample (up to the
profile's `reasks`), and returns one call row per call, sorted by call key.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from seedforge.io import dumps
from seedforge.schema.rows import CallRow
from seedforge.tasks import Example, Task
from seedforge.teachers import Request, Teacher, call_key
from seedforge.teachers.cache import CallCache
from seedforge.teachers.prompts import Template
from seedforge.teachers.runner import Outcome, Progress, Runner
from seedforge.teachers.stamp import call_sampling, teacher_ref
from seedforge.training.teacher_finetune import fewshot_prompt

# the token counts a call row keeps (servers add others, e.g. total_tokens, that are derived)
USAGE_KEYS = ("prompt_tokens", "completion_tokens")


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
    run_seed: int,
    iteration: int,
    samples: int = 1,
    structured: bool = False,
    show_prediction: bool = True,
    seed_set: Sequence[dict[str, Any]] = (),
    shots: int = 0,
) -> list[tuple[dict[str, Any], Request]]:
    """`samples` requests per selected example: its rendered prompt, sample index and seed.

    `run_seed` is the recipe's `seed` (every call's sampling seed derives from it); `seed_set` holds
    the seed examples that demonstrations are drawn from.

    With ``show_prediction`` off, or for a row the student got right, the template's ``prediction``
    is empty, so the teacher sees no wrong answer (the templates print that line only when it is
    non-empty).
    Templates see `shots`: up to `shots` other seed examples with the same label (any seed examples
    for tasks without labels) as demonstrations, and `fewshot(task, examples)`, the continuation
    format the tuned teacher was trained on. A template may set `prefill` and `stop` for the call.
    """
    schema = task.output_schema(k) if structured else None
    planned = []
    for row in selected:
        rendered = template.render_parts(
            task=task,
            labels=task.labels,
            k=k,
            example=Example(row["input"], row["output"]),
            # A right answer `hardest` picked for its low confidence is not shown: the templates
            # call the shown answer wrong.
            prediction=(row.get("prediction") or "") if show_prediction and not row.get("correct") else "",
            shots=pick_shots(
                seed_set, row, shots, task.has_labels, call_seed(run_seed, iteration, row["id"])
            ),
            fewshot=fewshot_prompt,
        )
        for sample in range(samples):
            seed_ = call_seed(run_seed, iteration, row["id"], sample)
            req = Request.user(
                rendered.text,
                seed=seed_,
                sample=sample,
                schema=schema,
                prefill=rendered.prefill,
                stop=rendered.stop,
                # for backends that look the example up (retrieve); not part of the cache key
                meta={"input": row["input"], "iteration": iteration, "k": k},
            )
            planned.append((row, req))
    return planned


def pick_shots(
    seeds: Sequence[dict[str, Any]], row: dict[str, Any], shots: int, same_label: bool, rng_seed: int
) -> list[Example]:
    """Up to `shots` seed examples other than `row` (with its label when `same_label`), drawn with
    a fixed RNG and shown in id order.

    >>> seeds = [{"id": str(i), "input": f"x{i}", "output": "ab"[i % 2]} for i in range(6)]
    >>> [e.input for e in pick_shots(seeds, seeds[0], 2, True, 0)]
    ['x2', 'x4']
    >>> pick_shots(seeds, seeds[0], 0, True, 0)
    []
    """
    pool = sorted(
        (s for s in seeds if s["id"] != row["id"] and (not same_label or s["output"] == row["output"])),
        key=lambda s: s["id"],
    )
    picked = random.Random(rng_seed).sample(pool, min(shots, len(pool)))
    return [Example(s["input"], s["output"]) for s in sorted(picked, key=lambda s: s["id"])]


def valid_examples(task: Task, raw: str) -> tuple[int, int]:
    """(parsed, valid) example counts of one output.

    >>> from seedforge.tasks import get_task
    >>> task = get_task("classification").with_labels(["a", "b"])
    >>> valid_examples(task, "Input: x\\nLabel: a\\n\\nInput: y\\nLabel: c")
    (2, 1)
    """
    parsed = task.parse(raw).examples
    return len(parsed), sum(task.validate(e)[0] for e in parsed)


def run(
    teacher: Teacher,
    planned: Sequence[tuple[dict[str, Any], Request]],
    template: Template,
    cache: CallCache,
    task: Task | None = None,
    progress: Progress | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any], Runner]:
    """Send every planned request not already answered in the cache, re-asking malformed ones.

    Returns the call rows (sorted by call key), content counts for the tracked metrics, and the
    runner (whose `acct` holds the machine-dependent accounting for the run log).
    """
    samples = max((req.sample for _, req in planned), default=0) + 1
    reasks = teacher.params.reasks if task is not None else 0
    parent: dict[str, str] = {}
    first: list[tuple[str, Request]] = []
    for row, req in planned:
        key = call_key(teacher, req)
        parent[key] = row["id"]
        first.append((key, req))

    def follow_up(outcomes: list[Outcome]) -> list[tuple[str, Request]]:
        """A fresh sample for each answered call with no valid example, while reasks remain."""
        assert task is not None
        more = []
        for o in sorted(outcomes, key=lambda o: o.key):
            if o.generation is None or o.request.sample // samples >= reasks:
                continue
            if valid_examples(task, o.request.full_text(o.generation.text))[1]:
                continue
            sample = o.request.sample + samples
            again = replace(o.request, sample=sample, seed=call_seed(o.request.seed, sample))
            key = call_key(teacher, again)
            parent[key] = parent[o.key]
            more.append((key, again))
        return more

    runner = Runner(teacher, cache, progress)
    outcomes = runner.run(first, follow_up if reasks else None)
    rows = [call_row(teacher, template, parent[o.key], o) for o in outcomes.values()]
    rows.sort(key=lambda r: r["call"])
    return rows, content_counts(rows, len(first), samples, task), runner


def call_row(teacher: Teacher, template: Template, parent_id: str, o: Outcome) -> dict[str, Any]:
    req = o.request
    gen = o.generation
    row = CallRow(
        call=o.key,
        parent_id=parent_id,
        teacher=teacher_ref(teacher).model_dump(),
        template=template.ref.model_dump(),
        request={k: v for k, v in req.payload().items() if k not in ("seed", "sample")},
        sampling=call_sampling(teacher, req.seed, req.sample),
        raw=req.full_text(gen.text) if gen is not None else None,
        finish_reason=gen.finish_reason if gen is not None else None,
        usage={k: v for k, v in (gen.usage if gen else {}).items() if k in USAGE_KEYS},
        attempts=o.attempts,
        error=o.error,
    )
    return row.to_row()


def content_counts(
    rows: Sequence[dict[str, Any]],
    planned: int,
    samples: int,
    task: Task | None,
) -> dict[str, Any]:
    """Counts that depend only on what was asked and answered (the tracked metrics)."""
    answered = [r for r in rows if r["raw"] is not None]
    counts: dict[str, Any] = {
        "calls_planned": planned,
        "calls": len(rows),
        "reasked": sum(1 for r in rows if r["sampling"]["sample"] >= samples),
        "answered": len(answered),
        "failed": len(rows) - len(answered),
        "failed_by_cause": dict(sorted(Counter(r["error"]["cause"] for r in rows if r["error"]).items())),
        "prompt_tokens": sum(r["usage"]["prompt_tokens"] for r in answered),
        "completion_tokens": sum(r["usage"]["completion_tokens"] for r in answered),
    }
    if task is not None:
        per_call = [valid_examples(task, r["raw"]) for r in answered]
        counts["calls_with_valid"] = sum(1 for _, v in per_call if v)
        counts["examples_parsed"] = sum(p for p, _ in per_call)
        counts["examples_valid"] = sum(v for _, v in per_call)
    return counts

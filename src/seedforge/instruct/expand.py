"""expand: from m in-context seed instructions, new instructions, over several rounds.

Each round's prompts list the topics already produced (seeds' and earlier rounds'), and a new
instruction whose topic or text is already taken is rejected, so rounds widen the set instead of
repeating it. Which seeds a call is shown, and its sampling seed, derive from (run seed, round,
call), so a rerun asks the same calls (and finds them in the cache) while calls differ from each
other.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from seedforge.config.params import Expand
from seedforge.instruct.calls import Answer, Ask, Asker
from seedforge.instruct.outcome import Outcome
from seedforge.instruct.parsing import parse_instruction_list
from seedforge.instruct.rows import InstructionRow
from seedforge.instruct.topics import TopicTracker, topic_key
from seedforge.loop.generate import call_seed
from seedforge.teachers.prompts import Template

SCHEMA = {
    "type": "object",
    "properties": {"instructions": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
    "required": ["instructions"],
}


def shown_seeds(
    seeds: Sequence[InstructionRow], m: int, run_seed: int, round: int, call: int
) -> list[InstructionRow]:
    """The m seeds call `call` of round `round` is shown (seeded, without replacement).

    >>> seeds = [InstructionRow.make(f"Task number {i}.", origin="seed", operator="seed") for i in range(5)]
    >>> shown_seeds(seeds, 2, 0, 0, 0) == shown_seeds(seeds, 2, 0, 0, 0) != shown_seeds(seeds, 2, 0, 0, 1)
    True
    >>> len(shown_seeds(seeds, 9, 0, 0, 0))
    5
    """
    rng = random.Random(call_seed(run_seed, "expand", round, call, "shown"))
    return rng.sample(list(seeds), min(m, len(seeds)))


def new_instructions(
    answer: Answer,
    parents: list[str],
    topics: TopicTracker,
    seen_text: set[str],
    out: Outcome,
    **detail: object,
) -> list[str]:
    """The instructions of an expand answer that are new in text and topic (both then taken);
    every other one, and every parse error, is a reject on `out` with `detail` (expand and fill
    judge an answer by the same rules)."""
    parsed = parse_instruction_list(answer.text)
    for err in parsed.errors:
        out.reject(f"parse:{err}", answer.call, parents, raw=answer.text, **detail)
    fresh = []
    for text in parsed.items:
        if text.casefold() in seen_text:
            out.reject("duplicate:text", answer.call, parents, text=text, **detail)
        elif not topic_key(text):
            out.reject("no_topic", answer.call, parents, text=text, **detail)
        elif not topics.add(text):
            out.reject("duplicate:topic", answer.call, parents, text=text, topic=topic_key(text), **detail)
        else:
            seen_text.add(text.casefold())
            fresh.append(text)
    return fresh


def expand(
    seeds: Sequence[InstructionRow], template: Template, asker: Asker, cfg: Expand, run_seed: int
) -> Outcome:
    out = Outcome("expand")
    topics = TopicTracker(s.instruction for s in seeds)
    seen_text = {s.instruction.casefold() for s in seeds}
    per_round = []
    for r in range(cfg.rounds):
        planned = []
        for c in range(cfg.calls_per_round):
            shown = shown_seeds(seeds, cfg.m, run_seed, r, c)
            prompt = template.render(
                examples=[s.instruction for s in shown], n=cfg.n, topics=topics.recent(cfg.show_topics)
            )
            planned.append((shown, Ask(prompt, seed=call_seed(run_seed, "expand", r, c), schema=SCHEMA)))
        kept_before = len(out.rows)
        for (shown, ask), answer in zip(planned, asker.ask([a for _, a in planned]), strict=True):
            parents = sorted(s.id for s in shown)
            for text in new_instructions(answer, parents, topics, seen_text, out, round=r):
                out.rows.append(
                    InstructionRow.make(
                        text,
                        origin="expanded",
                        operator="expand",
                        round=r,
                        parent_ids=parents,
                        seed_ids=parents,
                        **asker.stamp(template, ask, answer),
                    )
                )
        per_round.append(len(out.rows) - kept_before)
    out.extra = {"kept_per_round": per_round, "topics": len(topics)}
    return out

"""fill: ask the teacher for new instructions of the categories that rebalance finds short.

`instruct.rebalance.fill: expand` (off by default: it makes teacher calls). A category is short by
what its share of the *whole* target lacks (`shortfall`), so a category with no row at all is
filled too. For each short category the expand prompt (the expand operator's template, sampling
and parsing) is shown up to m instructions of that category (any of the set when it has none) and
the category's one-line description as a hint (`kind`, the descriptions categorize embeds).

Why it goes through the operators again: a filled row must clear the bar every row of the set
cleared, so each new instruction is, in order,
- rejected when its text or topic is already in the set (expand's own rule, against every row);
- answered (respond), then scored and kept at the judge's threshold (judge);
- gated: held-out leakage, near-duplicates of any row already in the set or of each other (gate);
- categorized by the recipe's method, and kept only if it lands in the category it was asked for:
  the hint is a request, not a label, and a row of another category would skew the very
  distribution the fill is for (`fill:other_category`). With `method: write` an answer naming no
  category is a reject even when the recipe has a `fallback`: a default category is no evidence;
- kept only while its category still lacks rows (`fill:surplus` after that, in id order), so the
  fill never makes rebalance drop a row the set already had in favour of a new one.
Refine is skipped: it rewrites an instruction and drops only what it cannot parse, so it adds
calls and no check. Every drop is a reject `fill:<operator>:<reason>` with the category asked for.

Bounded: calls are made in rounds, one expand call per still-short category a round, at most
`fill_calls` rounds, so a category stops asking once it has its rows and never makes more than
`fill_calls` expand calls (each asks for `expand.n` instructions). No row is copied. Call seeds
derive from (run seed, category, round), so a rerun finds every call in the cache.

Provenance: each instruction the fill wrote is a row `origin: expanded, operator: fill` (its
`call` the expand call that wrote it, `round` the fill round, `parent_ids` the rows it was shown);
a kept row descends from it through respond, as any expanded row does.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from seedforge.config.params import Gates, Instruct
from seedforge.instruct.calls import Ask, Asker
from seedforge.instruct.categorize import categorize, descriptions
from seedforge.instruct.expand import SCHEMA, new_instructions
from seedforge.instruct.gate import gate
from seedforge.instruct.judge import judge
from seedforge.instruct.outcome import Outcome
from seedforge.instruct.rebalance import allocate, target_shares
from seedforge.instruct.respond import respond
from seedforge.instruct.rows import InstructionRow
from seedforge.instruct.topics import TopicTracker
from seedforge.loop.generate import call_seed
from seedforge.teachers.prompts import Template
from seedforge.vectors.embed import Encoder

OPERATORS = ("expand", "respond", "judge", "categorize")  # the teacher-calling steps, in order


@dataclass
class Tools:
    """What the fill runs new instructions through: each operator's asker and template (the
    recipe's own sampling), the gates' encoder, and the held-out set for the leakage gate."""

    askers: dict[str, Asker]
    templates: dict[str, Template]
    encoder: Encoder
    held_out: Sequence[InstructionRow] = ()


def shortfall(categories: Sequence[str], target: Mapping[str, float], total: int) -> dict[str, int]:
    """Rows each target category lacks of its allocation of `total` over the whole target.

    Unlike `resample`, the target is not renormalised over the categories that have rows: a
    category with none wants its full share.

    >>> shortfall(["a", "a", "a", "a", "b"], {"a": 1, "b": 1, "c": 1}, 6)
    {'b': 1, 'c': 2}
    """
    have = Counter(categories)
    wanted = allocate(total, target_shares(target, sorted(target)))
    return {c: n - have[c] for c, n in wanted.items() if n > have[c]}


def lineage(shown: Sequence[InstructionRow]) -> list[str]:
    """The seed ids at the root of the rows an instruction was made from.

    >>> s = InstructionRow.make("Name a prime.", origin="seed", operator="seed")
    >>> r = s.derive(response="2", origin="responded", operator="respond")
    >>> lineage([s, r]) == [s.id]
    True
    """
    return sorted({i for r in shown for i in (r.seed_ids or ([r.id] if r.origin == "seed" else []))})


def absorb(out: Outcome, sub: Outcome, asker: Asker | None, asked_for: Mapping[str, tuple[str, str]]) -> None:
    """Take an operator's drops as the fill's, `fill:<operator>:<reason>`, each with the category
    asked for and the instruction's text. `asked_for`: row id -> (category, instruction)."""
    sub.blame_failures(asker.errors if asker else {})
    for r in sub.rejects:
        parent = (r.get("parent_ids") or [""])[0]
        category, text = asked_for.get(r.get("id") or "") or asked_for.get(parent) or (None, None)
        extra = {"category": r.get("category") or category, "text": r.get("text") or text}
        out.rejects.append({**r, "operator": "fill", "reason": f"fill:{r['reason']}", **extra})


def fill(
    rows: Sequence[InstructionRow],
    short: Mapping[str, int],
    cfg: Instruct,
    tools: Tools,
    gates: Gates,
    run_seed: int,
) -> tuple[Outcome, list[InstructionRow]]:
    """(the kept rows with the fill's rejects and metrics, every instruction the fill wrote).

    `rows` are the categorised set; `short` the rows each category lacks (`shortfall`).
    """
    out = Outcome("fill")
    e, c = cfg.expand, cfg.categorize
    hints = dict(zip(c.categories, descriptions(c.categories, c.descriptions), strict=True))
    expand_asker, expand_template = tools.askers["expand"], tools.templates["expand"]
    current = list(rows)  # the set a new row must not duplicate, kept fills included
    topics = TopicTracker(r.instruction for r in rows)
    seen_text = {r.instruction.casefold() for r in rows}
    calls: Counter[str] = Counter()
    made: Counter[str] = Counter()
    kept: Counter[str] = Counter()
    written: list[InstructionRow] = []
    asked_for: dict[str, tuple[str, str]] = {}  # row id (instruction, its pair) -> (category, text)
    for rnd in range(cfg.rebalance.fill_calls):
        todo = [cat for cat in sorted(short) if kept[cat] < short[cat]]
        if not todo:
            break
        planned = []
        for cat in todo:
            pool = [r for r in current if r.category == cat] or current
            rng = random.Random(call_seed(run_seed, "fill", cat, rnd, "shown"))
            shown = rng.sample(pool, min(e.m, len(pool)))
            prompt = expand_template.render(
                examples=[s.instruction for s in shown],
                n=e.n,
                topics=topics.recent(e.show_topics),
                kind=hints[cat],
            )
            planned.append(
                (cat, shown, Ask(prompt, seed=call_seed(run_seed, "fill", cat, rnd), schema=SCHEMA))
            )
        made_now = Outcome("expand")
        new: list[InstructionRow] = []
        for (cat, shown, ask), answer in zip(
            planned, expand_asker.ask([a for *_, a in planned]), strict=True
        ):
            calls[cat] += 1
            parents = sorted(s.id for s in shown)
            for text in new_instructions(
                answer, parents, topics, seen_text, made_now, round=rnd, category=cat
            ):
                row = InstructionRow.make(
                    text,
                    origin="expanded",
                    operator="fill",
                    round=rnd,
                    parent_ids=parents,
                    seed_ids=lineage(shown),
                    **expand_asker.stamp(expand_template, ask, answer),
                )
                new.append(row)
                asked_for[row.id] = (cat, text)
                made[cat] += 1
        absorb(out, made_now, expand_asker, {})  # its drops carry their category and text
        written.extend(new)
        if not new:
            continue
        r_asker, j_asker, c_asker = (tools.askers[op] for op in ("respond", "judge", "categorize"))
        responded = respond(new, tools.templates["respond"], r_asker, run_seed, cfg.respond.reject_truncated)
        absorb(out, responded, r_asker, asked_for)
        for r in responded.rows:
            asked_for[r.id] = asked_for[r.parent_ids[0]]
        judged = judge(
            responded.rows,
            tools.templates["judge"],
            j_asker,
            cfg.judge.threshold,
            run_seed,
            encode=tools.encoder.encode,
            min_relevance=cfg.judge.min_relevance,
        )
        absorb(out, judged, j_asker, asked_for)
        gated = gate(judged.rows, current, tools.held_out, gates, tools.encoder)
        absorb(out, gated, None, asked_for)
        sorted_out = categorize(
            gated.rows,
            tools.templates["categorize"],
            c_asker,
            c.categories,
            None,  # a written answer naming no category is a reject here: a default is no placement
            run_seed,
            method=c.method,
            encode=tools.encoder.encode if c.method == "embed" else None,
            overrides=c.descriptions,
        )
        absorb(out, sorted_out, c_asker, asked_for)
        for row in sorted_out.rows:
            cat = asked_for[row.id][0]
            if row.category != cat:
                detail = {"id": row.id, "text": row.instruction, "category": cat, "got": row.category}
                out.reject("other_category", row.call, [row.id], **detail)
                continue
            if kept[cat] >= short[cat]:  # the fill adds what a category lacks, never displaces its rows
                out.reject("surplus", row.call, [row.id], id=row.id, text=row.instruction, category=cat)
                continue
            out.rows.append(row)
            current.append(row)
            kept[cat] += 1
    out.extra = {
        "method": "expand",
        "fill_calls": cfg.rebalance.fill_calls,
        "short": dict(sorted(short.items())),  # rows each category lacked before the fill
        "calls_by_category": dict(sorted(calls.items())),  # expand calls made
        "asked_by_category": {cat: n * e.n for cat, n in sorted(calls.items())},  # instructions asked for
        "made_by_category": {cat: made[cat] for cat in sorted(calls)},  # new in text and topic
        "kept_by_category": {cat: kept[cat] for cat in sorted(calls)},  # through every check
        # every teacher call the fill made, by operator (cache state left out: see write_outcome)
        "teacher": {
            op: {k: v for k, v in tools.askers[op].counts.items() if k != "cached"} for op in OPERATORS
        },
    }
    return out, written

"""extract: instruction/response pairs from passages of raw text documents."""

from __future__ import annotations

from collections.abc import Sequence

from seedforge.instruct.calls import Ask, Asker
from seedforge.instruct.loaders import passage_id
from seedforge.instruct.outcome import Outcome
from seedforge.instruct.parsing import parse_pairs
from seedforge.instruct.rows import InstructionRow
from seedforge.loop.generate import call_seed
from seedforge.teachers.prompts import Template

SCHEMA = {
    "type": "object",
    "properties": {
        "pairs": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"instruction": {"type": "string"}, "response": {"type": "string"}},
                "required": ["instruction", "response"],
            },
        }
    },
    "required": ["pairs"],
}


def extract(
    passages: Sequence[tuple[str, str]], template: Template, asker: Asker, pairs: int, run_seed: int
) -> Outcome:
    """`passages` are (source, text) from `loaders.load_documents`."""
    out = Outcome("extract")
    ids = [passage_id(src, text) for src, text in passages]
    asks = [
        Ask(template.render(passage=text, k=pairs), seed=call_seed(run_seed, "extract", pid), schema=SCHEMA)
        for pid, (_, text) in zip(ids, passages, strict=True)
    ]
    seen: set[str] = set()
    for pid, (source, _), ask, answer in zip(ids, passages, asks, asker.ask(asks), strict=True):
        parsed = parse_pairs(answer.text)
        for err in parsed.errors:
            out.reject(f"parse:{err}", answer.call, [pid], source=source, raw=answer.text)
        for instruction, context, response in parsed.items:
            row = InstructionRow.make(
                instruction,
                context,
                response,
                origin="extracted",
                operator="extract",
                parent_ids=[pid],
                source=source,
                **asker.stamp(template, ask, answer),
            )
            if row.id in seen:
                out.reject("duplicate:text", answer.call, [pid], source=source, text=instruction)
                continue
            seen.add(row.id)
            out.rows.append(row)
    out.extra = {"passages": len(passages)}
    return out

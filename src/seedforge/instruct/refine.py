"""refine: rewrite each instruction to be more specific and complete, keeping its intent."""

from __future__ import annotations

from collections.abc import Sequence

from seedforge.instruct.calls import Ask, Asker
from seedforge.instruct.outcome import Outcome
from seedforge.instruct.parsing import parse_single_instruction
from seedforge.instruct.rows import InstructionRow
from seedforge.loop.generate import call_seed
from seedforge.teachers.prompts import Template

SCHEMA = {"type": "object", "properties": {"instruction": {"type": "string"}}, "required": ["instruction"]}


def refine(rows: Sequence[InstructionRow], template: Template, asker: Asker, run_seed: int) -> Outcome:
    out = Outcome("refine")
    asks = [
        Ask(
            template.render(instruction=r.instruction),
            seed=call_seed(run_seed, "refine", r.id),
            schema=SCHEMA,
        )
        for r in rows
    ]
    seen: set[str] = set()
    for row, ask, answer in zip(rows, asks, asker.ask(asks), strict=True):
        parsed = parse_single_instruction(answer.text)
        if parsed.errors:
            out.reject(
                f"parse:{parsed.errors[0]}", answer.call, [row.id], text=row.instruction, raw=answer.text
            )
            continue
        text = parsed.items[0]
        if text.casefold() == row.instruction.casefold():
            out.reject("unchanged", answer.call, [row.id], text=text)
            continue
        if text.casefold() in seen:  # two instructions refined into the same one
            out.reject("duplicate:text", answer.call, [row.id], text=text)
            continue
        seen.add(text.casefold())
        out.rows.append(
            row.derive(
                instruction=text,
                origin="refined",
                operator="refine",
                **asker.stamp(template, ask, answer),
            )
        )
    return out

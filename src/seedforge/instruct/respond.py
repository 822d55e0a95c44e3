"""respond: the teacher answers each instruction, which makes it an (instruction, response) pair."""

from __future__ import annotations

from collections.abc import Sequence

from seedforge.instruct.calls import Ask, Asker
from seedforge.instruct.outcome import Outcome
from seedforge.instruct.parsing import parse_response
from seedforge.instruct.rows import InstructionRow
from seedforge.loop.generate import call_seed
from seedforge.teachers.prompts import Template


def respond(
    rows: Sequence[InstructionRow],
    template: Template,
    asker: Asker,
    run_seed: int,
    reject_truncated: bool = True,
) -> Outcome:
    out = Outcome("respond")
    asks = [
        Ask(
            template.render(instruction=r.instruction, context=r.context),
            seed=call_seed(run_seed, "respond", r.id),
        )
        for r in rows
    ]
    for row, ask, answer in zip(rows, asks, asker.ask(asks), strict=True):
        parsed = parse_response(answer.text)
        if parsed.errors:
            out.reject(parsed.errors[0], answer.call, [row.id], text=row.instruction, raw=answer.text)
            continue
        if reject_truncated and answer.finish_reason == "length":
            # A response cut off by max_tokens teaches the student to stop mid-sentence.
            out.reject("truncated", answer.call, [row.id], text=row.instruction)
            continue
        out.rows.append(
            row.derive(
                response=parsed.items[0],
                origin="responded",
                operator="respond",
                **asker.stamp(template, ask, answer),
            )
        )
    return out

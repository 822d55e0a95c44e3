"""categorize: an LLM labels each instruction with one task category from a list in params."""

from __future__ import annotations

from collections.abc import Sequence

from seedforge.instruct.calls import Ask, Asker
from seedforge.instruct.outcome import Outcome
from seedforge.instruct.parsing import parse_category
from seedforge.instruct.rows import InstructionRow
from seedforge.loop.generate import call_seed
from seedforge.teachers.prompts import Template


def schema(categories: Sequence[str]) -> dict[str, object]:
    """The structured answer: one category, constrained to the list.

    >>> schema(["math", "coding"])["properties"]["category"]["enum"]
    ['math', 'coding']
    """
    return {
        "type": "object",
        "properties": {"category": {"type": "string", "enum": list(categories)}},
        "required": ["category"],
    }


def categorize(
    rows: Sequence[InstructionRow],
    template: Template,
    asker: Asker,
    categories: list[str],
    fallback: str | None,
    run_seed: int,
) -> Outcome:
    out = Outcome("categorize")
    asks = [
        Ask(
            template.render(instruction=r.instruction, categories=categories),
            seed=call_seed(run_seed, "categorize", r.id),
            schema=schema(categories),
        )
        for r in rows
    ]
    fell_back: dict[str, int] = {}
    for row, answer in zip(rows, asker.ask(asks), strict=True):
        parsed = parse_category(answer.text, categories)
        if parsed.errors and fallback is None:
            out.reject(parsed.errors[0], answer.call, [row.id], id=row.id, raw=answer.text)
            continue
        if parsed.errors:
            fell_back[parsed.errors[0]] = fell_back.get(parsed.errors[0], 0) + 1
        category = parsed.items[0] if parsed.items else fallback
        out.rows.append(row.model_copy(update={"category": category, "category_call": answer.call}))
    out.extra = {"fallback_by_reason": dict(sorted(fell_back.items()))}
    return out

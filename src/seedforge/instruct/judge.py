"""judge: an LLM scores each pair 1-10 on a rubric, with its reason; low scores are dropped.

The score stays on the kept row. A missing score, a fraction or one outside 1..10 is a reject with
that reason, never a default score: a default would either let junk through or drop good rows
without saying so.
"""

from __future__ import annotations

from collections.abc import Sequence

from seedforge.instruct.calls import Ask, Asker
from seedforge.instruct.outcome import Outcome
from seedforge.instruct.parsing import parse_judgement
from seedforge.instruct.rows import InstructionRow, Judgement
from seedforge.loop.generate import call_seed
from seedforge.teachers.prompts import Template

SCHEMA = {
    "type": "object",
    "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 10}, "reason": {"type": "string"}},
    "required": ["score", "reason"],
}


def judge(
    rows: Sequence[InstructionRow], template: Template, asker: Asker, threshold: int, run_seed: int
) -> Outcome:
    out = Outcome("judge")
    asks = [
        Ask(
            template.render(instruction=r.instruction, context=r.context, response=r.response),
            seed=call_seed(run_seed, "judge", r.id),
            schema=SCHEMA,
        )
        for r in rows
    ]
    scores: list[int] = []
    for row, answer in zip(rows, asker.ask(asks), strict=True):
        parsed = parse_judgement(answer.text)
        if parsed.errors:
            out.reject(parsed.errors[0], answer.call, [row.id], id=row.id, raw=answer.text)
            continue
        score, reason = parsed.items[0]
        scores.append(score)
        verdict = Judgement(score=score, reason=reason, call=answer.call)
        if score < threshold:
            out.reject("below_threshold", answer.call, [row.id], id=row.id, score=score, judge_reason=reason)
            continue
        out.rows.append(row.model_copy(update={"judge": verdict}))
    out.extra = {
        "threshold": threshold,
        "scored": len(scores),
        "score_histogram": {str(s): scores.count(s) for s in range(1, 11)},
        "mean_score": round(sum(scores) / len(scores), 4) if scores else None,
    }
    return out

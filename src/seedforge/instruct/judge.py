"""judge: an LLM scores each pair 1-10 on a rubric; low scores are dropped.

A small model cannot be relied on to *write* a score (SmolLM2-135M almost never writes the JSON the
template asks for), but it always has a distribution over what it would write. So a teacher that
can score continuations (`Teacher.can_score`: the llama.cpp backend) is asked for the probability
of each score token 1..10 right after the opening of the JSON answer, and the score is the
probability-weighted mean, as G-Eval does (Liu et al., 2023, arXiv 2303.16634): deterministic,
never missing, and finer than an integer. The whole distribution stays on the row.

Other teachers write their answer (as JSON through the task schema when the profile is
`structured`); a missing score, a fraction or one outside 1..10 is then a reject with that
reason, never a default score: a default would either let junk through or drop good rows without
saying so.
"""

from __future__ import annotations

from collections.abc import Sequence

from seedforge.instruct.calls import Ask, Asker
from seedforge.instruct.outcome import Outcome
from seedforge.instruct.parsing import parse_judgement
from seedforge.instruct.rows import InstructionRow, Judgement
from seedforge.loop.annotate import softmax
from seedforge.loop.generate import call_seed
from seedforge.teachers.prompts import Template

SCHEMA = {
    "type": "object",
    "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 10}, "reason": {"type": "string"}},
    "required": ["score", "reason"],
}
SCORES = tuple(range(1, 11))
# The answer the template asks for, opened up to the score, so the next tokens are the score.
ANSWER = '\n\n{"score":'
# Each option ends with the comma that follows the score in the JSON: without it " 1" would also
# hold the probability of every " 10" (the tokenizer writes 10 as 1 then 0).
OPTIONS = tuple(f" {k}," for k in SCORES)


def expected_score(logprobs: Sequence[float]) -> tuple[float, dict[str, float]]:
    """The probability-weighted mean score and the distribution, from the options' log-probabilities.

    >>> import math
    >>> score, dist = expected_score([math.log(0.5)] + [-1e9] * 8 + [math.log(0.5)])
    >>> score, dist["1"], dist["5"], dist["10"]
    (5.5, 0.5, 0.0, 0.5)
    """
    probs = softmax(logprobs)
    mean = sum(k * p for k, p in zip(SCORES, probs, strict=True))
    return round(mean, 4), {str(k): round(p, 6) for k, p in zip(SCORES, probs, strict=True)}


def verdicts(
    prompts: Sequence[str], asker: Asker, seeds: Sequence[int]
) -> list[tuple[str, Judgement | str, str]]:
    """(call key, verdict or the reject reason of a prompt that got no score, raw answer) per prompt."""
    if asker.teacher.can_score:
        out: list[tuple[str, Judgement | str, str]] = []
        for call, logprobs in asker.score([p + ANSWER for p in prompts], OPTIONS):
            score, dist = expected_score(logprobs)
            out.append(
                (call, Judgement(score=score, call=call, source="distribution", distribution=dist), "")
            )
        return out
    out = []
    for answer in asker.ask([Ask(p, seed=s, schema=SCHEMA) for p, s in zip(prompts, seeds, strict=True)]):
        parsed = parse_judgement(answer.text)
        if parsed.errors:
            out.append((answer.call, parsed.errors[0], answer.text))
            continue
        score, reason = parsed.items[0]
        out.append((answer.call, Judgement(score=score, reason=reason, call=answer.call), answer.text))
    return out


def judge(
    rows: Sequence[InstructionRow], template: Template, asker: Asker, threshold: int, run_seed: int
) -> Outcome:
    out = Outcome("judge")
    prompts = [
        template.render(instruction=r.instruction, context=r.context, response=r.response) for r in rows
    ]
    seeds = [call_seed(run_seed, "judge", r.id) for r in rows]
    scores: list[float] = []
    sources: dict[str, int] = {}
    for row, (call, verdict, raw) in zip(rows, verdicts(prompts, asker, seeds), strict=True):
        if isinstance(verdict, str):
            out.reject(verdict, call, [row.id], id=row.id, raw=raw)
            continue
        scores.append(verdict.score)
        sources[verdict.source] = sources.get(verdict.source, 0) + 1
        if verdict.score < threshold:
            out.reject(
                "below_threshold",
                verdict.call,
                [row.id],
                id=row.id,
                score=verdict.score,
                judge_reason=verdict.reason,
                distribution=verdict.distribution,
            )
            continue
        out.rows.append(row.model_copy(update={"judge": verdict}))
    out.extra = {
        "threshold": threshold,
        "scored": len(scores),
        "score_source": dict(sorted(sources.items())),
        # scores binned to the nearest integer (a distribution's mean is fractional)
        "score_histogram": {str(s): sum(round(x) == s for x in scores) for s in SCORES},
        "mean_score": round(sum(scores) / len(scores), 4) if scores else None,
    }
    return out

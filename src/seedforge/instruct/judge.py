"""judge: an LLM scores each pair 1-10 on a rubric; low scores are dropped.

A small model cannot be relied on to *write* a score (SmolLM2-135M almost never writes the JSON the
template asks for), but it always has a distribution over what it would write. So a teacher that
can score continuations (`Teacher.can_score`: the llama.cpp backend) is asked for the probability
of each score token 1..10 right after the opening of the JSON answer, and the score is the
probability-weighted mean, as G-Eval does (Liu et al., 2023, arXiv 2303.16634): deterministic,
never missing, and finer than an integer. The whole distribution stays on the row.

An HTTP teacher (backend openai: vLLM, OpenAI, llama.cpp's server) cannot score given
continuations, but its server can say what else it would have written at each token. So the judge
asks for the JSON answer with `logprobs: true, top_logprobs: 20`, finds the token where the written
score starts (the first digit after `score`), and reads the probability of each score token 1..10
among the alternatives there: the same weighted mean and distribution as above, source
"top_logprobs" (`score_distribution` says how "1" and "10" are told apart). The profile's
`logprobs: auto` asks only a server that returns them (found by `seedforge check`, else one probe).
Where the score is written depends on the API:
- a completion API (`api: completions`, `Teacher.continues_prefill`) gets the prompt ending in the
  answer's opening, as the in-process judge does, so the first digit it writes is the score, whatever
  the model would have written instead;
- a chat API gets the task schema (`structured`), so a constrained server writes the score first;
  without either, a small model mostly writes prose with no score in it, and the text is all there is.

When no distribution can be read (the server gave no logprobs, or the answer wrote no score where
one could be found), the same answer is read as written: "json" when it is the JSON object the
task schema asks for (constrained when the profile is `structured`), else "text" parsed from prose.
A missing score, a fraction or one outside 1..10 is then a reject with that reason, never a default
score: a default would either let junk through or drop good rows without saying so. The metrics
count each `score_source`.

Relevance comes first (`instruct.judge.min_relevance`). A 135M judge scores a fluent answer to
*another* question as highly as the right one (SmolLM2's AUROC against a moved response: 0.43; an
off-topic one: 0.25; bench/README.md), while the gates' sentence encoder tells them apart at once
(1.0 on both). So each pair's cosine between its instruction (+ context) and its response is
computed first, kept on the verdict, and a pair under `min_relevance` is rejected as
`judge:off_topic` without a call. A response of fewer than RELEVANCE_MIN_WORDS words ("Yes", "3",
"false") is exempt: it is like no question under any encoder.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import numpy as np

from seedforge.instruct.calls import Answer, Ask, Asker
from seedforge.instruct.outcome import Outcome
from seedforge.instruct.parsing import parse_judgement
from seedforge.instruct.rows import InstructionRow, Judgement, ScoreSource
from seedforge.loop.annotate import softmax
from seedforge.loop.generate import call_seed
from seedforge.tasks.parsing import find_json
from seedforge.teachers.base import TokenLogprob
from seedforge.teachers.dialects import TOP_LOGPROBS
from seedforge.teachers.prompts import Template

SCHEMA = {
    "type": "object",
    "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 10}, "reason": {"type": "string"}},
    "required": ["score", "reason"],
}
SCORES = tuple(range(1, 11))
# The answer the template asks for, opened up to the score, so the next tokens are the score.
# `Request.prompt` joins a prefill with the same blank line, so both judges see one text.
PREFILL = '{"score":'
ANSWER = "\n\n" + PREFILL
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


# Where a written score starts: the first digit after the word score (or rating), as in the
# template's `{"score": 7` and in prose like `**Score:** 7`, else a number out of ten ("7/10").
SCORE_AT = re.compile(
    r"\b(?:score|rating)\b[\s\"'*:=]{0,8}(?=\d)|(?<![\d.])(?=\d+\s*(?:/\s*10|out of 10))", re.IGNORECASE
)


def score_of_token(token: str) -> tuple[int | None, bool]:
    """(the score a token writes, whether the token also closes the number), (None, False) for
    one that writes none. Spaces, quotes and a colon around it are not part of the score.

    >>> score_of_token(" 7"), score_of_token("10"), score_of_token('"1",'), score_of_token(" alt")
    ((7, False), (10, False), (1, True), (None, False))
    >>> score_of_token("0"), score_of_token("11")
    ((None, False), (None, False))
    """
    core = token.strip().lstrip("\"':=").lstrip()
    digits = core[: len(core) - len(core.lstrip("0123456789"))]
    rest = core[len(digits) :]
    if not digits or str(int(digits)) != digits or not 1 <= int(digits) <= 10:
        return None, False
    return int(digits), bool(rest.strip(" \"'"))


def score_start(tokens: Sequence[TokenLogprob]) -> int | None:
    """The index of the token where the written score starts, None when the answer writes none.

    >>> toks = [TokenLogprob(t, 0.0) for t in ['{"', "score", '":', " 7", ","]]
    >>> score_start(toks), score_start(toks[:3])
    (3, None)
    """
    text = "".join(t.token for t in tokens)
    found = SCORE_AT.search(text)
    if found is None:
        return None
    end = 0
    for i, t in enumerate(tokens):
        end += len(t.token)
        if end > found.end():  # this token holds the score's first digit
            return i
    return None


def score_distribution(tokens: Sequence[TokenLogprob], at: int) -> list[float] | None:
    """log P(score = k), k = 1..10, from the alternatives at token `at`; None when none is a score.

    Tokens that write the same score (" 7", "7") add up. "1" needs care: a tokenizer that writes 10
    as one token ("10" among the alternatives, as OpenAI's and Llama 3's do) makes a "1" a 1, and so
    does a "1" closed in the same token ("1,"). A tokenizer that splits digits (SmolLM2, Gemma,
    Mistral, Qwen) writes 10 as "1" then "0": when the answer itself went through that "1", the
    next token's alternatives give P("0" | "1"), and the mass splits into 10 and 1 exactly;
    otherwise what would have followed is unknown, and the mass is left out (the distribution is
    over the scores it can tell apart) rather than guessed as 1, which would drag good rows down,
    or as 10, which would lift bad ones.

    >>> lp = math.log
    >>> one = TokenLogprob(" 1", lp(0.6), ((" 1", lp(0.6)), (" 9", lp(0.3)), (" ok", lp(0.1))))
    >>> after = TokenLogprob("0", lp(0.5), (("0", lp(0.5)), (",", lp(0.5))))
    >>> [round(math.exp(x), 2) for x in score_distribution([one, after], 0)]
    [0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.3]
    >>> nine = TokenLogprob(" 9", lp(0.3), one.top)
    >>> [round(math.exp(x), 2) for x in score_distribution([nine], 0)][-2:]
    [0.3, 0.0]
    >>> score_distribution([TokenLogprob(" 9", lp(0.3))], 0) is None
    True
    """
    chosen = tokens[at]
    if not chosen.top:
        return None  # the token alone, no alternatives: nothing to weigh, the written score it is
    mass = [0.0] * len(SCORES)
    bare_one = 0.0  # a "1" that may be the first digit of "10"
    whole_ten = False
    # A sampled token need not be among the top alternatives (OpenAI leaves it out then).
    alternatives = list(chosen.top)
    if all(t != chosen.token for t, _ in alternatives):
        alternatives.append((chosen.token, chosen.logprob))
    for token, lp in alternatives:
        score, closed = score_of_token(token)
        if score is None:
            continue
        if score == 1 and not closed:
            bare_one += math.exp(lp)
        else:
            whole_ten = whole_ten or score == 10
            mass[score - 1] += math.exp(lp)
    if bare_one and whole_ten:
        mass[0] += bare_one
    elif bare_one and score_of_token(chosen.token) == (1, False) and at + 1 < len(tokens):
        zero = sum(math.exp(lp) for t, lp in tokens[at + 1].top if t.startswith("0"))
        mass[9] += bare_one * min(zero, 1.0)
        mass[0] += bare_one * (1.0 - min(zero, 1.0))
    if not any(mass):
        return None
    return [math.log(m) if m > 0 else -math.inf for m in mass]


def read_verdict(answer: Answer, prefill: str = "") -> Judgement | str:
    """One HTTP judge answer's verdict, by the first source that gives a score: the top_logprobs
    distribution, the JSON object the schema asks for, the text; else the reject reason. An answer
    to a `prefill` is read with the prefill put back in front (as one token with no alternatives:
    the score is never in it).

    >>> lp = math.log
    >>> toks = (TokenLogprob(" ", lp(0.9)), TokenLogprob("8", lp(0.5), (("8", lp(0.5)), ("6", lp(0.5)))))
    >>> v = read_verdict(Answer("k", ' 8, "reason": "fine"', "stop", logprobs=toks), PREFILL)
    >>> v.source, v.score, v.reason
    ('top_logprobs', 7.0, 'fine')
    >>> copied = (TokenLogprob(" <", lp(0.6), ((" <", lp(0.6)), ("9", lp(0.1)), ("3", lp(0.1)))),)
    >>> read_verdict(Answer("k", ' <integer 1-10>}', logprobs=copied), PREFILL).score
    6.0
    """
    # The stop string (the object's closing brace) is not sent back: put it back for the parser.
    text = prefill + answer.text + ("}" if prefill and answer.finish_reason == "stop" else "")
    tokens = answer.logprobs
    if tokens and prefill:
        tokens = (TokenLogprob(prefill, 0.0), *tokens)
    if tokens:
        at = score_start(tokens)
        if at is None and prefill:
            # No score written after the prefill (SmolLM2 now and then copies the template's
            # `<integer 1-10>`), but the first token's alternatives still rank the scores.
            at = 1
        logprobs = score_distribution(tokens, at) if at is not None else None
        if logprobs is not None:
            parsed = parse_judgement(text)
            reason = parsed.items[0][1] if parsed.items else ""
            score, dist = expected_score(logprobs)
            return Judgement(
                score=score, reason=reason, call=answer.call, source="top_logprobs", distribution=dist
            )
    parsed = parse_judgement(text)
    if parsed.errors:
        return parsed.errors[0]
    score, reason = parsed.items[0]
    return Judgement(score=score, reason=reason, call=answer.call, source=written_as(text))


def written_as(text: str) -> ScoreSource:
    """ "json" when the whole answer is the JSON object the schema asks for, else "text".

    >>> written_as('{"score": 7, "reason": "ok"}'), written_as('Score: 7/10')
    ('json', 'text')
    >>> written_as('{"score": 7, "reason": "two\\nlines"}')  # a raw newline, as llama.cpp's grammar allows
    'json'
    """
    obj = find_json(text, anywhere=False)
    return "json" if isinstance(obj, dict) and "score" in obj else "text"


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
    prefill = PREFILL if asker.teacher.continues_prefill else ""
    if prefill:
        # A completion API is handed the answer opened up to the score (module docstring), so no
        # schema, and stops at the object's end: what a small model writes after it is unread.
        asks = [
            Ask(p, seed=s, top_logprobs=TOP_LOGPROBS, prefill=prefill, stop=("}",))
            for p, s in zip(prompts, seeds, strict=True)
        ]
    else:
        asks = [
            Ask(p, seed=s, schema=SCHEMA, top_logprobs=TOP_LOGPROBS)
            for p, s in zip(prompts, seeds, strict=True)
        ]
    return [(answer.call, read_verdict(answer, prefill), answer.text) for answer in asker.ask(asks)]


# Under this many words a response is exempt from the relevance check. Chosen on the self-instruct
# seed tasks' own pairs (../shared/data/instruct/alpaca_seed_tasks.jsonl), not on the bench's
# pairs: at 0.2, 9% of those correct answers fall under the bar, nearly all one- or two-word
# labels; 1% once those are exempt (bench/README.md).
RELEVANCE_MIN_WORDS = 3


def relevance(
    rows: Sequence[InstructionRow], encode: Callable[[list[str]], np.ndarray]
) -> list[float | None]:
    """Per row, the cosine between its instruction (+ context) and its response (`encode` gives
    L2-normalised vectors), or None for a response too short to compare.

    >>> import numpy as np
    >>> topic = lambda texts: np.array([[1.0, 0.0] if "fruit" in t else [0.0, 1.0] for t in texts])
    >>> rows = [InstructionRow.make("Name a fruit.", response=r, origin="seed", operator="seed")
    ...         for r in ("An apple is a fruit.", "I like swimming on Sundays.", "Yes")]
    >>> relevance(rows, topic)
    [1.0, 0.0, None]
    """
    judged = [i for i, r in enumerate(rows) if len(r.response.split()) >= RELEVANCE_MIN_WORDS]
    out: list[float | None] = [None] * len(rows)
    if judged:
        asked = encode([f"{rows[i].instruction} {rows[i].context}".strip() for i in judged])
        answered = encode([rows[i].response for i in judged])
        for i, a, b in zip(judged, asked, answered, strict=True):
            out[i] = round(float(np.dot(a, b)), 4)
    return out


def judge(
    rows: Sequence[InstructionRow],
    template: Template,
    asker: Asker,
    threshold: int,
    run_seed: int,
    grades_response: bool = True,
    encode: Callable[[list[str]], np.ndarray] | None = None,
    min_relevance: float | None = None,
) -> Outcome:
    """Score each row with `template`; `grades_response` off when it rates the instruction alone
    (compare's `distil.judge_template`, over rows that have no response yet). With `encode` each
    response's relevance is kept on its verdict, and with `min_relevance` too, a pair under it is
    rejected before the call (module docstring)."""
    out = Outcome("judge")
    # A blank response is not worth a call: there is nothing to grade, yet a small judge's
    # distribution still gives it a middling score (SmolLM2 scored empty responses 5.3 on
    # average, good ones 5.1: bench/README.md). respond never lets one through; rows from
    # elsewhere (extract, a user's file) might.
    related: dict[str, float | None] = {}
    if grades_response:
        for row in rows:
            if not row.response.strip():
                out.reject("empty_response", None, [row.id], id=row.id)
        rows = [r for r in rows if r.response.strip()]
        if encode is not None:
            related = dict(zip((r.id for r in rows), relevance(rows, encode), strict=True))
        if min_relevance is not None:
            if encode is None:
                raise ValueError("min_relevance needs an encoder")
            for row in rows:
                cos = related[row.id]
                if cos is not None and cos < min_relevance:
                    out.reject("off_topic", None, [row.id], id=row.id, relevance=cos)
            rows = [r for r in rows if (related[r.id] is None or related[r.id] >= min_relevance)]
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
        verdict = verdict.model_copy(update={"relevance": related.get(row.id)})
        if verdict.score < threshold:
            out.reject(
                "below_threshold",
                verdict.call,
                [row.id],
                id=row.id,
                score=verdict.score,
                judge_reason=verdict.reason,
                score_source=verdict.source,
                distribution=verdict.distribution,
                relevance=verdict.relevance,
            )
            continue
        out.rows.append(row.model_copy(update={"judge": verdict}))
    out.extra = {
        "threshold": threshold,
        "min_relevance": min_relevance if grades_response else None,
        "scored": len(scores),
        "score_source": dict(sorted(sources.items())),
        # scores binned to the nearest integer (a distribution's mean is fractional)
        "score_histogram": {str(s): sum(round(x) == s for x in scores) for s in SCORES},
        "mean_score": round(sum(scores) / len(scores), 4) if scores else None,
    }
    return out

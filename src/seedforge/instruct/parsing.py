"""Parsers for the instruction operators' answers, tolerant of how real models package them.

Accepted packaging: JSON (an object, a list of objects or strings, also inside ``` fences or after
chatter), numbered or bulleted lists, `Instruction:`/`Response:` labels (bold or not), and
`<instruction>`/`<response>` tags, opening or closing tag missing at the end. Everything else is a
reason in `errors`, never a silent default: a dropped row costs one call, a wrong one poisons data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from seedforge.tasks.parsing import find_json, unwrap

T = TypeVar("T")


@dataclass(frozen=True)
class Parsed(Generic[T]):
    """Items parsed from one answer, plus one reason per broken fragment (as `tasks.ParseResult`).

    >>> Parsed(["Name a colour."], ["too_short"]).errors
    ['too_short']
    """

    items: list[T]
    errors: list[str] = field(default_factory=list)


# --- JSON (found by `seedforge.tasks.parsing.find_json`) ---------------------------------------


def _json_field(obj: dict[str, Any], names: tuple[str, ...]) -> Any:
    lowered = {str(k).lower(): v for k, v in obj.items()}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


# --- lists of instructions -------------------------------------------------------------------------

_ITEM = re.compile(r"^\s*(?:\d{1,3}[.):]|\(\d{1,3}\)|[-*•+])\s+(?P<text>.+)$")
_LABEL = re.compile(
    r"^\s*(?:\d{1,3}[.):]\s*|[-*•]\s*)?(?:\*\*|__)?(?:new\s+)?(?:instruction|task|question)\s*(?:\d{1,3})?"
    r"\s*(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(?P<text>.*)$",
    re.IGNORECASE,
)
_TAG = re.compile(
    r"<instruction>\s*(.*?)\s*(?:</instruction>|(?=<instruction>)|\Z)", re.DOTALL | re.IGNORECASE
)
_CHATTER = re.compile(
    r"^(?:sure|certainly|of course|okay|ok|here (?:are|is)|below (?:are|is)|i hope|hope this|"
    r"let me know|note:|these (?:instructions|tasks))\b",
    re.IGNORECASE,
)
_FENCE_LINE = re.compile(r"^\s*(?:```|~~~)")


def clean_instruction(text: str) -> str:
    """One instruction as written, minus emphasis, quotes and a trailing label colon.

    >>> clean_instruction('  **"Write a haiku about rain."** ')
    'Write a haiku about rain.'
    """
    return unwrap(unwrap(text.strip()))


def parse_instruction_list(raw: str, min_words: int = 3, max_chars: int = 500) -> Parsed[str]:
    """Instructions from an answer to "write n new instructions".

    Tried in order: JSON (list of strings or of objects with "instruction"), `<instruction>` tags,
    `Instruction:` labels, numbered/bulleted items, then plain lines. Chatter lines ("Sure! Here
    are...", a line ending in ":") are skipped; too short or too long items are errors.

    >>> parse_instruction_list("Sure! Here are 3:\\n1. Write a poem on rain.\\n2) List 3 primes.\\n- Hi")
    Parsed(items=['Write a poem on rain.', 'List 3 primes.'], errors=['too_short'])
    >>> parse_instruction_list('```json\\n[{"instruction": "Explain how tides work."}, {"x": 1}]\\n```')
    Parsed(items=['Explain how tides work.'], errors=['json:missing_field:instruction'])
    >>> parse_instruction_list("<instruction>Name a painter.</instruction>\\n<instruction>Describe a cat")
    Parsed(items=['Name a painter.', 'Describe a cat'], errors=[])
    >>> parse_instruction_list("Instruction 1: Summarize a play.\\n**Instruction 2:** Name a synonym.")
    Parsed(items=['Summarize a play.', 'Name a synonym.'], errors=[])
    >>> parse_instruction_list("")
    Parsed(items=[], errors=['no_instructions'])
    """
    candidates: list[str] = []
    errors: list[str] = []
    data = find_json(raw)
    if isinstance(data, dict):
        data = _json_field(data, ("instructions", "tasks", "items")) or [data]
    if isinstance(data, list) and data:
        for item in data:
            if isinstance(item, str):
                candidates.append(item)
            elif isinstance(item, dict) and isinstance(_json_field(item, ("instruction", "task")), str):
                candidates.append(_json_field(item, ("instruction", "task")))
            else:
                errors.append("json:missing_field:instruction")
    elif tags := _TAG.findall(raw):
        candidates = list(tags)
    else:
        lines = [ln for ln in raw.replace("\r", "").split("\n") if ln.strip() and not _FENCE_LINE.match(ln)]
        labelled = [m.group("text") for ln in lines if (m := _LABEL.match(ln))]
        items = [m.group("text") for ln in lines if (m := _ITEM.match(ln))]
        if labelled:
            candidates = labelled
        elif items:
            candidates = items
        else:
            candidates = [
                ln for ln in lines if not _CHATTER.match(ln.strip()) and not ln.rstrip().endswith(":")
            ]
    items_out = []
    for c in candidates:
        text = clean_instruction(c)
        if _CHATTER.match(text) or text.endswith(":"):
            continue
        if len(text.split()) < min_words:
            errors.append("too_short")
        elif len(text) > max_chars:
            errors.append("too_long")
        else:
            items_out.append(text)
    if not items_out and not errors:
        errors.append("no_instructions")
    return Parsed(items_out, errors)


def parse_single_instruction(raw: str, min_words: int = 3, max_chars: int = 500) -> Parsed[str]:
    """The one rewritten instruction of `refine`: JSON, a tag, a label, or the first real line.

    >>> parse_single_instruction('Refined instruction: "Write a 4-line poem about the sea at night."')
    Parsed(items=['Write a 4-line poem about the sea at night.'], errors=[])
    >>> parse_single_instruction('{"instruction": "List three prime numbers below 20."}')
    Parsed(items=['List three prime numbers below 20.'], errors=[])
    >>> parse_single_instruction("Sure! Here it is:\\n\\nExplain photosynthesis to a child.\\n\\nBetter.")
    Parsed(items=['Explain photosynthesis to a child.'], errors=[])
    >>> parse_single_instruction("Be nice.")
    Parsed(items=[], errors=['too_short'])
    """
    data = find_json(raw)
    if isinstance(data, dict) and isinstance(_json_field(data, ("instruction", "refined")), str):
        text = _json_field(data, ("instruction", "refined"))
    elif tags := _TAG.findall(raw):
        text = tags[0]
    else:
        lines = [ln.strip() for ln in raw.replace("\r", "").split("\n") if ln.strip()]
        lines = [ln for ln in lines if not _FENCE_LINE.match(ln)]
        labelled = [
            m.group(1)
            for ln in lines
            if (
                m := re.match(
                    r"^(?:\*\*)?(?:refined|improved|rewritten|new)?\s*instruction\s*(?:\*\*)?\s*:\s*(?:\*\*)?\s*(.*)$",
                    ln,
                    re.IGNORECASE,
                )
            )
        ]
        if labelled and labelled[0].strip():
            text = labelled[0]
        else:
            body = [ln for ln in lines if not _CHATTER.match(ln) and not ln.endswith(":")]
            text = body[0] if body else ""
    text = clean_instruction(text)
    if not text:
        return Parsed([], ["no_instruction"])
    if len(text.split()) < min_words:
        return Parsed([], ["too_short"])
    if len(text) > max_chars:
        return Parsed([], ["too_long"])
    return Parsed([text])


def parse_response(raw: str) -> Parsed[str]:
    """The answer of `respond`: the text minus a leading `Response:` label or tag; empty is an error.

    >>> parse_response("Response: Paris is the capital of France.")
    Parsed(items=['Paris is the capital of France.'], errors=[])
    >>> parse_response("<response>42</response> extra")
    Parsed(items=['42'], errors=[])
    >>> parse_response("   ")
    Parsed(items=[], errors=['empty_response'])
    """
    text = raw.strip()
    tag = re.search(r"<response>\s*(.*?)\s*(?:</response>|\Z)", text, re.DOTALL | re.IGNORECASE)
    if tag:
        text = tag.group(1)
    text = re.sub(
        r"^(?:\*\*)?(?:response|answer|output)\s*(?:\*\*)?\s*:\s*(?:\*\*)?\s*", "", text, flags=re.IGNORECASE
    )
    text = text.strip()
    return Parsed([text]) if text else Parsed([], ["empty_response"])


# --- pairs (extract) ---------------------------------------------------------------------------

_PAIR_LABEL = re.compile(
    r"^\s*(?:\d{1,3}[.):]\s*|[-*•]\s*)?(?:\*\*|__)?(?P<name>instruction|question|input|response|answer|output)"
    r"\s*(?:\d{1,3})?\s*(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(?P<value>.*)$",
    re.IGNORECASE,
)
_ROLE = {"instruction": "instruction", "question": "instruction", "input": "context",
         "response": "response", "answer": "response", "output": "response"}  # fmt: skip


def parse_pairs(raw: str) -> Parsed[tuple[str, str, str]]:
    """(instruction, context, response) pairs from `extract`: JSON objects, tags or labels.

    >>> parse_pairs('```json\\n[{"instruction": "What is DVC?", "response": "A data version tool."}]\\n```')
    Parsed(items=[('What is DVC?', '', 'A data version tool.')], errors=[])
    >>> parse_pairs("1. Instruction: When was it built?\\nResponse: In 1889.\\n\\n2. Instruction: By whom?")
    Parsed(items=[('When was it built?', '', 'In 1889.')], errors=['missing_field:response'])
    >>> parse_pairs("<instruction>Define tide.</instruction><response>The rise and fall of the sea.")
    Parsed(items=[('Define tide.', '', 'The rise and fall of the sea.')], errors=[])
    >>> parse_pairs("I cannot help with that.")
    Parsed(items=[], errors=['no_pairs'])
    """
    items: list[tuple[str, str, str]] = []
    errors: list[str] = []
    data = find_json(raw)
    if isinstance(data, dict):
        data = _json_field(data, ("pairs", "items", "examples")) or [data]
    if isinstance(data, list) and data:
        for obj in data:
            if not isinstance(obj, dict):
                errors.append("json:not_an_object")
                continue
            instr = _json_field(obj, ("instruction", "question"))
            resp = _json_field(obj, ("response", "answer", "output"))
            ctx = _json_field(obj, ("input", "context")) or ""
            if not isinstance(instr, str) or not instr.strip():
                errors.append("missing_field:instruction")
            elif not isinstance(resp, str) or not resp.strip():
                errors.append("missing_field:response")
            else:
                items.append((clean_instruction(instr), str(ctx).strip(), resp.strip()))
        return Parsed(items, errors)
    tagged = re.findall(
        r"<instruction>\s*(.*?)\s*</instruction>\s*(?:<response>\s*(.*?)\s*(?:</response>|(?=<instruction>)|\Z))?",
        raw,
        re.DOTALL | re.IGNORECASE,
    )
    if tagged:
        for instr, resp in tagged:
            if resp.strip():
                items.append((clean_instruction(instr), "", resp.strip()))
            else:
                errors.append("missing_field:response")
        return Parsed(items, errors)
    current: dict[str, list[str]] = {}
    last: str | None = None

    def finish() -> None:
        if not current:
            return
        fields = {k: "\n".join(v).strip() for k, v in current.items()}
        if not fields.get("instruction"):
            errors.append("missing_field:instruction")
        elif not fields.get("response"):
            errors.append("missing_field:response")
        else:
            items.append(
                (clean_instruction(fields["instruction"]), fields.get("context", ""), fields["response"])
            )
        current.clear()

    for line in raw.replace("\r", "").split("\n"):
        m = _PAIR_LABEL.match(line)
        if m:
            role = _ROLE[m.group("name").lower()]
            if role == "instruction" or role in current:
                finish()
            current[role] = [m.group("value")]
            last = role
        elif last is not None and current and line.strip() and not _FENCE_LINE.match(line):
            current[last].append(line.strip())
    finish()
    if not items and not errors:
        errors.append("no_pairs")
    return Parsed(items, errors)


# --- judge -------------------------------------------------------------------------------------

_SCORE = re.compile(
    r"(?:score|rating)\s*(?:\*\*)?\s*[:=]?\s*(?:\*\*)?\s*(?P<n>-?\d+(?:\.\d+)?)\s*(?:/\s*10|out of 10)?"
    r"|(?P<m>-?\d+(?:\.\d+)?)\s*(?:/\s*10|out of 10)",
    re.IGNORECASE,
)


def parse_judgement(raw: str) -> Parsed[tuple[int, str]]:
    """(score, reason) from a judge's answer. A missing score, a fraction, or one outside 1..10 is
    an error with its reason: never a default.

    >>> parse_judgement('```json\\n{"score": 8, "reason": "Accurate and complete."}\\n```')
    Parsed(items=[(8, 'Accurate and complete.')], errors=[])
    >>> parse_judgement("Reason: clear but short.\\nScore: 6/10")
    Parsed(items=[(6, 'clear but short.')], errors=[])
    >>> parse_judgement("**Rating:** 11 - excellent")
    Parsed(items=[], errors=['score_out_of_range:11'])
    >>> parse_judgement("A fine answer overall.")
    Parsed(items=[], errors=['missing_score'])
    >>> parse_judgement('{"score": 7.5, "reason": "ok"}')
    Parsed(items=[], errors=['score_not_integer:7.5'])
    """
    data = find_json(raw)
    score: Any = None
    reason = ""
    if isinstance(data, dict) and _json_field(data, ("score", "rating")) is not None:
        score = _json_field(data, ("score", "rating"))
        reason = str(_json_field(data, ("reason", "explanation", "rationale")) or "").strip()
    else:
        m = _SCORE.search(raw)
        if m:
            score = m.group("n") or m.group("m")
            r = re.search(
                r"(?:reason|explanation|rationale)\s*(?:\*\*)?\s*:\s*(?:\*\*)?\s*(.+)", raw, re.IGNORECASE
            )
            reason = r.group(1).strip() if r else raw[: m.start()].strip() or raw[m.end() :].strip(" -:.\n")
    if score is None or isinstance(score, bool):
        return Parsed([], ["missing_score"])
    try:
        value = float(score)
    except (TypeError, ValueError):
        return Parsed([], [f"score_not_a_number:{str(score)[:20]}"])
    if value != int(value):
        return Parsed([], [f"score_not_integer:{score}"])
    if not 1 <= value <= 10:
        return Parsed([], [f"score_out_of_range:{int(value)}"])
    return Parsed([(int(value), unwrap(reason)[:500])])


# --- categorize --------------------------------------------------------------------------------


def parse_category(raw: str, categories: list[str]) -> Parsed[str]:
    """The one category from `categories` that the answer names (in the list's spelling).

    JSON {"category": ...}, a `Category:` label, or the whole answer; if none of those is a
    category exactly, the answer must mention exactly one category as a word.

    >>> cats = ["coding", "math", "writing"]
    >>> parse_category('{"category": "Math"}', cats)
    Parsed(items=['math'], errors=[])
    >>> parse_category("Category: **writing**\\nBecause it asks for a poem.", cats)
    Parsed(items=['writing'], errors=[])
    >>> parse_category("It is about coding, not math.", cats)
    Parsed(items=[], errors=['ambiguous_category'])
    >>> parse_category("cooking", cats)
    Parsed(items=[], errors=['unknown_category'])
    """
    folded = {c.casefold(): c for c in categories}
    data = find_json(raw)
    guesses: list[str] = []
    if isinstance(data, dict) and isinstance(_json_field(data, ("category", "label")), str):
        guesses.append(_json_field(data, ("category", "label")))
    m = re.search(r"(?:category|label)\s*(?:\*\*)?\s*:\s*(.+)", raw, re.IGNORECASE)
    if m:
        guesses.append(m.group(1))
    guesses.append(raw)
    for g in guesses:
        key = unwrap(unwrap(g.strip().splitlines()[0] if g.strip() else "")).rstrip(".").casefold()
        if key in folded:
            return Parsed([folded[key]])
    mentioned = {c for k, c in folded.items() if re.search(rf"(?<!\w){re.escape(k)}(?!\w)", raw.casefold())}
    if len(mentioned) == 1:
        return Parsed([mentioned.pop()])
    return Parsed([], ["ambiguous_category" if mentioned else "unknown_category"])

"""Tolerant parsing of teacher output into field blocks ("Input: ...", "Label: ...").

Teachers wrap the strict format in chatter, numbering, markdown and code fences;
we accept that packaging but stay strict about the fields themselves, because a
silently mis-parsed example poisons the training set while a dropped one costs
only a teacher call.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence
from typing import Any

# Decoration allowed in front of a field name: a bullet, a number ("1.", "2)",
# "(3)") or an "Example 3:" heading, so "1. **Input:** text" is a field line.
# Every whitespace run is eaten by exactly one possessive "\s*+" after a token:
# with plain "\s*" between optional tokens, a line of many spaces backtracks
# exponentially.
_BULLET = r"(?:[-*•+]\s++)?"
_NUMBER = r"(?:\(?\d{1,3}[.):]|\(\d{1,3}\))\s*+"
_HEADING = (
    r"(?:\#{1,3}\s*+)?(?:\*\*|__)?(?:(?:new|generated)\s++)?example\s*+(?:\#\s*+)?"
    r"(?:\d{1,3}\s*+)?(?:[.:)\-–]\s*+)?(?:(?:\*\*|__)\s*+)?(?::\s*+)?"
)
_PREFIX = rf"^\s*+{_BULLET}(?:{_NUMBER}|{_HEADING})?"

# Lines that mark the start of a new example without carrying a field:
# "2.", "(3)", "Example 3:", "### Example 3", "**Example 1**", "---".
# Headings are limited to 1-3 '#' so a GSM8K "#### 18" line is never one.
_SEPARATOR = re.compile(
    r"^\s*+(?:"
    r"\(?\d{1,3}[.)]"
    r"|\(\d{1,3}\)"
    r"|(?:\#{1,3}(?!\#)\s*+)?[*_]*+\s*+(?:(?:new|generated)\s++)?example\b.*"
    r"|\#{1,3}(?!\#)\s*+\d{1,3}[.):]"
    r"|-{3,}+|\*{3,}+|_{3,}+|={3,}+"
    r")\s*+$",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^\s*+(?:```|~~~)[\w+.-]*+\s*+$")

_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "`": "`"}
_EMPHASIS = ("**", "__", "*")


def _field_pattern(fields: Sequence[str]) -> re.Pattern[str]:
    names = "|".join(re.escape(f) for f in sorted(fields, key=len, reverse=True))
    # The emphasis may close before the colon ("**Input**:") or after it
    # ("**Input:**"); the backreference keeps a leading "*" of the value itself.
    return re.compile(
        rf"{_PREFIX}(?P<em>\*\*|\*|__)?\s*+(?P<name>{names})\s*+"
        rf"(?:(?P=em)\s*+:|:\s*+(?P=em)|:)[ \t]?(?P<value>.*)$",
        re.IGNORECASE,
    )


def unwrap(value: str) -> str:
    """Strip whitespace, then markdown emphasis and quotes wrapping the whole value.

    A wrapper is removed only when the inside does not contain it again, so
    quotes that belong to the text survive.

    >>> unwrap('  "I was charged twice"  ')
    'I was charged twice'
    >>> unwrap("**billing**")
    'billing'
    >>> unwrap('"Hi" she said "bye"')
    '"Hi" she said "bye"'
    >>> unwrap("*")
    '*'
    """
    value = value.strip()
    for mark in _EMPHASIS:
        n = len(mark)
        inner = value[n:-n]
        if len(value) > 2 * n and value.startswith(mark) and value.endswith(mark):
            if mark[0] not in inner and inner.strip():
                value = inner.strip()
                break
    if len(value) >= 2 and value[0] in _QUOTES:
        opening, closing = value[0], _QUOTES[value[0]]
        inner = value[1:-1]
        if value[-1] == closing and opening not in inner and closing not in inner:
            value = inner.strip()
    return value


def protect(value: str) -> str:
    """Quote ``value`` if :func:`unwrap` would otherwise change it, so formatting
    then parsing gives the value back exactly.

    >>> protect("billing")
    'billing'
    >>> protect('"quoted"')
    '\\'"quoted"\\''
    >>> unwrap(protect('"quoted"'))
    '"quoted"'
    """
    value = value.strip()
    if unwrap(value) == value:
        return value
    for opening, closing in _QUOTES.items():
        if opening not in value and closing not in value:
            return f"{opening}{value}{closing}"
    return value  # every quote kind is in use; unreachable in practice


def _join(lines: list[str]) -> str:
    """Join a field's lines, removing the indent shared by its continuation lines
    (numbered lists indent them under the number).

    >>> _join(["6 * 7 = 42", "   so", "   #### 42"])
    '6 * 7 = 42\\nso\\n#### 42'
    """
    if len(lines) < 2:
        return "\n".join(lines)
    return lines[0] + "\n" + textwrap.dedent("\n".join(lines[1:]))


def _balance_fences(lines: list[str]) -> list[str]:
    """Drop a last fence line that closes no fence opened inside the value (a wrapper's).

    >>> _balance_fences(["x", "```java", "code", "```"])
    ['x', '```java', 'code', '```']
    >>> _balance_fences(["6 * 7 = 42", "#### 42", "```"])
    ['6 * 7 = 42', '#### 42']
    """
    fences = [i for i, line in enumerate(lines) if _FENCE.match(line)]
    if len(fences) % 2 == 1:
        last = fences[-1]
        lines = lines[:last] + lines[last + 1 :]
    return lines


def parse_blocks(
    raw: str, fields: Sequence[str], multiline: Sequence[str] = ()
) -> tuple[list[dict[str, str]], list[str]]:
    """Parse ``raw`` into records holding exactly ``fields``, in that order.

    Returns ``(records, errors)``. Record keys and error reasons use the
    lower-cased field names. Each fragment that looked like an example (it had
    at least one field line) but was broken adds one reason to ``errors``:
    ``missing_field:<f>``, ``empty_field:<f>``, ``duplicate_field:<f>``,
    ``field_out_of_order:<f>`` or ``unexpected_text:<f>`` (a single-line field
    followed by more text before the example was complete). Never raises.

    >>> parse_blocks("Sure!\\n1. Input: hi\\n   Label: greet\\n\\n2. Input: bye", ["Input", "Label"])
    ([{'input': 'hi', 'label': 'greet'}], ['missing_field:label'])
    >>> parse_blocks("Q: x\\nA: 1 + 1 = 2\\n\\nso 2\\n#### 2\\n\\nQ: y", ["Q", "A"], ["A"])
    ([{'q': 'x', 'a': '1 + 1 = 2\\n\\nso 2\\n#### 2'}], ['missing_field:a'])
    """
    order = [f.lower() for f in fields]
    multi = {f.lower() for f in multiline}
    field_line = _field_pattern(fields)
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")

    records: list[dict[str, str]] = []
    errors: list[str] = []
    current: dict[str, list[str]] | None = None  # field -> its lines
    problem: str | None = None
    open_field: str | None = None  # field that may still take more lines
    pending_blank = 0  # blank lines seen inside an open multi-line field

    def finish() -> None:
        nonlocal current, problem, open_field, pending_blank
        if current is not None:
            values = {f: unwrap(_join(_balance_fences(v))) for f, v in current.items()}
            missing = [f for f in order if f not in values]
            empty = [f for f in order if f in values and not values[f]]
            if problem:
                errors.append(problem)
            elif missing:
                errors.append(f"missing_field:{missing[0]}")
            elif empty:
                errors.append(f"empty_field:{empty[0]}")
            else:
                records.append({f: values[f] for f in order})
        current, problem, open_field, pending_blank = None, None, None, 0

    for line in lines:
        match = field_line.match(line)
        if match:
            name = match.group("name").lower()
            value = match.group("value")
            if name == order[0] or current is None:
                finish()
                current = {}
            if problem is None:
                if not current and name != order[0]:
                    problem = f"missing_field:{order[0]}"  # e.g. a lone "Label:"
                elif name in current:
                    problem = f"duplicate_field:{name}"
                elif order.index(name) != len(current):
                    problem = f"field_out_of_order:{name}"
            current[name] = [value]
            open_field, pending_blank = name, 0
            continue
        if _FENCE.match(line) and open_field in multi and current is not None and problem is None:
            # A code block inside a multi-line value (a response with code) is part of it; a
            # wrapper's closing fence that lands here is dropped again by _balance_fences.
            current[open_field].extend([""] * pending_blank + [line])
            pending_blank = 0
            continue
        if _FENCE.match(line) or _SEPARATOR.match(line):
            finish()
            continue
        if not line.strip():
            if open_field in multi:
                pending_blank += 1
            continue
        # A plain text line.
        if current is None or problem is not None:
            continue  # chatter between examples, or inside an already broken one
        if open_field in multi:
            current[open_field].extend([""] * pending_blank + [line])
            pending_blank = 0
        elif open_field is not None and not current[open_field][0].strip():
            # "Input:" with the value on the next line.
            current[open_field] = [line]
            open_field = None
        elif len(current) < len(order):
            problem = f"unexpected_text:{open_field or order[len(current) - 1]}"
        else:
            open_field = None  # trailing chatter after a complete example
    finish()
    return records, errors


_JSON_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(?P<body>.*?)\n\s*```\s*$", re.DOTALL)
_FENCED = re.compile(r"```[\w+.-]*\s*\n(.*?)(?:```|\Z)", re.DOTALL)
# strict=False: grammar-constrained decoders (llama.cpp) let raw newlines into strings.
_DECODER = json.JSONDecoder(strict=False)


def find_json(raw: str, anywhere: bool = True) -> Any | None:
    """The JSON object or array in `raw`, or None: the one JSON finder for every parser.

    With `anywhere` (instruction operators: small models chat around their JSON), the first object
    or array found in a fenced block or after chatter. Without it (task parsers, which fall back to
    the text form), only an answer that is JSON as a whole, bare or in one fence.

    >>> find_json('Sure!\\n```json\\n{"score": 7}\\n```\\nHope this helps')
    {'score': 7}
    >>> find_json('Here: [{"instruction": "a"}] done')
    [{'instruction': 'a'}]
    >>> find_json("no json here {oops") is None
    True
    >>> find_json('Here: [{"instruction": "a"}] done', anywhere=False) is None
    True
    >>> find_json('```json\\n{"a": "two\\nlines"}\\n```', anywhere=False)
    {'a': 'two\\nlines'}
    """
    if not anywhere:
        text = raw.strip()
        fenced = _JSON_FENCE.match(text)
        text = fenced.group("body").strip() if fenced else text
        if not text.startswith(("{", "[")):
            return None
        try:
            return _DECODER.decode(text)
        except ValueError:
            return None
    for text in [m.group(1) for m in _FENCED.finditer(raw)] + [raw]:
        for i, ch in enumerate(text):
            if ch in "[{":
                try:
                    value, _ = _DECODER.raw_decode(text[i:])
                except ValueError:
                    continue
                if isinstance(value, dict | list):
                    return value
    return None


def parse_json(raw: str, fields: Sequence[str]) -> tuple[list[dict[str, str]], list[str]] | None:
    """Records from the structured form `{"examples": [{"input": ..., "label": ...}]}` (or a
    bare list), keyed by lower-cased field names like `parse_blocks`; None when `raw` is not
    JSON, so the caller falls back to the text form.

    >>> parse_json('{"examples": [{"input": "hi", "label": "greet"}, {"input": "x"}]}', ["Input", "Label"])
    ([{'input': 'hi', 'label': 'greet'}], ['missing_field:label'])
    >>> parse_json("Input: hi", ["Input", "Label"]) is None
    True
    >>> parse_json('{"examples": [{"input": "two\\nlines", "label": "a"}]}', ["Input", "Label"])[0]
    [{'input': 'two\\nlines', 'label': 'a'}]
    """
    data = find_json(raw, anywhere=False)
    if data is None:
        return None
    items = data.get("examples") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return [], ["json:no_examples"]
    keys = [f.lower() for f in fields]
    records, errors = [], []
    for item in items:
        if not isinstance(item, dict):
            errors.append("json:not_an_object")
            continue
        lowered = {str(k).lower(): v for k, v in item.items()}
        missing = next((k for k in keys if not isinstance(lowered.get(k), str)), None)
        if missing is not None:
            errors.append(f"missing_field:{missing}")
            continue
        records.append({k: lowered[k].strip() for k in keys})
    return records, errors

"""Multiple choice (CaseHOLD shape): a context, lettered options, and the letter of the right one.

A record's input holds the context and its options in the strict format, one per line
(``context\\nA: first\\nB: second``), so every stage that passes inputs around (students, gates,
the teacher prompt) needs nothing extra; its output is the letter. Source files carry the options
as a list column (JSONL) or one column per option (CSV/TSV), named by the source's ``options``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from seedforge.tasks.base import Example, ParseResult, Task
from seedforge.tasks.parsing import parse_blocks, protect, unwrap
from seedforge.tasks.registry import register

LETTERS = "ABCDEFGHIJ"
_OPTION_LINE = re.compile(r"^([A-J]): (.*)$")
# "B", "b", "(B)", "B)", "B.", "B: the text", "Answer: B"; not "A person ..." (a word, not a letter).
_LETTER = re.compile(r"^(?:answer\s*:\s*)?(?:\(([A-Za-z])\)|([A-Za-z])(?:[.):](?:\s.*)?)?$)", re.IGNORECASE)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


@register
@dataclass(frozen=True)
class MultipleChoiceTask(Task):
    """Strict format: ``Question: <context>``, one ``<letter>: <option>`` line per option, then
    ``Answer: <letter>``. Bound to the seed set, ``labels`` are its option letters.

    >>> t = MultipleChoiceTask().bind([Example("Sky?\\nA: blue\\nB: green\\nC: red", "A")])
    >>> t.labels
    ('A', 'B', 'C')
    >>> raw = "1. Question: Grass?\\nA: blue\\nB: green\\nC: red\\nAnswer: (B)\\n\\nThanks!"
    >>> ex = t.parse(raw).examples[0]
    >>> ex
    Example(input='Grass?\\nA: blue\\nB: green\\nC: red', output='B')
    >>> t.validate(ex), t.correct("b) green", "B"), t.answer("A person")
    ((True, 'ok'), True, None)
    """

    kind: ClassVar[str] = "multiple_choice"
    input_field: str = "Question"
    output_field: str = "Answer"

    @property
    def letters(self) -> tuple[str, ...]:
        return self.labels if self.labels is not None else tuple(LETTERS[:4])

    def bind(self, seed: Sequence[Example]) -> MultipleChoiceTask:
        """Fix the option letters to the first seed example's option count (every row must match)."""
        n = len(self.split(seed[0].input)[1]) if seed else 0
        return replace(self, labels=tuple(LETTERS[:n]))

    def compose(self, text: str, options: Sequence[str] | None) -> str:
        """The record input: the context and the options, one per line.

        >>> print(MultipleChoiceTask().compose("Which is a colour?", ["blue", "loud"]))
        Which is a colour?
        A: blue
        B: loud
        """
        if options is None:
            raise ValueError("multiple choice needs an options column (set `options` on the source)")
        options = [_one_line(o) for o in options]
        if not 2 <= len(options) <= len(LETTERS):
            raise ValueError(f"has {len(options)} options; multiple choice needs 2 to {len(LETTERS)}")
        if self.labels is not None and len(options) != len(self.labels):
            raise ValueError(f"has {len(options)} options where the seed set has {len(self.labels)}")
        empty = [LETTERS[i] for i, o in enumerate(options) if not o]
        if empty:
            raise ValueError(f"option {empty[0]} is empty")
        lines = [_one_line(text)] + [f"{LETTERS[i]}: {o}" for i, o in enumerate(options)]
        return "\n".join(lines)

    def split(self, input: str) -> tuple[str, list[str]]:
        """(context, options) of a composed input.

        >>> MultipleChoiceTask().split("Sky?\\nA: blue\\nB: green")
        ('Sky?', ['blue', 'green'])
        """
        lines = input.split("\n")
        n = 0
        while n < len(lines) - 1 and _OPTION_LINE.match(lines[-1 - n]):
            n += 1
        tail = [_OPTION_LINE.match(line) for line in lines[len(lines) - n :]]
        if [m[1] for m in tail if m] != list(LETTERS[:n]):  # options run A, B, C, ... in order
            return input, []
        return "\n".join(lines[: len(lines) - n]), [m[2] for m in tail if m]

    def gold(self, output: str) -> str:
        """A letter, or a 0-based option index as CaseHOLD's files give it.

        >>> t = MultipleChoiceTask(labels=("A", "B", "C"))
        >>> t.gold("2"), t.gold("b")
        ('C', 'B')
        >>> t.gold("7")
        Traceback (most recent call last):
        ...
        ValueError: answer '7' is not an option letter (A, B, C) or index (0 to 2)
        """
        text = output.strip()
        if text.isdigit() and int(text) < len(self.letters):
            return self.letters[int(text)]
        letter = self.answer(text)
        if letter is None:
            letters, n = ", ".join(self.letters), len(self.letters)
            raise ValueError(f"answer {output!r} is not an option letter ({letters}) or index (0 to {n - 1})")
        return letter

    def parse(self, raw: str) -> ParseResult:
        letters = list(self.letters)
        records, errors = parse_blocks(raw, [self.input_field, *letters, self.output_field])
        q, a = self.input_field.lower(), self.output_field.lower()
        examples = []
        for r in records:
            body = "\n".join([_one_line(r[q])] + [f"{x}: {_one_line(r[x.lower()])}" for x in letters])
            examples.append(Example(body, self.answer(r[a]) or r[a]))
        return ParseResult(examples, errors)

    def validate_output(self, example: Example) -> tuple[bool, str]:
        context, options = self.split(example.input)
        if len(options) != len(self.letters) or not context.strip():
            return False, "bad_options"
        if len({o.casefold() for o in options}) != len(options):
            return False, "duplicate_options"
        if self.answer(example.output) is None:
            return False, "answer_not_an_option"
        return True, "ok"

    def answer(self, text: str) -> str | None:
        """The option letter named by the first non-empty line of ``text``, or None."""
        first = unwrap(next((line for line in text.splitlines() if line.strip()), ""))
        match = _LETTER.match(first)
        if not match:
            return None
        letter = (match.group(1) or match.group(2)).upper()
        return letter if letter in self.letters else None

    def format_example(self, example: Example) -> str:
        """Each piece protected on its own (the input spans lines).

        >>> t = MultipleChoiceTask(labels=("A", "B"))
        >>> print(t.format_example(Example("Sky?\\nA: blue\\nB: green", "A")))
        Question: Sky?
        A: blue
        B: green
        Answer: A
        """
        context, options = self.split(example.input)
        lines = [f"{self.input_field}: {protect(context)}"]
        lines += [f"{LETTERS[i]}: {protect(o)}" for i, o in enumerate(options)]
        return "\n".join([*lines, f"{self.output_field}: {protect(example.output)}"])

"""Grade-school math in GSM8K form: a one-line question, a worked answer ending ``#### N``.

Answers are compared as numbers, so "$1,000.50", "1000.5" and "1000.50" agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from seedforge.tasks.base import Example, ParseResult, examples_schema
from seedforge.tasks.parsing import parse_blocks, parse_json, protect

TOLERANCE = Decimal("1e-6")

# GSM8K calculator annotations repeat the arithmetic ("<<48/2=24>>24"); their
# numbers must not be mistaken for the answer.
_ANNOTATION = re.compile(r"<<[^<>\n]*>>")
# A number with optional sign, "$" and thousands commas. The minus is a sign
# only when not glued to a preceding word/number ("5-3" is a subtraction).
_NUMBER = re.compile(
    r"(?P<sign>(?<![\w)\]])-)?(?:\$[ \t]?)?"
    r"(?P<digits>(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+)"
)
_FINAL_LINE = re.compile(r"^[ \t]*####[ \t]*\S")


def normalise_number(text: str) -> str | None:
    """The first number in ``text`` in canonical form, or None.

    >>> normalise_number("1,000.50")
    '1000.5'
    >>> normalise_number("-3")
    '-3'
    >>> normalise_number("$18")
    '18'
    >>> normalise_number("18.00 dollars")
    '18'
    >>> normalise_number("none") is None
    True
    """
    match = _NUMBER.search(_ANNOTATION.sub("", text))
    return _canonical(match) if match else None


def _canonical(match: re.Match[str]) -> str | None:
    digits = match.group("digits").replace(",", "")
    try:
        value = Decimal(("-" if match.group("sign") else "") + digits).normalize()
    except ArithmeticError:  # absurdly long digit strings overflow the context
        return None
    text = format(value, "f")
    return "0" if text in ("-0", "0") else text


def _last_number(text: str) -> str | None:
    """The last number in ``text``, ignoring calculator annotations.

    >>> _last_number("She makes 9 * 2 = $<<9*2=18>>18 every day.")
    '18'
    """
    matches = list(_NUMBER.finditer(_ANNOTATION.sub("", text)))
    return _canonical(matches[-1]) if matches else None


@dataclass(frozen=True)
class MathTask:
    """Strict format: ``Question: <one line>`` then ``Answer: <worked solution>``
    over any number of lines, ending with ``#### <number>``.

    >>> t = MathTask()
    >>> raw = "Question: 2 cats and 3 dogs?\\nAnswer: 2+3=<<2+3=5>>5\\n#### 5\\n\\nHope this helps!"
    >>> ex = t.parse(raw).examples[0]
    >>> ex.output
    '2+3=<<2+3=5>>5\\n#### 5'
    >>> t.validate(ex, None)
    (True, 'ok')
    >>> t.is_correct("2 + 3 = 5 animals.", ex.output, None)
    True
    """

    name: str = "math"
    input_field: str = "Question"
    output_field: str = "Answer"
    has_labels: bool = False  # ``labels`` is ignored by every method
    has_labels: bool = False

    def parse(self, raw: str) -> ParseResult:
        fields = [self.input_field, self.output_field]
        records, errors = parse_json(raw, fields) or parse_blocks(raw, fields, multiline=[self.output_field])
        examples = [Example(r["question"], _cut_after_final(r["answer"])) for r in records]
        return ParseResult(examples, errors)

    def output_schema(self, labels: Sequence[str] | None, k: int | None = None) -> dict[str, Any]:
        """JSON schema of a structured answer: a question and a worked answer ending `#### N`.

        >>> import re
        >>> item = MathTask().output_schema(None)["properties"]["examples"]["items"]
        >>> pattern = item["properties"]["answer"]["pattern"]
        >>> bool(re.search(pattern, "2+2=4\\n#### 4")), bool(re.search(pattern, "four"))
        (True, False)
        """
        answer = {"type": "string", "pattern": r"^[^#]*#### -?[0-9][0-9,]*(\.[0-9]+)?$"}
        question = {"type": "string", "maxLength": 600}
        return examples_schema({"question": question, "answer": answer}, k)

    def validate(self, example: Example, labels: Sequence[str] | None) -> tuple[bool, str]:
        """Keep an example with a question and an answer containing ``#### N``.

        >>> MathTask().validate(Example("How many?", "It is 4."), None)
        (False, 'no_answer')
        >>> MathTask().validate(Example("", "#### 4"), None)
        (False, 'empty_input')
        """
        if not example.input.strip():
            return False, "empty_input"
        finals = [line for line in example.output.splitlines() if _FINAL_LINE.match(line)]
        if not finals or normalise_number(finals[-1].split("####", 1)[1]) is None:
            return False, "no_answer"
        return True, "ok"

    def answer(self, text: str, labels: Sequence[str] | None) -> str | None:
        """The number after the last ``####``, else the last number in ``text``.

        Text from a following ``Question:`` line on is ignored, since students
        often go on to invent the next example.

        >>> MathTask().answer("So 3 + 4 = 7.\\n#### 7\\n\\nQuestion: What is 2+2?", None)
        '7'
        >>> MathTask().answer("He pays 2 * $500 = $<<2*500=1000>>1,000.50 in total", None)
        '1000.5'
        >>> MathTask().answer("I am not sure.", None) is None
        True
        """
        text = self._own_text(text)
        if "####" in text:
            found = normalise_number(text.rsplit("####", 1)[1])
            if found is not None:
                return found
        return _last_number(text)

    def is_correct(self, prediction: str, gold: str, labels: Sequence[str] | None) -> bool:
        """Numeric comparison of the two answers, within ``TOLERANCE``.

        >>> MathTask().is_correct("#### 1,000", "#### 1000.0000001", None)
        True
        >>> MathTask().is_correct("no idea", "#### 3", None)
        False
        """
        predicted, expected = self.answer(prediction, labels), self.answer(gold, labels)
        if predicted is None or expected is None:
            return False
        try:
            return abs(Decimal(predicted) - Decimal(expected)) <= TOLERANCE
        except ArithmeticError:
            return predicted == expected

    def format_example(self, example: Example) -> str:
        """The strict block; the answer keeps its line breaks.

        >>> print(MathTask().format_example(Example("What is 2+2?", "2+2=4\\n#### 4")))
        Question: What is 2+2?
        Answer: 2+2=4
        #### 4
        """
        return f"{self.input_field}: {protect(example.input)}\n{self.output_field}: {protect(example.output)}"

    def format_examples(self, examples: Sequence[Example]) -> str:
        """Blocks separated by one blank line."""
        return "\n\n".join(self.format_example(e) for e in examples)

    def student_prompt(self, input: str) -> str:
        """The prompt a causal-LM student completes with a worked answer.

        >>> MathTask().student_prompt("What is 2+2?")
        'Question: What is 2+2?\\nAnswer:'
        """
        return f"{self.input_field}: {input}\n{self.output_field}:"

    def _own_text(self, text: str) -> str:
        lines = text.replace("\r\n", "\n").split("\n")
        head = f"{self.input_field.lower()}:"
        for i, line in enumerate(lines):
            if i and line.strip().lower().replace(" ", "").startswith(head):
                return "\n".join(lines[:i])
        return "\n".join(lines)


def _cut_after_final(answer: str) -> str:
    """Drop anything after the ``#### N`` line (teacher sign-offs end up there).

    >>> _cut_after_final("4 + 4 = 8\\n#### 8\\n\\nLet me know if you need more!")
    '4 + 4 = 8\\n#### 8'
    """
    lines = answer.split("\n")
    for i, line in enumerate(lines):
        if _FINAL_LINE.match(line):
            return "\n".join(lines[: i + 1]).strip()
    return answer

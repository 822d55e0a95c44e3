"""Grade-school math in GSM8K form: a one-line question, a worked answer ending ``#### N``.

Answers are compared as numbers, so "$1,000.50", "1000.5" and "1000.50" agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from seedforge.tasks.base import Example, Task
from seedforge.tasks.registry import register

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


@register
@dataclass(frozen=True)
class MathTask(Task):
    """Strict format: ``Question: <one line>`` then ``Answer: <worked solution>``
    over any number of lines, ending with ``#### <number>``.

    >>> t = MathTask()
    >>> raw = "Question: 2 cats and 3 dogs?\\nAnswer: 2+3=<<2+3=5>>5\\n#### 5\\n\\nHope this helps!"
    >>> ex = t.parse(raw).examples[0]
    >>> ex.output
    '2+3=<<2+3=5>>5\\n#### 5'
    >>> t.validate(ex)
    (True, 'ok')
    >>> t.correct("2 + 3 = 5 animals.", ex.output)
    True
    """

    kind: ClassVar[str] = "math"
    multiline: ClassVar[tuple[str, ...]] = ("output",)
    input_field: str = "Question"
    output_field: str = "Answer"

    def output_item_schema(self) -> dict[str, Any]:
        """A worked answer ending `#### N`.

        >>> import re
        >>> item = MathTask().output_schema()["properties"]["examples"]["items"]
        >>> pattern = item["properties"]["answer"]["pattern"]
        >>> bool(re.search(pattern, "2+2=4\\n#### 4")), bool(re.search(pattern, "four"))
        (True, False)
        """
        return {"type": "string", "pattern": r"^[^#]*#### -?[0-9][0-9,]*(\.[0-9]+)?$"}

    def clean(self, example: Example) -> Example:
        return Example(example.input, _cut_after_final(example.output))

    def validate_output(self, example: Example) -> tuple[bool, str]:
        """Keep an example with a question and an answer containing ``#### N``.

        >>> MathTask().validate(Example("How many?", "It is 4."))
        (False, 'no_answer')
        >>> MathTask().validate(Example("", "#### 4"))
        (False, 'empty_input')
        """
        finals = [line for line in example.output.splitlines() if _FINAL_LINE.match(line)]
        if not finals or normalise_number(finals[-1].split("####", 1)[1]) is None:
            return False, "no_answer"
        return True, "ok"

    def answer(self, text: str) -> str | None:
        """The number after the last ``####``, else the last number in ``text``.

        Text from a following ``Question:`` line on is ignored, since students
        often go on to invent the next example.

        >>> MathTask().answer("So 3 + 4 = 7.\\n#### 7\\n\\nQuestion: What is 2+2?")
        '7'
        >>> MathTask().answer("He pays 2 * $500 = $<<2*500=1000>>1,000.50 in total")
        '1000.5'
        >>> MathTask().answer("I am not sure.") is None
        True
        """
        text = self.own_text(text)
        if "####" in text:
            found = normalise_number(text.rsplit("####", 1)[1])
            if found is not None:
                return found
        return _last_number(text)

    def score(self, prediction: str, gold: str) -> float:
        """1 when the two answers agree as numbers (within ``TOLERANCE``), else 0.

        >>> MathTask().score("#### 1,000", "#### 1000.0000001")
        1.0
        >>> MathTask().score("no idea", "#### 3")
        0.0
        """
        predicted, expected = self.answer(prediction), self.answer(gold)
        if predicted is None or expected is None:
            return 0.0
        try:
            return float(abs(Decimal(predicted) - Decimal(expected)) <= TOLERANCE)
        except ArithmeticError:
            return float(predicted == expected)


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

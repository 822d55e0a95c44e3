"""Text classification: one line of input, one label from a fixed set.

Labels are matched case-insensitively and returned in the label set's own
spelling; anything beyond the label (an explanation, a second label) makes the
example invalid rather than being trimmed away, since we cannot tell which part
the teacher meant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from seedforge.tasks.base import Example, ParseResult, examples_schema
from seedforge.tasks.parsing import parse_blocks, parse_json, protect, unwrap


def _drop_period(label: str) -> str:
    """Drop one trailing period; ``parse_blocks`` has already unwrapped the value.

    >>> _drop_period("billing.")
    'billing'
    >>> _drop_period("**billing**.")
    'billing'
    """
    return unwrap(label[:-1]) if label.endswith(".") else label


def _clean_label(text: str) -> str:
    """A label as written, minus wrapping quotes/bold and a trailing period.

    >>> _clean_label(' "Billing." ')
    'Billing'
    >>> _clean_label("billing (because of the refund)")
    'billing (because of the refund)'
    """
    return _drop_period(unwrap(text))


def match_label(text: str, labels: Sequence[str]) -> str | None:
    """The label in ``labels`` that ``text`` names, in the set's spelling, else None.

    >>> match_label("BILLING.", ["billing", "shipping"])
    'billing'
    >>> match_label("billing because", ["billing", "shipping"]) is None
    True
    >>> match_label("u.s", ["U.S.", "EU"])
    'U.S.'
    """
    # Both sides lose a trailing period, so a label like "U.S." still matches
    # after parse() has dropped the period from the teacher's "U.S.".
    cleaned = _clean_label(text)
    for label in labels:  # exact spelling wins if the set has case variants
        if _clean_label(label) == cleaned:
            return label
    folded = cleaned.casefold()
    for label in labels:
        if _clean_label(label).casefold() == folded:
            return label
    return None


MAX_INPUT = 300  # characters of one example's input in the structured form


@dataclass(frozen=True)
class ClassificationTask:
    """Strict format: ``Input: <text>`` then ``Label: <label>``, both single-line.

    >>> t = ClassificationTask()
    >>> t.parse("1. **Input:** I was charged twice\\n**Label:** Billing.").examples
    [Example(input='I was charged twice', output='Billing')]
    >>> t.validate(Example("I was charged twice", "Billing"), ["billing", "shipping"])
    (True, 'ok')
    >>> t.validate(Example("Where is my box?", "billing (wrong)"), ["billing", "shipping"])
    (False, 'label_not_in_set')
    >>> t.is_correct(" shipping\\n\\nInput: next", "Shipping", ["billing", "shipping"])
    True
    """

    name: str = "classification"
    input_field: str = "Input"
    output_field: str = "Label"
    has_labels: bool = True
    has_labels: bool = True  # outputs come from a label set fixed by the seed data

    def parse(self, raw: str) -> ParseResult:
        """The structured (JSON) form or the text form.

        >>> ClassificationTask().parse('{"examples": [{"input": "Hi", "label": "greeting"}]}').examples
        [Example(input='Hi', output='greeting')]
        """
        fields = [self.input_field, self.output_field]
        records, errors = parse_json(raw, fields) or parse_blocks(raw, fields)
        examples = [Example(r["input"], _drop_period(r["label"])) for r in records]
        return ParseResult(examples, errors)

    def output_schema(self, labels: Sequence[str] | None, k: int | None = None) -> dict[str, Any]:
        """JSON schema of a structured answer: up to k examples, each a one-line input (at most
        MAX_INPUT characters: a bound also keeps a weak model from writing forever inside a string)
        and a label from the label set.

        >>> schema = ClassificationTask().output_schema(["a", "b"])
        >>> schema["properties"]["examples"]["items"]["properties"]["label"]
        {'type': 'string', 'enum': ['a', 'b']}
        """
        label: dict[str, Any] = {"type": "string"}
        if labels:
            label["enum"] = list(labels)
        return examples_schema({"input": {"type": "string", "maxLength": MAX_INPUT}, "label": label}, k)

    def validate(self, example: Example, labels: Sequence[str] | None) -> tuple[bool, str]:
        """Keep an example whose input is non-empty and whose label is in ``labels``.

        With ``labels=None`` the label set is open: any non-empty label is kept.

        >>> ClassificationTask().validate(Example("  ", "billing"), ["billing"])
        (False, 'empty_input')
        >>> ClassificationTask().validate(Example("hi", ""), None)
        (False, 'empty_label')
        """
        if not example.input.strip():
            return False, "empty_input"
        if not _clean_label(example.output):
            return False, "empty_label"
        if labels is not None and match_label(example.output, labels) is None:
            return False, "label_not_in_set"
        return True, "ok"

    def answer(self, text: str, labels: Sequence[str] | None) -> str | None:
        """The label named by the first non-empty line of ``text`` (a gold label or
        a student's generation), or None.

        >>> ClassificationTask().answer("  Shipping\\nInput: more", ["billing", "shipping"])
        'shipping'
        >>> ClassificationTask().answer("refund", ["billing", "shipping"]) is None
        True
        >>> ClassificationTask().answer("**Refund**", None)
        'Refund'
        """
        first = next((line for line in text.splitlines() if line.strip()), "")
        if labels is not None:
            return match_label(first, labels)
        return _clean_label(first) or None

    def is_correct(self, prediction: str, gold: str, labels: Sequence[str] | None) -> bool:
        """Compare the labels named by ``prediction`` and ``gold``, ignoring case.

        >>> ClassificationTask().is_correct("Refund", "refund", None)
        True
        """
        predicted, expected = self.answer(prediction, labels), self.answer(gold, labels)
        if predicted is None or expected is None:
            return False
        return predicted.casefold() == expected.casefold()

    def format_example(self, example: Example) -> str:
        """The strict block; values that the parser would unwrap are quoted.

        >>> print(ClassificationTask().format_example(Example("Hi there", "greeting")))
        Input: Hi there
        Label: greeting
        """
        return f"{self.input_field}: {protect(example.input)}\n{self.output_field}: {protect(example.output)}"

    def format_examples(self, examples: Sequence[Example]) -> str:
        """Blocks separated by one blank line."""
        return "\n\n".join(self.format_example(e) for e in examples)

    def student_prompt(self, input: str) -> str:
        """The prompt a causal-LM student completes with the label.

        >>> ClassificationTask().student_prompt("Hi")
        'Input: Hi\\nLabel:'
        """
        return f"{self.input_field}: {input}\n{self.output_field}:"

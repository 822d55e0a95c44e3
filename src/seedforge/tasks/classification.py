"""Text classification: one line of input, one label from a fixed set.

Labels are matched case-insensitively and returned in the label set's own
spelling; anything beyond the label (an explanation, a second label) makes the
example invalid rather than being trimmed away, since we cannot tell which part
the teacher meant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from seedforge.tasks.base import Example, Task
from seedforge.tasks.parsing import unwrap
from seedforge.tasks.registry import register


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


@register
@dataclass(frozen=True)
class ClassificationTask(Task):
    """Strict format: ``Input: <text>`` then ``Label: <label>``, both single-line.

    Bound to a label set (from the seed set), it validates and answers within that set; unbound
    (``labels=None``) any non-empty label is accepted.

    >>> t = ClassificationTask().with_labels(["billing", "shipping"])
    >>> t.parse("1. **Input:** I was charged twice\\n**Label:** Billing.").examples
    [Example(input='I was charged twice', output='Billing')]
    >>> t.validate(Example("I was charged twice", "Billing"))
    (True, 'ok')
    >>> t.validate(Example("Where is my box?", "billing (wrong)"))
    (False, 'label_not_in_set')
    >>> t.correct(" shipping\\n\\nInput: next", "Shipping")
    True
    """

    kind: ClassVar[str] = "classification"
    checkable_labels: ClassVar[bool] = True
    input_field: str = "Input"
    output_field: str = "Label"

    def bind(self, seed: Sequence[Example]) -> ClassificationTask:
        """Fix the label set to the seed set's (sorted) labels.

        >>> ClassificationTask().bind([Example("a", "pos"), Example("b", "neg")]).labels
        ('neg', 'pos')
        """
        labels = sorted({e.output.strip() for e in seed} - {""})
        if len(labels) < 2:
            raise ValueError(f"has {len(labels)} distinct label(s); classification needs at least 2")
        return replace(self, labels=tuple(labels))

    def input_schema(self) -> dict[str, Any]:
        """One short line: a bound also keeps a weak model from writing forever inside a string.

        >>> schema = ClassificationTask(labels=("a", "b")).output_schema()
        >>> schema["properties"]["examples"]["items"]["properties"]
        {'input': {'type': 'string', 'maxLength': 300}, 'label': {'type': 'string', 'enum': ['a', 'b']}}
        """
        return {"type": "string", "maxLength": 300}

    def clean(self, example: Example) -> Example:
        return Example(example.input, _drop_period(example.output))

    def gold(self, output: str) -> str:
        """The label in the set's spelling.

        >>> ClassificationTask(labels=("a", "b")).gold("c")
        Traceback (most recent call last):
        ...
        ValueError: label 'c' is not in the seed set's labels (a, b)
        """
        if self.labels is None:
            return output
        canonical = self.answer(output)
        if canonical is None:
            raise ValueError(f"label {output!r} is not in the seed set's labels ({', '.join(self.labels)})")
        return canonical

    def validate(self, example: Example) -> tuple[bool, str]:
        """Keep an example whose input is non-empty and whose label is in the label set.

        >>> ClassificationTask(labels=("billing",)).validate(Example("  ", "billing"))
        (False, 'empty_input')
        >>> ClassificationTask().validate(Example("hi", ""))
        (False, 'empty_label')
        """
        if not example.input.strip():
            return False, "empty_input"
        if not _clean_label(example.output):
            return False, "empty_label"
        if self.labels is not None and match_label(example.output, self.labels) is None:
            return False, "label_not_in_set"
        return True, "ok"

    def answer(self, text: str) -> str | None:
        """The label named by the first non-empty line of ``text`` (a gold label or
        a student's generation), or None.

        >>> t = ClassificationTask(labels=("billing", "shipping"))
        >>> t.answer("  Shipping\\nInput: more")
        'shipping'
        >>> t.answer("refund") is None
        True
        >>> ClassificationTask().answer("**Refund**")
        'Refund'
        """
        first = next((line for line in text.splitlines() if line.strip()), "")
        if self.labels is not None:
            return match_label(first, self.labels)
        return _clean_label(first) or None

"""The task interface: how one kind of example is parsed, checked, scored and shown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Example:
    """One example: the model input and the gold output text.

    >>> Example("I was charged twice", "billing").output
    'billing'
    """

    input: str
    output: str


@dataclass(frozen=True)
class ParseResult:
    """Examples parsed from teacher text, plus one reason per broken fragment.

    >>> ParseResult([], ["missing_field:label"]).errors
    ['missing_field:label']
    """

    examples: list[Example]
    errors: list[str]


class Task(Protocol):
    """What the pipeline needs to know about a task (see ``classification``, ``math``)."""

    name: str
    input_field: str  # field name in the strict format, e.g. "Input" / "Question"
    output_field: str  # e.g. "Label" / "Answer"
    has_labels: bool  # outputs come from a closed label set (pass ``labels`` to the methods below)
    has_labels: bool  # outputs are labels from the seed set (classification) or free text

    def parse(self, raw: str) -> ParseResult: ...

    def output_schema(self, labels: Sequence[str] | None, k: int | None = None) -> dict[str, Any]:
        """JSON schema of the structured answer (`{"examples": [...]}`, at most k) for constrained
        decoding."""
        ...

    def validate(self, example: Example, labels: Sequence[str] | None) -> tuple[bool, str]: ...

    def answer(self, text: str, labels: Sequence[str] | None) -> str | None: ...

    def is_correct(self, prediction: str, gold: str, labels: Sequence[str] | None) -> bool: ...

    def format_example(self, example: Example) -> str: ...

    def format_examples(self, examples: Sequence[Example]) -> str: ...

    def student_prompt(self, input: str) -> str: ...


def examples_schema(item: dict[str, Any], k: int | None = None) -> dict[str, Any]:
    """`{"examples": [item, ...]}` with 1 to k items, every field required.

    >>> examples_schema({"input": {"type": "string"}}, k=3)["properties"]["examples"]["maxItems"]
    3
    """
    schema = {
        "type": "object",
        "properties": {
            "examples": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": item,
                    "required": list(item),
                    "additionalProperties": False,
                },
            }
        },
        "required": ["examples"],
        "additionalProperties": False,
    }
    if k is not None:
        schema["properties"]["examples"]["maxItems"] = k
    return schema

"""The task base class: a template's fields, a parser and an evaluator on one object.

A task kind (classification, multiple choice, math, instruction) subclasses :class:`Task` and
overrides what differs: how an output is validated, how an answer is read from text, and how two
answers are scored. Formatting (the strict ``Field: value`` blocks the teacher writes and the
student prompt) lives here once. A task is *bound* to its data: `prepare` fixes the label set (or
the option letters) from the seed set, writes the bound task to `data/prepared/task.json`, and
every later stage rebuilds the same object from there with :func:`seedforge.tasks.from_info`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar

from seedforge.tasks.parsing import parse_blocks, parse_json, protect


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


@dataclass(frozen=True)
class Task:
    """What the pipeline needs to know about a task; subclasses set ``kind`` and the hooks.

    ``threshold``: a prediction is correct when ``score(prediction, gold) >= threshold``. Exact
    tasks score 0 or 1; free-form tasks (instruction) score a similarity in [0, 1].
    """

    kind: ClassVar[str] = ""
    multiline: ClassVar[tuple[str, ...]] = ()  # fields that may span lines (by role: input/output)
    # The label names what the input is, so a classifier fit on the seed set can check it
    # (`gates.label.enabled: auto`); a multiple-choice letter only names a position.
    checkable_labels: ClassVar[bool] = False

    input_field: str = "Input"
    output_field: str = "Output"
    threshold: float = 1.0
    labels: tuple[str, ...] | None = None  # a closed output set, fixed from the seed data

    @property
    def name(self) -> str:
        """The name records carry (their ``task`` field, part of every record id)."""
        return self.kind

    @property
    def has_labels(self) -> bool:
        """Whether outputs come from a closed set (a classifier student can learn this task)."""
        return self.labels is not None

    # --- binding to data ------------------------------------------------------------------------

    def bind(self, seed: Sequence[Example]) -> Task:
        """The task fixed to the seed set (label set, option letters); unchanged by default."""
        return self

    def info(self) -> dict[str, Any]:
        """What `task.json` stores: enough to rebuild this exact task in any stage."""
        out = {"kind": self.kind, **asdict(self)}
        out["labels"] = list(self.labels) if self.labels is not None else None
        return out

    def with_labels(self, labels: Sequence[str] | None) -> Task:
        return replace(self, labels=tuple(labels) if labels is not None else None)

    # --- source rows ----------------------------------------------------------------------------

    def compose(self, text: str, options: Sequence[str] | None) -> str:
        """The record input from a source row's input text (and options, for multiple choice)."""
        if options is not None:
            raise ValueError(f"task kind {self.kind!r} takes no options column")
        return text

    def gold(self, output: str) -> str:
        """A source row's output as the record stores it; ValueError (a reason) if unusable."""
        if self.answer(output) is None:
            raise ValueError(f"no answer can be extracted from {output[:60]!r}")
        return output

    # --- teacher text ---------------------------------------------------------------------------

    def parse(self, raw: str) -> ParseResult:
        """The structured (JSON) form, or else the text form of strict blocks.

        >>> from seedforge.tasks import get_task
        >>> get_task("classification").parse('{"examples": [{"input": "Hi", "label": "greeting"}]}').examples
        [Example(input='Hi', output='greeting')]
        """
        multi = [
            f
            for f, role in ((self.input_field, "input"), (self.output_field, "output"))
            if role in self.multiline
        ]
        fields = [self.input_field, self.output_field]
        records, errors = parse_json(raw, fields) or parse_blocks(raw, fields, multiline=multi)
        keys = self.input_field.lower(), self.output_field.lower()
        return ParseResult([self.clean(Example(r[keys[0]], r[keys[1]])) for r in records], errors)

    def output_schema(self, k: int | None = None) -> dict[str, Any]:
        """JSON schema of a structured answer (`{"examples": [...]}`, at most k) for constrained
        decoding; keys are the lower-cased field names, as `parse` reads them back."""
        item = {
            self.input_field.lower(): self.input_schema(),
            self.output_field.lower(): self.output_item_schema(),
        }
        return examples_schema(item, k)

    def input_schema(self) -> dict[str, Any]:
        # A bound also keeps a weak model from writing forever inside a string.
        return {"type": "string", "maxLength": MAX_INPUT}

    def output_item_schema(self) -> dict[str, Any]:
        if self.labels is not None:
            return {"type": "string", "enum": list(self.labels)}
        return {"type": "string"}

    def clean(self, example: Example) -> Example:
        """Tidy a parsed example (drop a teacher's sign-off, a trailing period)."""
        return example

    def validate(self, example: Example) -> tuple[bool, str]:
        """``(keep, reason)`` for a generated example; the reason names the first problem."""
        if not example.input.strip():
            return False, "empty_input"
        if not example.output.strip():
            return False, "empty_output"
        return self.validate_output(example)

    def validate_output(self, example: Example) -> tuple[bool, str]:
        return True, "ok"

    # --- student side ---------------------------------------------------------------------------

    def answer(self, text: str) -> str | None:
        """The answer that ``text`` (a gold output or a student's generation) gives, or None."""
        raise NotImplementedError

    def score(self, prediction: str, gold: str) -> float:
        """How well ``prediction`` matches ``gold``, in [0, 1]; exact tasks give 0 or 1."""
        predicted, expected = self.answer(prediction), self.answer(gold)
        if predicted is None or expected is None:
            return 0.0
        return 1.0 if predicted.casefold() == expected.casefold() else 0.0

    def correct(self, prediction: str, gold: str) -> bool:
        return self.score(prediction, gold) >= self.threshold

    # --- formatting (shared by every kind) ------------------------------------------------------

    def format_example(self, example: Example) -> str:
        """The strict block; values that the parser would unwrap are quoted.

        >>> from seedforge.tasks import get_task
        >>> print(get_task("classification").format_example(Example("Hi there", "greeting")))
        Input: Hi there
        Label: greeting
        """
        return f"{self.input_field}: {protect(example.input)}\n{self.output_field}: {protect(example.output)}"

    def format_examples(self, examples: Sequence[Example]) -> str:
        """Blocks separated by one blank line."""
        return "\n\n".join(self.format_example(e) for e in examples)

    def student_prompt(self, input: str) -> str:
        """The prompt a causal-LM student completes with the output.

        >>> from seedforge.tasks import get_task
        >>> get_task("math").student_prompt("What is 2+2?")
        'Question: What is 2+2?\\nAnswer:'
        """
        return f"{self.input_field}: {input}\n{self.output_field}:"

    def own_text(self, text: str) -> str:
        """``text`` up to a line that starts the next example (students often invent one).

        >>> from seedforge.tasks import get_task
        >>> get_task("math").own_text("#### 7\\n\\nQuestion: What is 2+2?")
        '#### 7\\n'
        """
        lines = text.replace("\r\n", "\n").split("\n")
        head = f"{self.input_field.lower().replace(' ', '')}:"
        for i, line in enumerate(lines):
            if i and line.strip().lower().replace(" ", "").startswith(head):
                return "\n".join(lines[:i])
        return "\n".join(lines)


MAX_INPUT = 600  # characters of one example's input in the structured form


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

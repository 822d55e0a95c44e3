"""Typed rows for every file the loop writes besides datasets (those hold `Record`s).

Per iteration i, under `data/iterations/<i>/` (see `seedforge.schema.layout`):

- `predictions.jsonl`: one `PredictionRow` per seed, test and dev example, for iteration i's student;
- `selected.jsonl`: one `SelectionRow` per seed example chosen for augmentation;
- `calls.jsonl`: one `CallRow` per teacher call (failed calls too);
- `rejects.jsonl`: one `RejectRow` per candidate or call that did not make it in;
- `annotated.jsonl` (records, `origin: annotated`) and `annotate_rejects.jsonl` (`RejectRow`s): annotate@i.

`output` means the same thing from the dataset to the prediction to the selection: the example's
gold answer (a label, or a GSM8K-style answer). Unknown fields are errors, so a file written by a
different version fails loudly with its file, line and field instead of being half understood.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from seedforge.schema.records import TeacherRef, TemplateRef


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def to_row(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class PredictionRow(Row):
    """What iteration i's student answered for one example of the seed, test or dev set."""

    id: str
    split: str  # seed | test | dev | generated (under loop.select: wrong_any)
    input: str
    output: str  # the gold answer (the record's output)
    prediction: str  # the student's text
    answer: str | None  # the answer extracted from it (None: nothing extractable)
    score: float  # the task's score in [0, 1] (exact tasks: 0 or 1; free-form: overlap)
    correct: bool  # score reaches the task's threshold
    # The student's probability of the gold answer (classifier students; None where a student
    # only writes text). loop.select: hardest ranks the right answers by it.
    confidence: float | None = None


class SelectionRow(Row):
    """A seed example chosen for augmentation, with the student's answer that got it chosen."""

    id: str
    input: str
    output: str
    prediction: str
    # False for a wrong answer; True for a right one `hardest` took because the student was unsure,
    # whose answer the teacher must not be told is wrong.
    correct: bool = False


class ErrorInfo(Row):
    """Why a call failed after its last attempt (`seedforge.teachers.base.CallError` is the exception)."""

    cause: str  # rate_limit | server | timeout | connection | bad_response | client
    message: str  # one line naming teacher and URL, with the server's words


class CallRequest(Row):
    """What was sent: chat messages plus an optional assistant prefill for completion models.

    `prompt` is the older single rendered prompt (call rows written before chat requests).
    """

    messages: list[dict[str, str]] | None = None
    prefill: str | None = None
    stop: list[str] | None = None
    # "schema" would shadow a BaseModel attribute: the field is named for what it is, stored as "schema"
    output_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    prompt: str | None = None

    def text(self) -> str:
        """The request as one readable text: each message under its role, then the prefill.

        >>> CallRequest(messages=[{"role": "user", "content": "Hi"}], prefill="Input:").text()
        '[user]\\nHi\\n[assistant prefill]\\nInput:'
        >>> CallRequest(prompt="Write 2 examples").text()
        'Write 2 examples'
        """
        parts = [] if self.prompt is None else [self.prompt]
        for m in self.messages or []:
            parts.append(f"[{m.get('role', '?')}]\n{m.get('content', '')}")
        if self.prefill:
            parts.append(f"[assistant prefill]\n{self.prefill}")
        return "\n".join(parts)


class CallRow(Row):
    """One teacher call, answered or failed; examples parsed from it point here by `call`."""

    call: str  # the call key (cache key): backend, model fingerprint, sampling and the whole request
    parent_id: str  # the seed example the call augments
    teacher: TeacherRef
    template: TemplateRef
    request: CallRequest
    sampling: dict[str, Any]  # sampling params, per-call seed and sample index
    raw: str | None  # the teacher's whole output (None when the call failed)
    finish_reason: str | None = None
    usage: dict[str, int] = {}  # prompt_tokens, completion_tokens
    attempts: int = 1  # attempts the answer took (retries included), as stored with it
    error: ErrorInfo | None = None  # why the last attempt failed; null when answered

    @model_validator(mode="before")
    @classmethod
    def _older_names(cls, row: Any) -> Any:
        """Call rows written before the chat-request client: `prompt` and `generation`."""
        if isinstance(row, dict) and ("prompt" in row or "generation" in row):
            row = dict(row)
            if "prompt" in row:
                row["request"] = {"prompt": row.pop("prompt")}
            if "generation" in row:
                row["sampling"] = row.pop("generation")
        return row


class RejectRow(Row):
    """One thing that did not make it in: a candidate example, or a whole call (parse failures).

    Fields that do not apply are null: a parse failure has no `id`; only a gate that compares
    against another row (duplicates, leakage) fills `matched_id` and `score`; only the label check
    fills `answer`, the label its reference classifier gave instead.
    """

    reason: str
    call: str | None = None
    parent_id: str | None = None
    id: str | None = None
    input: str | None = None
    output: str | None = None
    matched_id: str | None = None
    score: float | None = None
    answer: str | None = None  # label check: the reference's label (kNN vote or the student's)


# One shape for every dropped example or call, from parsing to the last gate (null where not
# applicable), so rejects.jsonl can be read as one table: the fields of `RejectRow`, in order.
REJECT_FIELDS = tuple(RejectRow.model_fields)


def reject_row(reason: str, **fields: Any) -> dict[str, Any]:
    """A reject row with every field present, checked against `RejectRow`.

    >>> reject_row("call:error", call="c1")["matched_id"] is None
    True
    >>> tuple(reject_row("parse:no_examples")) == REJECT_FIELDS
    True
    """
    return RejectRow(reason=reason, **fields).to_row()


def sort_rejects(rejects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stable order: by call, reason, then record id (nulls first)."""
    return sorted(rejects, key=lambda r: (r["call"] or "", r["reason"], r["id"] or "", r["matched_id"] or ""))

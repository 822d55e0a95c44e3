"""The one record type that flows through every stage and every dataset file.

A record's `id` is a hash of its content (task, input, output), so the same example written twice
(by two teachers, or in two iterations) has the same id: exact-duplicate checks are id lookups, and
datasets sorted by id hash the same in DVC however they were built. Nothing time-dependent is
stored, for the same reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer, model_validator

from seedforge.io import dumps, read_rows, write_jsonl

Origin = Literal["seed", "generated", "annotated"]


def record_id(task: str, input: str, output: str) -> str:
    """Content hash of an example: 16 hex digits of sha256 over its canonical JSON.

    Whitespace at the ends does not count, so a teacher's trailing newline makes no new example.

    >>> record_id("classification", "great film", "positive")
    '9705d826e1458b53'
    >>> record_id("classification", " great film ", "positive")
    '9705d826e1458b53'
    """
    payload = dumps([task, input.strip(), output.strip()])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class TeacherRef(BaseModel):
    """Which teacher wrote a record: the profile name from params, the model it ran and, for local
    weights, the sha256 of the model file and of the LoRA adapter applied on it.

    The hashes let an audit tell which tuned adapter wrote a row (two runs of teacher_finetune
    give adapters with the same file name). Rows written before they existed, and teachers
    without local weights (an API model), have none: absent fields are left out of the row.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    profile: str
    backend: str
    model: str
    model_sha256: str | None = None
    lora_sha256: str | None = None

    @model_serializer(mode="wrap")
    def _without_absent_hashes(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        row = handler(self)
        for key in ("model_sha256", "lora_sha256"):
            if row.get(key) is None:
                row.pop(key, None)
        return row


class TemplateRef(BaseModel):
    """The prompt template a record came from, pinned by content."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str
    sha256: str


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    task: str
    input: str
    output: str
    origin: Origin
    iteration: int  # the iteration whose dataset the record entered
    parent_id: str | None = None  # the seed example it was made from
    teacher: TeacherRef | None = None
    template: TemplateRef | None = None
    sampling: dict[str, Any] | None = None  # sampling params and sample index of the call
    # The key of the teacher call it was parsed from: the call row in that iteration's
    # calls.jsonl holds the prompt and the whole raw output, once for all its examples.
    call: str | None = None
    gates: dict[str, float] = {}  # scores that gates attach (later: embedding similarity)

    @model_validator(mode="before")
    @classmethod
    def _older_names(cls, row: Any) -> Any:
        """Records written before the rename kept the call's sampling params as `generation`;
        reading them keeps diffs and audits across older revisions working."""
        if isinstance(row, dict) and "generation" in row and "sampling" not in row:
            row = {**row, "sampling": row["generation"]}
            del row["generation"]
        return row

    @classmethod
    def seed(cls, task: str, input: str, output: str) -> Record:
        return cls(
            id=record_id(task, input, output),
            task=task,
            input=input.strip(),
            output=output.strip(),
            origin="seed",
            iteration=0,
        )

    def to_row(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def sort_records(records: Iterable[Record]) -> list[Record]:
    """Sort by id so that file bytes depend only on content."""
    return sorted(records, key=lambda r: r.id)


def write_records(path: Path, records: Iterable[Record]) -> int:
    return write_jsonl(path, (r.to_row() for r in sort_records(records)))


def read_records(path: Path) -> list[Record]:
    """Read a dataset file; a row that does not fit the schema names the file, line and field."""
    return read_rows(path, Record)

"""The row type of the instruction pipeline, and its provenance.

Why not `seedforge.schema.records.Record`: a Record is one (input, output) example with one `parent_id`,
frozen with `extra="forbid"`. An instruction row needs what Record has no field for: the
instruction and its optional input context apart (Alpaca's `instruction`/`input`), several parents
(expand is shown m seed instructions at once), the operator that made it, a judge score *with its
reason*, and a category string. Widening Record would change every LLM2LLM dataset file, so the
row lives here and converts to a Record (`to_record`) where shared code (gates, students) wants one.

The id is a content hash (instruction, context, response), like Record's, so the same pair made
twice has one id and sorted files hash the same in DVC however they were built.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from seedforge import io
from seedforge.io import dumps, write_jsonl
from seedforge.schema.records import Record, TeacherRef, TemplateRef

Origin = Literal["seed", "expanded", "refined", "responded", "extracted"]
TASK = "instruction"  # Record.task of converted rows


def row_id(instruction: str, context: str = "", response: str = "") -> str:
    """16 hex digits of sha256 over the stripped (instruction, context, response).

    >>> row_id("Name three primes.")
    'b97f5467c357bada'
    >>> row_id(" Name three primes.\\n") == row_id("Name three primes.")
    True
    >>> row_id("Name three primes.", response="2, 3, 5") == row_id("Name three primes.")
    False
    """
    payload = dumps([TASK, instruction.strip(), context.strip(), response.strip()])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


ScoreSource = Literal["distribution", "top_logprobs", "json", "text"]


class Judgement(BaseModel):
    """A judge's verdict on one pair.

    `source` says how the score was read: "distribution" is the probability-weighted mean over
    the score tokens 1..10 (G-Eval) that a llama.cpp teacher scored, with the whole distribution
    kept in `distribution`; "top_logprobs" is the same mean over an HTTP server's alternatives at
    the written score's token; "json" is the integer of a JSON answer (the task schema's), "text"
    one parsed from prose, each with the judge's `reason`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    score: float  # 1..10: the expected score (a distribution) or the integer written ("json", "text")
    reason: str = ""
    call: str  # the judge call's key
    source: ScoreSource = "text"
    distribution: dict[str, float] | None = None  # P(score = k) for k "1".."10", sums to 1
    # cosine of instruction (+ context) and response under the gates' encoder; None when not
    # measured or the response is too short to compare (judge.RELEVANCE_MIN_WORDS)
    relevance: float | None = None


class InstructionRow(BaseModel):
    """One instruction (with its response once `respond` or `extract` wrote one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    instruction: str
    context: str = ""  # Alpaca's `input`: material the instruction refers to
    response: str = ""
    origin: Origin
    operator: str  # "seed", "expand", "refine", "respond", "extract", "judge", "categorize"
    round: int = 0  # expand round the instruction was made in
    parent_ids: list[str] = []  # the rows (or passage ids) this one was made from
    seed_ids: list[str] = []  # the seed rows at the root of its history (provenance shortcut)
    source: str | None = None  # where a seed or passage came from: "file:line" or "file#passage"
    teacher: TeacherRef | None = None
    template: TemplateRef | None = None
    call: str | None = None  # the call key of the teacher call that wrote this row's newest field
    sampling: dict[str, Any] | None = None  # sampling params of that call
    raw: str | None = None  # the teacher's whole answer for that call
    judge: Judgement | None = None
    category: str | None = None
    category_call: str | None = None  # the categorize call's key
    category_scores: dict[str, float] | None = None  # P(category) over the list, when scored
    gates: dict[str, float] = {}  # scores that embedding gates attach (later)

    @classmethod
    def make(cls, instruction: str, context: str = "", response: str = "", **fields: Any) -> InstructionRow:
        """A row whose id is the content hash of its (stripped) text.

        >>> r = InstructionRow.make(" Name three primes. ", origin="seed", operator="seed")
        >>> r.instruction, r.id == row_id("Name three primes.")
        ('Name three primes.', True)
        """
        instruction, context, response = instruction.strip(), context.strip(), response.strip()
        return cls(
            id=row_id(instruction, context, response),
            instruction=instruction,
            context=context,
            response=response,
            **fields,
        )

    def derive(self, **changes: Any) -> InstructionRow:
        """A new row made from this one: text changes re-hash the id, this row becomes the parent.

        >>> seed = InstructionRow.make("Name three primes.", origin="seed", operator="seed")
        >>> answered = seed.derive(response="2, 3, 5", origin="responded", operator="respond")
        >>> answered.parent_ids == [seed.id], answered.seed_ids == [seed.id]
        (True, True)
        """
        base = self.model_dump()
        base.update(
            parent_ids=[self.id], seed_ids=self.seed_ids or ([self.id] if self.origin == "seed" else [])
        )
        base.update(changes)
        for key in ("id",):
            base.pop(key)
        return InstructionRow.make(base.pop("instruction"), base.pop("context"), base.pop("response"), **base)

    def prompt_text(self) -> str:
        """The instruction as a model sees it: the context, if any, below it.

        >>> row = InstructionRow.make("Translate to French.", "good morning", origin="seed", operator="seed")
        >>> row.prompt_text()
        'Translate to French.\\n\\ngood morning'
        """
        return f"{self.instruction}\n\n{self.context}" if self.context else self.instruction

    def to_record(self, iteration: int = 0) -> Record:
        """The shared Record view (task "instruction"), for gates and students.

        >>> r = InstructionRow.make("Say hi.", response="Hi!", origin="responded", operator="respond")
        >>> rec = r.to_record()
        >>> rec.task, rec.input, rec.output, rec.origin
        ('instruction', 'Say hi.', 'Hi!', 'generated')
        """
        return Record(
            id=self.id,
            task=TASK,
            input=self.prompt_text(),
            output=self.response,
            origin="seed" if self.origin == "seed" else "generated",
            iteration=iteration,
            parent_id=self.parent_ids[0] if self.parent_ids else None,
            teacher=self.teacher,
            template=self.template,
            call=self.call,
            gates=dict(self.gates),
        )

    def to_row(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def write_rows(path: Path, rows: Iterable[InstructionRow]) -> int:
    """Write rows sorted by id (rows with equal ids keep their order: rebalance repeats rows)."""
    return write_jsonl(path, (r.to_row() for r in sorted(rows, key=lambda r: r.id)))


def read_rows(path: Path) -> list[InstructionRow]:
    """Read an instruction file; a row that does not fit names the file, line and field."""
    return io.read_rows(path, InstructionRow)

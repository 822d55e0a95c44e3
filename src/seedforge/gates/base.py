"""The gate interface: a batch of records in, one verdict per record out.

Like datatrove's filters, a gate answers keep-or-reason per record, but sees the whole batch at
once (`filter_batch`), so model-backed gates embed and search in bulk and cheap per-record gates
fit the same shape. Scores a gate computes are kept on the record (`Record.gates`); a drop also
names the row it matched and how closely.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from seedforge.schema.records import Record
from seedforge.schema.rows import reject_row

SCORE_DIGITS = 4  # scores are rounded so that outputs are byte-stable across BLAS builds


@dataclass(frozen=True)
class Verdict:
    reason: str | None = None  # None: keep
    scores: dict[str, float] = field(default_factory=dict)
    matched_id: str | None = None
    score: float | None = None
    answer: str | None = None  # label check: the label the reference classifier gave

    @property
    def keep(self) -> bool:
        return self.reason is None


KEEP = Verdict()


class Gate(Protocol):
    name: str

    def filter_batch(self, records: Sequence[Record]) -> list[Verdict]: ...


def run_gates(records: Sequence[Record], gates: Sequence[Gate]) -> tuple[list[Record], list[dict[str, Any]]]:
    """Pass the batch through the gates in order; a record dropped by one is not seen by the next.

    Returns the kept records (in input order, with every gate's scores on `gates`) and one reject
    row per dropped record.
    """
    alive = list(range(len(records)))
    scores: list[dict[str, float]] = [dict(r.gates) for r in records]
    rejects = []
    for gate in gates:
        verdicts = gate.filter_batch([records[i] for i in alive])
        if len(verdicts) != len(alive):
            raise RuntimeError(f"gate {gate.name} returned {len(verdicts)} verdicts for {len(alive)} records")
        survivors = []
        for i, v in zip(alive, verdicts, strict=True):
            scores[i].update({k: round(float(s), SCORE_DIGITS) for k, s in v.scores.items()})
            if v.keep:
                survivors.append(i)
                continue
            r = records[i]
            rejects.append(
                reject_row(
                    v.reason or "",
                    call=_call(r),
                    parent_id=r.parent_id,
                    id=r.id,
                    input=r.input,
                    output=r.output,
                    matched_id=v.matched_id,
                    score=None if v.score is None else round(float(v.score), SCORE_DIGITS),
                    answer=v.answer,
                )
            )
        alive = survivors
    kept = [records[i].model_copy(update={"gates": dict(sorted(scores[i].items()))}) for i in alive]
    return kept, rejects


def _call(record: Record) -> str | None:
    return record.call

"""Exact-duplicate gate: content-hash ids already in the dataset or earlier in this batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from seedforge.gates.base import KEEP, Gate, Verdict
from seedforge.gates.registry import Context, register
from seedforge.schema.records import Record


class ExactDuplicate:
    """The first copy in batch order survives; later copies and copies of dataset rows go.

    >>> r = Record.seed("classification", "hi", "a")
    >>> [v.reason for v in ExactDuplicate(existing=[]).filter_batch([r, r])]
    [None, 'duplicate:batch']
    >>> ExactDuplicate(existing=[r.id]).filter_batch([r])[0].reason
    'duplicate:dataset'
    """

    name = "exact"

    def __init__(self, existing: Iterable[str]) -> None:
        self.existing = set(existing)

    def filter_batch(self, records: Sequence[Record]) -> list[Verdict]:
        seen: set[str] = set()
        out = []
        for r in records:
            if r.id in self.existing:
                out.append(Verdict("duplicate:dataset", matched_id=r.id, score=1.0))
            elif r.id in seen:
                out.append(Verdict("duplicate:batch", matched_id=r.id, score=1.0))
            else:
                seen.add(r.id)
                out.append(KEEP)
        return out


@register("exact", order=30)
def build(ctx: Context) -> Gate | None:
    return ExactDuplicate(r.id for r in ctx.dataset)

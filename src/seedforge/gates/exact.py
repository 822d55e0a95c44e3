"""Exact-duplicate gate: content-hash ids already in the dataset or earlier in this batch."""

from __future__ import annotations

from collections.abc import Iterable

from seedforge.records import Record


class ExactDuplicate:
    """Remembers every id it has seen, so order decides which copy survives.

    >>> r = Record.seed("classification", "hi", "a")
    >>> gate = ExactDuplicate(existing=[])
    >>> gate(r), gate(r)
    ((True, 'ok'), (False, 'duplicate:batch'))
    >>> ExactDuplicate(existing=[r.id])(r)
    (False, 'duplicate:dataset')
    """

    def __init__(self, existing: Iterable[str]) -> None:
        self.existing = set(existing)
        self.seen: set[str] = set()

    def __call__(self, record: Record) -> tuple[bool, str]:
        if record.id in self.existing:
            return False, "duplicate:dataset"
        if record.id in self.seen:
            return False, "duplicate:batch"
        self.seen.add(record.id)
        return True, "ok"

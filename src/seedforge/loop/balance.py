"""Balance: no round may push one label past a cap on its share of the dataset (issue 18).

A weak teacher can flood one class: round 1 of the shipped demo once added 39 rows, 35 of them
`account`, and the next student learned that class for almost everything. merge@i therefore
admits a round's new rows (generated and annotated) per label only up to
`loop.max_label_share` of the merged dataset. When more rows of a label pass than that allows,
the ones its label check was most sure of are kept (the lowest of the record's `label_*` gate
scores, or an annotated row's `probability`), ties by content-hash id; the rest are rejected
with reason `balance:cap`.

The cap counts the merged dataset, so it is solved as a fixed point: admitting fewer rows
shrinks the dataset, which lowers every label's allowance, until nothing changes. Labels that
already exceed the cap (an imbalanced seed set) keep what they have and get no new rows.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from seedforge.errors import SeedforgeError
from seedforge.schema.records import Record

REASON = "balance:cap"
# The default cap: half again an even share (1.5 / number of labels). Loose enough for a seed
# set's own mild imbalance and for rounds that add rows to a few confused labels, tight enough
# that one round cannot make a label the majority of a 4-way task (0.375 there; 0.75 for binary).
AUTO_FACTOR = 1.5


def cap(setting: float | str | None, n_labels: int) -> float | None:
    """The share a label may reach: `auto` is AUTO_FACTOR / n_labels (at most 1), None no cap.

    >>> cap("auto", 4), cap("auto", 2), cap(0.5, 3), cap(None, 4)
    (0.375, 0.75, 0.5, None)
    """
    if setting is None:
        return None
    share = min(1.0, AUTO_FACTOR / n_labels) if setting == "auto" else float(setting)
    if share * n_labels < 1:
        raise SeedforgeError(
            f"loop.max_label_share: {setting} is below an even share (1/{n_labels}) of the "
            f"{n_labels} labels, so no dataset can meet it; use at least {1 / n_labels:.3f} or auto"
        )
    return share


def confidence(record: Record) -> float:
    """How sure the label check was of the record's label: the lowest `label_*` gate score (every
    reference must agree), else an annotated row's own label probability, else 0."""
    checks = [v for k, v in record.gates.items() if k.startswith("label_")]
    if checks:
        return min(checks)
    return record.gates.get("probability", 0.0)


def balance(
    dataset: Sequence[Record],
    new: Sequence[Record],
    label_of: Callable[[Record], str],
    share: float | None,
) -> tuple[list[Record], list[dict[str, Any]]]:
    """(admitted new records, reject rows) with no label's share of the merged set above `share`."""
    if share is None:
        return list(new), []
    have = Counter(label_of(r) for r in dataset)
    by_label: dict[str, list[Record]] = defaultdict(list)
    for r in new:
        by_label[label_of(r)].append(r)
    for rows in by_label.values():
        rows.sort(key=lambda r: (-confidence(r), r.id))
    allowed = {label: len(rows) for label, rows in by_label.items()}
    while True:
        total = len(dataset) + sum(allowed.values())
        # The small epsilon keeps 0.375 * 80 = 30 from flooring to 29 in floating point.
        limit = {label: max(0, math.floor(share * total + 1e-9) - have[label]) for label in allowed}
        shrunk = {label: min(n, limit[label]) for label, n in allowed.items()}
        if shrunk == allowed:
            break
        allowed = shrunk
    admitted, rejects = [], []
    for label in sorted(by_label):
        rows = by_label[label]
        admitted += rows[: allowed[label]]
        for r in rows[allowed[label] :]:
            rejects.append(
                {
                    "reason": REASON,
                    "call": r.call,
                    "parent_id": r.parent_id,
                    "id": r.id,
                    "input": r.input,
                    "output": r.output,
                    "score": confidence(r),
                }
            )
    return admitted, rejects

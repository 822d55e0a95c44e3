"""Near-duplicates by embedding: against every row already in the dataset, then within the batch.

A candidate whose cosine to a dataset row (seed or an earlier iteration) is at or above the
threshold is `near_duplicate:dataset`; among the rest, a candidate that matches an earlier kept
candidate in batch order is `near_duplicate:batch`, so the first of each cluster survives.
"""

from __future__ import annotations

from collections.abc import Sequence

from seedforge.gates.base import Gate, Verdict
from seedforge.gates.registry import Context, register
from seedforge.schema.records import Record
from seedforge.vectors.embed import Encoder
from seedforge.vectors.search import earlier_pairs, first_kept, nearest


class NearDuplicate:
    name = "near_duplicate"

    def __init__(self, dataset: Sequence[Record], encoder: Encoder, threshold: float) -> None:
        self.dataset = list(dataset)
        self.encoder = encoder
        self.threshold = threshold

    def filter_batch(self, records: Sequence[Record]) -> list[Verdict]:
        if not records:
            return []
        vecs = self.encoder.encode([r.input for r in records])
        idx, cos = nearest(vecs, self.encoder.encode([r.input for r in self.dataset]))
        verdicts: list[Verdict] = []
        fresh = []  # positions not already near a dataset row
        for j in range(len(records)):
            scores = {"near_duplicate": float(cos[j])} if idx[j] >= 0 else {}
            if idx[j] >= 0 and cos[j] >= self.threshold:
                verdicts.append(
                    Verdict("near_duplicate:dataset", scores, self.dataset[idx[j]].id, float(cos[j]))
                )
            else:
                verdicts.append(Verdict(scores=scores))
                fresh.append(j)
        dropped = first_kept(len(fresh), earlier_pairs(vecs[fresh], self.threshold))
        for b, (a, s) in dropped.items():
            j = fresh[b]
            verdicts[j] = Verdict("near_duplicate:batch", verdicts[j].scores, records[fresh[a]].id, s)
        return verdicts


@register("near_duplicate", order=40)
def build(ctx: Context) -> Gate | None:
    return NearDuplicate(ctx.dataset, ctx.encoder, ctx.settings.near_duplicate)

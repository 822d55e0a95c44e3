"""Test and dev leakage: word n-gram overlap and embedding similarity, checked in every round.

A candidate that shares a word n-gram with a test (or dev) input, after lowercasing and
stripping punctuation, or whose embedding is at least `cosine` similar to one, is dropped with
the test row's id. Texts shorter than n words are compared whole. lm-evaluation-harness uses
n = 13 on long documents; generated examples are often one sentence, so the default is 8.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seedforge.gates.base import Gate, Verdict
from seedforge.gates.registry import Context, register
from seedforge.schema.records import Record
from seedforge.vectors.embed import Encoder
from seedforge.vectors.ngrams import NgramIndex
from seedforge.vectors.search import nearest


class Leakage:
    """Drop candidates that overlap a held-out split: `leak:<split>:ngram` or `leak:<split>:embedding`."""

    name = "leakage"

    def __init__(self, splits: dict[str, Sequence[Record]], encoder: Encoder, n: int, cosine: float) -> None:
        self.encoder = encoder
        self.cosine = cosine
        self.splits = {name: list(rows) for name, rows in splits.items() if rows}
        self.indexes = {
            name: NgramIndex(((r.id, r.input) for r in rows), n) for name, rows in self.splits.items()
        }
        self._vectors: dict[str, np.ndarray] = {}

    def filter_batch(self, records: Sequence[Record]) -> list[Verdict]:
        if not records:
            return []
        queries = self.encoder.encode([r.input for r in records])
        verdicts: list[Verdict | None] = [None] * len(records)
        scores: list[dict[str, float]] = [{} for _ in records]
        for split, rows in self.splits.items():
            if split not in self._vectors:
                self._vectors[split] = self.encoder.encode([r.input for r in rows])
            idx, cos = nearest(queries, self._vectors[split])
            for j, r in enumerate(records):
                scores[j][f"leak_cosine_{split}"] = float(cos[j])
                if verdicts[j] is not None:
                    continue
                matched, share = self.indexes[split].match(r.input)
                if matched is not None:
                    verdicts[j] = Verdict(f"leak:{split}:ngram", matched_id=matched, score=share)
                elif cos[j] >= self.cosine:
                    verdicts[j] = Verdict(
                        f"leak:{split}:embedding", matched_id=rows[idx[j]].id, score=float(cos[j])
                    )
        return [
            Verdict(v.reason, scores[j], v.matched_id, v.score)
            if v is not None
            else Verdict(scores=scores[j])
            for j, v in enumerate(verdicts)
        ]


@register("leakage", order=20)
def build(ctx: Context) -> Gate | None:
    """Before duplicates: every copy of a test sentence is reported as a leak, rather than one leak
    and many duplicates of a row that was never kept. Nothing held out: nothing to leak."""
    if not any(ctx.held_out.values()):
        return None
    lk = ctx.settings.leakage
    return Leakage(ctx.held_out, ctx.encoder, lk.ngram, lk.cosine)

"""Label check: keep a generated example only if its k nearest seed examples mostly agree.

A weak teacher often writes a good input with the wrong label. The reference classifier here is
k-nearest-neighbours over the seed set's embeddings: the candidate's label must be the (possibly
tied) most common label among its k nearest seed examples. The share of the k that agree is kept
on the record as `label_agreement`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch

from seedforge.embed import Encoder
from seedforge.gates.base import Verdict
from seedforge.records import Record

BLOCK = 4096


class LabelCheck:
    name = "label"

    def __init__(self, seed: Sequence[Record], encoder: Encoder, k: int) -> None:
        self.seed = sorted(seed, key=lambda r: r.id)
        self.encoder = encoder
        self.k = min(k, len(self.seed))

    def neighbours(self, vecs: np.ndarray) -> np.ndarray:
        """Indices of each row's k nearest seed examples, nearest first (blocked, bounded memory)."""
        keys = torch.from_numpy(self.encoder.encode([r.input for r in self.seed]))
        out = []
        for s in range(0, len(vecs), BLOCK):
            sims = torch.from_numpy(vecs[s : s + BLOCK]) @ keys.T
            out.append(torch.topk(sims, self.k, dim=1).indices.numpy())
        return np.concatenate(out) if out else np.zeros((0, self.k), dtype=np.int64)

    def filter_batch(self, records: Sequence[Record]) -> list[Verdict]:
        if not records or self.k == 0:
            return [Verdict() for _ in records]
        near = self.neighbours(self.encoder.encode([r.input for r in records]))
        verdicts = []
        for r, row in zip(records, near, strict=True):
            votes = Counter(self.seed[i].output for i in row)
            agreement = votes[r.output] / self.k
            scores = {"label_agreement": agreement}
            if votes[r.output] < max(votes.values()):
                top = max(votes, key=lambda label: (votes[label], label))
                matched = next(self.seed[i].id for i in row if self.seed[i].output == top)
                verdicts.append(Verdict("label:disagree", scores, matched, agreement))
            else:
                verdicts.append(Verdict(scores=scores))
        return verdicts

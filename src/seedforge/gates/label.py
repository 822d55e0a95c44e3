"""Label check: keep a generated example only if a reference classifier agrees with its label.

A weak teacher often writes a good input with the wrong label. Two references (params
`gates.label.reference`):

- `knn` (`LabelCheck`): k-nearest-neighbours over the seed set's embeddings. The candidate's label
  must be the (possibly tied) most common label among its k nearest seed examples; the share of
  the k that agree is kept on the record as `label_agreement`.
- `student` (`StudentLabelCheck`): the current iteration's student, the model evaluate@i scored.
  Its predicted label must be the candidate's; its probability of the candidate's label (a
  classifier's softmax; 1.0 or 0.0 for a causal student, which gives no probabilities) is kept
  as `label_student`.

A drop names the label the reference gave (`answer` in the reject row).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from seedforge.gates.base import Verdict
from seedforge.schema.records import Record
from seedforge.students import saved_student
from seedforge.tasks import Task
from seedforge.vectors.embed import Encoder

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
                verdicts.append(Verdict("label:disagree", scores, matched, agreement, answer=top))
            else:
                verdicts.append(Verdict(scores=scores))
        return verdicts


class StudentLabelCheck:
    """The current iteration's student as the reference classifier (see the module docstring).

    The model is loaded when the first batch arrives, from what its folder records
    (`students.saved_student`), on the gates' device.
    """

    name = "label"

    def __init__(self, model_dir: Path, task: Task, device: str = "auto") -> None:
        self.student = saved_student(model_dir, device)
        self.model_dir = Path(model_dir)
        self.task = task

    def filter_batch(self, records: Sequence[Record]) -> list[Verdict]:
        if not records:
            return []
        inputs = [r.input for r in records]
        wanted = [self.task.answer(r.output) or r.output for r in records]
        probabilities = getattr(self.student, "probabilities", None)
        if probabilities is not None:  # a classifier: its softmax over the label set
            labels, probs = probabilities(self.model_dir, inputs)
            answers = [labels[max(range(len(labels)), key=row.__getitem__)] for row in probs]
            scores = [
                row[labels.index(w)] if w in labels else 0.0 for row, w in zip(probs, wanted, strict=True)
            ]
        else:  # a causal LM: the label it generates, agreement only
            answers = [self.task.answer(p) for p in self.student.predict(self.model_dir, inputs)]
            scores = [float(a == w) for a, w in zip(answers, wanted, strict=True)]
        verdicts = []
        for answer, want, score in zip(answers, wanted, scores, strict=True):
            kept = {"label_student": score}
            if answer == want:
                verdicts.append(Verdict(scores=kept))
            else:
                verdicts.append(Verdict("label:student_disagree", kept, score=score, answer=answer))
        return verdicts

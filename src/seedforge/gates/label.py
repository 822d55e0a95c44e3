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
- `teacher` (`TeacherLabelCheck`): the round trip. The teacher, shown `shots` seed examples of
  every label, scores each label's log-probability after the candidate's input with annotate@i's
  scorer (`Scorer.score`); the candidate's own label must come out on top with a probability among
  the label set of at least `threshold`. That probability is kept as `label_teacher`.
- `consensus` (`ConsensusLabelCheck`): each of the references above that is available (knn
  always; student when filter gives its folder; teacher when the teacher can score) votes keep or
  drop by its own rule, and the candidate is kept only if a strict majority of them keep it
  (of two references, both). Every reference's score is kept on the record.

A drop names the label the reference gave (`answer` in the reject row).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from seedforge.errors import SeedforgeError
from seedforge.gates.base import Gate, Verdict
from seedforge.gates.registry import Context, register
from seedforge.schema.records import Record
from seedforge.students import saved_student
from seedforge.tasks import Task
from seedforge.teachers.scoring import Scorer, demonstrations, softmax
from seedforge.training.teacher_finetune import fewshot_prompt
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


class TeacherLabelCheck:
    """The teacher as the reference classifier, scoring labels as annotate@i does (module docstring).

    The prompt is the one the tuned teacher was trained on (`fewshot_prompt`): `shots` seed
    examples of every label, drawn with a fixed RNG, then the candidate's input and the output
    field; each label is scored as its continuation.

    >>> import math
    >>> from seedforge.tasks import get_task
    >>> class Fake:  # prefers "pos" for inputs with "good" in them, 80 to 20
    ...     def score(self, prefix, items, options):
    ...         hi, lo = math.log(0.8), math.log(0.2)
    ...         return [[hi, lo] if "good" in item else [lo, hi] for item in items]
    >>> seed = [Record.seed("classification", x, y) for x, y in [("fine", "pos"), ("bad", "neg")]]
    >>> task = get_task("classification").with_labels(["pos", "neg"])
    >>> gate = TeacherLabelCheck(Fake(), task, seed, shots=1, threshold=0.7)
    >>> rows = [Record.seed("classification", "good", "pos"), Record.seed("classification", "good", "neg")]
    >>> [(v.reason, v.scores["label_teacher"], v.answer) for v in gate.filter_batch(rows)]
    [(None, 0.8, None), ('label:teacher_disagree', 0.2, 'pos')]
    >>> TeacherLabelCheck(Fake(), task, seed, 1, threshold=0.9).filter_batch(rows[:1])[0].reason
    'label:teacher_unsure'
    """

    name = "label"

    def __init__(
        self,
        scorer: Scorer,
        task: Task,
        seed: Sequence[Record],
        shots: int,
        threshold: float,
        rng_seed: int = 0,
    ) -> None:
        if task.labels is None:
            raise ValueError("the teacher label check needs a task with labels")
        self.scorer = scorer
        self.task = task
        self.labels = list(task.labels)
        self.prefix = fewshot_prompt(task, demonstrations(seed, self.labels, shots, rng_seed))
        self.threshold = threshold

    def probabilities(self, records: Sequence[Record]) -> list[list[float]]:
        """Each record's probability of every label (in `task.labels` order), among the label set."""
        if not records:
            return []
        items = [f"{self.task.input_field}: {r.input}\n{self.task.output_field}:" for r in records]
        return [softmax(row) for row in self.scorer.score(self.prefix, items, [" " + x for x in self.labels])]

    def filter_batch(self, records: Sequence[Record]) -> list[Verdict]:
        verdicts = []
        for r, probs in zip(records, self.probabilities(records), strict=True):
            want = self.task.answer(r.output) or r.output
            p = probs[self.labels.index(want)] if want in self.labels else 0.0
            top = self.labels[max(range(len(probs)), key=lambda i: (probs[i], -i))]
            scores = {"label_teacher": p}
            if top != want:
                verdicts.append(Verdict("label:teacher_disagree", scores, score=p, answer=top))
            elif p < self.threshold:
                verdicts.append(Verdict("label:teacher_unsure", scores, score=p, answer=top))
            else:
                verdicts.append(Verdict(scores=scores))
        return verdicts


class ConsensusLabelCheck:
    """A strict majority of the available references must keep the row (module docstring).

    >>> from seedforge.gates.base import KEEP
    >>> class Fixed:
    ...     name = "label"
    ...     def __init__(self, *verdicts): self.verdicts = list(verdicts)
    ...     def filter_batch(self, records): return self.verdicts[: len(records)]
    >>> drop = Verdict("label:disagree", {"label_agreement": 0.2}, answer="neg")
    >>> rows = [Record.seed("classification", x, "pos") for x in "ab"]
    >>> two = ConsensusLabelCheck([Fixed(KEEP, KEEP), Fixed(drop, KEEP)])
    >>> [v.reason for v in two.filter_batch(rows)]
    ['label:consensus', None]
    >>> three = ConsensusLabelCheck([Fixed(KEEP, drop), Fixed(drop, drop), Fixed(KEEP, KEEP)])
    >>> [(v.reason, v.answer) for v in three.filter_batch(rows)]
    [(None, None), ('label:consensus', 'neg')]
    """

    name = "label"

    def __init__(self, references: Sequence[Gate]) -> None:
        if not references:
            raise ValueError("consensus needs at least one reference")
        self.references = list(references)

    def filter_batch(self, records: Sequence[Record]) -> list[Verdict]:
        if not records:
            return []
        votes = [ref.filter_batch(records) for ref in self.references]
        verdicts = []
        for row in zip(*votes, strict=True):
            scores = {k: s for v in row for k, s in v.scores.items()}
            keeps = sum(v.keep for v in row)
            if 2 * keeps > len(row):
                verdicts.append(Verdict(scores=scores))
                continue
            answers = Counter(v.answer for v in row if not v.keep and v.answer is not None)
            answer = max(answers, key=lambda a: (answers[a], a)) if answers else None
            verdicts.append(Verdict("label:consensus", scores, score=keeps / len(row), answer=answer))
        return verdicts


@register("label", order=50)
def build(ctx: Context) -> Gate | None:
    """The label check `gates.label` asks for: kNN, the student, the teacher's round trip, or a
    strict majority of those this stage can build (consensus)."""
    label, task = ctx.settings.label, ctx.task
    if not label.enabled:
        return None
    if label.enabled == "auto" and (task is None or not task.checkable_labels):
        return None
    ref = label.reference
    if task is None or task.labels is None:
        name = task.name if task is not None else "instruction"
        raise SeedforgeError(f"gates.label.reference: {ref}: the {name} task has no labels to check")
    knn = LabelCheck(ctx.seed, ctx.encoder, label.k)
    # Only the references in use are built: under knn the student folder is never read.
    wants = {ref} if ref != "consensus" else {"student", "teacher"}
    by_student = (
        StudentLabelCheck(ctx.student, task, ctx.settings.device)
        if "student" in wants and ctx.student is not None
        else None
    )
    by_teacher = (
        TeacherLabelCheck(ctx.teacher, task, ctx.seed, label.shots, label.threshold, ctx.rng_seed)
        if "teacher" in wants and ctx.teacher is not None
        else None
    )
    if ref == "knn":
        return knn
    if ref == "student":
        if by_student is None:
            raise SeedforgeError(
                "gates.label.reference: student: no student folder given (filter's --student)"
            )
        return by_student
    if ref == "teacher":
        if by_teacher is None:
            raise SeedforgeError("gates.label.reference: teacher: no teacher that can score labels was given")
        return by_teacher
    return ConsensusLabelCheck([g for g in (knn, by_student, by_teacher) if g is not None])

"""Targeted annotation (DAFTT, arXiv 2310.01119, inside the LLM2LLM loop): label real unlabelled
inputs near the seed examples the student gets wrong, instead of inventing new ones.

`targets` picks, for each selected (wrong) seed example, the `per_example` pool inputs nearest to
it by embedding; `label` scores every label as a continuation of the few-shot prompt the tuned
teacher was trained on (`teacher_finetune.fewshot_prompt`), keeps the label's probability among the
label set, and rejects labels below the threshold. Scoring is exact, not sampled: the label is the
argmax of the constrained distribution, as with temperature -> 0, and the probability is kept.

Labelled rows then pass filter@i's gate chain (`gates.gate_records`): a pool can hold a test
sentence or a near-copy of a dataset row as well as a teacher can write one. `unique_against`
lets merge@i drop an annotated row that a kept generated row of the same round already holds.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seedforge.schema.records import Record, TeacherRef, record_id
from seedforge.schema.rows import RejectRow
from seedforge.tasks import Example, Task
from seedforge.teachers.scoring import Scorer, softmax
from seedforge.training.teacher_finetune import fewshot_prompt


@dataclass(frozen=True)
class Target:
    pool_id: str
    input: str
    parent_id: str  # the wrong seed example it is nearest to
    cosine: float


def targets(
    selected: Sequence[dict[str, Any]],
    selected_vecs: np.ndarray,
    pool: Sequence[dict[str, str]],
    pool_vecs: np.ndarray,
    per_example: int,
) -> list[Target]:
    """The `per_example` nearest pool rows of each selected row; a pool row near several selected
    rows is taken once, for the one it is nearest to. Sorted by pool id.

    >>> sel = [{"id": "s1"}, {"id": "s2"}]
    >>> pool = [{"id": f"p{i}", "input": f"x{i}"} for i in range(4)]
    >>> pv = np.array([[1, 0], [0.9, 0.44], [0, 1], [0.44, 0.9]], dtype=np.float32)
    >>> sv = np.array([[1, 0], [0, 1]], dtype=np.float32)
    >>> [(t.pool_id, t.parent_id) for t in targets(sel, sv, pool, pv, 2)]
    [('p0', 's1'), ('p1', 's1'), ('p2', 's2'), ('p3', 's2')]
    """
    if not len(selected) or not len(pool) or per_example == 0:
        return []
    sims = np.asarray(selected_vecs, dtype=np.float32) @ np.asarray(pool_vecs, dtype=np.float32).T
    best: dict[int, tuple[float, int]] = {}
    k = min(per_example, len(pool))
    for s, row in enumerate(sims):
        # stable sort: ties go to the lower pool index, so the choice does not depend on the BLAS
        for p in np.argsort(-row, kind="stable")[:k]:
            c = float(row[p])
            if p not in best or c > best[p][0]:
                best[int(p)] = (c, s)
    picked = [
        Target(pool[p]["id"], pool[p]["input"], selected[s]["id"], round(c, 6)) for p, (c, s) in best.items()
    ]
    return sorted(picked, key=lambda t: t.pool_id)


def label(
    scorer: Scorer,
    task: Task,
    labels: Sequence[str],
    shown: Sequence[Example],
    picked: Sequence[Target],
    threshold: float,
    iteration: int,
    teacher: TeacherRef,
    temperature: float = 0.0,
    seed: int = 0,
) -> tuple[list[Record], list[RejectRow]]:
    """Annotate each target: records (entering iteration `iteration + 1`) with the label's
    probability among the label set in `gates["probability"]`, and rejects for unsure labels.

    The label is drawn from the label set at `temperature` (0: the most probable one), with a
    random stream per input, so a rerun draws the same labels whatever else is annotated. The
    probability kept (and thresholded) is the model's own, at temperature 1, of the label drawn.
    """
    prefix = fewshot_prompt(task, shown)
    items = [f"{task.input_field}: {t.input}\n{task.output_field}:" for t in picked]
    scores = scorer.score(prefix, items, [" " + lab for lab in labels]) if picked else []
    kept: list[Record] = []
    rejects: list[RejectRow] = []
    for t, row in zip(picked, scores, strict=True):
        probs = softmax(row)
        best = draw(row, temperature, random.Random(f"{seed}:{t.input}"))
        p = round(probs[best], 6)
        output = labels[best]
        id_ = record_id(task.name, t.input, output)
        if p < threshold:
            rejects.append(
                RejectRow(
                    reason="unsure", parent_id=t.parent_id, id=id_, input=t.input, output=output, score=p
                )
            )
            continue
        kept.append(
            Record(
                id=id_,
                task=task.name,
                input=t.input,
                output=output,
                origin="annotated",
                iteration=iteration + 1,
                parent_id=t.parent_id,
                teacher=teacher,
                gates={"probability": p, "pool_cosine": t.cosine},
            )
        )
    return kept, rejects


def draw(logprobs: Sequence[float], temperature: float, rng: random.Random) -> int:
    """The index of a label drawn at `temperature` from its log-probabilities; 0 is the argmax
    (first on ties). Low temperatures sharpen: at 0.1, a label with 60% of the mass against one
    with 40% is drawn 98% of the time.

    >>> import math
    >>> draw([math.log(0.4), math.log(0.6)], 0.0, random.Random(0))
    1
    >>> rng = random.Random(0)
    >>> sum(draw([math.log(0.4), math.log(0.6)], 0.1, rng) for _ in range(1000))
    980
    """
    if temperature == 0:
        return max(range(len(logprobs)), key=lambda i: (logprobs[i], -i))
    weights = softmax([x / temperature for x in logprobs])
    return rng.choices(range(len(weights)), weights=weights)[0]


def unique_against(annotated: Sequence[Record], kept: Sequence[Record]) -> list[Record]:
    """The annotated rows whose id and input are both absent from `kept` (the round's generated
    rows that passed filter@i). annotate@i and filter@i gate against the same dataset but not
    against each other, so a teacher that writes a pool sentence verbatim would otherwise put the
    input in twice, possibly under two labels; the generated row stays, it was gated first.

    >>> from seedforge.schema.records import Record
    >>> gen = Record.seed("classification", "a", "pos").model_copy(update={"origin": "generated"})
    >>> pool = [Record.seed("classification", x, y) for x, y in [("a", "neg"), ("b", "pos")]]
    >>> [r.input for r in unique_against(pool, [gen])]
    ['b']
    """
    ids = {r.id for r in kept}
    inputs = {r.input for r in kept}
    return [r for r in annotated if r.id not in ids and r.input not in inputs]

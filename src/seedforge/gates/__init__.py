"""Gates decide which generated examples enter the dataset.

A gate takes a batch of candidate records and returns one `Verdict` per record: keep, or a
reason (plus the row it matched and the score). Gates run in order, cheapest and most certain
first: task validity, test/dev leakage, exact duplicates, near-duplicates, then the optional
label check. Every drop is counted by reason and written to the stage's rejects file in one row
shape (`seedforge.loop.candidates.REJECT_FIELDS`), so no example disappears without a trace.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seedforge.config.params import Gates
from seedforge.errors import SeedforgeError
from seedforge.gates.base import KEEP, Gate, Verdict, run_gates
from seedforge.gates.exact import ExactDuplicate
from seedforge.gates.label import ConsensusLabelCheck, LabelCheck, StudentLabelCheck, TeacherLabelCheck
from seedforge.gates.leakage import Leakage
from seedforge.gates.near_duplicate import NearDuplicate
from seedforge.gates.validate import TaskGate
from seedforge.loop.annotate import Scorer
from seedforge.loop.candidates import parse_calls, sort_rejects
from seedforge.schema.records import Record
from seedforge.tasks import Task
from seedforge.vectors.embed import Encoder

__all__ = [
    "KEEP",
    "ConsensusLabelCheck",
    "ExactDuplicate",
    "Gate",
    "LabelCheck",
    "Leakage",
    "NearDuplicate",
    "StudentLabelCheck",
    "TaskGate",
    "TeacherLabelCheck",
    "Verdict",
    "build_gates",
    "count_reasons",
    "filter_calls",
    "gate_records",
    "run_gates",
]


def count_reasons(rejects: Sequence[dict[str, Any]]) -> dict[str, int]:
    return dict(sorted(Counter(r["reason"] for r in rejects).items()))


def build_gates(
    settings: Gates,
    encoder: Encoder,
    task: Task,
    dataset: Sequence[Record],
    held_out: dict[str, Sequence[Record]],
    seed: Sequence[Record],
    student: Path | None = None,
    teacher: Scorer | None = None,
    rng_seed: int = 0,
) -> list[Gate]:
    """The gate chain that `settings` (params `gates:`) asks for, in the order they run.

    `student` is the current iteration's student folder and `teacher` a teacher that can score
    labels (`label_scorer`); each is read only by the label references that use it. `rng_seed`
    draws the teacher's demonstrations (params `seed`).
    """
    chain: list[Gate] = [
        TaskGate(task),
        # Leakage before duplicates: every copy of a test sentence is reported as a leak, rather
        # than one leak and many duplicates of a row that was never kept.
        Leakage(held_out, encoder, settings.leakage.ngram, settings.leakage.cosine),
        ExactDuplicate(r.id for r in dataset),
        NearDuplicate(dataset, encoder, settings.near_duplicate),
    ]
    label = settings.label
    if not label.enabled:
        return chain
    ref = label.reference
    if task.labels is None:
        raise SeedforgeError(f"gates.label.reference: {ref}: the {task.name} task has no labels to check")
    knn = LabelCheck(seed, encoder, label.k)
    by_student = StudentLabelCheck(student, task, settings.device) if student is not None else None
    by_teacher = (
        TeacherLabelCheck(teacher, task, seed, label.shots, label.threshold, rng_seed)
        if teacher is not None
        else None
    )
    if ref == "knn":
        chain.append(knn)
    elif ref == "student":
        if by_student is None:
            raise SeedforgeError(
                "gates.label.reference: student: no student folder given (filter's --student)"
            )
        chain.append(by_student)
    elif ref == "teacher":
        if by_teacher is None:
            raise SeedforgeError("gates.label.reference: teacher: no teacher that can score labels was given")
        chain.append(by_teacher)
    else:  # consensus: whichever references this stage can build
        chain.append(ConsensusLabelCheck([g for g in (knn, by_student, by_teacher) if g is not None]))
    return chain


def label_scorer(settings: Gates, profile: str, options: Any, what: str = "teacher") -> Scorer | None:
    """The teacher `settings.label` needs, or None when no reference in use reads one.

    `teacher` requires a scorer: a profile that cannot score labels (an HTTP backend, which returns
    no log-probabilities) is one error line naming the params keys. `consensus` does without it.
    """
    from seedforge.teachers import make_teacher

    label = settings.label
    if not label.enabled or label.reference not in ("teacher", "consensus"):
        return None
    teacher = make_teacher(profile, options)
    if hasattr(teacher, "score"):
        return teacher
    if label.reference == "consensus":
        return None
    raise SeedforgeError(
        f"gates.label.reference: teacher: `{what}: {profile}` ({teacher.backend}) cannot score labels"
        f" (no log-probabilities); set `{what}` to a llamacpp profile or choose another gates.label.reference"
    )


def filter_calls(
    calls: Sequence[dict[str, Any]],
    gates: Sequence[Gate],
    task: Task,
    iteration: int,
) -> tuple[list[Record], list[dict[str, Any]], dict[str, Any]]:
    """Round `iteration`'s call rows -> (kept records, rejects, counts).

    Kept records enter iteration `iteration + 1`; they are returned in candidate order.
    """
    candidates, rejects = parse_calls(calls, task, iteration)
    kept, rejects, gated = gate_records(candidates, gates, rejects)
    counts = {"iteration": iteration, "calls": len(calls), "parsed": len(candidates)} | gated
    return kept, rejects, counts


def gate_records(
    records: Sequence[Record],
    gates: Sequence[Gate],
    rejects: Sequence[dict[str, Any]] = (),
) -> tuple[list[Record], list[dict[str, Any]], dict[str, Any]]:
    """A batch of candidate records through the chain -> (kept records, rejects, counts).

    `rejects` are drops made before the gates (parse failures, unsure labels): they are sorted in
    with the gates' own and counted by reason, so a stage writes one rejects file and one count.
    Generated rows (`filter_calls`) and annotated pool rows (annotate@i) both come through here.
    """
    kept, gate_rejects = run_gates(records, gates)
    rejects = sort_rejects([*rejects, *gate_rejects])
    counts = {
        "kept": len(kept),
        "rejected": len(rejects),
        "rejected_by_reason": count_reasons(rejects),
    }
    return kept, rejects, counts

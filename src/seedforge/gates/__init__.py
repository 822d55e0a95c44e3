"""Gates decide which generated examples enter the dataset.

A gate takes a batch of candidate records and returns one `Verdict` per record: keep, or a
reason (plus the row it matched and the score). Gates run in order, cheapest and most certain
first: task validity, test/dev leakage, exact duplicates, near-duplicates, then the optional
label check. Every drop is counted by reason and written to the stage's rejects file in one row
shape (`seedforge.schema.rows.RejectRow`), so no example disappears without a trace.
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
from seedforge.gates.label import LabelCheck, StudentLabelCheck
from seedforge.gates.leakage import Leakage
from seedforge.gates.near_duplicate import NearDuplicate
from seedforge.gates.validate import TaskGate
from seedforge.schema.records import Record
from seedforge.schema.rows import sort_rejects
from seedforge.tasks import Task
from seedforge.vectors.embed import Encoder

__all__ = [
    "KEEP",
    "ExactDuplicate",
    "Gate",
    "LabelCheck",
    "Leakage",
    "NearDuplicate",
    "StudentLabelCheck",
    "TaskGate",
    "Verdict",
    "build_gates",
    "count_reasons",
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
) -> list[Gate]:
    """The gate chain that `settings` (params `gates:`) asks for, in the order they run.

    `student` is the current iteration's student folder, read only under
    `gates.label.reference: student`.
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
    if label.enabled and label.reference == "knn":
        if task.labels is None:
            raise SeedforgeError(f"gates.label.enabled: the {task.name} task has no labels to check")
        chain.append(LabelCheck(seed, encoder, label.k))
    elif label.enabled:
        if task.labels is None:
            raise SeedforgeError(
                f"gates.label.reference: student: the {task.name} task has no labels for the student to check"
            )
        if student is None:
            raise SeedforgeError(
                "gates.label.reference: student: no student folder given (filter's --student)"
            )
        chain.append(StudentLabelCheck(student, task, settings.device))
    return chain


def gate_records(
    records: Sequence[Record],
    gates: Sequence[Gate],
    rejects: Sequence[dict[str, Any]] = (),
) -> tuple[list[Record], list[dict[str, Any]], dict[str, Any]]:
    """A batch of candidate records through the chain -> (kept records, rejects, counts).

    `rejects` are drops made before the gates (parse failures, unsure labels): they are sorted in
    with the gates' own and counted by reason, so a stage writes one rejects file and one count.
    Generated rows (`seedforge.loop.filter`) and annotated pool rows (annotate@i) both come through here.
    """
    kept, gate_rejects = run_gates(records, gates)
    rejects = sort_rejects([*rejects, *gate_rejects])
    counts = {
        "kept": len(kept),
        "rejected": len(rejects),
        "rejected_by_reason": count_reasons(rejects),
    }
    return kept, rejects, counts

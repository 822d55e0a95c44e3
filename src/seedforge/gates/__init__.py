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

# Importing a gate module registers it (gates.registry); the order of the chain is each gate's own.
from seedforge.config.params import Gates
from seedforge.errors import SeedforgeError
from seedforge.gates import exact, label, leakage, near_duplicate, validate  # noqa: F401
from seedforge.gates.base import KEEP, Gate, Verdict, run_gates
from seedforge.gates.exact import ExactDuplicate
from seedforge.gates.label import ConsensusLabelCheck, LabelCheck, StudentLabelCheck, TeacherLabelCheck
from seedforge.gates.leakage import Leakage
from seedforge.gates.near_duplicate import NearDuplicate
from seedforge.gates.registry import GATES, Context, build, register
from seedforge.gates.validate import TaskGate
from seedforge.schema.records import Record
from seedforge.schema.rows import sort_rejects
from seedforge.tasks import Task
from seedforge.teachers.scoring import Scorer
from seedforge.vectors.embed import Encoder

__all__ = [
    "GATES",
    "KEEP",
    "ConsensusLabelCheck",
    "Context",
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
    "gate_records",
    "label_scorer",
    "register",
    "run_gates",
]


def count_reasons(rejects: Sequence[dict[str, Any]]) -> dict[str, int]:
    return dict(sorted(Counter(r["reason"] for r in rejects).items()))


def build_gates(
    settings: Gates,
    encoder: Encoder,
    task: Task | None,
    dataset: Sequence[Record],
    held_out: dict[str, Sequence[Record]],
    seed: Sequence[Record],
    student: Path | None = None,
    teacher: Scorer | None = None,
    rng_seed: int = 0,
    only: Sequence[str] | None = None,
) -> list[Gate]:
    """The gate chain that `settings` (params `gates:`) asks for, in the order they run.

    `student` is the current iteration's student folder and `teacher` a teacher that can score
    labels (`label_scorer`); each is read only by the label references that use it. `rng_seed`
    draws the teacher's demonstrations (params `seed`). `only` names the gates a pipeline runs
    (the instruction pipeline: leakage and near_duplicate); None: every registered gate.
    """
    ctx = Context(settings, encoder, task, dataset, held_out, seed, student, teacher, rng_seed)
    return build(ctx, only)


def label_scorer(settings: Gates, profile: str, options: Any, what: str = "teacher") -> Scorer | None:
    """The teacher `settings.label` needs, or None when no reference in use reads one.

    `teacher` requires a scorer: a profile that cannot score labels (an HTTP backend, which returns
    no log-probabilities) is one error line naming the params keys. `consensus` does without it.
    """
    from seedforge.teachers import make_teacher

    check = settings.label
    if not check.enabled or check.reference not in ("teacher", "consensus"):
        return None
    teacher = make_teacher(profile, options)
    if teacher.can_score:
        return teacher
    if check.reference == "consensus":
        return None
    raise SeedforgeError(
        f"gates.label.reference: teacher: `{what}: {profile}` ({teacher.backend}) cannot score labels"
        f" (no log-probabilities); set `{what}` to a llamacpp profile or choose another gates.label.reference"
    )


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

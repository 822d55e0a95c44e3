"""What the `stages/instruct_*.py` scripts share: the recipe's `instruct:` section, the teacher,
and writing an operator's rows, rejects and metrics (each atomically)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seedforge.config.params import Instruct, OperatorSampling, Params, load_params
from seedforge.errors import SeedforgeError
from seedforge.instruct.calls import Asker, operator_teacher
from seedforge.instruct.outcome import Outcome
from seedforge.instruct.rows import InstructionRow, read_rows, write_rows
from seedforge.io import write_json, write_jsonl
from seedforge.teachers.cache import CallCache
from seedforge.teachers.prompts import Template, load_template


def recipe(path: Path) -> tuple[Params, Instruct]:
    params = load_params(path)
    if params.instruct is None:
        raise SeedforgeError(f"{path}: key 'instruct': required by the instruction pipeline (see README)")
    return params, params.instruct


def asker(
    params: Params, sampling: OperatorSampling, cache: Path | None, profile: str | None = None
) -> tuple[Asker, Template]:
    if profile is not None and profile not in params.teachers:
        raise SeedforgeError(
            f"teachers.{profile}: no such teacher profile (named by instruct.distil.profile)"
        )
    teacher = operator_teacher(params, sampling, profile=profile)
    return Asker(teacher, CallCache(cache)), load_template(sampling.template)


def read_all(paths: list[Path]) -> list[InstructionRow]:
    """Rows of several files, first copy of an id wins (files are read in the order given)."""
    seen: set[str] = set()
    out = []
    for path in paths:
        for row in read_rows(path):
            if row.id not in seen:
                seen.add(row.id)
                out.append(row)
    return out


def write_outcome(
    outcome: Outcome, out: Path, rejects: Path, metrics: Path, asker: Asker | None = None
) -> None:
    """Write rows, rejects and metrics. A drop whose call failed its last attempt (the operator saw
    an empty answer) is renamed `<operator>:call_failed:<cause>` with the server's message, so an
    outage is told apart from a bad answer."""
    outcome.blame_failures(asker.errors if asker else {})
    write_rows(out, outcome.rows)
    write_jsonl(rejects, outcome.sorted_rejects())
    # Cache hits are logged, not kept: metrics depend on the inputs only, so a rerun from the
    # cache writes the same bytes and stages that read them do not rerun.
    counts = {k: v for k, v in asker.counts.items() if k != "cached"} if asker else None
    write_json(metrics, outcome.metrics(counts))


def add_io(p: Any, inputs: bool = True) -> None:
    """The arguments every operator stage takes."""
    if inputs:
        p.add_argument("--in", dest="inputs", type=Path, nargs="+", required=True)
    p.add_argument("--cache", type=Path, default=None, help="per-call cache folder (resume after a crash)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--rejects", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)

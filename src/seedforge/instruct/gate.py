"""gate: embedding near-duplicate and held-out leakage gates on the instruction pipeline.

The judged rows go through the loop's gates (`seedforge.gates`) as `Record`s
(`InstructionRow.to_record()`, whose input is the instruction plus its context):
- `leak:eval:ngram` / `leak:eval:embedding`: a row that shares a word n-gram with, or is within
  `gates.leakage.cosine` of, an instruction of the held-out evaluation set (`instruct.eval`);
- `near_duplicate:dataset`: within `gates.near_duplicate` cosine of a seed instruction;
- `near_duplicate:batch`: of an earlier new row (in id order), so the first of a cluster survives.
Leakage runs first: a row that both leaks and duplicates is counted as the leak. Every reject
names the id it matched and the score, under reason `gate:<gate reason>`.
"""

from __future__ import annotations

from collections.abc import Sequence

from seedforge.config.params import Gates
from seedforge.gates import build_gates, run_gates
from seedforge.instruct.outcome import Outcome
from seedforge.instruct.rows import InstructionRow
from seedforge.vectors.embed import Encoder


def gate(
    rows: Sequence[InstructionRow],
    seeds: Sequence[InstructionRow],
    held_out: Sequence[InstructionRow],
    settings: Gates,
    encoder: Encoder,
) -> Outcome:
    out = Outcome("gate")
    rows = sorted(rows, key=lambda r: r.id)  # batch order decides which of a cluster survives
    # The loop's own gates, from the registry: leakage against the evaluation set (when there is
    # one) and near-duplicates of the seed set. No task validity or label check: rows of no task kind.
    chain = build_gates(
        settings,
        encoder,
        None,
        dataset=[s.to_record() for s in seeds],
        held_out={"eval": [r.to_record() for r in held_out]},
        seed=(),
        only=("leakage", "near_duplicate"),
    )
    kept, rejects = run_gates([r.to_record() for r in rows], chain)
    scores = {k.id: k.gates for k in kept}
    by_id = {r.id: r for r in rows}
    out.rows = [r.model_copy(update={"gates": dict(scores[r.id])}) for r in rows if r.id in scores]
    for rej in rejects:
        row = by_id[rej["id"]]
        out.reject(
            rej["reason"],
            row.call,
            [row.id],
            id=row.id,
            text=row.instruction,
            matched_id=rej["matched_id"],
            score=rej["score"],
        )
    out.extra = {"held_out": len(held_out), "seeds": len(seeds)}
    return out

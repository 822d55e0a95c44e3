"""merge@i: iteration i+1's dataset is iteration i's plus the examples kept and annotated in round i,
with no label pushed past `loop.max_label_share` of it (the rest rejected as `balance:cap`)."""

import logging
from pathlib import Path

from seedforge import stage
from seedforge.config.params import load_params
from seedforge.errors import SeedforgeError
from seedforge.io import write_json, write_rows
from seedforge.loop import annotate, balance
from seedforge.schema.records import read_records, write_records
from seedforge.schema.rows import RejectRow, sort_rejects


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--iteration", type=int, required=True)
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--kept", type=Path, required=True)
    p.add_argument("--annotated", type=Path, default=None, help="round i's annotated pool rows")
    p.add_argument("--task-info", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--rejects", type=Path, required=True, help="rows the label-share cap turned away")
    p.add_argument("--metrics", type=Path, required=True)
    args = p.parse_args()
    params = load_params(args.params)
    task = stage.task_info(args.task_info)
    dataset = read_records(args.dataset)
    merged = {r.id: r for r in dataset}
    kept = read_records(args.kept)
    for record in kept:
        if record.id in merged:  # filter removes these; a clash means the files were edited by hand
            raise SeedforgeError(f"{args.kept}: record {record.id} is already in {args.dataset}")
    # Annotated pool rows passed the same gates against the same dataset, but not against the
    # generated rows kept beside them: one with the same id or input as those is dropped here.
    annotated = read_records(args.annotated) if args.annotated is not None else []
    fresh = annotate.unique_against(annotated, kept)
    for record in fresh:
        if record.id in merged:
            raise SeedforgeError(f"{args.annotated}: record {record.id} is already in {args.dataset}")
    if len(fresh) < len(annotated):
        logging.getLogger("merge").info(
            "dropped %d annotated rows already among the kept generated ones", len(annotated) - len(fresh)
        )
    share = None
    if task.labels is not None:
        share = balance.cap(params.loop.max_label_share, len(task.labels))
    admitted, rejects = balance.balance(
        dataset, [*kept, *fresh], lambda r: task.answer(r.output) or r.output, share
    )
    merged.update((r.id, r) for r in admitted)
    rejects = sort_rejects({"matched_id": None, **r} for r in rejects)
    write_records(args.out, merged.values())
    write_rows(args.rejects, [RejectRow.model_validate(r) for r in rejects])
    write_json(
        args.metrics,
        {
            "iteration": args.iteration,
            "max_label_share": share,
            "added": len(admitted),
            "rejected": len(rejects),
            "rejected_by_reason": {balance.REASON: len(rejects)} if rejects else {},
            "merged_size": len(merged),
        },
    )
    stage.result(
        f"merge@{args.iteration}",
        f"iteration {args.iteration + 1}: {len(merged)} rows (+{len(admitted)}; "
        f"{len(rejects)} over the label-share cap {share})",
    )


if __name__ == "__main__":
    stage.run(main)

"""annotate@i: label the pool inputs nearest the seed examples the student got wrong (DAFTT)."""

from pathlib import Path
from typing import Any

from seedforge import gates, stage
from seedforge.config.params import load_params
from seedforge.errors import SeedforgeError
from seedforge.io import read_jsonl, write_json, write_rows
from seedforge.loop import annotate
from seedforge.schema.records import Record, read_records, write_records
from seedforge.schema.rows import RejectRow
from seedforge.teachers import make_teacher, scoring
from seedforge.vectors.embed import Encoder


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--iteration", type=int, required=True)
    p.add_argument("--selected", type=Path, required=True, help="round i's selected seed examples")
    p.add_argument("--prepared", type=Path, required=True, help="task.json, seed.jsonl, pool.jsonl")
    p.add_argument(
        "--dataset", type=Path, required=True, help="iteration i's dataset (skipped inputs, duplicates)"
    )
    p.add_argument("--cache", type=Path, default=None, help="embedding cache folder")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--rejects", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)
    args = p.parse_args()
    params = load_params(args.params)
    settings = params.annotate
    counts = {"iteration": args.iteration, "enabled": params.annotating}
    kept: list[Record] = []
    rejects: list[dict[str, Any]] = []
    # The pool file holds ids and inputs only: prepare never writes a pool label.
    pool = read_jsonl(args.prepared / "pool.jsonl") if params.annotating else []
    selected = read_jsonl(args.selected) if pool else []
    if pool and selected:
        task = stage.task_info(args.prepared / "task.json")
        labels = list(task.labels) if task.labels is not None else None
        if labels is None:
            raise SeedforgeError(f"data.pool: annotate labels classification pools only (task {task.name!r})")
        dataset = read_records(args.dataset)
        have = {r.input for r in dataset}
        fresh = [r for r in pool if r["input"] not in have]
        counts["pool_in_dataset"] = len(pool) - len(fresh)
        g = params.gates
        encoder = Encoder(g.model, args.cache, g.device, g.batch_size)
        try:
            picked = annotate.targets(
                selected,
                encoder.encode([r["input"] for r in selected]),
                fresh,
                encoder.encode([r["input"] for r in fresh]),
                settings.per_example,
            )
            teacher = make_teacher(settings.teacher, params.teachers[settings.teacher])
            if not teacher.can_score:
                raise SeedforgeError(
                    f"annotate.teacher: profile {settings.teacher!r} ({teacher.backend}) cannot score "
                    "labels; use a llamacpp profile"
                )
            ref = teacher.ref().model_copy(update={"model": teacher.model_ref()})
            seed = read_records(args.prepared / "seed.jsonl")
            shown = scoring.demonstrations(seed, labels, settings.shots, params.seed)
            labelled, unsure = annotate.label(
                teacher,
                task,
                labels,
                shown,
                picked,
                settings.threshold,
                args.iteration,
                ref,
                temperature=settings.temperature,
                seed=params.seed,
            )
            # The same chain as filter@i's: a pool may hold a test sentence (in other case or
            # punctuation than prepare's exact check sees) or a near-copy of a dataset row.
            split = lambda name: read_records(args.prepared / f"{name}.jsonl")  # noqa: E731
            chain = gates.build_gates(
                g,
                encoder,
                task,
                dataset,
                held_out={"test": split("test"), "dev": split("dev")},
                seed=seed,
                teacher=gates.label_scorer(g, params.teacher, params.teacher_profile),
                rng_seed=params.seed,
            )
            kept, rejects, gated = gates.gate_records(labelled, chain, [r.model_dump() for r in unsure])
        finally:
            encoder.close()
        counts |= {"pool_candidates": len(picked), "labelled": len(labelled), "annotated": len(kept)}
        counts |= {k: gated[k] for k in ("rejected", "rejected_by_reason")}
    write_records(args.out, kept)
    write_rows(args.rejects, [RejectRow.model_validate(r) for r in rejects])  # one shape for all reasons
    write_json(args.metrics, counts)
    stage.result(
        f"annotate@{args.iteration}",
        f"annotated {counts['annotated']}, rejected {counts['rejected']}"
        if "annotated" in counts
        else "no data.pool: nothing to annotate"
        if not params.annotating
        else "no pool rows or no wrong seed examples: nothing to annotate",
    )


if __name__ == "__main__":
    stage.run(main)

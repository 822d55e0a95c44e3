"""annotate@i: label the pool inputs nearest the seed examples the student got wrong (DAFTT)."""

from pathlib import Path

from seedforge import annotate, stage
from seedforge.embed import Encoder
from seedforge.errors import SeedforgeError
from seedforge.io import read_jsonl, write_json, write_rows
from seedforge.params import load_params
from seedforge.records import TeacherRef, read_records, write_records
from seedforge.teachers import make_teacher


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--iteration", type=int, required=True)
    p.add_argument("--selected", type=Path, required=True, help="round i's selected seed examples")
    p.add_argument("--prepared", type=Path, required=True, help="task.json, seed.jsonl, pool.jsonl")
    p.add_argument("--dataset", type=Path, required=True, help="iteration i's dataset (inputs to skip)")
    p.add_argument("--cache", type=Path, default=None, help="embedding cache folder")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--rejects", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)
    args = p.parse_args()
    params = load_params(args.params)
    settings = params.annotate
    counts = {"iteration": args.iteration, "enabled": params.annotating}
    kept, rejects = [], []
    # The pool file holds ids and inputs only: prepare never writes a pool label.
    pool = read_jsonl(args.prepared / "pool.jsonl") if params.annotating else []
    selected = read_jsonl(args.selected) if pool else []
    if pool and selected:
        task = stage.task_info(args.prepared / "task.json")
        labels = list(task.labels) if task.labels is not None else None
        if labels is None:
            raise SeedforgeError(f"data.pool: annotate labels classification pools only (task {task.name!r})")
        have = {r.input for r in read_records(args.dataset)}
        pool = [r for r in pool if r["input"] not in have]
        g = params.gates
        encoder = Encoder(g.model, args.cache, g.device, g.batch_size)
        try:
            picked = annotate.targets(
                selected,
                encoder.encode([r["input"] for r in selected]),
                pool,
                encoder.encode([r["input"] for r in pool]),
                settings.per_example,
            )
        finally:
            encoder.close()
        teacher = make_teacher(settings.teacher, params.teachers[settings.teacher])
        if not hasattr(teacher, "score"):
            raise SeedforgeError(
                f"annotate.teacher: profile {settings.teacher!r} ({teacher.backend}) cannot score labels; "
                "use a llamacpp profile"
            )
        ref = TeacherRef(profile=teacher.profile, backend=teacher.backend, model=teacher.model_ref())
        shown = annotate.demonstrations(
            read_records(args.prepared / "seed.jsonl"), labels, settings.shots, params.seed
        )
        kept, rejects = annotate.label(
            teacher, task, labels, shown, picked, settings.threshold, args.iteration, ref
        )
        counts |= {"pool_candidates": len(picked), "annotated": len(kept), "rejected_unsure": len(rejects)}
    write_records(args.out, kept)
    write_rows(args.rejects, rejects)
    write_json(args.metrics, counts)


if __name__ == "__main__":
    stage.run(main)

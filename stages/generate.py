"""generate@i: ask the teacher for k new examples like each selected seed example."""

from pathlib import Path

from seedforge import stage
from seedforge.config.params import load_params
from seedforge.io import read_jsonl, write_json, write_jsonl
from seedforge.loop import generate
from seedforge.teachers import make_teacher
from seedforge.teachers.cache import CallCache
from seedforge.teachers.prompts import load_template
from seedforge.teachers.runner import Progress


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--iteration", type=int, required=True)
    p.add_argument("--selected", type=Path, required=True)
    p.add_argument("--task-info", type=Path, required=True)
    p.add_argument("--seed-set", type=Path, default=None, help="seed examples shown as shots (loop.shots)")
    p.add_argument("--cache", type=Path, default=None, help="call cache (SQLite file, or a folder for one)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True, help="content counts (a tracked DVC metric)")
    p.add_argument("--run-log", type=Path, default=None, help="machine-dependent accounting (not tracked)")
    args = p.parse_args()
    params = load_params(args.params)
    profile = params.teacher_profile
    task = stage.task_info(args.task_info)
    template = load_template(profile.template or params.data.template)
    planned = generate.plan(
        read_jsonl(args.selected),
        template,
        task,
        params.loop.k,
        params.seed,
        args.iteration,
        samples=profile.samples,
        # auto: the schema goes with each request, and the backend picks the server's dialect
        structured=profile.structured is not False,
        show_prediction=params.loop.show_prediction,
        seed_set=read_jsonl(args.seed_set) if args.seed_set is not None else (),
        shots=params.loop.shots,
    )
    teacher = make_teacher(params.teacher, profile)
    cache = CallCache(args.cache)
    try:
        progress = Progress(f"generate@{args.iteration}")
        rows, counts, runner = generate.run(teacher, planned, template, cache, task, progress)
    finally:
        cache.close()
    write_jsonl(args.out, rows)
    write_json(args.metrics, {"iteration": args.iteration, "teacher": params.teacher, **counts})
    stage.result(
        f"generate@{args.iteration}",
        f"{counts['calls']} calls to {params.teacher} ({counts['failed']} failed, "
        f"{runner.acct.cache_hits} from the cache)",
    )
    if args.run_log is not None:
        log = {
            "iteration": args.iteration,
            "teacher": params.teacher,
            **runner.acct.as_dict(profile.price_per_million),
        }
        write_json(args.run_log, log)


if __name__ == "__main__":
    stage.run(main)

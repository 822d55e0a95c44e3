"""generate@i: ask the teacher for k new examples like each selected seed example."""

from pathlib import Path

from seedforge import generate, stage
from seedforge.cache import CallCache
from seedforge.io import read_jsonl, write_json, write_jsonl
from seedforge.params import load_params
from seedforge.prompts import load_template
from seedforge.teachers import make_teacher


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--iteration", type=int, required=True)
    p.add_argument("--selected", type=Path, required=True)
    p.add_argument("--task-info", type=Path, required=True)
    p.add_argument("--cache", type=Path, default=None, help="per-call cache folder (resume after a crash)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)
    args = p.parse_args()
    params = load_params(args.params)
    task = stage.task_info(args.task_info)
    template = load_template(params.data.template)
    planned = generate.plan(
        read_jsonl(args.selected),
        template,
        task,
        params.loop.k,
        params.seed,
        args.iteration,
        show_prediction=params.loop.show_prediction,
    )
    teacher = make_teacher(params.teacher, params.teacher_profile)
    rows, counts = generate.run(teacher, planned, template, CallCache(args.cache))
    write_jsonl(args.out, rows)
    usage = {k: sum(r["usage"].get(k, 0) for r in rows) for k in ("prompt_tokens", "completion_tokens")}
    write_json(args.metrics, {"iteration": args.iteration, "teacher": params.teacher, **counts, **usage})


if __name__ == "__main__":
    stage.run(main)

"""tiny_teacher: build the offline default teacher (a tiny llama trained on the seed set) as GGUF."""

from pathlib import Path

from seedforge import stage, tiny_teacher
from seedforge.io import atomic_dir, read_json, write_json, write_text
from seedforge.params import load_params
from seedforge.prompts import load_template
from seedforge.records import read_records


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--seed-set", type=Path, required=True)
    p.add_argument("--task-info", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)
    p.add_argument("--teacher-info", type=Path, default=None, help="the teacher stage's output")
    args = p.parse_args()
    params = load_params(args.params)
    if args.teacher_info is not None and not uses(read_json(args.teacher_info), args.out):
        # The chosen teacher reads no file of ours: leave a marker instead of training for nothing.
        with atomic_dir(args.out) as tmp:
            write_text(tmp / "NOT_BUILT", "the chosen teacher profile does not use the tiny teacher\n")
        write_json(args.metrics, {"built": False})
        return
    task, labels = stage.task_info(args.task_info)
    template = load_template(params.data.template)
    pairs = tiny_teacher.training_pairs(
        read_records(args.seed_set),
        template,
        task,
        labels,
        params.loop.k,
        params.tiny_teacher.pairs,
        params.seed,
    )
    with atomic_dir(args.out) as tmp:
        info = tiny_teacher.build(pairs, params.tiny_teacher, params.seed, tmp)
    write_json(args.metrics, {"built": True, **info})


def uses(info: dict, out: Path) -> bool:
    """Whether the teacher's local model lies inside the tiny teacher's output folder."""
    model = info.get("local_model")
    return model is not None and Path(model).resolve().is_relative_to(out.resolve())


if __name__ == "__main__":
    stage.run(main)

"""tiny_teacher: build the offline default teacher (a tiny llama trained on the seed set) as GGUF."""

from pathlib import Path

from seedforge import stage
from seedforge.config.params import load_params
from seedforge.io import write_json
from seedforge.schema.records import read_records
from seedforge.teachers.prompts import load_template
from seedforge.training import finetune, tiny_teacher


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--seed-set", type=Path, required=True)
    p.add_argument("--task-info", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)
    p.add_argument("--teacher-info", type=Path, default=None, help="the teacher stage's output")
    args = p.parse_args()
    params = load_params(args.params)
    if stage.teacher_skips(args.teacher_info, args.out, args.metrics):
        return
    task = stage.task_info(args.task_info)
    template = load_template(params.data.template)
    pairs = tiny_teacher.training_pairs(
        read_records(args.seed_set),
        template,
        task,
        params.loop.k,
        params.tiny_teacher.pairs,
        params.seed,
        show_prediction=params.loop.show_prediction,
    )
    # Under `accelerate launch` every process trains; only the main one writes.
    with finetune.output_dir(args.out) as tmp:
        info = tiny_teacher.build(pairs, params.tiny_teacher, params.seed, tmp)
    if finetune.is_main_process():
        write_json(args.metrics, {"built": True, **info})


if __name__ == "__main__":
    stage.run(main)

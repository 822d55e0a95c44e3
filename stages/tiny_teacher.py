"""tiny_teacher: build the offline default teacher (a tiny llama trained on the seed set) as GGUF."""

from pathlib import Path

from seedforge import stage, tiny_teacher
from seedforge.io import atomic_dir, write_json
from seedforge.params import load_params
from seedforge.prompts import load_template
from seedforge.records import read_records


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--seed-set", type=Path, required=True)
    p.add_argument("--task-info", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)
    args = p.parse_args()
    params = load_params(args.params)
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
    with atomic_dir(args.out) as tmp:
        info = tiny_teacher.build(pairs, params.tiny_teacher, params.seed, tmp)
    write_json(args.metrics, info)


if __name__ == "__main__":
    stage.run(main)

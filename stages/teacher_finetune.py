"""teacher_finetune: LoRA-tune a causal-LM teacher on the seed set; export the adapter as GGUF."""

from pathlib import Path

from seedforge import stage
from seedforge.config.params import load_params
from seedforge.io import write_json
from seedforge.schema.records import read_records
from seedforge.training import finetune, teacher_finetune


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
    tf = params.teacher_finetune
    pairs = teacher_finetune.training_pairs(
        read_records(args.seed_set), task, tf.shots, tf.pairs, params.seed
    )
    # Under `accelerate launch` every process trains; only the main one writes.
    with finetune.output_dir(args.out) as tmp:
        info = teacher_finetune.tune(pairs, tf, params.seed, tmp)
    if finetune.is_main_process():
        write_json(args.metrics, {"built": True, **info})


if __name__ == "__main__":
    stage.run(main)

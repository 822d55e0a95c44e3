"""instruct distil: LoRA-train a small causal LM on the teacher's expand/refine pairs; export the
adapter as GGUF for llama.cpp (the `instruct.distil.profile` teacher profile loads it)."""

from pathlib import Path

from seedforge import stage
from seedforge.errors import SeedforgeError
from seedforge.instruct import stage as istage
from seedforge.instruct.distil import ADAPTER
from seedforge.io import read_jsonl, write_json
from seedforge.training import finetune, teacher_finetune


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--pairs", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)
    args = p.parse_args()
    params, cfg = istage.recipe(args.params)
    d = cfg.distil
    profile = params.teachers.get(d.profile)
    if profile is None or getattr(profile, "lora", None) != ADAPTER:
        raise SeedforgeError(
            f"instruct.distil.profile: teachers.{d.profile} must exist with `lora: {ADAPTER}` "
            "(the adapter this stage writes)"
        )
    pairs = [(r["prompt"], r["completion"]) for r in read_jsonl(args.pairs)]
    with finetune.output_dir(args.out) as tmp:
        info = teacher_finetune.tune(pairs, d.finetune(len(pairs)), params.seed, tmp)
    if finetune.is_main_process():
        write_json(args.metrics, info)


if __name__ == "__main__":
    stage.run(main)

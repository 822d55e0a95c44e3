"""instruct distil_pairs: the (seed -> expanded) and (instruction -> refined) pairs the instruct
teacher produced, rendered with the operators' templates, for the distil stage to train on."""

from pathlib import Path

from seedforge import stage
from seedforge.errors import SeedforgeError
from seedforge.instruct import stage as istage
from seedforge.instruct.distil import training_pairs
from seedforge.instruct.rows import read_rows
from seedforge.io import write_json, write_jsonl
from seedforge.teachers.prompts import load_template


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--seed", type=Path, required=True)
    p.add_argument("--expanded", type=Path, required=True)
    p.add_argument("--refined", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)
    args = p.parse_args()
    _, cfg = istage.recipe(args.params)
    pairs = training_pairs(
        read_rows(args.seed),
        read_rows(args.expanded),
        read_rows(args.refined),
        load_template(cfg.expand.template),
        load_template(cfg.refine.template),
        cfg.expand.n,
    )
    if not pairs:
        raise SeedforgeError(f"{args.expanded}: no expanded rows to distil from")
    write_jsonl(args.out, pairs)
    by_op = {op: sum(p["operator"] == op for p in pairs) for op in ("expand", "refine")}
    write_json(args.metrics, {"pairs": len(pairs), "by_operator": by_op})


if __name__ == "__main__":
    stage.run(main)

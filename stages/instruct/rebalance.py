"""instruct rebalance: cap the categorised pairs to the target category distribution; report the short."""

from pathlib import Path

from seedforge import stage
from seedforge.errors import SeedforgeError
from seedforge.instruct import stage as istage
from seedforge.instruct.rebalance import resample
from seedforge.instruct.rows import read_rows, write_rows
from seedforge.io import write_json, write_text


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--in", dest="inputs", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)
    p.add_argument("--plot", type=Path, required=True, help="CSV: category, before, after, target shares")
    args = p.parse_args()
    params, cfg = istage.recipe(args.params)
    rows = read_rows(args.inputs)
    if not rows:
        raise SeedforgeError(f"{args.inputs}: no categorised rows to rebalance")
    target = cfg.rebalance.target
    if target == "equal":  # equal over the recipe's categories, not just those that occur
        target = dict.fromkeys(cfg.categorize.categories, 1.0)
    categories = [r.category or "" for r in rows]
    picked, metrics = resample(
        rows, categories, target, cfg.rebalance.total, params.seed, cfg.rebalance.max_repeat
    )
    write_rows(args.out, picked)
    write_json(args.metrics, metrics)
    cats = sorted(set(metrics["before"]) | set(metrics["target"]))  # type: ignore[arg-type]
    lines = ["category,before,after,target"] + [
        f"{c},{metrics['before'].get(c, 0.0)},{metrics['after'].get(c, 0.0)},{metrics['target'].get(c, 0.0)}"  # type: ignore[union-attr]
        for c in cats
    ]
    write_text(args.plot, "\n".join(lines) + "\n")


if __name__ == "__main__":
    stage.run(main)

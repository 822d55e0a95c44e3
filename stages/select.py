"""select@i: the examples to augment (those iteration i's student got wrong, or an ablation's)."""

from pathlib import Path

from seedforge import stage
from seedforge.config.params import load_params
from seedforge.io import read_rows, write_json, write_rows
from seedforge.loop.select import select
from seedforge.schema.rows import PredictionRow


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--iteration", type=int, required=True)
    p.add_argument("--predictions", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)
    args = p.parse_args()
    params = load_params(args.params)
    loop = params.loop
    chosen, counts = select(
        read_rows(args.predictions, PredictionRow),
        loop.select,
        loop.augment,
        loop.budget,
        params.seed,
        args.iteration,
    )
    write_rows(args.out, chosen)
    write_json(
        args.metrics, {"iteration": args.iteration, "mode": loop.select, "augment": loop.augment, **counts}
    )
    stage.result(f"select@{args.iteration}", f"{len(chosen)} seed examples to augment ({loop.augment})")


if __name__ == "__main__":
    stage.run(main)

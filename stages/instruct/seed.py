"""instruct seed: read the seed instructions the recipe names into the pipeline's row format."""

from pathlib import Path

from seedforge import stage
from seedforge.errors import SeedforgeError
from seedforge.instruct import stage as istage
from seedforge.instruct.loaders import load_seeds
from seedforge.instruct.rows import write_rows
from seedforge.io import write_json


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)
    args = p.parse_args()
    _, cfg = istage.recipe(args.params)
    rows = load_seeds(Path(cfg.seed.path), cfg.seed.format, limit=cfg.seed.limit)
    if not rows:
        raise SeedforgeError(f"{cfg.seed.path}: no seed instructions")
    write_rows(args.out, rows)
    write_json(args.metrics, {"seeds": len(rows), "with_context": sum(bool(r.context) for r in rows)})


if __name__ == "__main__":
    stage.run(main)

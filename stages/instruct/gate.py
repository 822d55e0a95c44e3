"""instruct gate: drop judged rows that leak the held-out evaluation set or near-duplicate a seed
or each other (embedding gates of `seedforge.gates`); every drop with its reason and matched id."""

import logging
from pathlib import Path

from seedforge import stage
from seedforge.instruct import stage as istage
from seedforge.instruct.gate import gate
from seedforge.instruct.loaders import load_seeds
from seedforge.instruct.rows import read_rows
from seedforge.vectors.embed import Encoder


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--in", dest="inputs", type=Path, required=True, help="the judged rows")
    p.add_argument("--seed", type=Path, required=True, help="the seed rows")
    p.add_argument("--cache", type=Path, default=None, help="embedding cache folder")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--rejects", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)
    args = p.parse_args()
    params, cfg = istage.recipe(args.params)
    held_out = load_seeds(Path(cfg.eval.path), cfg.eval.format, limit=cfg.eval.limit) if cfg.eval else []
    g = params.gates
    encoder = Encoder(g.model, args.cache, g.device, g.batch_size)
    outcome = gate(read_rows(args.inputs), read_rows(args.seed), held_out, g, encoder)
    logging.getLogger("gate").info("embedded %d new texts (the rest came from the cache)", encoder.embedded)
    encoder.close()
    istage.write_outcome(outcome, args.out, args.rejects, args.metrics)


if __name__ == "__main__":
    stage.run(main)

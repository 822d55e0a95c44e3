"""instruct categorize: label each pair (seeds and judged pairs) with a task category."""

from pathlib import Path

from seedforge import stage
from seedforge.errors import SeedforgeError
from seedforge.instruct import stage as istage
from seedforge.instruct.categorize import categorize
from seedforge.vectors.embed import Encoder


def main() -> None:
    p = stage.parser(__doc__)
    istage.add_io(p)
    p.add_argument("--embeddings", type=Path, default=None, help="embedding cache folder (method: embed)")
    args = p.parse_args()
    params, cfg = istage.recipe(args.params)
    c = cfg.categorize
    asker, template = istage.asker(params, c, args.cache)
    if c.method == "score" and not asker.teacher.can_score:
        raise SeedforgeError(
            f"instruct.categorize.method: 'score' needs a teacher that can score continuations; "
            f"{cfg.teacher!r} ({asker.teacher.backend}) cannot (use embed or write)"
        )
    rows = istage.read_all(args.inputs)
    encoder = None
    if c.method == "embed":
        g = params.gates
        encoder = Encoder(g.model, args.embeddings, g.device, g.batch_size)
    try:
        outcome = categorize(
            rows,
            template,
            asker,
            c.categories,
            c.fallback,
            params.seed,
            method=c.method,
            encode=encoder.encode if encoder else None,
            overrides=c.descriptions,
        )
    finally:
        if encoder is not None:
            encoder.close()
    istage.write_outcome(outcome, args.out, args.rejects, args.metrics, asker)


if __name__ == "__main__":
    stage.run(main)

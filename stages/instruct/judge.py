"""instruct judge: drop off-topic pairs, score the rest 1-10 on a rubric, drop those below the threshold."""

from pathlib import Path

from seedforge import stage
from seedforge.instruct import stage as istage
from seedforge.instruct.judge import judge
from seedforge.vectors.embed import Encoder


def main() -> None:
    p = stage.parser(__doc__)
    istage.add_io(p)
    p.add_argument("--embeddings", type=Path, default=None, help="embedding cache folder (min_relevance)")
    args = p.parse_args()
    params, cfg = istage.recipe(args.params)
    asker, template = istage.asker(params, cfg.judge, args.cache)
    rows = istage.read_all(args.inputs)
    encoder = None
    if cfg.judge.min_relevance is not None:
        g = params.gates
        encoder = Encoder(g.model, args.embeddings, g.device, g.batch_size)
    try:
        outcome = judge(
            rows,
            template,
            asker,
            cfg.judge.threshold,
            params.seed,
            encode=encoder.encode if encoder else None,
            min_relevance=cfg.judge.min_relevance,
        )
    finally:
        if encoder is not None:
            encoder.close()
    istage.write_outcome(outcome, args.out, args.rejects, args.metrics, asker)


if __name__ == "__main__":
    stage.run(main)

"""instruct rebalance: cap the categorised pairs to the target category distribution; report the
short categories, or (fill: expand) ask the teacher for more of them first."""

from collections import Counter
from pathlib import Path

from seedforge import stage
from seedforge.errors import SeedforgeError
from seedforge.instruct import stage as istage
from seedforge.instruct.fill import OPERATORS, Tools, fill, shortfall
from seedforge.instruct.loaders import load_seeds
from seedforge.instruct.rebalance import resample, shares
from seedforge.instruct.rows import read_rows, write_rows
from seedforge.io import write_json, write_jsonl, write_text
from seedforge.vectors.embed import Encoder


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--in", dest="inputs", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)
    p.add_argument("--plot", type=Path, required=True, help="CSV: category, before, after, target shares")
    p.add_argument("--filled", type=Path, required=True, help="every row the fill wrote (empty when off)")
    p.add_argument("--rejects", type=Path, required=True, help="the fill's drops (empty when off)")
    p.add_argument("--cache", type=Path, default=None, help="per-call cache folder (fill)")
    p.add_argument("--embeddings", type=Path, default=None, help="embedding cache folder (fill)")
    args = p.parse_args()
    params, cfg = istage.recipe(args.params)
    rows = read_rows(args.inputs)
    if not rows:
        raise SeedforgeError(f"{args.inputs}: no categorised rows to rebalance")
    target = cfg.rebalance.target
    if target == "equal":  # equal over the recipe's categories, not just those that occur
        target = dict.fromkeys(cfg.categorize.categories, 1.0)
    assert not isinstance(target, str)
    given = list(rows)
    fill_metrics, filled, rejects = None, [], []
    if cfg.rebalance.fill == "expand":
        short = shortfall([r.category or "" for r in rows], target, cfg.rebalance.total)
        g = params.gates
        encoder = Encoder(g.model, args.embeddings, g.device, g.batch_size)
        held_out = load_seeds(Path(cfg.eval.path), cfg.eval.format, limit=cfg.eval.limit) if cfg.eval else []
        askers, templates = {}, {}
        for op in OPERATORS:
            askers[op], templates[op] = istage.asker(params, getattr(cfg, op), args.cache)
        try:
            tools = Tools(askers, templates, encoder, held_out)
            outcome, written = fill(rows, short, cfg, tools, g, params.seed)
        finally:
            encoder.close()
        rows = rows + outcome.rows
        filled = [*written, *outcome.rows]  # each kept pair and the instruction it was made from
        rejects = outcome.sorted_rejects()
        fill_metrics = outcome.metrics()
    categories = [r.category or "" for r in rows]
    picked, metrics = resample(
        rows, categories, target, cfg.rebalance.total, params.seed, cfg.rebalance.max_repeat
    )
    if fill_metrics is not None:
        # `before` stays the categorised set the stage was given; the fill's rows are its own
        metrics["rows_before"] = len(given)
        metrics["before"] = shares(Counter(r.category or "" for r in given))
        metrics["fill"] = fill_metrics  # absent when off: the default run's metrics are unchanged
    write_rows(args.filled, filled)
    write_jsonl(args.rejects, rejects)
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

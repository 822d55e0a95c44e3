"""prepare: load the seed, test and dev sets, map them to records and validate them."""

from pathlib import Path

from seedforge import stage
from seedforge.config.params import load_params
from seedforge.io import write_json, write_jsonl
from seedforge.loop.prepare import prepare
from seedforge.schema.records import write_records
from seedforge.vectors.embed import Encoder


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--out", type=Path, required=True, help="folder for seed/test/dev.jsonl and task.json")
    p.add_argument("--dataset", type=Path, required=True, help="iteration 0's dataset (the seed set)")
    p.add_argument("--metrics", type=Path, required=True)
    p.add_argument("--cache", type=Path, default=None, help="embedding cache folder")
    args = p.parse_args()
    params = load_params(args.params)
    g = params.gates
    # The same encoder and cache as the gates: the seed and test vectors embedded here are the
    # ones filter@0 reads back, so this check costs the model load and little else.
    encoder = Encoder(g.model, args.cache, g.device, g.batch_size)
    try:
        result = prepare(params.data, ngram=g.leakage.ngram, encoder=encoder, cosine=g.leakage.cosine)
    finally:
        encoder.close()
    for split, records in result.splits.items():
        write_records(args.out / f"{split}.jsonl", records)
    # Always written (empty without data.pool), so annotate has a fixed dependency.
    write_jsonl(args.out / "pool.jsonl", result.pool)
    write_json(args.out / "task.json", result.task.info())
    write_records(args.dataset, result.splits["seed"])
    write_json(args.metrics, result.metrics)
    m = result.metrics
    rows = ", ".join(f"{m.get(f'{s}_rows', 0)} {s}" for s in ("seed", "test", "dev"))
    stage.result("prepare", f"{rows} rows; {m.get('labels', 'no')} labels")


if __name__ == "__main__":
    stage.run(main)

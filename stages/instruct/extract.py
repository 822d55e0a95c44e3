"""instruct extract: instruction/response pairs from the passages of raw text documents."""

from pathlib import Path

from seedforge import stage
from seedforge.instruct import stage as istage
from seedforge.instruct.extract import extract
from seedforge.instruct.loaders import load_documents


def main() -> None:
    p = stage.parser(__doc__)
    istage.add_io(p, inputs=False)
    args = p.parse_args()
    params, cfg = istage.recipe(args.params)
    passages = load_documents(Path(cfg.extract.documents), cfg.extract.passage_chars)
    asker, template = istage.asker(params, cfg.extract, args.cache)
    outcome = extract(passages, template, asker, cfg.extract.pairs, params.seed)
    istage.write_outcome(outcome, args.out, args.rejects, args.metrics, asker)


if __name__ == "__main__":
    stage.run(main)

"""instruct categorize: label each pair (seeds and judged pairs) with a task category."""

from seedforge import stage
from seedforge.instruct import stage as istage
from seedforge.instruct.categorize import categorize


def main() -> None:
    p = stage.parser(__doc__)
    istage.add_io(p)
    args = p.parse_args()
    params, cfg = istage.recipe(args.params)
    c = cfg.categorize
    asker, template = istage.asker(params, c, args.cache)
    outcome = categorize(istage.read_all(args.inputs), template, asker, c.categories, c.fallback, params.seed)
    istage.write_outcome(outcome, args.out, args.rejects, args.metrics, asker)


if __name__ == "__main__":
    stage.run(main)

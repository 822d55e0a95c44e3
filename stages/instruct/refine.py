"""instruct refine: rewrite each expanded instruction to be more specific and complete."""

from seedforge import stage
from seedforge.instruct import stage as istage
from seedforge.instruct.refine import refine


def main() -> None:
    p = stage.parser(__doc__)
    istage.add_io(p)
    args = p.parse_args()
    params, cfg = istage.recipe(args.params)
    asker, template = istage.asker(params, cfg.refine, args.cache)
    outcome = refine(istage.read_all(args.inputs), template, asker, params.seed)
    istage.write_outcome(outcome, args.out, args.rejects, args.metrics, asker)


if __name__ == "__main__":
    stage.run(main)

"""instruct respond: the teacher answers each instruction, making (instruction, response) pairs."""

from seedforge import stage
from seedforge.instruct import stage as istage
from seedforge.instruct.respond import respond


def main() -> None:
    p = stage.parser(__doc__)
    istage.add_io(p)
    args = p.parse_args()
    params, cfg = istage.recipe(args.params)
    asker, template = istage.asker(params, cfg.respond, args.cache)
    rows = istage.read_all(args.inputs)
    outcome = respond(rows, template, asker, params.seed, cfg.respond.reject_truncated)
    istage.write_outcome(outcome, args.out, args.rejects, args.metrics, asker)


if __name__ == "__main__":
    stage.run(main)

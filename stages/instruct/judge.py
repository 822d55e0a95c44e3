"""instruct judge: score each pair 1-10 on a rubric and drop those below the threshold."""

from seedforge import stage
from seedforge.instruct import stage as istage
from seedforge.instruct.judge import judge


def main() -> None:
    p = stage.parser(__doc__)
    istage.add_io(p)
    args = p.parse_args()
    params, cfg = istage.recipe(args.params)
    asker, template = istage.asker(params, cfg.judge, args.cache)
    outcome = judge(istage.read_all(args.inputs), template, asker, cfg.judge.threshold, params.seed)
    istage.write_outcome(outcome, args.out, args.rejects, args.metrics, asker)


if __name__ == "__main__":
    stage.run(main)

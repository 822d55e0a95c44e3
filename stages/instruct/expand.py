"""instruct expand: new instructions from m in-context seed instructions, over several rounds."""

from seedforge import stage
from seedforge.instruct import stage as istage
from seedforge.instruct.expand import expand
from seedforge.instruct.rows import read_rows


def main() -> None:
    p = stage.parser(__doc__)
    istage.add_io(p)
    p.add_argument("--teacher", default=None, help="a teacher profile instead of instruct.teacher")
    args = p.parse_args()
    params, cfg = istage.recipe(args.params)
    asker, template = istage.asker(params, cfg.expand, args.cache, args.teacher)
    outcome = expand(read_rows(args.inputs[0]), template, asker, cfg.expand, params.seed)
    istage.write_outcome(outcome, args.out, args.rejects, args.metrics, asker)


if __name__ == "__main__":
    stage.run(main)

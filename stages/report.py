"""report: one summary of every iteration (metrics) and a table for the DVC plots."""

from pathlib import Path

from seedforge import stage
from seedforge.config.params import load_params
from seedforge.io import write_json, write_text
from seedforge.loop import summary


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--metrics-dir", type=Path, required=True)
    p.add_argument("--summary", type=Path, required=True)
    p.add_argument("--table", type=Path, required=True)
    args = p.parse_args()
    params = load_params(args.params)
    table = summary.rows(params.loop.iterations, args.metrics_dir)
    write_json(args.summary, summary.summary(table))
    write_text(args.table, summary.to_csv(table))


if __name__ == "__main__":
    stage.run(main)

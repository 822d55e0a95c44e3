"""final: ship the dataset of the iteration whose student scored best on dev (ties: the earlier)."""

from pathlib import Path

from seedforge import stage
from seedforge.config.params import load_params
from seedforge.errors import SeedforgeError
from seedforge.io import read_json, write_json, write_text
from seedforge.loop import final
from seedforge.schema.records import read_records


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--evaluations", type=Path, required=True, help="metrics/evaluate: <i>.json per iteration")
    p.add_argument("--iterations", type=Path, required=True, help="data/iterations: <i>/dataset.jsonl")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)
    args = p.parse_args()
    its = load_params(args.params).loop.iterations
    evaluations = {}
    for i in its:
        path = args.evaluations / f"{i}.json"
        if not path.is_file():
            raise SeedforgeError(f"{path}: missing (evaluate@{i} has not run)")
        evaluations[i] = read_json(path)
    chosen = final.choose(evaluations)
    source = args.iterations / str(chosen["iteration"]) / "dataset.jsonl"
    records = read_records(source)  # validated on the way: the shipped file is a dataset
    chosen["dataset_size"] = len(records)
    # The same bytes as the chosen iteration's file, so a diff between the two is empty.
    write_text(args.out, source.read_text(encoding="utf-8"))
    write_json(args.metrics, chosen)
    stage.result(
        "final",
        f"iteration {chosen['iteration']} ({chosen['reason']}): {len(records)} rows, "
        f"test score {chosen['test_score']}, student {chosen['student']} -> {args.out}",
    )


if __name__ == "__main__":
    stage.run(main)

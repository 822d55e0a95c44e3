"""filter@i: parse the teacher's outputs into records, gate them, and write kept and rejects."""

from pathlib import Path

from seedforge import gates, stage
from seedforge.io import read_jsonl, write_json, write_jsonl
from seedforge.params import load_params
from seedforge.records import read_records, write_records


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--iteration", type=int, required=True)
    p.add_argument("--generations", type=Path, required=True)
    p.add_argument("--dataset", type=Path, required=True, help="iteration i's dataset (for duplicates)")
    p.add_argument("--task-info", type=Path, required=True)
    p.add_argument("--kept", type=Path, required=True)
    p.add_argument("--rejects", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)
    args = p.parse_args()
    load_params(args.params)  # validate the recipe even though no key is read here
    task = stage.task_info(args.task_info)
    existing = [r.id for r in read_records(args.dataset)]
    kept, rejects, counts = gates.filter_generations(
        read_jsonl(args.generations), task, existing, args.iteration
    )
    write_records(args.kept, kept)
    write_jsonl(args.rejects, rejects)
    write_json(args.metrics, counts)


if __name__ == "__main__":
    stage.run(main)

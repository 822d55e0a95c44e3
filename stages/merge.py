"""merge@i: iteration i+1's dataset is iteration i's dataset plus the examples kept in round i."""

from pathlib import Path

from seedforge import stage
from seedforge.errors import SeedforgeError
from seedforge.params import load_params
from seedforge.records import read_records, write_records


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--kept", type=Path, required=True)
    p.add_argument("--annotated", type=Path, default=None, help="round i's annotated pool rows")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    load_params(args.params)
    merged = {r.id: r for r in read_records(args.dataset)}
    for record in read_records(args.kept):
        if record.id in merged:  # filter removes these; a clash means the files were edited by hand
            raise SeedforgeError(f"{args.kept}: record {record.id} is already in {args.dataset}")
        merged[record.id] = record
    # Annotated pool inputs are not in the dataset (annotate skips those); one the teacher also
    # happened to generate is the same record (same content, same id): keep the generated one.
    for record in read_records(args.annotated) if args.annotated is not None else []:
        merged.setdefault(record.id, record)
    write_records(args.out, merged.values())


if __name__ == "__main__":
    stage.run(main)

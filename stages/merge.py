"""merge@i: iteration i+1's dataset is iteration i's plus the examples kept and annotated in round i."""

import logging
from pathlib import Path

from seedforge import stage
from seedforge.config.params import load_params
from seedforge.errors import SeedforgeError
from seedforge.loop import annotate
from seedforge.schema.records import read_records, write_records


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--kept", type=Path, required=True)
    p.add_argument("--annotated", type=Path, default=None, help="round i's annotated pool rows")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    load_params(args.params)
    merged = {r.id: r for r in read_records(args.dataset)}
    kept = read_records(args.kept)
    for record in kept:
        if record.id in merged:  # filter removes these; a clash means the files were edited by hand
            raise SeedforgeError(f"{args.kept}: record {record.id} is already in {args.dataset}")
        merged[record.id] = record
    # Annotated pool rows passed the same gates against the same dataset, but not against the
    # generated rows kept beside them: one with the same id or input as those is dropped here.
    annotated = read_records(args.annotated) if args.annotated is not None else []
    fresh = annotate.unique_against(annotated, kept)
    for record in fresh:
        if record.id in merged:
            raise SeedforgeError(f"{args.annotated}: record {record.id} is already in {args.dataset}")
        merged[record.id] = record
    if len(fresh) < len(annotated):
        logging.getLogger("merge").info(
            "dropped %d annotated rows already among the kept generated ones", len(annotated) - len(fresh)
        )
    write_records(args.out, merged.values())


if __name__ == "__main__":
    stage.run(main)

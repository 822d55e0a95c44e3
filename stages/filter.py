"""filter@i: parse the teacher's calls into candidates, gate them, write kept, rejects and counts."""

import logging
from pathlib import Path

from seedforge import gates, stage
from seedforge.config.params import load_params
from seedforge.io import read_jsonl, write_json, write_rows
from seedforge.loop.filter import filter_calls
from seedforge.schema.records import read_records, write_records
from seedforge.schema.rows import RejectRow
from seedforge.vectors.embed import Encoder


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--iteration", type=int, required=True)
    p.add_argument("--calls", type=Path, required=True, help="round i's call rows")
    p.add_argument("--dataset", type=Path, required=True, help="iteration i's dataset (for duplicates)")
    p.add_argument("--prepared", type=Path, required=True, help="task.json, seed/test/dev.jsonl")
    p.add_argument("--cache", type=Path, default=None, help="embedding cache folder")
    p.add_argument(
        "--student", type=Path, default=None, help="iteration i's student (gates.label.reference: student)"
    )
    p.add_argument("--kept", type=Path, required=True)
    p.add_argument("--rejects", type=Path, required=True)
    p.add_argument("--metrics", type=Path, required=True)
    args = p.parse_args()
    params = load_params(args.params)
    settings = params.gates
    task = stage.task_info(args.prepared / "task.json")
    split = lambda name: read_records(args.prepared / f"{name}.jsonl")  # noqa: E731
    encoder = Encoder(settings.model, args.cache, settings.device, settings.batch_size)
    chain = gates.build_gates(
        settings,
        encoder,
        task,
        dataset=read_records(args.dataset),
        held_out={"test": split("test"), "dev": split("dev")},
        seed=split("seed"),
        student=args.student,
        # the round-trip check (gates.label.reference: teacher | consensus) asks the loop's teacher
        teacher=gates.label_scorer(settings, params.teacher, params.teacher_profile),
        rng_seed=params.seed,
    )
    kept, rejects, counts = filter_calls(read_jsonl(args.calls), chain, task, args.iteration)
    # Logged, not a metric: it depends on the cache, and metrics depend only on the inputs.
    logging.getLogger("filter").info("embedded %d new texts (the rest came from the cache)", encoder.embedded)
    encoder.close()
    write_records(args.kept, kept)
    write_rows(args.rejects, [RejectRow.model_validate(r) for r in rejects])  # one shape for all reasons
    write_json(args.metrics, counts)
    stage.result(
        f"filter@{args.iteration}",
        f"kept {counts['kept']} of {counts['parsed']} parsed examples; rejected {counts['rejected']}",
    )


if __name__ == "__main__":
    stage.run(main)

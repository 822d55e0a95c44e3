"""Does the student learn at all? Test accuracy of the recipe's student with and without the
`min_steps` floor, on the project's iteration datasets and on k-per-label cuts of its seed set.

Reads `data/prepared/{seed,test}.jsonl`, `data/prepared/task.json` and
`data/iterations/<i>/dataset.jsonl` of the project (run `make repro` first); trains with the
recipe's `students.<student>` profile, `epochs` raised so that each run makes at least
`--min-steps` optimiser steps (0: the epochs alone), once per `--seeds`.

    OMP_NUM_THREADS=2 .venv/bin/python bench/student_steps.py --min-steps 0 80 --seeds 0 1 \\
        --per-label 2 3 --out bench/results/student_steps.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from seedforge import stage  # noqa: E402
from seedforge.config.params import load_params  # noqa: E402
from seedforge.schema.records import Record, read_records  # noqa: E402
from seedforge.students import make_student  # noqa: E402


def per_label(seed: list[Record], k: int) -> list[Record]:
    """The first k rows of each label, in id order (the seed file's order)."""
    labels = sorted({r.output for r in seed})
    return [r for label in labels for r in [x for x in seed if x.output == label][:k]]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--project", type=Path, default=ROOT)
    p.add_argument("--min-steps", type=int, nargs="+", default=[0, 80])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--per-label", type=int, nargs="*", default=[2, 3])
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    params = load_params(args.project / "params.yaml")
    task = stage.task_info(args.project / "data/prepared/task.json")
    test = read_records(args.project / "data/prepared/test.jsonl")
    seed = read_records(args.project / "data/prepared/seed.jsonl")
    sets = {f"iteration {i}": read_records(d / "dataset.jsonl") for i, d in
            sorted((int(d.name), d) for d in (args.project / "data/iterations").iterdir()
                   if (d / "dataset.jsonl").exists())}  # fmt: skip
    sets |= {f"{k} per label": per_label(seed, k) for k in args.per_label}
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for floor in args.min_steps:
            profile = params.student_profile.model_copy(update={"min_steps": floor})
            student = make_student(params.student, profile)
            for name, rows in sets.items():
                for s in args.seeds:
                    out = Path(tmp) / f"{floor}-{len(runs)}"
                    info = student.train(rows, task, out, seed=s)
                    preds = student.predict(out, [r.input for r in test])
                    acc = sum(a == r.output for a, r in zip(preds, test, strict=True)) / len(test)
                    run = {"min_steps": floor, "data": name, "rows": len(rows), "seed": s}
                    run |= {"steps": info["steps"], "final_loss": info["final_loss"], "test_accuracy": acc}
                    print(json.dumps(run), flush=True)
                    runs.append(run)
    args.out.write_text(json.dumps({"student": params.student, "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()

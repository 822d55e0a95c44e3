"""evaluate@i: score iteration i's student on the seed set and the test (and dev) set.

Under `loop.select: wrong_any` it also scores the generated examples of iteration i's dataset
(split `generated`), so that select can target the generated examples the student gets wrong.
"""

from pathlib import Path

from seedforge import stage
from seedforge.config.params import load_params
from seedforge.io import write_json, write_rows
from seedforge.loop import evaluate
from seedforge.schema.records import read_records
from seedforge.students import make_student


def main() -> None:
    p = stage.parser(__doc__)
    p.add_argument("--iteration", type=int, required=True)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument(
        "--prepared", type=Path, required=True, help="folder with seed/test/dev.jsonl and task.json"
    )
    p.add_argument("--dataset", type=Path, required=True, help="iteration i's dataset (wrong_any)")
    p.add_argument("--out", type=Path, required=True, help="predictions.jsonl")
    p.add_argument("--metrics", type=Path, required=True)
    args = p.parse_args()
    params = load_params(args.params)
    task = stage.task_info(args.prepared / "task.json")
    student = make_student(params.student, params.student_profile)
    splits = {s: read_records(args.prepared / f"{s}.jsonl") for s in ("seed", "test", "dev")}
    if params.loop.select == "wrong_any":
        splits["generated"] = [r for r in read_records(args.dataset) if r.origin != "seed"]
    # One predict call: the model is loaded once for all splits.
    every = [r for rs in splits.values() for r in rs]
    inputs = [r.input for r in every]
    if hasattr(student, "probabilities"):  # a classifier: the gold label's probability too
        labels, probs = student.probabilities(args.model, inputs)
        said, gold = evaluate.read_probabilities(labels, probs, [r.output for r in every])
    else:
        said, gold = student.predict(args.model, inputs), [None] * len(every)
    predictions, confidences = iter(said), iter(gold)
    rows = []
    for split, records in splits.items():
        said_here = [next(predictions) for _ in records]
        rows.extend(evaluate.score(task, split, records, said_here, [next(confidences) for _ in records]))
    write_rows(args.out, sorted(rows, key=lambda r: (r.split, r.id)))
    m = evaluate.metrics(args.iteration, rows)
    write_json(args.metrics, m)
    dev = f", dev {m['dev_accuracy']}" if "dev_accuracy" in m else ""
    stage.result(
        f"evaluate@{args.iteration}",
        f"test {m.get('test_accuracy')}, seed {m.get('seed_accuracy')} ({m['seed_wrong']} wrong){dev}",
    )


if __name__ == "__main__":
    stage.run(main)

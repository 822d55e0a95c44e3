"""Label check references at rejecting wrong labels: precision and recall on planted rows.

For each dataset and random seed: a stratified seed set (default 1% of train, at least 2 rows a
label, as the loop's bench draws it), then N other train rows as candidates, half with their own
label and half planted: the same real text with a label drawn at random from the others. Each
reference of `gates.label.reference` judges every candidate through its real gate class:

  knn        LabelCheck (k nearest seed examples vote)
  student    StudentLabelCheck on a student trained on the seed set (the recipe's profile)
  teacher    TeacherLabelCheck (the round trip) with --teacher, at each --thresholds value
  consensus  ConsensusLabelCheck over the three (teacher at the recipe's threshold)

A rejection is a positive: precision = planted among rejected, recall = planted rejected of all
planted; `clean_kept` is the share of honest rows kept (1 - the false-rejection rate).

    OMP_NUM_THREADS=1 nice python bench/label_check.py --datasets sst2 snips --seeds 0 1 2 \\
        --n 200 --out bench/results/label_check.json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from seedforge.config.params import load_params  # noqa: E402
from seedforge.gates import (  # noqa: E402
    ConsensusLabelCheck,
    LabelCheck,
    StudentLabelCheck,
    TeacherLabelCheck,
    Verdict,
)
from seedforge.schema.records import Record  # noqa: E402
from seedforge.students import make_student  # noqa: E402
from seedforge.tasks import get_task  # noqa: E402
from seedforge.teachers import make_teacher  # noqa: E402
from seedforge.vectors.embed import Encoder  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


class Recorded:
    """A gate whose verdicts were computed once (so consensus reuses the references' answers)."""

    name = "label"

    def __init__(self, verdicts: list[Verdict]) -> None:
        self.verdicts = verdicts

    def filter_batch(self, records: list[Record]) -> list[Verdict]:
        assert len(records) == len(self.verdicts)
        return self.verdicts


def read_tsv(path: Path) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text().splitlines():
        label, _, text = line.partition("\t")
        if text.strip():
            rows.append((label, text))
    return rows


def draw(train: list[tuple[str, str]], frac: float, floor: int, n: int, rs: int):
    """(seed records, candidate records, which candidates are planted)."""
    rng = random.Random(rs)
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, (label, _) in enumerate(train):
        by_label[label].append(i)
    chosen: set[int] = set()
    for label in sorted(by_label):
        idx = list(by_label[label])
        rng.shuffle(idx)
        chosen.update(idx[: max(floor, round(frac * len(idx)))])
    seed = [Record.seed("classification", train[i][1], train[i][0]) for i in sorted(chosen)]
    seen = {r.input for r in seed}
    rest = [i for i in range(len(train)) if i not in chosen and train[i][1] not in seen]
    picked = rng.sample(rest, n)
    labels = sorted(by_label)
    candidates, planted = [], []
    for j, i in enumerate(picked):
        label, text = train[i]
        wrong = j % 2 == 1
        if wrong:
            label = rng.choice([x for x in labels if x != label])
        candidates.append(Record.seed("classification", text, label))
        planted.append(wrong)
    return seed, candidates, planted, labels


def score(rejected: list[bool], planted: list[bool]) -> dict[str, float]:
    tp = sum(r and p for r, p in zip(rejected, planted, strict=True))
    fp = sum(r and not p for r, p in zip(rejected, planted, strict=True))
    fn = sum(p and not r for r, p in zip(rejected, planted, strict=True))
    honest = sum(not p for p in planted)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "clean_kept": (honest - fp) / honest,
        # what the dataset receives: the share of kept rows whose label is right
        "kept_correct": (honest - fp) / max(1, honest - fp + fn),
    }


def run_seed(name: str, rs: int, args: argparse.Namespace, params, encoder, teacher) -> dict:
    train = read_tsv(SHARED / name / "train.tsv")
    seed, candidates, planted, labels = draw(train, args.seed_frac, 2, args.n, rs)
    task = get_task("classification").with_labels(labels)
    log = lambda *a: print(f"[{name} s{rs}]", *a, flush=True)  # noqa: E731
    out: dict[str, dict] = {}
    verdicts: dict[str, list[Verdict]] = {}

    t = time.monotonic()
    verdicts["knn"] = LabelCheck(seed, encoder, params.gates.label.k).filter_batch(candidates)
    log(f"knn {time.monotonic() - t:.0f}s")

    with tempfile.TemporaryDirectory() as tmp:
        t = time.monotonic()
        profile = params.student_profile.model_copy(update={"device": "cpu"})
        make_student(params.student, profile).train(seed, task, Path(tmp) / "s", seed=rs)
        verdicts["student"] = StudentLabelCheck(Path(tmp) / "s", task, "cpu").filter_batch(candidates)
        log(f"student {time.monotonic() - t:.0f}s")

    for ref in ("knn", "student"):
        out[ref] = score([not v.keep for v in verdicts[ref]], planted)
    if teacher is None:  # --no-teacher: the two cheap references and their agreement
        both = ConsensusLabelCheck([Recorded(verdicts[k]) for k in ("knn", "student")])
        out["consensus(knn+student)"] = score([not v.keep for v in both.filter_batch(candidates)], planted)
        log(" ".join(f"{k}: P {v['precision']:.2f} R {v['recall']:.2f}" for k, v in out.items()))
        return {
            "dataset": name,
            "seed": rs,
            "seed_rows": len(seed),
            "candidates": len(candidates),
            "scores": out,
        }
    t = time.monotonic()
    gate = TeacherLabelCheck(teacher, task, seed, params.gates.label.shots, 0.0, rs)
    probs = gate.probabilities(candidates)
    log(f"teacher {time.monotonic() - t:.0f}s ({len(candidates)} rows)")
    own = [p[labels.index(r.output)] for p, r in zip(probs, candidates, strict=True)]
    top = [labels[max(range(len(p)), key=lambda i: (p[i], -i))] for p in probs]
    for th in args.thresholds:
        rejected = [t_ != r.output or o < th for t_, o, r in zip(top, own, candidates, strict=True)]
        out[f"teacher@{th:g}"] = score(rejected, planted)
        if th == params.gates.label.threshold:
            verdicts["teacher"] = [
                Verdict(scores={"label_teacher": o}) if not rej else Verdict("label:teacher", answer=t_)
                for rej, o, t_ in zip(rejected, own, top, strict=True)
            ]
    consensus = ConsensusLabelCheck([Recorded(verdicts[k]) for k in ("knn", "student", "teacher")])
    out["consensus"] = score([not v.keep for v in consensus.filter_batch(candidates)], planted)
    # consensus without the student (what annotate@i and a run without --student get)
    pair = ConsensusLabelCheck([Recorded(verdicts[k]) for k in ("knn", "teacher")])
    out["consensus(knn+teacher)"] = score([not v.keep for v in pair.filter_batch(candidates)], planted)
    # a stricter rule for comparison: any reference's drop drops
    refs = ("knn", "student", "teacher")
    any_drop = [any(not verdicts[k][i].keep for k in refs) for i in range(len(planted))]
    out["any of 3 drops"] = score(any_drop, planted)
    log(" ".join(f"{k}: P {v['precision']:.2f} R {v['recall']:.2f}" for k, v in out.items()))
    return {"dataset": name, "seed": rs, "seed_rows": len(seed), "candidates": len(candidates), "scores": out}


def summary(runs: list[dict]) -> dict:
    out: dict[str, dict] = {}
    for name in sorted({r["dataset"] for r in runs}):
        mine = [r for r in runs if r["dataset"] == name]
        out[name] = {}
        for ref in mine[0]["scores"]:
            out[name][ref] = {
                m: {
                    "mean": statistics.fmean(r["scores"][ref][m] for r in mine),
                    "sd": statistics.stdev(r["scores"][ref][m] for r in mine) if len(mine) > 1 else 0.0,
                }
                for m in mine[0]["scores"][ref]
            } | {"n": len(mine)}
    return out


def table(summ: dict) -> str:
    lines = []
    for name, refs in summ.items():
        lines += [
            f"\n{name} (n={next(iter(refs.values()))['n']} seeds)\n",
            "| reference | precision | recall | F1 | honest rows kept | kept rows correct |",
            "|---|---|---|---|---|---|",
        ]
        for ref, m in refs.items():
            cell = lambda k, m=m: f"{m[k]['mean']:.2f} ± {m[k]['sd']:.2f}"  # noqa: E731
            lines.append(
                f"| {ref} | {cell('precision')} | {cell('recall')} | {cell('f1')} | "
                f"{cell('clean_kept')} | {cell('kept_correct')} |"
            )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["sst2", "snips"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--seed-frac", type=float, default=0.01)
    p.add_argument("--n", type=int, default=200, help="candidates per seed, half planted")
    p.add_argument("--teacher", default="smollm2", help="a llamacpp profile in params.yaml")
    p.add_argument("--thresholds", type=float, nargs="+", default=[0.0, 0.5, 0.6, 0.7, 0.8, 0.9])
    p.add_argument("--no-teacher", action="store_true", help="knn and student only (minutes, not hours)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    params = load_params(ROOT / "params.yaml")
    encoder = Encoder(params.gates.model, ROOT / ".seedforge/cache/embeddings", "cpu")
    teacher = None if args.no_teacher else make_teacher(args.teacher, params.teachers[args.teacher])
    runs: list[dict] = []
    for name in args.datasets:
        for rs in args.seeds:
            runs.append(run_seed(name, rs, args, params, encoder, teacher))
            args.out.parent.mkdir(parents=True, exist_ok=True)
            record = {
                "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                "label_params": params.gates.label.model_dump(),
                "runs": runs,
                "summary": summary(runs),
            }
            args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(table(summary(runs)))


if __name__ == "__main__":
    main()

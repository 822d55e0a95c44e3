"""Quick check of annotate without the oracle: untuned SmolLM2 labels 30 train-pool inputs of
SST-2 and SNIPS (40-example stratified seed, label log-probability), compared with the gold labels.

    OMP_NUM_THREADS=2 .venv/bin/python bench/annotate_quick.py
"""

import random
import sys
import time

sys.path.insert(0, "src")
from seedforge.config.params import load_params
from seedforge.loop import annotate
from seedforge.schema.records import TeacherRef
from seedforge.tasks import get_task
from seedforge.teachers import make_teacher, scoring

sys.path.insert(0, "bench")
from teacher_quality import DATA, read_tsv, stratified

task = get_task("classification")
params = load_params()
for name in ("sst2", "snips"):
    train = read_tsv(DATA / name / "train.tsv")
    labels = sorted({r.output for r in train})
    seeds = stratified(train, 40, 0)
    si = {r.input for r in seeds}
    pool = random.Random(1).sample([r for r in train if r.input not in si], 30)
    t = make_teacher("smollm2", params.teachers["smollm2"])
    shown = scoring.demonstrations(seeds, labels, 2 if name == "sst2" else 1, 0)
    picked = [annotate.Target(r.id, r.input, "", 1.0) for r in pool]
    s = time.perf_counter()
    kept, _ = annotate.label(
        t, task, labels, shown, picked, 0.0, 0, TeacherRef(profile="smollm2", backend="llamacpp", model="x")
    )
    el = time.perf_counter() - s
    lab = {r.input: r for r in kept}
    acc = sum(lab[r.input].output == r.output for r in pool) / len(pool)
    sure = [r for r in pool if lab[r.input].gates["probability"] >= 0.6]
    sacc = sum(lab[r.input].output == r.output for r in sure) / max(1, len(sure))
    maj = max(sum(r.output == lab_ for r in pool) for lab_ in labels) / len(pool)
    figures = f"gold agreement {acc:.3f} majority {maj:.3f} kept@0.6 {len(sure) / len(pool):.3f}"
    print(name, figures, f"agreement_kept {sacc:.3f} s/input {el / len(pool):.2f}", flush=True)

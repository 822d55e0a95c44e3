"""The shipped instruction recipe end to end, in a scratch copy of the project: the per-operator
table (calls, kept, rejected by reason) and the wall time of `dvc repro instruct/dvc.yaml`.

    OMP_NUM_THREADS=2 nice python bench/instruct_default.py --dest /tmp/instruct_default \\
        --out bench/results/instruct_default.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, "src")
from seedforge.io import read_json, write_json
from seedforge.testing.project import REPO, copy_project

OPS = ("seed", "expand", "refine", "respond", "extract", "judge", "gate", "categorize", "rebalance")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dest", type=Path, required=True, help="an empty scratch folder")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    dest = copy_project(args.dest)
    shutil.copytree(REPO / "instruct", dest / "instruct")
    shutil.copytree(REPO / "data" / "instruct" / "raw", dest / "data" / "instruct" / "raw")
    start = time.perf_counter()
    log = subprocess.run(
        ["dvc", "repro", "instruct/dvc.yaml"], cwd=dest, capture_output=True, text=True, check=False
    )
    result: dict[str, object] = {"seconds": round(time.perf_counter() - start), "rc": log.returncode}
    (args.out.with_suffix(".log")).write_text(log.stdout + log.stderr)
    metrics = dest / "metrics" / "instruct"
    result["operators"] = {
        op: read_json(metrics / f"{op}.json") for op in OPS if (metrics / f"{op}.json").exists()
    }
    if (metrics / "compare.json").exists():
        result["compare"] = read_json(metrics / "compare.json")
    dataset = dest / "data" / "instruct" / "dataset.jsonl"
    if dataset.exists():
        rows = [json.loads(x) for x in dataset.read_text().splitlines()]
        result["dataset"] = {
            "rows": len(rows),
            "distinct": len({r["id"] for r in rows}),
            "judged": sum(r["judge"] is not None for r in rows),
            "categories": dict(sorted(Counter(r["category"] for r in rows).items())),
            "judged_categories": dict(sorted(Counter(r["category"] for r in rows if r["judge"]).items())),
        }
    write_json(args.out, result)
    print(json.dumps(result, indent=1)[:4000])


if __name__ == "__main__":
    main()

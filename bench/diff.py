"""Benchmark `seedforge diff` on two synthetic datasets of N rows each (default 1,000,000).

B is A with 5% of rows removed, 5% new rows added and 5% of rows changed (another teacher profile
and call, as a teacher experiment would give). Rows look like the loop's generated records
(canonical JSON, sorted by id). The timed command is the real CLI in a fresh process, so start-up
and imports count. Prints one JSON object; `--check` also asserts the counts.

    .venv/bin/python bench/diff.py                # 1,000,000 rows
    .venv/bin/python bench/diff.py --rows 100000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seedforge.io import dumps
from seedforge.schema.records import record_id

LABELS = ["account", "billing", "delivery", "technical"]
WORDS = "my parcel card refund login password invoice courier app crash order box late twice".split()


def row(n: int, profile: str = "tiny") -> dict:
    words = [WORDS[(n * 7 + k * 3) % len(WORDS)] for k in range(6 + n % 9)]
    text = f"{' '.join(words)} {n}"
    label = LABELS[n % 4]
    parent = hashlib.sha256(f"seed{n % 4000}".encode()).hexdigest()[:16]
    seed = n % 4000 < 40
    rid = record_id("classification", text, label)
    if seed:
        return {"id": rid, "task": "classification", "input": text, "output": label, "origin": "seed",
                "iteration": 0, "parent_id": None, "teacher": None, "template": None,
                "sampling": None, "call": None, "gates": {}}  # fmt: skip
    call = hashlib.sha256(f"{profile}{n // 3}".encode()).hexdigest()[:32]
    return {
        "id": rid,
        "task": "classification",
        "input": text,
        "output": label,
        "origin": "generated",
        "iteration": 1 + n % 5,
        "parent_id": parent,
        "teacher": {"profile": profile, "backend": "llamacpp", "model": "model.gguf"},
        "template": {"path": "prompts/classification.jinja", "sha256": "ab" * 32},
        "sampling": {"max_tokens": 160, "sample": 0, "seed": n, "temperature": 1.0, "top_p": 0.95},
        "call": call,
        "gates": {},
    }


def write(path: Path, rows: list[dict]) -> None:
    rows.sort(key=lambda r: r["id"])
    with path.open("w", encoding="utf-8") as f:
        f.writelines(dumps(r) + "\n" for r in rows)


def make(folder: Path, n: int) -> tuple[Path, Path, dict[str, int]]:
    a_rows, b_rows = [], []
    expect = {"removed": 0, "added": 0, "changed": 0}
    for k in range(n):
        r = row(k)
        a_rows.append(r)
        bucket = k % 20  # 1/20 = 5% each
        if bucket == 0 and r["origin"] != "seed":
            expect["removed"] += 1
        elif bucket == 1 and r["origin"] != "seed":
            expect["changed"] += 1
            b_rows.append(row(k, profile="tiny_cool"))
        else:
            b_rows.append(r)
    for k in range(n, n + n // 20):
        b_rows.append(row(k))
        expect["added"] += 1
    a, b = folder / "a.jsonl", folder / "b.jsonl"
    write(a, a_rows)
    write(b, b_rows)
    return a, b, expect


def timed(args: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, out.stdout


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--check", action="store_true", help="assert the diff's counts")
    args = p.parse_args()
    seedforge = str(Path(sys.executable).parent / "seedforge")
    with tempfile.TemporaryDirectory(prefix="seedforge-bench-diff-") as tmp:
        start = time.perf_counter()
        a, b, expect = make(Path(tmp), args.rows)
        gen_s = time.perf_counter() - start
        json_s, out = timed([seedforge, "diff", str(a), str(b), "--json"])
        md_s, _ = timed([seedforge, "diff", str(a), str(b), "--markdown"])
        text_s, _ = timed([seedforge, "diff", str(a), str(b)])
        d = json.loads(out)
        got = {k: d["rows"][k] for k in expect}
        if args.check:
            assert got == expect, (got, expect)
        print(
            json.dumps(
                {
                    "rows_a": d["rows"]["a"],
                    "rows_b": d["rows"]["b"],
                    **{f"{k}": v for k, v in got.items()},
                    "mb_each": round(a.stat().st_size / 2**20),
                    "json_s": round(json_s, 2),
                    "markdown_s": round(md_s, 2),
                    "text_s": round(text_s, 2),
                    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
                    "generate_inputs_s": round(gen_s, 1),
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                }
            )
        )


if __name__ == "__main__":
    main()

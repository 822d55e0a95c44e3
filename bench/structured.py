"""Parse and validity rate of teacher output with and without structured output (JSON schema
constrained decoding), on the same prompts, in-process llama.cpp.

    .venv/bin/python bench/structured.py --gguf models/tiny_teacher/model.gguf [--calls 40]

Prompts are the default recipe's template rendered for seed examples of the prepared demo set
(`data/prepared/seed.jsonl`, from `dvc repro prepare`); no re-asks, so each call counts once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from seedforge.config.params import LlamaCppTeacher, load_params  # noqa: E402
from seedforge.io import read_json, read_jsonl  # noqa: E402
from seedforge.loop import generate  # noqa: E402
from seedforge.tasks import from_info  # noqa: E402
from seedforge.teachers import make_teacher  # noqa: E402
from seedforge.teachers.cache import CallCache  # noqa: E402
from seedforge.teachers.prompts import load_template  # noqa: E402
from seedforge.teachers.runner import Progress  # noqa: E402


def measure(gguf: Path, prepared: Path, calls: int, structured: bool, max_tokens: int) -> dict:
    params = load_params(REPO / "params.yaml")
    info = read_json(prepared / "task.json")
    task = from_info(info)
    seeds = read_jsonl(prepared / "seed.jsonl")
    selected = [{"id": r["id"], "input": r["input"], "output": r["output"]} for r in seeds][:calls]
    template = load_template(params.data.template, root=REPO)
    base = params.teacher_profile
    profile = LlamaCppTeacher(
        backend="llamacpp",
        model=str(gguf),
        n_ctx=base.n_ctx,
        temperature=base.temperature,
        top_p=base.top_p,
        max_tokens=max_tokens,
        structured=structured,
        reasks=0,
    )
    teacher = make_teacher("bench", profile)
    plan = generate.plan(selected, template, task, params.loop.k, 0, 0, structured=structured)
    start = time.perf_counter()
    rows, counts, _ = generate.run(
        teacher, plan, template, CallCache(None), task, Progress("bench", enabled=False)
    )
    took = time.perf_counter() - start
    parsed_calls = sum(1 for r in rows if task.parse(r["raw"]).examples)
    return {
        "structured": structured,
        "calls": len(rows),
        "calls_parsed": parsed_calls,
        "calls_with_valid": counts["calls_with_valid"],
        "examples_parsed": counts["examples_parsed"],
        "examples_valid": counts["examples_valid"],
        "parse_rate": round(parsed_calls / len(rows), 3),
        "valid_call_rate": round(counts["calls_with_valid"] / len(rows), 3),
        "valid_example_rate": round(counts["examples_valid"] / max(counts["examples_parsed"], 1), 3),
        "completion_tokens": counts["completion_tokens"],
        "wall_s": round(took, 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--gguf", type=Path, default=REPO / "models/tiny_teacher/model.gguf")
    p.add_argument("--prepared", type=Path, default=REPO / "data/prepared")
    p.add_argument("--calls", type=int, default=40)
    p.add_argument("--max-tokens", type=int, default=160)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    results = [measure(args.gguf, args.prepared, args.calls, s, args.max_tokens) for s in (False, True)]
    if args.json:
        print(json.dumps(results))
        return
    print("| output | calls | parsed | with a valid example | valid / parsed examples | tokens | wall s |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        name = "structured (JSON schema)" if r["structured"] else "text"
        print(
            f"| {name} | {r['calls']} | {r['parse_rate']:.0%} | {r['valid_call_rate']:.0%} | "
            f"{r['examples_valid']}/{r['examples_parsed']} ({r['valid_example_rate']:.0%}) | "
            f"{r['completion_tokens']} | {r['wall_s']} |"
        )


if __name__ == "__main__":
    main()

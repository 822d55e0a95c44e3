"""Wall time of every stage of the default pipeline, a no-op `dvc repro`, and our generate stage
against raw llama-cpp-python on the same prompts (one run, so the ratio is what to compare).

    .venv/bin/python bench/stages.py [--teacher tiny]       # or: make bench

It copies the project into a temporary directory (a fresh git + DVC repo, empty caches) and runs
each stage there with `dvc repro --single-item`, in pipeline order, with the recipe's default
teacher (what `make repro` runs) unless `--teacher` names another profile.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
os.environ["DVC_NO_ANALYTICS"] = "1"

from seedforge.config.params import load_params  # noqa: E402
from seedforge.testing.project import copy_project  # noqa: E402


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    return time.perf_counter() - start


def raw_llamacpp(project: Path) -> float:
    """The same prompts and sampling as generate@0, straight through llama-cpp-python."""
    from llama_cpp import Llama

    params = load_params(project / "params.yaml")
    t = params.teacher_profile
    rows = [json.loads(line) for line in (project / "data/iterations/0/calls.jsonl").open()]
    start = time.perf_counter()
    llm = Llama(model_path=str(project / t.model), n_ctx=t.n_ctx, verbose=False)
    for row in rows:
        llm.create_chat_completion(
            messages=row["request"]["messages"],
            temperature=t.temperature,
            top_p=t.top_p,
            max_tokens=t.max_tokens,
            repeat_penalty=t.repeat_penalty,
            seed=row["sampling"]["seed"],
        )
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", default=load_params(REPO / "params.yaml").teacher)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_project(Path(tmp))  # the tests' copy, with the tiny teacher: set ours back
        recipe = project / "params.yaml"
        recipe.write_text(re.sub(r"(?m)^teacher: \S+", f"teacher: {args.teacher}", recipe.read_text()))
        params = load_params(recipe)
        order = ["prepare", "teacher", "tiny_teacher", "teacher_finetune"]
        for i in params.loop.iterations:
            order += ["train" if i == 0 else f"retrain@{i - 1}", f"evaluate@{i}"]
            if i < len(params.loop.rounds):
                order += [f"select@{i}", f"generate@{i}", f"filter@{i}", f"annotate@{i}", f"merge@{i}"]
        order.append("report")
        times = {stage: timed(["dvc", "repro", "--single-item", stage], project) for stage in order}
        noop = timed(["dvc", "repro"], project)
        calls = sum(1 for _ in (project / "data/iterations/0/calls.jsonl").open())
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(f"teacher: {args.teacher}")
        print("| stage | wall s |\n|---|---|")
        for stage, seconds in times.items():
            print(f"| {stage} | {seconds:.1f} |")
        print(f"| **all stages** | **{sum(times.values()):.1f}** |")
        print(f"| no-op `dvc repro` | {noop:.1f} |")
        if getattr(params.teacher_profile, "chat", False):  # the raw comparison replays chat calls
            raw = raw_llamacpp(project)
            print(
                f"\ngenerate@0: {calls} calls; stage {times['generate@0']:.1f} s, raw llama-cpp-python "
                f"(load + same calls) {raw:.1f} s, ratio {times['generate@0'] / raw:.1f}x"
            )
        else:
            print(f"\ngenerate@0: {calls} calls in {times['generate@0']:.1f} s")


if __name__ == "__main__":
    main()

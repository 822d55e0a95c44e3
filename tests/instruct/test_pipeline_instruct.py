"""The instruction pipeline under DVC, in a fresh copy of the project, on the Alpaca seed tasks.

The teacher is the tiny offline GGUF, which writes broken English: these tests check mechanics
(every call accounted for, every drop with its reason, judge scores present or rejected, rebalance
metrics, provenance back to a seed line, pipeline separation), not quality.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from seedforge.instruct.rows import read_rows
from seedforge.io import read_jsonl
from seedforge.testing.project import REPO, copy_project, stages_done
from tests.conftest import shared

pytestmark = pytest.mark.slow

OPS = ("expand", "refine", "respond", "extract", "judge", "gate", "categorize")
DISTIL = ("distil_pairs", "distil", "expand_distilled", "compare")
INSTRUCT = {f"instruct/dvc.yaml:{s}" for s in ("teacher", "seed", *OPS, "rebalance", *DISTIL)}
TEACHER = "instruct/dvc.yaml:teacher"  # always_changed: it re-fingerprints the model on every repro


def dvc(project: Path, *args: str) -> str:
    out = subprocess.run(["nice", "-n", "10", "dvc", *args], cwd=project, capture_output=True, text=True)
    assert out.returncode == 0, f"dvc {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


# Ran, or restored from the session's shared run-cache: either way DVC found the stage changed.
ran = stages_done


def set_params(project: Path, edit) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    edit(params)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def metrics(project: Path, name: str) -> dict:
    return json.loads((project / "metrics" / "instruct" / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, dvc_cache: Path) -> Path:
    dest = copy_project(tmp_path_factory.mktemp("instruct"), cache_dir=dvc_cache)
    shutil.copytree(REPO / "instruct", dest / "instruct")
    shutil.copytree(REPO / "data" / "instruct" / "raw", dest / "data" / "instruct" / "raw")
    # The real seed tasks, copied into the throwaway project only (never into the repo).
    shutil.copy(
        shared("instruct", "alpaca_seed_tasks.jsonl"), dest / "data/instruct/raw/alpaca_seed_tasks.jsonl"
    )

    def light(p: dict) -> None:
        p["tiny_teacher"].update(steps=60, pairs=64)
        p["teachers"]["tiny"]["max_tokens"] = 48
        ins = p["instruct"]
        ins["teacher"] = "tiny"  # the loop's tiny GGUF: fast, and it shows the two pipelines apart
        ins["seed"] = {
            "path": "data/instruct/raw/alpaca_seed_tasks.jsonl",
            "format": "alpaca_seed",
            "limit": 4,
        }
        ins["expand"].update(m=2, rounds=2, calls_per_round=2, n=3)
        ins["extract"]["pairs"] = 2
        ins["respond"]["reject_truncated"] = False  # 48 tokens cut most answers; keep them flowing
        # The relevance check runs (the stage's encoder, every verdict's cosine) but drops none of
        # the tiny teacher's noise, which would leave nothing to judge; test_operators tests the bar.
        ins["judge"]["min_relevance"] = -1.0
        ins["rebalance"] = {"target": {"open_qa": 3, "brainstorming": 1}, "total": 12}
        ins["distil"].update(steps=2, max_length=96)  # SmolLM2 LoRA: a few seconds a step
        p["teachers"]["smollm2_distilled"]["max_tokens"] = 48

    set_params(dest, light)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    subprocess.run(["git", "commit", "-qm", "light settings"], cwd=dest, check=True)
    # The instruct stages depend on the chosen teacher's files only, not on a loop stage: the tiny
    # GGUF is the loop's, so the instruct teacher stage asks for it to be built first.
    cmd = ["dvc", "repro", "instruct/dvc.yaml:teacher"]
    out = subprocess.run(cmd, cwd=dest, capture_output=True, text=True)
    assert out.returncode != 0 and "dvc repro tiny_teacher" in out.stdout + out.stderr
    assert ran(dvc(dest, "repro", "tiny_teacher")) == {"prepare", "teacher", "tiny_teacher"}
    assert ran(dvc(dest, "repro", "instruct/dvc.yaml")) == INSTRUCT
    return dest


def test_every_call_is_accounted_for(project: Path) -> None:
    d = project / "data" / "instruct"
    seeds = read_rows(d / "seed.jsonl")
    assert len(seeds) == 4 and all(r.origin == "seed" and r.source for r in seeds)
    expand = metrics(project, "expand")
    assert expand["calls"] == 4 and "cached" not in expand  # metrics hold no cache state
    assert len(expand["kept_per_round"]) == 2
    expanded = read_rows(d / "expanded.jsonl")
    assert expand["kept"] == len(expanded)
    # One call per input row for the one-in-one-out operators: each row is kept or rejected.
    for op, inputs, output in (
        ("refine", ["expanded"], "refined"),
        ("respond", ["refined"], "responded"),
        ("judge", ["responded", "extracted"], "judged"),
    ):
        m = metrics(project, op)
        n_in = sum(len(read_rows(d / f"{name}.jsonl")) for name in inputs)
        assert m["calls"] == n_in and m["failed"] == 0, op
        assert m["kept"] + m["rejected"] == n_in, op
        assert m["kept"] == len(read_rows(d / f"{output}.jsonl")), op
    # categorize (method: embed) asks no teacher: every input row is categorized or rejected.
    m = metrics(project, "categorize")
    n_in = sum(len(read_rows(d / f"{name}.jsonl")) for name in ("seed", "gated"))
    assert m["calls"] == 0 and m["kept"] + m["rejected"] == n_in
    assert m["kept"] == len(read_rows(d / "categorized.jsonl"))
    for op in OPS:
        m = metrics(project, op)
        rejects = read_jsonl(d / "rejects" / f"{op}.jsonl")
        assert m["rejected"] == len(rejects) == sum(m["rejected_by_reason"].values()), op
        assert all(r["reason"].startswith(f"{op}:") and r["call"] for r in rejects), op


def test_judge_scores_present_or_rejected_with_reason(project: Path) -> None:
    d = project / "data" / "instruct"
    judged = read_rows(d / "judged.jsonl")
    # The tiny teacher is llama.cpp: every pair is scored from its distribution over 1..10, so no
    # pair can be missing a score; a fallback to parsing its (broken) text would show here.
    for r in judged:
        assert r.judge is not None and 6 <= r.judge.score <= 10 and r.judge.call
        assert r.judge.source == "distribution" and r.judge.distribution is not None
        assert r.judge.relevance is not None or len(r.response.split()) < 3
    m = metrics(project, "judge")
    assert set(m["score_source"]) <= {"distribution"} and sum(m["score_source"].values()) == m["scored"]
    assert m["min_relevance"] == -1.0
    for reject in read_jsonl(d / "rejects" / "judge.jsonl"):
        assert reject["reason"] == "judge:below_threshold", reject["reason"]
        assert 1 <= reject["score"] < 6 and reject["distribution"]


def test_rebalance_metrics_and_dataset(project: Path) -> None:
    d = project / "data" / "instruct"
    m = metrics(project, "rebalance")
    dataset = read_rows(d / "dataset.jsonl")
    categorized = read_rows(d / "categorized.jsonl")
    assert m["rows_after"] == len(dataset) <= 12 and m["rows_before"] == len(categorized)
    # No row is ever repeated by default: a short category keeps what it has and is reported.
    assert m["repeated_rows"] == 0 and len({r.id for r in dataset}) == len(dataset)
    # fill is off by default: no teacher call, and its files (DVC outs) are empty
    assert "fill" not in m and read_rows(d / "filled.jsonl") == []
    assert read_jsonl(d / "rejects" / "fill.jsonl") == []
    have = {c: sum(r.category == c for r in categorized) for c in ("open_qa", "brainstorming")}
    present = {c for c, n in have.items() if n}
    assert present, m
    wanted = (
        {"brainstorming": 3, "open_qa": 9}
        if present == {"open_qa", "brainstorming"}
        else {c: 12 for c in present}
    )
    counts = {c: sum(r.category == c for r in dataset) for c in wanted}
    for c, n in wanted.items():
        assert counts[c] == min(n, have[c]) and counts[c] + m["short"].get(c, 0) == n, (c, m)
    assert m["missing"] == sorted({"open_qa", "brainstorming"} - present)
    table = (project / "reports" / "instruct" / "categories.csv").read_text().splitlines()
    assert table[0] == "category,before,after,target"
    dvc(project, "plots", "show", "--json", "instruct/dvc.yaml")


def test_provenance_reaches_a_seed_line(project: Path) -> None:
    d = project / "data" / "instruct"
    by_id = {}
    for name in ("seed", "expanded", "refined", "responded", "extracted"):
        by_id.update({r.id: r for r in read_rows(d / f"{name}.jsonl")})
    seed_ids = {r.id for r in read_rows(d / "seed.jsonl")}
    for row in read_rows(d / "judged.jsonl"):
        if row.origin == "extracted":
            assert row.source and row.source.startswith("data/instruct/raw/documents/") and row.parent_ids
            continue
        assert set(row.seed_ids) <= seed_ids and row.seed_ids
        hops, current = 0, row
        while current.origin != "seed" and current.parent_ids and current.parent_ids[0] in by_id:
            assert current.call and current.teacher and current.template
            current, hops = by_id[current.parent_ids[0]], hops + 1
        assert current.origin == "seed" and hops == 3  # responded <- refined <- expanded <- seed
        assert current.source.startswith("data/instruct/raw/alpaca_seed_tasks.jsonl:")


def test_pipelines_do_not_rerun_each_other(project: Path) -> None:
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(["git", "commit", "-qm", "run"], cwd=project, check=True)
    assert ran(dvc(project, "repro", "instruct/dvc.yaml")) == {TEACHER}
    # A loop param leaves the instruction pipeline alone (except those that shape the default
    # teacher it borrows from the loop: tiny_teacher.*, loop.k, data.template)...
    set_params(project, lambda p: p["loop"].update(select="all"))
    assert ran(dvc(project, "repro", "instruct/dvc.yaml")) == {TEACHER}
    # ...and an instruct param reruns only the stage that reads it, and no loop stage.
    set_params(project, lambda p: p["instruct"]["rebalance"].update(total=8))
    assert ran(dvc(project, "repro", "instruct/dvc.yaml")) == {TEACHER, "instruct/dvc.yaml:rebalance"}
    assert "changed" not in dvc(project, "status", "prepare", "tiny_teacher")
    # Editing an instruct template or an unused teacher profile touches no loop stage, and the
    # instruct operators only when it is theirs.
    template = project / "prompts" / "instruct" / "expand.jinja"
    template.write_text(template.read_text() + "\n")
    set_params(project, lambda p: p["teachers"]["smollm2"].update(max_tokens=99))
    assert "changed" not in dvc(project, "status", "prepare", "teacher", "tiny_teacher")
    status = dvc(project, "status", "instruct/dvc.yaml")
    assert "instruct/dvc.yaml:expand" in status and "instruct/dvc.yaml:refine" not in status
    # The instruct pipeline's DAG holds no loop stage, whichever teacher it uses.
    dag = dvc(project, "dag", "--md", "instruct/dvc.yaml:rebalance")
    assert "tiny_teacher" not in dag and "prepare" not in dag
    # rebalance caps at `total` and never repeats a row (max_repeat: 0): at most 8, all distinct.
    rebalanced = read_rows(project / "data" / "instruct" / "dataset.jsonl")
    assert 0 < len(rebalanced) <= 8 and len({r.id for r in rebalanced}) == len(rebalanced)


def test_distilled_profile_loads_expands_and_is_compared(project: Path) -> None:
    d = project / "data" / "instruct"
    pairs = read_jsonl(d / "distil" / "pairs.jsonl")
    expanded, refined = read_rows(d / "expanded.jsonl"), read_rows(d / "refined.jsonl")
    assert sum(p["operator"] == "refine" for p in pairs) == len(refined)
    assert sum(p["operator"] == "expand" for p in pairs) == len({r.call for r in expanded})
    m = metrics(project, "distil")
    assert m["steps"] == 2 and m["adapter_bytes"] > 0 and m["pairs"] == len(pairs)
    assert (project / "models" / "instruct" / "distil" / "adapter.gguf").is_file()
    # The profile loaded SmolLM2 plus the adapter and answered every expand call.
    e = metrics(project, "expand_distilled")
    assert e["calls"] == 4 and e["failed"] == 0
    for row in read_rows(d / "expanded_distilled.jsonl"):
        assert row.teacher.profile == "smollm2_distilled" and row.operator == "expand"
    c = metrics(project, "compare")
    assert c["teacher"]["profile"] == "tiny" and c["distilled"]["profile"] == "smollm2_distilled"
    for name in ("teacher", "distilled"):
        side = c[name]
        assert side["calls"] == 4 and side["tokens"] > 0 and side["cost_per_1000_rows"] is None
        assert side["rows"] == 0 or side["tokens_per_1000_rows"] > 0
        assert side["dedup_rate"] is None or 0 <= side["dedup_rate"] <= 1


def test_distil_reruns_only_when_its_pairs_or_params_change(project: Path) -> None:
    def distil_changed() -> bool:
        return "instruct/dvc.yaml:distil:" in dvc(project, "status", "instruct/dvc.yaml:distil")

    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(["git", "commit", "-qm", "before distil checks"], cwd=project, check=True)
    assert not distil_changed()
    # A judge param, an unrelated operator's template, a code file that training does not use.
    set_params(project, lambda p: p["instruct"]["judge"].update(threshold=5))
    (project / "prompts" / "instruct" / "judge.jinja").write_text("Rate it.\n{{ instruction }}\n")
    # (stage deps are per subpackage: distil reaches instruct/, so the code edited is audit's)
    (project / "src" / "seedforge" / "audit" / "diff.py").write_text(
        (project / "src" / "seedforge" / "audit" / "diff.py").read_text() + "\n"
    )
    assert not distil_changed()
    # Its pairs file (through the refine template) and its own params do rerun it.
    set_params(project, lambda p: p["instruct"]["distil"].update(steps=3))
    assert distil_changed()
    set_params(project, lambda p: p["instruct"]["distil"].update(steps=2))
    assert not distil_changed()
    pairs = project / "data" / "instruct" / "distil" / "pairs.jsonl"
    pairs.write_text(pairs.read_text() + pairs.read_text().splitlines()[0] + "\n")
    assert distil_changed()

"""The whole loop under DVC, in a fresh copy of the project: repro, no-op repro, and an experiment."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from seedforge.io import read_jsonl
from seedforge.schema.records import read_records
from seedforge.testing.expect import hardest
from seedforge.testing.project import clone_run, dvc, stages_done

pytestmark = pytest.mark.slow

# annotate@i runs in every round (without data.pool it writes empty files and loads no model). It
# depends on the loop's teacher as filter@i does (the label check's `teacher` reference asks it), so a
# teacher experiment reruns annotate@0 too.
UPSTREAM = {"prepare", "tiny_teacher", "teacher_finetune", "train", "evaluate@0", "select@0"}
DOWNSTREAM = {
    "teacher",  # resolves the chosen profile (seconds); its output is unchanged for tiny_cool
    "annotate@0",
    "generate@0",
    "filter@0",
    "merge@0",
    "retrain@0",
    "evaluate@1",
    "select@1",
    "generate@1",
    "filter@1",
    "annotate@1",
    "merge@1",
    "retrain@1",
    "evaluate@2",
    "final",
    "report",
}


# Ran, or restored from the session's shared run-cache: either way DVC found the stage changed.
ran = stages_done


@pytest.fixture(scope="module")
def project(light_run: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default recipe with 2 rounds and lighter training (the session's shared run), in a copy."""
    src, output = light_run
    assert ran(output) == UPSTREAM | DOWNSTREAM
    return clone_run(src, tmp_path_factory.mktemp("e2e") / "project")


def test_every_iteration_dataset_is_the_last_plus_what_was_kept(project: Path) -> None:
    it = project / "data" / "iterations"
    seed = read_records(project / "data" / "prepared" / "seed.jsonl")
    seed_ids = {r.id for r in seed}
    assert read_records(it / "0" / "dataset.jsonl") == seed
    for i in (0, 1):
        before = read_records(it / str(i) / "dataset.jsonl")
        kept = read_records(it / str(i) / "kept.jsonl")
        after = read_records(it / str(i + 1) / "dataset.jsonl")
        capped = {r["id"] for r in read_jsonl(it / str(i) / "merge_rejects.jsonl")}
        assert len(kept) >= 1, f"round {i} kept nothing"
        assert {r.id for r in after} == {r.id for r in before} | ({r.id for r in kept} - capped)
        assert [r.id for r in after] == sorted(r.id for r in after)
        for r in kept:
            # LLM2LLM: only seed examples are augmented, and each new one says where it came from.
            assert r.origin == "generated" and r.iteration == i + 1 and r.parent_id in seed_ids
            assert r.teacher is not None and r.teacher.profile == "tiny"
            assert r.template is not None and r.template.path == "prompts/classification.jinja"
            assert r.call and r.sampling is not None and "seed" in r.sampling
            assert r.output in {"account", "billing", "delivery", "technical"}


def test_selection_follows_the_students_mistakes(project: Path) -> None:
    share = yaml.safe_load((project / "params.yaml").read_text())["loop"]["budget"]
    for i in (0, 1):
        predictions = read_jsonl(project / "data" / "iterations" / str(i) / "predictions.jsonl")
        # hardest: every seed example it got wrong first, then the ones it was least sure of
        expected = hardest(predictions, share)
        wrong = {p["id"] for p in predictions if p["split"] == "seed" and not p["correct"]}
        assert wrong <= set(expected) or set(expected) <= wrong
        selected = read_jsonl(project / "data" / "iterations" / str(i) / "selected.jsonl")
        assert [s["id"] for s in selected] == expected
        parents = {
            g["parent_id"] for g in read_jsonl(project / "data" / "iterations" / str(i) / "calls.jsonl")
        }
        assert parents == set(expected)


def test_metrics_rejects_and_plots(project: Path) -> None:
    for i in (0, 1):
        f = json.loads((project / "metrics" / "filter" / f"{i}.json").read_text())
        rejects = read_jsonl(project / "data" / "iterations" / str(i) / "rejects.jsonl")
        assert f["rejected"] == len(rejects) == sum(f["rejected_by_reason"].values())
        assert f["parsed"] == f["kept"] + sum(
            n for r, n in f["rejected_by_reason"].items() if not r.startswith(("parse:", "call:"))
        )
        kept = read_records(project / "data" / "iterations" / str(i) / "kept.jsonl")
        assert all({"leak_cosine_test", "leak_cosine_dev", "near_duplicate"} <= set(r.gates) for r in kept)
        assert all(r["reason"] and r["call"] for r in rejects)
    for i in (0, 1, 2):
        e = json.loads((project / "metrics" / "evaluate" / f"{i}.json").read_text())
        assert e["test_total"] == 200 and 0 <= e["test_accuracy"] <= 1 and e["seed_total"] == 16
    shown = json.loads(dvc(project, "metrics", "show", "--json"))
    assert "reports/summary.json" in json.dumps(shown)
    table = (project / "reports" / "iterations.csv").read_text().splitlines()
    assert table[0].startswith("iteration,dataset_size") and len(table) == 4
    assert "rejected_leak" in table[0] and "rejected_near_duplicate" in table[0]
    dvc(project, "plots", "show", "--json")
    # the shipped dataset: the best iteration on dev, byte for byte, and the student that goes with it
    chosen = json.loads((project / "metrics" / "final.json").read_text())
    best = max(range(3), key=lambda i: (chosen["by_iteration"][str(i)]["dev_score"], -i))
    assert chosen["iteration"] == best and chosen["chosen_by"] == "dev"
    assert (project / "data" / "final" / "dataset.jsonl").read_bytes() == (
        project / "data" / "iterations" / str(best) / "dataset.jsonl"
    ).read_bytes()
    assert chosen["student"] == f"models/student/{best}" and (project / chosen["student"]).is_dir()
    for i in (0, 1):  # merge@i's balance count matches its rejects file
        m = json.loads((project / "metrics" / "merge" / f"{i}.json").read_text())
        capped = read_jsonl(project / "data" / "iterations" / str(i) / "merge_rejects.jsonl")
        assert m["rejected"] == len(capped) and all(r["reason"] == "balance:cap" for r in capped)


def test_second_repro_runs_nothing(project: Path) -> None:
    output = dvc(project, "repro")
    assert ran(output) == set()
    assert "Data and pipelines are up to date" in output


def test_teacher_experiment_reruns_only_what_follows_the_first_generate(project: Path) -> None:
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(["git", "commit", "-qm", "baseline"], cwd=project, check=True)
    output = dvc(project, "exp", "run", "-S", "teacher=tiny_cool")
    assert ran(output) == DOWNSTREAM
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    assert lock["stages"]["generate@0"]["params"]["params.yaml"]["teacher"] == "tiny_cool"
    assert lock["stages"]["train"]["params"]["params.yaml"]["student"] == "minilm"
    kept = read_records(project / "data" / "iterations" / "0" / "kept.jsonl")
    assert kept and all(r.teacher is not None and r.teacher.profile == "tiny_cool" for r in kept)
    shown = dvc(project, "exp", "show", "--no-pager", "--csv")
    assert "tiny_cool" in shown

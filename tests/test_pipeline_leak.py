"""A teacher that copies a test sentence: the filter stage rejects it as leakage under DVC, the
next dataset lacks it, a threshold change reruns only from the gates, and a missing encoder
fails the stage with nothing written."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from seedforge.io import read_jsonl
from seedforge.schema.records import read_records, record_id
from seedforge.testing.loopback import Loopback
from seedforge.testing.project import copy_project
from tests.conftest import DEMO

pytestmark = pytest.mark.slow

LEAKED = DEMO.joinpath("test.csv").read_text().splitlines()[1]  # first test row: "text,label"
LEAKED_TEXT, LEAKED_LABEL = LEAKED.rsplit(",", 1)
FRESH = "The gift wrap I paid extra for was missing, and the ribbon came loose in the van"
ANSWER = f"Input: {LEAKED_TEXT}\nLabel: {LEAKED_LABEL}\n\nInput: {FRESH}\nLabel: delivery\n"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """An OpenAI-compatible server whose every answer copies a test sentence (plus one new one)."""
    with Loopback(answer=lambda body: ANSWER) as loop:
        yield loop.url


def dvc(project: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(["dvc", *args], cwd=project, capture_output=True, text=True)
    if ok:
        assert out.returncode == 0, f"dvc {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out


def set_params(project: Path, change: dict) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    for dotted, value in change.items():
        *path, last = dotted.split(".")
        node = params
        for key in path:
            node = node[key]
        node[last] = value
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, server: str, dvc_cache: Path) -> Path:
    dest = copy_project(tmp_path_factory.mktemp("leak"), cache_dir=dvc_cache)
    set_params(
        dest,
        {
            "loop.iterations": [0, 1],
            "loop.rounds": [{"i": 0, "next": 1}],
            "loop.k": 2,
            "loop.select": "all",
            "loop.budget": None,
            "teacher": "copier",
            "teachers.copier": {"backend": "openai", "base_url": server, "model": "copier", "api": "chat"},
            "tiny_teacher.steps": 5,
            "tiny_teacher.pairs": 16,
            "students.minilm.epochs": 1,
            "students.minilm.min_steps": 0,
        },
    )
    subprocess.run(["git", "commit", "-qam", "copying teacher"], cwd=dest, check=True)
    dvc(dest, "repro", "merge@0")
    return dest


def test_copied_test_sentence_is_rejected_and_never_merged(project: Path) -> None:
    it = project / "data" / "iterations"
    rejects = read_jsonl(it / "0" / "rejects.jsonl")
    test_id = record_id("classification", LEAKED_TEXT, LEAKED_LABEL)
    leaks = [r for r in rejects if r["reason"].startswith("leak:")]
    assert leaks, f"no leak rejected: {[r['reason'] for r in rejects]}"
    assert all(r["reason"] == "leak:test:ngram" and r["matched_id"] == test_id for r in leaks)
    assert all(r["input"] == LEAKED_TEXT and r["score"] == 1.0 for r in leaks)
    assert len(leaks) == 16  # one call per seed example (select: all), each copied it: all reported
    assert not any(r.input == LEAKED_TEXT for r in read_records(it / "1" / "dataset.jsonl"))
    kept = read_records(it / "0" / "kept.jsonl")
    assert [r.input for r in kept] == [FRESH]  # the new sentence passes, once
    assert set(kept[0].gates) >= {"leak_cosine_test", "leak_cosine_dev", "near_duplicate"}
    metrics = json.loads((project / "metrics" / "filter" / "0.json").read_text())
    assert metrics["rejected_by_reason"]["leak:test:ngram"] == len(leaks)
    assert metrics["kept"] == 1


def test_threshold_change_reruns_only_from_the_gates(project: Path) -> None:
    before = set(json.loads(dvc(project, "status", "--json").stdout))  # stages after merge@0 never ran
    set_params(project, {"gates.near_duplicate": 0.9})
    changed = set(json.loads(dvc(project, "status", "--json").stdout)) - before
    # annotate@0 gates its pool rows with the same chain (without data.pool it reruns in a blink)
    assert changed == {"filter@0", "annotate@0"}, changed
    dry = dvc(project, "repro", "--dry", "merge@0").stdout
    assert "Running stage 'filter@0'" in dry and "Running stage 'generate@0'" not in dry


def test_encoder_that_cannot_load_fails_closed(project: Path) -> None:
    set_params(project, {"gates.model": "./models/no-such-encoder"})
    out = dvc(project, "repro", "--single-item", "filter@0", ok=False)
    assert out.returncode != 0
    ours = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("error: ")]
    assert ours == ["error: gates.model: cannot load './models/no-such-encoder': no such folder"], out.stderr
    for name in ("kept.jsonl", "rejects.jsonl"):
        assert not (project / "data" / "iterations" / "0" / name).exists()

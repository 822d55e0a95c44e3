"""balance: merge@i admits no label past loop.max_label_share of the merged dataset."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from seedforge.errors import SeedforgeError
from seedforge.io import read_json, read_jsonl, write_json
from seedforge.loop import balance
from seedforge.schema.records import Record, read_records, write_records
from seedforge.tasks import get_task
from seedforge.testing.project import REPO

LABELS = ["account", "billing", "shipping", "technical"]


def seed_rows(per_label: int) -> list[Record]:
    return [
        Record.seed("classification", f"{label} question {n}", label)
        for label in LABELS
        for n in range(per_label)
    ]


def generated(text: str, label: str, **gates: float) -> Record:
    return Record.seed("classification", text, label).model_copy(
        update={"origin": "generated", "iteration": 1, "gates": gates}
    )


def test_a_flood_of_one_label_is_cut_to_the_cap_keeping_the_most_confident() -> None:
    """The demo's round 1 once added 35 `account` rows of 39: at the 4-label default (0.375) most
    are turned away, the ones the label check was surest of stay, and no label passes the cap."""
    dataset = seed_rows(10)
    flood = [generated(f"account flood {n}", "account", label_agreement=n / 40) for n in range(35)]
    others = [generated(f"billing extra {n}", "billing", label_agreement=1.0) for n in range(4)]
    share = balance.cap("auto", len(LABELS))
    admitted, rejects = balance.balance(dataset, flood + others, lambda r: r.output, share)
    merged = Counter(r.output for r in [*dataset, *admitted])
    total = sum(merged.values())
    assert share == 0.375 and all(n <= share * total for n in merged.values()), merged
    kept_account = [r for r in admitted if r.output == "account"]
    assert 0 < len(kept_account) < 35 and len([r for r in admitted if r.output == "billing"]) == 4
    # the most confident survive: every admitted account row outranks every rejected one
    assert min(r.gates["label_agreement"] for r in kept_account) > max(r["score"] for r in rejects)
    assert {r["reason"] for r in rejects} == {"balance:cap"} and len(rejects) == 35 - len(kept_account)
    assert len(admitted) + len(rejects) == 39


def test_ties_go_by_id_and_no_cap_admits_everything() -> None:
    dataset = seed_rows(1)
    rows = [generated(f"same score {n}", "account", label_student=0.9) for n in range(6)]
    admitted, _ = balance.balance(dataset, rows, lambda r: r.output, 0.5)
    assert [r.id for r in admitted] == sorted(r.id for r in rows)[: len(admitted)]
    assert balance.balance(dataset, rows, lambda r: r.output, None) == (rows, [])
    assert balance.confidence(generated("x", "a", label_agreement=0.8, label_student=0.6)) == 0.6
    assert balance.confidence(generated("y", "a", probability=0.7)) == 0.7


def test_a_cap_no_dataset_can_meet_names_the_params_key() -> None:
    with pytest.raises(SeedforgeError, match=r"loop.max_label_share: 0.2 is below an even share \(1/4\)"):
        balance.cap(0.2, 4)


def test_merge_stage_writes_the_capped_rows_and_their_count(tmp_path: Path) -> None:
    dataset = seed_rows(2)
    kept = [generated(f"account more {n}", "account", label_agreement=1 - n / 10) for n in range(6)]
    write_records(tmp_path / "dataset.jsonl", dataset)
    write_records(tmp_path / "kept.jsonl", kept)
    write_records(tmp_path / "annotated.jsonl", [])
    write_json(tmp_path / "task.json", get_task("classification").with_labels(LABELS).info())
    names = ["dataset", "kept", "annotated", "out", "rejects"]
    args = [f"--{n}={tmp_path / n}.jsonl" for n in names]
    args += ["--iteration=0", f"--task-info={tmp_path / 'task.json'}", f"--metrics={tmp_path / 'm.json'}"]
    out = subprocess.run(
        [sys.executable, "-m", "stages.merge", *args], cwd=REPO, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    merged = read_records(tmp_path / "out.jsonl")
    rejects = read_jsonl(tmp_path / "rejects.jsonl")
    metrics = read_json(tmp_path / "m.json")
    # 8 seed rows, 2 per label: a second account row would make 4 of 10 (0.4 > 0.375), so one
    # row enters (3 of 9), the surest, and the five others are listed as capped
    assert Counter(r.output for r in merged)["account"] == 3 and len(merged) == 9
    assert kept[0] in merged and sorted(r["id"] for r in rejects) == sorted(r.id for r in kept[1:])
    assert metrics == {
        "iteration": 0,
        "max_label_share": 0.375,
        "added": 1,
        "rejected": 5,
        "rejected_by_reason": {"balance:cap": 5},
        "merged_size": 9,
    }

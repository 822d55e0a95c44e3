"""A persistent per-call cache of teacher outputs: one small JSON file per call key.

It lets a rerun, or a resume after a crash or `kill -9`, skip every call that already finished:
each answer is written (atomically) the moment it arrives, before the stage's own outputs exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seedforge.io import read_json, write_json


class CallCache:
    def __init__(self, root: Path | None) -> None:
        self.root = Path(root) if root is not None else None

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        if self.root is None:
            return None
        path = self._path(key)
        try:
            return read_json(path) if path.exists() else None
        except Exception:  # noqa: BLE001 - a corrupt entry is a miss, not a failure
            return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        if self.root is not None:
            write_json(self._path(key), value)

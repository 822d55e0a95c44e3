"""A run's files as they are in the workspace, at a git revision, or in a DVC experiment.

The audit commands read every file through a `Snapshot`, so `provenance`, `report`, `audit` and
`diff` work the same on the working tree and on `HEAD~1` or an experiment name: at a revision,
files (git- or DVC-tracked alike) are read through `dvc.api.DVCFileSystem`, without checking
anything out.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from seedforge.errors import SeedforgeError, first_line
from seedforge.io import iter_json_lines, validate_row
from seedforge.schema import layout
from seedforge.schema.records import Record

M = TypeVar("M", bound=BaseModel)

WORKSPACE = "workspace"


class Snapshot:
    """The project at `root`, as of `rev` (None: the workspace)."""

    def __init__(self, root: Path | str = ".", rev: str | None = None) -> None:
        self.root = Path(root)
        self.rev = None if rev in (None, WORKSPACE) else rev
        self._cache: dict[str, bytes | None] = {}
        self._parsed: dict[tuple[str, type], list[Any]] = {}  # rows are frozen: safe to share

    @property
    def label(self) -> str:
        return self.rev or WORKSPACE

    def where(self, path: str) -> str:
        """How a file is named in messages: `path` in the workspace, `rev:path` at a revision."""
        return path if self.rev is None else f"{self.rev}:{path}"

    @cached_property
    def _fs(self) -> Any:
        from dvc.api import DVCFileSystem

        try:
            fs = DVCFileSystem(str(self.root), rev=self.rev)
            fs.exists(layout.PARAMS)  # resolves the revision now, so a bad one fails here
        except Exception as e:  # noqa: BLE001 - dvc/scmrepo raise many types for a bad revision
            raise SeedforgeError(
                f"{self.rev}: not a git revision or DVC experiment ({first_line(e)})"
            ) from None
        return fs

    def read_bytes(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist in this snapshot."""
        if path not in self._cache:
            data = self._read(path)
            older = layout.older_name(path)
            if data is None and older is not None:  # a revision from before a file was renamed
                data = self._read(older)
            self._cache[path] = data
        return self._cache[path]

    def _read(self, path: str) -> bytes | None:
        if self.rev is None:
            full = self.root / path
            return full.read_bytes() if full.is_file() else None
        try:
            with self._fs.open(path, mode="rb") as f:
                return f.read()
        except (FileNotFoundError, IsADirectoryError):
            return None
        except Exception as e:  # noqa: BLE001 - e.g. a DVC-tracked file missing from the cache
            raise SeedforgeError(f"{self.where(path)}: cannot read ({first_line(e)})") from None

    def exists(self, path: str) -> bool:
        return self.read_bytes(path) is not None

    def require(self, path: str) -> bytes:
        data = self.read_bytes(path)
        if data is None:
            raise SeedforgeError(f"{self.where(path)}: file not found")
        return data

    def json(self, path: str) -> Any | None:
        data = self.read_bytes(path)
        if data is None:
            return None
        try:
            return json.loads(data)
        except json.JSONDecodeError as e:
            raise SeedforgeError(f"{self.where(path)}:{e.lineno}: invalid JSON ({e.msg})") from None

    def lines(self, path: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line number, object) per row of a JSONL file; nothing when the file is absent."""
        data = self.read_bytes(path)
        if data is None:
            return iter(())
        return iter_json_lines(io.StringIO(data.decode("utf-8")), self.where(path))

    def rows(self, path: str, model: type[M]) -> list[M]:
        """Typed rows of a JSONL file (empty when absent); a bad row names file, line and field."""
        key = (path, model)
        if key not in self._parsed:
            self._parsed[key] = [
                validate_row(model, row, f"{self.where(path)}:{n}") for n, row in self.lines(path)
            ]
        return self._parsed[key]

    def records(self, path: str) -> list[Record]:
        return self.rows(path, Record)

    def iterations(self) -> list[int]:
        """The iterations that have a dataset, ascending."""
        found = set()
        if self.rev is None:
            base = self.root / layout.ITERATIONS
            names = [p.name for p in base.iterdir() if p.is_dir()] if base.is_dir() else []
        else:
            try:
                names = [Path(p).name for p in self._fs.ls(layout.ITERATIONS, detail=False)]
            except FileNotFoundError:
                names = []
        for name in names:
            if name.isdigit() and self.exists(layout.dataset(int(name))):
                found.add(int(name))
        return sorted(found)

    def last_iteration(self) -> int:
        its = self.iterations()
        if not its:
            raise SeedforgeError(f"{self.where(layout.ITERATIONS)}: no iteration datasets (run `dvc repro`)")
        return its[-1]

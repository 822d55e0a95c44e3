"""Atomic file writing and JSON/JSONL helpers.

Every stage output goes through these so that a crash never leaves a half-written file that DVC
(or the next stage) would take for a finished one: we write next to the target and `os.replace`
it into place, which is atomic on POSIX.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from seedforge.errors import SeedforgeError

M = TypeVar("M", bound=BaseModel)


def dumps(obj: Any) -> str:
    """Canonical one-line JSON: sorted keys, no ASCII escaping, so equal data gives equal bytes.

    >>> dumps({"b": 1, "a": "é"})
    '{"a":"é","b":1}'
    """
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _umask() -> int:
    """The process umask (reading it means setting it; it is put straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file 0600; a plain open() would follow the umask, and a teammate (or a
        # shared DVC cache) must be able to read what a stage wrote.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield an empty temporary directory beside `path`; it replaces `path` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it 0700; mkdir would follow the umask
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: Path, obj: Any) -> None:
    """Pretty, key-sorted JSON (metrics files are read by people and by `dvc metrics diff`)."""
    write_text(path, json.dumps(obj, sort_keys=True, ensure_ascii=False, indent=2) + "\n")


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as canonical JSONL atomically; returns the row count."""
    n = 0
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(dumps(row) + "\n")
            n += 1
    return n


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a bad line names the file and line."""
    path = Path(path)
    if not path.exists():
        raise SeedforgeError(f"{path}: file not found")
    with path.open(encoding="utf-8") as f:
        yield from iter_json_lines(f, str(path))


def iter_json_lines(lines: Iterable[str], where: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of JSONL text; errors name `where` and the line.

    >>> list(iter_json_lines(['{"a": 1}', "", '{"a": 2}'], "x.jsonl"))
    [(1, {'a': 1}), (3, {'a': 2})]
    """
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise SeedforgeError(f"{where}:{lineno}: invalid JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise SeedforgeError(f"{where}:{lineno}: expected a JSON object per line")
        yield lineno, row


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [row for _, row in iter_jsonl(path)]


def read_json(path: Path) -> Any:
    path = Path(path)
    if not path.exists():
        raise SeedforgeError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise SeedforgeError(f"{path}:{e.lineno}: invalid JSON ({e.msg})") from None


def validate_row(model: type[M], row: dict[str, Any], where: str) -> M:
    """One row as `model`; a row that does not fit names `where` (file:line) and the field."""
    try:
        return model.model_validate(row)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "<row>"
        raise SeedforgeError(f"{where}: field {field!r}: {err['msg']}") from None


def read_rows(path: Path, model: type[M]) -> list[M]:
    """Read a JSONL file of typed rows; a row that does not fit names the file, line and field."""
    return [validate_row(model, row, f"{path}:{lineno}") for lineno, row in iter_jsonl(path)]


def write_rows(path: Path, rows: Iterable[BaseModel]) -> int:
    """Write typed rows as canonical JSONL (in the order given: callers sort)."""
    return write_jsonl(path, (r.model_dump(mode="json") for r in rows))


_SHA256: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a whole file, read in blocks; remembered per (path, size, mtime) within a process,
    since every call row names the same model file."""
    st = Path(path).stat()
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _SHA256:
        digest = hashlib.sha256()
        with Path(path).open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _SHA256[key] = digest.hexdigest()
    return _SHA256[key]

"""Load seed/test/dev tables from local files or the `datasets` hub into records."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seedforge.errors import SeedforgeError, first_line
from seedforge.params import Source
from seedforge.records import Record
from seedforge.tasks import Task

_FORMATS = {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv", ".parquet": "parquet"}


def source_name(source: Source) -> str:
    return source.path if source.path is not None else f"hub:{source.hub}[{source.split}]"


def load_rows(source: Source, root: Path = Path(".")) -> list[dict[str, Any]]:
    """Rows of a source as dicts of column -> value, in file order."""
    if source.hub is not None:
        rows = _load_hub(source)
    else:
        assert source.path is not None
        path = root / source.path
        if not path.exists():
            raise SeedforgeError(f"{source.path}: file not found")
        fmt = source.format if source.format != "auto" else _FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise SeedforgeError(
                f"{source.path}: cannot tell the format from the suffix; set format to one of "
                f"{', '.join(sorted(set(_FORMATS.values())))}"
            )
        rows = _load_file(path, source.path, fmt, source)
    return rows[: source.limit] if source.limit is not None else rows


def _load_file(path: Path, name: str, fmt: str, source: Source) -> list[dict[str, Any]]:
    if fmt == "jsonl":
        rows = []
        with path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise SeedforgeError(f"{name}:{lineno}: invalid JSON ({e.msg})") from None
        return rows
    if fmt == "json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise SeedforgeError(f"{name}:{e.lineno}: invalid JSON ({e.msg})") from None
        if not isinstance(data, list):
            raise SeedforgeError(f"{name}: expected a JSON array of objects")
        return data
    if fmt in ("csv", "tsv"):
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f, delimiter="\t" if fmt == "tsv" else ",")
            lines = [line for line in reader if line]
        if source.header:
            if not lines:
                return []
            names, lines = lines[0], lines[1:]
        else:
            width = max((len(line) for line in lines), default=0)
            names = source.columns or [f"column_{i}" for i in range(width)]
        return [dict(zip(names, line, strict=False)) for line in lines]
    import polars as pl  # only parquet needs it

    return pl.read_parquet(path).to_dicts()


def _load_hub(source: Source) -> list[dict[str, Any]]:
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a core dependency
        raise SeedforgeError("hub sources need the `datasets` package") from None
    try:
        ds = datasets.load_dataset(source.hub, source.config, split=source.split)
    except Exception as e:  # noqa: BLE001 - datasets raises many types; the user needs one line
        first = first_line(e)
        raise SeedforgeError(
            f"hub:{source.hub}: could not load split {source.split!r} ({first}); without a "
            "network, download it elsewhere and point `path` at a local file"
        ) from None
    return [dict(row) for row in ds]


def to_records(
    rows: Sequence[dict[str, Any]], source: Source, task: Task, labels: Sequence[str] | None
) -> list[Record]:
    """Map columns to seed records, checking each row; errors name the file, row and column.

    Rows are numbered from 1 as data rows (a CSV header is not counted).
    """
    name = source_name(source)
    out = []
    for rowno, row in enumerate(rows, start=1):
        values = []
        for column in (source.input, source.output):
            if column not in row:
                have = ", ".join(map(str, row)) or "none"
                raise SeedforgeError(f"{name}: row {rowno}: missing column {column!r} (columns: {have})")
            value = row[column]
            if value is None or not str(value).strip():
                raise SeedforgeError(f"{name}: row {rowno}: column {column!r} is empty")
            values.append(str(value).strip())
        text, output = values
        if labels is not None:
            canonical = task.answer(output, labels)
            if canonical is None:
                raise SeedforgeError(
                    f"{name}: row {rowno}: column {source.output!r}: label {output!r} is not in "
                    f"the seed set's labels ({', '.join(labels)})"
                )
            output = canonical
        elif task.answer(output, None) is None:
            raise SeedforgeError(
                f"{name}: row {rowno}: column {source.output!r}: "
                f"no answer can be extracted from {output[:60]!r}"
            )
        out.append(Record.seed(task.name, text, output))
    return out


def label_set(rows: Sequence[dict[str, Any]], source: Source) -> list[str]:
    """The sorted labels of the seed set (the classification task's label space)."""
    return sorted({str(row.get(source.output, "")).strip() for row in rows} - {""})

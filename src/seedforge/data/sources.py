"""Load seed/test/dev tables from local files or the `datasets` hub into records."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from seedforge.errors import SeedforgeError, first_line
from seedforge.schema.records import Record
from seedforge.schema.strict import Strict
from seedforge.tasks import Example, Task


class Source(Strict):
    """One table of examples: a local file or a `datasets` hub id, and which columns to use."""

    path: str | None = None  # .jsonl .json .csv .tsv .parquet, relative to the project root
    hub: str | None = None  # a `datasets` hub id, e.g. "stanfordnlp/sst2" (needs a network)
    config: str | None = None  # hub dataset config name
    split: str = "train"  # hub split
    format: Literal["auto", "jsonl", "json", "csv", "tsv", "parquet"] = "auto"
    header: bool = True  # csv/tsv: first row names the columns
    columns: list[str] | None = None  # csv/tsv without a header: names for the columns
    # Column(s) holding the input; several are joined by a blank line, empty ones skipped
    # (e.g. alpaca's [instruction, input]).
    input: str | list[str] = "input"
    output: str = "output"  # column holding the label or answer
    # multiple_choice: a list column (JSONL), or one column per option (CSV/TSV), in letter order
    options: str | list[str] | None = None
    limit: int | None = Field(default=None, gt=0)  # keep only the first N rows

    @model_validator(mode="after")
    def _one_location(self) -> Source:
        if (self.path is None) == (self.hub is None):
            raise ValueError("give exactly one of 'path' or 'hub'")
        return self


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


def _read_text(path: Path, name: str) -> str:
    """The file as text; bytes that are not UTF-8 are one line naming the row and byte.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = Path(d) / "s.csv"
    ...     _ = f.write_bytes(b"text,label\\ncaf\\xe9,a\\n")
    ...     _read_text(f, "s.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seedforge.errors.SeedforgeError: s.csv: line 2: not UTF-8 (byte 0xe9 at offset 14); re-save ...
    """
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise SeedforgeError(
            f"{name}: line {line}: not UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); "
            "re-save the file as UTF-8"
        ) from None


def _load_delimited(path: Path, name: str, fmt: str, source: Source) -> list[dict[str, Any]]:
    """CSV/TSV rows; a row whose field count differs from the header's is an error, not a guess.

    An unquoted comma in a CSV row otherwise shifts every later field: the label becomes part of
    the text and a fragment of text becomes a "label", which then looks like a new class.
    """
    text = _read_text(path, name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if fmt == "tsv" else ",")
    try:
        lines = [(reader.line_num, line) for line in reader if line]
    except csv.Error as e:
        raise SeedforgeError(f"{name}: line {reader.line_num}: malformed {fmt.upper()} ({e})") from None
    if source.header:
        if not lines:
            return []
        (_, names), lines = lines[0], lines[1:]
        what = "the header"
    elif source.columns is not None:
        names, what = source.columns, "params columns"
    else:
        names = [f"column_{i}" for i in range(len(lines[0][1]))] if lines else []
        what = "the first row"
    rows = []
    for rowno, (line_num, line) in enumerate(lines, start=1):
        if len(line) != len(names):
            hint = " (an unquoted delimiter inside a field?)" if len(line) > len(names) else ""
            raise SeedforgeError(
                f"{name}: row {rowno} (line {line_num}): {len(line)} fields where {what} has "
                f"{len(names)}{hint}"
            )
        rows.append(dict(zip(names, line, strict=True)))
    return rows


def _load_file(path: Path, name: str, fmt: str, source: Source) -> list[dict[str, Any]]:
    if fmt == "jsonl":
        rows = []
        # split on "\n" only: str.splitlines() would also cut at U+2028 inside a JSON string
        for lineno, line in enumerate(_read_text(path, name).split("\n"), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise SeedforgeError(f"{name}:{lineno}: invalid JSON ({e.msg})") from None
        return rows
    if fmt == "json":
        try:
            data = json.loads(_read_text(path, name))
        except json.JSONDecodeError as e:
            raise SeedforgeError(f"{name}:{e.lineno}: invalid JSON ({e.msg})") from None
        if not isinstance(data, list):
            raise SeedforgeError(f"{name}: expected a JSON array of objects")
        return data
    if fmt in ("csv", "tsv"):
        return _load_delimited(path, name, fmt, source)
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


def _value(row: dict[str, Any], column: str, name: str, rowno: int) -> Any:
    if column not in row:
        have = ", ".join(map(str, row)) or "none"
        raise SeedforgeError(f"{name}: row {rowno}: missing column {column!r} (columns: {have})")
    return row[column]


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _options(row: dict[str, Any], source: Source, name: str, rowno: int) -> list[str] | None:
    """The row's options: one list column, or one column per option."""
    if source.options is None:
        return None
    if isinstance(source.options, str):
        value = _value(row, source.options, name, rowno)
        if not isinstance(value, list):
            raise SeedforgeError(
                f"{name}: row {rowno}: column {source.options!r} must hold a list of options "
                f"(got {type(value).__name__}); in CSV/TSV give one column per option"
            )
        return [_text(v) for v in value]
    return [_text(_value(row, column, name, rowno)) for column in source.options]


def examples(
    rows: Sequence[dict[str, Any]], source: Source, task: Task, max_input_chars: int | None = None
) -> list[Example]:
    """Map columns to (input, raw output) examples, checking each row; errors name the file, row and
    column. Rows are numbered from 1 as data rows (a CSV header is not counted)."""
    name = source_name(source)
    columns = [source.input] if isinstance(source.input, str) else source.input
    out = []
    for rowno, row in enumerate(rows, start=1):
        parts = [_text(_value(row, c, name, rowno)) for c in columns]
        text = "\n\n".join(p for p in parts if p)
        output = _text(_value(row, source.output, name, rowno))
        for column, value in ((" + ".join(columns), text), (source.output, output)):
            if not value:
                raise SeedforgeError(f"{name}: row {rowno}: column {column!r} is empty")
        if max_input_chars is not None and len(text) > max_input_chars:
            raise SeedforgeError(
                f"{name}: row {rowno}: column {' + '.join(columns)!r} has {len(text)} characters, over "
                f"data.max_input_chars ({max_input_chars})"
            )
        try:
            text = task.compose(text, _options(row, source, name, rowno))
        except ValueError as e:
            raise SeedforgeError(f"{name}: row {rowno}: column {source.options!r}: {e}") from None
        out.append(Example(text, output))
    return out


def to_records(
    rows: Sequence[dict[str, Any]], source: Source, task: Task, max_input_chars: int | None = None
) -> list[Record]:
    """Seed records of a source for a task bound to the seed set: outputs are put in the task's
    canonical form (a label in the set's spelling, an option letter), and unusable ones named."""
    name = source_name(source)
    out = []
    for rowno, example in enumerate(examples(rows, source, task, max_input_chars), start=1):
        try:
            output = task.gold(example.output)
        except ValueError as e:
            raise SeedforgeError(f"{name}: row {rowno}: column {source.output!r}: {e}") from None
        out.append(Record.seed(task.name, example.input, output))
    return out

"""Row-level differences between two datasets: added, removed and changed rows by id.

Either side is a dataset file, an iteration (`iter:2`, or `iter:2@HEAD~1`), a git revision or a DVC
experiment name (its last iteration's dataset, read through `dvc.api` without a checkout), or
`REV:PATH`. Rows are joined on `id` with polars: a record's id hashes its task, input and output,
so a "changed" row is the same example with different provenance (another teacher, iteration,
parent, call or gate scores). Every dataset line is canonical JSON, so comparing lines finds every
change; the fields compared one by one say which.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from seedforge.audit.snapshot import Snapshot
from seedforge.errors import SeedforgeError
from seedforge.schema import layout

# The fields a diff summarises and compares; any other difference in a line counts as "other".
SCHEMA = pl.Struct(
    {
        "id": pl.String,
        "task": pl.String,
        "input": pl.String,
        "output": pl.String,
        "origin": pl.String,
        "iteration": pl.Int64,
        "parent_id": pl.String,
        "teacher": pl.Struct({"profile": pl.String, "backend": pl.String, "model": pl.String}),
        "template": pl.Struct({"path": pl.String, "sha256": pl.String}),
        "call": pl.String,
    }
)
COMPARED = ["origin", "iteration", "parent_id", "teacher", "template", "call"]
GROUPS = {"origin": "origin", "label": "output", "teacher": "teacher_profile", "parent": "parent_id"}
TOP = 20  # rows per summary table; the rest are counted in `more`
SAMPLE = 20  # example rows per kind in the text and markdown forms

_ITER = re.compile(r"^iter:(\d+)(?:@(.+))?$")
_FINAL = re.compile(r"^final(?:@(.+))?$")


@dataclass(frozen=True)
class Side:
    """One side of a diff: a label for people, and where its JSONL bytes come from."""

    label: str
    path: str  # the file, as shown
    file: Path | None = None  # a file in the workspace (read lazily, in parallel with the other side)
    data: bytes | None = None  # bytes read at a revision


def resolve(spec: str, root: Path = Path(".")) -> Side:
    """Turn `iter:N[@REV]`, `final[@REV]`, a file path, `REV:PATH`, or a revision / experiment name
    into a Side. `final` is the shipped dataset (stage final); a revision alone, its last iteration's."""
    m = _ITER.match(spec)
    if m:
        return _at(Snapshot(root, m.group(2)), layout.dataset(int(m.group(1))), spec)
    m = _FINAL.match(spec)
    if m and not Path(spec).is_file():
        return _at(Snapshot(root, m.group(1)), layout.FINAL_DATASET, spec)
    if Path(spec).is_file():
        return Side(label=spec, path=spec, file=Path(spec))
    if ":" in spec:
        rev, path = spec.split(":", 1)
        return _at(Snapshot(root, rev or None), path, spec)
    snap = Snapshot(root, spec)
    if not (root / ".git").exists():
        raise SeedforgeError(
            f"{spec}: not a file, an iteration (iter:N), or a revision (no git repo at {root})"
        )
    return _at(snap, layout.dataset(snap.last_iteration()), spec)


def _at(snap: Snapshot, path: str, spec: str) -> Side:
    if snap.rev is None:
        full = snap.root / path
        if not full.is_file():
            raise SeedforgeError(f"{spec}: {path} not found")
        return Side(label=spec, path=path, file=full)
    return Side(label=spec, path=snap.where(path), data=snap.require(path))


def _lines(side: Side) -> pl.LazyFrame:
    # One string column per line: the separator (ASCII unit separator) never occurs raw in JSON.
    options: dict[str, Any] = {
        "has_header": False,
        "separator": "\x1f",
        "quote_char": None,
        "new_columns": ["line"],
        "schema": {"line": pl.String},
    }
    if side.file is not None:
        if side.file.stat().st_size == 0:
            return pl.LazyFrame(schema={"line": pl.String})
        return pl.scan_csv(side.file, **options)
    if not side.data:
        return pl.LazyFrame(schema={"line": pl.String})
    return pl.read_csv(io.BytesIO(side.data), **options).lazy()


def load(side: Side) -> pl.LazyFrame:
    """The compared fields of each row, plus a hash of the whole line."""
    return (
        _lines(side)
        .filter(pl.col("line").str.strip_chars() != "")
        .select(pl.col("line").str.json_decode(SCHEMA).alias("row"), pl.col("line").hash().alias("line_hash"))
        .unnest("row")
        .with_columns(teacher_profile=pl.col("teacher").struct.field("profile"))
    )


def _check(df: pl.DataFrame, side: Side) -> None:
    missing = df.filter(pl.col("id").is_null()).height
    if missing:
        raise SeedforgeError(f"{side.path}: {missing} rows have no id (not a dataset file?)")
    dupes = df.height - df["id"].n_unique()
    if dupes:
        raise SeedforgeError(f"{side.path}: {dupes} duplicate ids (a dataset holds each example once)")


def _counts(frames: dict[str, pl.DataFrame], key: str) -> pl.DataFrame:
    """Rows per value of `key` in each named frame, side by side (0 where absent)."""
    out: pl.DataFrame | None = None
    for name, df in frames.items():
        c = df.group_by(key).len(name=name)
        out = c if out is None else out.join(c, on=key, how="full", coalesce=True, nulls_equal=True)
    assert out is not None
    return out.with_columns(pl.col(list(frames)).fill_null(0))


def compare(a: Side, b: Side) -> dict[str, Any]:
    """The row-level diff of two dataset files, as a JSON-ready dict (see README `## Audit`)."""
    left, right = pl.collect_all([load(a), load(b)])  # both sides decode in parallel
    _check(left, a)
    _check(right, b)
    added = right.join(left.select("id"), on="id", how="anti")
    removed = left.join(right.select("id"), on="id", how="anti")
    both = left.join(right, on="id", how="inner", suffix="_b").filter(
        pl.col("line_hash") != pl.col("line_hash_b")
    )
    flags = [pl.col(f).ne_missing(pl.col(f"{f}_b")).alias(f) for f in COMPARED]
    changed = both.select("id", *flags).with_columns(other=~pl.any_horizontal(COMPARED))
    changed_b = right.join(changed.select("id"), on="id", how="semi")  # changed rows as they are in B

    fields = [*COMPARED, "other"]
    field_counts = changed.select(pl.col(fields).sum()).row(0, named=True) if changed.height else {}
    result: dict[str, Any] = {
        "a": {"spec": a.label, "path": a.path},
        "b": {"spec": b.label, "path": b.path},
        "rows": {
            "a": left.height,
            "b": right.height,
            "added": added.height,
            "removed": removed.height,
            "changed": changed.height,
            "unchanged": left.height - removed.height - changed.height,
        },
        "changed_fields": {f: int(n) for f, n in field_counts.items() if n},
    }
    for group, column in GROUPS.items():
        frames = {"a": left, "b": right, "added": added, "removed": removed, "changed": changed_b}
        table = _counts(frames, column).rename({column: group})
        if group == "parent":
            table = table.filter(pl.col(group).is_not_null())
        table = table.sort(
            [pl.col("added") + pl.col("removed") + pl.col("changed"), pl.col("b"), pl.col(group)],
            descending=[True, True, False],
            nulls_last=True,
        )
        result[f"by_{group}"] = table.head(TOP).to_dicts()
        result[f"by_{group}_more"] = max(0, table.height - TOP)
    changed_rows = changed.with_columns(
        fields=pl.concat_list(
            [pl.when(pl.col(f)).then(pl.lit(f)).otherwise(None) for f in fields]
        ).list.drop_nulls()
    ).sort("id")
    result["added"] = added["id"].sort().to_list()
    result["removed"] = removed["id"].sort().to_list()
    result["changed"] = changed_rows.select("id", "fields").to_dicts()
    result["samples"] = {
        "added": _sample(added),
        "removed": _sample(removed),
        "changed": _sample(changed_b.join(changed_rows.select("id", "fields"), on="id")),
    }
    return result


def _sample(df: pl.DataFrame) -> list[dict[str, Any]]:
    cols = ["id", "origin", "iteration", "output", "teacher_profile", "parent_id", "input"]
    if "fields" in df.columns:
        cols.append("fields")
    return df.sort("id").head(SAMPLE).select(cols).to_dicts()


def _short(text: Any, width: int = 60) -> str:
    """One line, at most `width` characters.

    >>> _short("a  b\\nc"), _short(None), _short("x" * 10, 5)
    ('a b c', '-', 'xxxx…')
    """
    if text is None:
        return "-"
    s = " ".join(str(text).split())
    return s if len(s) <= width else s[: width - 1] + "…"


def _group_title(group: str) -> str:
    return {"label": "label (output)", "teacher": "teacher profile", "parent": "parent (seed example)"}.get(
        group, group
    )


def render_text(d: dict[str, Any]) -> str:
    r = d["rows"]
    lines = [
        f"A: {d['a']['spec']} ({d['a']['path']}, {r['a']} rows)",
        f"B: {d['b']['spec']} ({d['b']['path']}, {r['b']} rows)",
        f"added {r['added']}, removed {r['removed']}, changed {r['changed']}, unchanged {r['unchanged']}",
    ]
    if d["changed_fields"]:
        lines.append("changed fields: " + ", ".join(f"{k} {v}" for k, v in d["changed_fields"].items()))
    for group in GROUPS:
        rows = d[f"by_{group}"]
        if not rows:
            continue
        lines.append(f"by {_group_title(group)}:")
        width = max(8, *(len(_short(row[group], 40)) for row in rows))
        lines.append(f"  {'':<{width}} {'A':>8} {'B':>8} {'added':>8} {'removed':>8} {'changed':>8}")
        for row in rows:
            lines.append(
                f"  {_short(row[group], 40):<{width}} {row['a']:>8} {row['b']:>8} "
                f"{row['added']:>8} {row['removed']:>8} {row['changed']:>8}"
            )
        if d[f"by_{group}_more"]:
            lines.append(f"  … and {d[f'by_{group}_more']} more")
    for kind in ("added", "removed", "changed"):
        sample = d["samples"][kind]
        if sample:
            lines.append(f"{kind} (first {len(sample)} of {r[kind]}):")
            for s in sample:
                extra = f" [{', '.join(s['fields'])}]" if "fields" in s else ""
                lines.append(f"  {s['id']} {_short(s['output'], 16):<16} {_short(s['input'], 60)}{extra}")
    return "\n".join(lines)


def _md(text: Any, width: int = 60) -> str:
    return _short(text, width).replace("|", "\\|")


def render_markdown(d: dict[str, Any]) -> str:
    """A pull-request comment: the counts, the summaries, and the first rows of each kind."""
    r = d["rows"]
    out = [
        f"### Dataset diff: `{d['a']['spec']}` → `{d['b']['spec']}`",
        "",
        "| | rows A | rows B | added | removed | changed | unchanged |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| all | {r['a']} | {r['b']} | {r['added']} | {r['removed']} | {r['changed']} | {r['unchanged']} |",
    ]
    if d["changed_fields"]:
        out += ["", "Changed fields: " + ", ".join(f"`{k}` {v}" for k, v in d["changed_fields"].items())]
    for group in GROUPS:
        rows = d[f"by_{group}"]
        if not rows:
            continue
        out += [
            "",
            f"#### By {_group_title(group)}",
            "",
            f"| {group} | A | B | added | removed | changed |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        out += [
            f"| {_md(row[group], 40)} | "
            + " | ".join(str(row[k]) for k in ("a", "b", "added", "removed", "changed"))
            + " |"
            for row in rows
        ]
        if d[f"by_{group}_more"]:
            out.append(f"| … {d[f'by_{group}_more']} more | | | | | |")
    for kind in ("added", "removed", "changed"):
        sample = d["samples"][kind]
        if not sample:
            continue
        out += [
            "",
            f"<details><summary>{kind}: first {len(sample)} of {r[kind]} rows</summary>",
            "",
            "| id | label | origin | iteration | teacher | parent | input |"
            + (" fields |" if kind == "changed" else ""),
            "|---|---|---|---:|---|---|---|" + ("---|" if kind == "changed" else ""),
        ]
        for s in sample:
            row = (
                f"| `{s['id']}` | {_md(s['output'], 24)} | {s['origin']} | {s['iteration']} | "
                f"{_md(s['teacher_profile'])} | {_md(s['parent_id'])} | {_md(s['input'])} |"
            )
            if kind == "changed":
                row += f" {', '.join(s['fields'])} |"
            out.append(row)
        out += ["", "</details>"]
    return "\n".join(out) + "\n"

"""Read seed instructions (Alpaca seed tasks, Alpaca pairs) and raw documents for `extract`.

Every bad row is one line naming the file, the row and the field; seeds keep their `file:line` (or
`file#index`) as `source`, so `provenance` can point at the exact line an instruction grew from.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from seedforge.errors import SeedforgeError
from seedforge.instruct.rows import InstructionRow
from seedforge.io import dumps, iter_jsonl, read_json


def _text(path: Path, where: str, row: dict[str, Any], field: str, required: bool = True) -> str:
    value = row.get(field, "" if not required else None)
    if value is None or not isinstance(value, str):
        kind = "missing" if value is None else f"not a string ({type(value).__name__})"
        raise SeedforgeError(f"{path}:{where}: field {field!r}: {kind}")
    if required and not value.strip():
        raise SeedforgeError(f"{path}:{where}: field {field!r}: empty")
    return value


def _seed(instruction: str, context: str, response: str, source: str) -> InstructionRow:
    return InstructionRow.make(instruction, context, response, origin="seed", operator="seed", source=source)


def load_seed_tasks(path: Path, name: str | None = None) -> list[InstructionRow]:
    """Self-Instruct/Alpaca seed tasks (JSONL of {instruction, instances: [{input, output}]}).

    Each task gives one row from its first instance (the seed's worked example); `name` is the path
    written into `source` (the path as the recipe spells it, never an absolute one).
    """
    shown = name or str(path)
    rows = []
    for lineno, row in iter_jsonl(path):
        instruction = _text(Path(shown), str(lineno), row, "instruction")
        instances = row.get("instances")
        if not isinstance(instances, list) or not instances or not isinstance(instances[0], dict):
            raise SeedforgeError(f"{shown}:{lineno}: field 'instances': expected a non-empty list of objects")
        first = instances[0]
        context = _text(Path(shown), f"{lineno}", first, "input", required=False)
        output = _text(Path(shown), f"{lineno}", first, "output")
        rows.append(_seed(instruction, context, output, f"{shown}:{lineno}"))
    return rows


def load_alpaca(path: Path, name: str | None = None) -> list[InstructionRow]:
    """Alpaca pairs: a JSON array (or JSONL) of {instruction, input, output}."""
    shown = name or str(path)
    if Path(path).suffix == ".jsonl":
        items = [(str(n), row) for n, row in iter_jsonl(path)]
    else:
        data = read_json(path)
        if not isinstance(data, list):
            raise SeedforgeError(f"{shown}: expected a JSON array of objects")
        items = [(f"#{i}", row) for i, row in enumerate(data)]
    rows = []
    for where, row in items:
        if not isinstance(row, dict):
            raise SeedforgeError(f"{shown}:{where}: expected an object")
        instruction = _text(Path(shown), where, row, "instruction")
        context = _text(Path(shown), where, row, "input", required=False)
        output = _text(Path(shown), where, row, "output")
        rows.append(_seed(instruction, context, output, f"{shown}:{where.lstrip('#')}"))
    return rows


def load_seeds(
    path: Path, format: str, root: Path = Path("."), limit: int | None = None
) -> list[InstructionRow]:
    """Seeds in the recipe's format, deduplicated by id (first copy wins), at most `limit`."""
    loader = {"alpaca_seed": load_seed_tasks, "alpaca": load_alpaca}[format]
    rows = loader(root / path, name=str(path))
    seen: set[str] = set()
    unique = []
    for r in rows:
        if r.id not in seen:
            seen.add(r.id)
            unique.append(r)
    return unique[:limit] if limit else unique


# --- documents ---------------------------------------------------------------------------------

DOC_SUFFIXES = (".txt", ".md")


def split_passages(text: str, max_chars: int) -> list[str]:
    """Split on blank lines, then pack paragraphs greedily into passages of at most `max_chars`.

    A paragraph longer than `max_chars` is cut at sentence ends (or hard, if it has none), so no
    passage overflows a teacher's context.

    >>> split_passages("One.\\n\\nTwo.\\n\\n\\nThree is longer. It has two sentences.", 24)
    ['One.\\n\\nTwo.', 'Three is longer.', 'It has two sentences.']
    >>> split_passages("  \\n ", 20)
    []
    """
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    pieces: list[str] = []
    for p in paragraphs:
        if len(p) <= max_chars:
            pieces.append(p)
            continue
        sentences = re.split(r"(?<=[.!?])\s+", p)
        for s in sentences:
            pieces.extend(s[i : i + max_chars] for i in range(0, len(s), max_chars))
    passages: list[str] = []
    for piece in pieces:
        if passages and len(passages[-1]) + 2 + len(piece) <= max_chars:
            passages[-1] += "\n\n" + piece
        else:
            passages.append(piece)
    return passages


def load_documents(folder: Path, max_chars: int, root: Path = Path(".")) -> list[tuple[str, str]]:
    """(source, passage) for each passage of each .txt/.md file under `folder`, in path order.

    `source` is "relative/path#index", stable across machines.
    """
    full = root / folder
    if not full.is_dir():
        raise SeedforgeError(f"{folder}: documents folder not found")
    out = []
    for path in sorted(p for p in full.rglob("*") if p.is_file() and p.suffix.lower() in DOC_SUFFIXES):
        rel = (Path(folder) / path.relative_to(full)).as_posix()
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise SeedforgeError(f"{rel}: not UTF-8 text (byte {e.start})") from None
        out.extend((f"{rel}#{i}", passage) for i, passage in enumerate(split_passages(text, max_chars)))
    return out


def passage_id(source: str, text: str) -> str:
    """Content id of a passage, used as the parent id of the pairs extracted from it.

    >>> passage_id("docs/a.md#0", "Some text.")
    'f69bc72447e97cd1'
    """
    return hashlib.sha256(dumps([source, text]).encode("utf-8")).hexdigest()[:16]

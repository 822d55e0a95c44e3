"""`seedforge similarity A B`: nearest-neighbour histogram, threshold counts and a PNG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seedforge.cli import app

A = [
    "Where is my parcel?",
    "where is my parcel",
    "I was charged twice this month",
    "The app crashes on start",
]
B = ["Where is my parcel?", "My bill shows two charges this month", "Reset my password please"]


def write(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"input": t, "output": "x"}) + "\n" for t in texts))
    return path


def test_histogram_counts_and_png(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no params.yaml here: the default encoder; cache under ./.seedforge
    a, b = write(tmp_path / "a.jsonl", A), write(tmp_path / "b.jsonl", B)
    result = CliRunner().invoke(
        app, ["similarity", str(a), str(b), "--png", "nn.png", "--thresholds", "0.9,0.999"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"nearest-neighbour cosine of 4 rows of {a} to 3 rows of {b}" in result.output
    assert "[0.95, 1.00]" in result.output
    flagged = {
        line.split()[0]: int(line.split()[1]) for line in lines if line.startswith(("    0.900", "    0.999"))
    }
    assert flagged == {"0.900": 2, "0.999": 1}  # the exact copy, and its case/punctuation variant
    assert (tmp_path / "nn.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list((tmp_path / ".seedforge" / "cache" / "embeddings").glob("*.sqlite"))

    same = CliRunner().invoke(app, ["similarity", str(a), str(a), "--thresholds", "0.9"])
    assert same.exit_code == 0 and "    0.900       2" in same.output  # the two parcel rows, not self-matches


def test_missing_column_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    a = write(tmp_path / "a.jsonl", A)
    result = CliRunner().invoke(app, ["similarity", str(a), str(a), "--column", "text"])
    assert result.exit_code == 1
    assert f"error: {a}: row 1: missing column 'text' (columns: input, output)" in result.output

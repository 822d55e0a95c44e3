"""Row-level diff on hand-built datasets (real runs: tests/test_audit_e2e.py)."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from seedforge.audit import diff
from seedforge.cli import app
from seedforge.errors import SeedforgeError
from seedforge.schema.records import Record, TeacherRef, TemplateRef, record_id, write_records

TEMPLATE = TemplateRef(path="prompts/classification.jinja", sha256="0" * 64)


def generated(text: str, label: str, parent: str, profile: str = "tiny", iteration: int = 1) -> Record:
    return Record(
        id=record_id("classification", text, label),
        task="classification",
        input=text,
        output=label,
        origin="generated",
        iteration=iteration,
        parent_id=parent,
        teacher=TeacherRef(profile=profile, backend="llamacpp", model="m.gguf"),
        template=TEMPLATE,
        sampling={"temperature": 1.0, "seed": 1, "sample": 0},
        call=f"call-{profile}-{text}",
    )


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    seed = [Record.seed("classification", f"seed {i}", "billing" if i % 2 else "delivery") for i in range(4)]
    p0, p1 = seed[0].id, seed[1].id
    a = [*seed, generated("kept one", "delivery", p0), generated("dropped", "billing", p1),
         generated("retaught", "billing", p1)]  # fmt: skip
    b = [*seed, generated("kept one", "delivery", p0), generated("retaught", "billing", p1, profile="cool"),
         generated("new a", "delivery", p0, profile="cool", iteration=2),
         generated("new b", "delivery", p0, profile="cool", iteration=2)]  # fmt: skip
    write_records(tmp_path / "a.jsonl", a)
    write_records(tmp_path / "b.jsonl", b)
    return tmp_path / "a.jsonl", tmp_path / "b.jsonl"


def test_added_removed_changed_and_summaries(pair: tuple[Path, Path]) -> None:
    a, b = pair
    d = diff.compare(diff.resolve(str(a)), diff.resolve(str(b)))
    assert d["rows"] == {"a": 7, "b": 8, "added": 2, "removed": 1, "changed": 1, "unchanged": 5}
    assert d["removed"] == [record_id("classification", "dropped", "billing")]
    assert d["changed"] == [
        {"id": record_id("classification", "retaught", "billing"), "fields": ["teacher", "call"]}
    ]
    assert d["changed_fields"] == {"teacher": 1, "call": 1}
    teachers = {r["teacher"]: r for r in d["by_teacher"]}
    assert teachers["cool"] == {"teacher": "cool", "a": 0, "b": 3, "added": 2, "removed": 0, "changed": 1}
    assert teachers["tiny"]["removed"] == 1 and teachers[None]["a"] == teachers[None]["b"] == 4
    labels = {r["label"]: r for r in d["by_label"]}
    assert labels["delivery"]["added"] == 2 and labels["billing"]["removed"] == 1
    origins = {r["origin"]: r for r in d["by_origin"]}
    assert origins["seed"]["added"] == origins["seed"]["removed"] == 0 and origins["generated"]["b"] == 4


def test_markdown_is_a_table_for_a_pull_request(pair: tuple[Path, Path]) -> None:
    a, b = pair
    result = CliRunner().invoke(app, ["diff", str(a), str(b), "--markdown"])
    assert result.exit_code == 0, result.output
    md = result.output
    assert md.startswith("### Dataset diff:") and "| all | 7 | 8 | 2 | 1 | 1 | 5 |" in md
    assert "#### By teacher profile" in md and "| cool | 0 | 3 | 2 | 0 | 1 |" in md
    assert "<summary>added: first 2 of 2 rows</summary>" in md


def test_an_identical_copy_has_no_difference(pair: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = pair
    (tmp_path / "copy.jsonl").write_bytes(a.read_bytes())
    d = diff.compare(diff.resolve(str(a)), diff.resolve(str(tmp_path / "copy.jsonl")))
    assert d["rows"]["added"] == d["rows"]["removed"] == d["rows"]["changed"] == 0
    assert d["rows"]["unchanged"] == 7


def test_bad_sides_are_one_line_errors(pair: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = pair
    dup = tmp_path / "dup.jsonl"
    dup.write_text(a.read_text() + a.read_text().splitlines()[0] + "\n")
    with pytest.raises(SeedforgeError, match="1 duplicate ids"):
        diff.compare(diff.resolve(str(a)), diff.resolve(str(dup)))
    result = CliRunner().invoke(app, ["diff", str(a), "no-such-thing", "--project", str(tmp_path)])
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "no-such-thing" in result.output
    result = CliRunner().invoke(app, ["diff", str(a), "iter:3", "--project", str(tmp_path)])
    assert result.exit_code == 1 and "data/iterations/3/dataset.jsonl not found" in result.output

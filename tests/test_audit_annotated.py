"""`seedforge audit` on annotated pool rows: accepted with their pool origin (no call), and still
checked for test leaks, a missing teacher, a stray input and a row lost on the way to the next dataset."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from seedforge.audit.checks import audit
from seedforge.audit.snapshot import Snapshot
from seedforge.cli import app
from seedforge.schema import layout
from seedforge.schema.records import Record, record_id
from tests.annotated_run import annotated_row, build

runner = CliRunner()


def checks(root: Path) -> list[tuple[str, str, str]]:
    return [(f.check, f.file, f.id) for f in audit(Snapshot(root)).findings]


def test_a_run_with_annotated_rows_audits_clean(tmp_path: Path) -> None:
    run = build(tmp_path)
    result = runner.invoke(app, ["audit", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["ok"] and summary["rows_checked"] == len(run.seeds) + len(run.annotated)
    assert layout.annotated(0) in summary["files"]


def test_a_test_sentence_among_annotated_rows_is_a_leak(tmp_path: Path) -> None:
    run = build(tmp_path)
    leaked = run.test[2]
    text = leaked.input.upper() + " !"  # case and punctuation do not hide it
    bad = annotated_row(text, leaked.output, run.seeds[0], 0.9)
    run.write("annotated", [*run.annotated, bad])
    run.write("dataset", [*run.seeds, *run.annotated, bad], i=1)
    found = checks(tmp_path)
    assert ("test_leak", layout.annotated(0), bad.id) in found
    assert ("not_in_pool", layout.annotated(0), bad.id) in found  # it never was a pool input
    assert all(rid == bad.id for _, _, rid in found), found


def test_annotated_rows_need_parent_and_teacher_not_a_call(tmp_path: Path) -> None:
    run = build(tmp_path)
    no_teacher = run.annotated[0].model_copy(update={"teacher": None})
    orphan = run.annotated[1].model_copy(update={"parent_id": "0" * 16})
    run.write("annotated", [no_teacher, orphan])
    run.write("dataset", [*run.seeds, no_teacher, orphan], i=1)
    found = audit(Snapshot(tmp_path)).findings
    assert {(f.check, f.id) for f in found} == {("no_provenance", no_teacher.id), ("orphan", orphan.id)}
    assert next(f for f in found if f.check == "no_provenance").message == "annotated row lacks teacher"


def test_an_annotated_row_missing_from_the_next_dataset_is_lost_unless_merge_dropped_it(
    tmp_path: Path,
) -> None:
    run = build(tmp_path)
    first, second = run.annotated
    run.write("dataset", [*run.seeds, first], i=1)
    assert checks(tmp_path) == [("lost_row", layout.dataset(1), second.id)]

    # A generated row kept in the same round holds the same input under another label: merge@0
    # keeps the generated one and drops the annotated one, which is no loss.
    label = "Positive" if second.output == "Negative" else "Negative"
    generated = Record(
        id=record_id(second.task, second.input, label),
        task=second.task,
        input=second.input,
        output=label,
        origin="generated",
        iteration=1,
        parent_id=run.seeds[0].id,
    )
    run.write("kept", [generated])
    run.write("dataset", [*run.seeds, first, generated], i=1)
    assert not [c for c in checks(tmp_path) if c[0] == "lost_row"]

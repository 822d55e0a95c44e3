"""`seedforge provenance`, `diff` and the report on annotated pool rows (a run folder built by hand)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from seedforge.audit import page, provenance
from seedforge.audit.snapshot import Snapshot
from seedforge.cli import app
from tests.annotated_run import TEACHER, build

runner = CliRunner()


def test_an_annotated_row_shows_its_pool_row_wrong_seed_teacher_and_probability(tmp_path: Path) -> None:
    run = build(tmp_path)
    row, parent = run.annotated[0], run.seeds[0]
    result = runner.invoke(app, ["provenance", row.id[:8], "--json", "--project", str(tmp_path)])
    assert result.exit_code == 0, result.output
    c = json.loads(result.output)
    assert c["kind"] == "annotated" and c["id"] == row.id
    assert c["pool"] == {"id": next(p["id"] for p in run.pool if p["input"] == row.input), "input": row.input}
    assert c["seed"]["id"] == parent.id and c["seed"]["input"] == parent.input
    assert c["trigger"]["iteration"] == 0 and c["trigger"]["selected"] is True
    assert c["trigger"]["prediction"]["correct"] is False
    assert c["teacher"] == TEACHER.model_dump() and c["probability"] == 0.83
    assert c["entered"] == {"iteration": 1, "in_datasets": [1]}

    text = provenance.render(c)
    assert f"{row.id}: annotated example" in text
    assert f"pool row: {c['pool']['id']}" in text
    assert f"seed parent: {parent.id}" in text and "student answered" in text and ": wrong)" in text
    assert f"teacher: smollm2_tuned (llamacpp, model {TEACHER.model})" in text
    assert "label probability: 0.83" in text
    assert "call:" not in text and "template:" not in text  # an annotated row has neither


def test_a_seed_example_counts_its_annotated_rows_and_pool_rejects(tmp_path: Path) -> None:
    run = build(tmp_path)
    c = provenance.chain(Snapshot(tmp_path), run.seeds[0].id)
    first = c["history"][0]
    assert first["annotated"] == sorted(r.id for r in run.annotated) and first["annotate_rejected"] == 2
    assert first["calls"] == 0 and first["kept"] == []
    assert [r["origin"] for r in c["descendants"]["1"]] == ["annotated", "annotated"]
    assert "pool: 2 annotated, 2 rejected" in provenance.render(c)


def test_a_pool_row_dropped_by_annotate_is_found_with_its_reason(tmp_path: Path) -> None:
    run = build(tmp_path)
    unsure, near = run.rejects
    c = provenance.chain(Snapshot(tmp_path), unsure.id)
    assert c["kind"] == "rejected" and c["stage"] == "annotate" and c["reject"]["reason"] == "unsure"
    assert c["pool"]["input"] == unsure.input and c["call"] is None
    text = provenance.render(c)
    assert "(unsure)" in text and f"pool row: {c['pool']['id']}" in text and "label probability: 0.41" in text
    assert "NOT FOUND" not in text  # no call to look for
    c = provenance.chain(Snapshot(tmp_path), near.id)
    assert c["reject"]["matched_id"] == run.seeds[1].id
    assert f"matched: {run.seeds[1].id} (score 1.0)" in provenance.render(c)


def test_diff_and_report_tell_annotated_rows_from_generated_ones(tmp_path: Path) -> None:
    run = build(tmp_path)
    result = runner.invoke(app, ["diff", "iter:0", "iter:1", "--json", "--project", str(tmp_path)])
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    assert d["added"] == sorted(r.id for r in run.annotated)
    by_origin = {r["origin"]: r for r in d["by_origin"]}
    assert by_origin["annotated"]["added"] == 2 and by_origin["seed"]["added"] == 0

    collected = page.collect(Snapshot(tmp_path))
    first, second = collected.table
    assert (first["generated"], first["annotated"]) == (0, 0)
    assert (second["generated"], second["annotated"], second["dataset_size"]) == (0, 2, 6)
    assert collected.reasons[0] == {"pool near_duplicate:dataset": 1, "pool unsure": 1}
    assert sorted(c["id"] for c in collected.samples) == sorted(r.id for r in run.annotated)
    md = page.markdown([collected])
    assert "| dataset size | generated | annotated |" in md and "| pool unsure |" in md

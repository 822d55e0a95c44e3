from pathlib import Path

import pytest

from seedforge.errors import SeedforgeError
from seedforge.io import read_rows, write_jsonl, write_rows
from seedforge.schema.rows import CallRow, PredictionRow, RejectRow, SelectionRow

CALL = {
    "call": "c1",
    "parent_id": "p1",
    "teacher": {"profile": "tiny", "backend": "llamacpp", "model": "model.gguf"},
    "template": {"path": "prompts/classification.jinja", "sha256": "0" * 64},
    "request": {"messages": [{"role": "user", "content": "Write 2"}], "prefill": "Input:"},
    "sampling": {"temperature": 1.0, "seed": 7, "sample": 0},
    "raw": "Input: a\nLabel: b",
    "finish_reason": "stop",
    "usage": {"prompt_tokens": 10, "completion_tokens": 5},
    "attempts": 2,
    "error": None,
}


def test_call_rows_round_trip_and_read_the_older_names(tmp_path: Path) -> None:
    older = {k: v for k, v in CALL.items() if k not in ("request", "sampling", "attempts", "error")}
    older |= {"prompt": "Write 2", "generation": {"temperature": 1.0, "seed": 7, "sample": 0}}
    write_jsonl(tmp_path / "g.jsonl", [CALL, older])
    new, old = read_rows(tmp_path / "g.jsonl", CallRow)
    assert new.request.text() == "[user]\nWrite 2\n[assistant prefill]\nInput:" and new.attempts == 2
    assert old.request.text() == "Write 2" and old.sampling == new.sampling and old.attempts == 1
    write_rows(tmp_path / "h.jsonl", [new])
    assert read_rows(tmp_path / "h.jsonl", CallRow) == [new]


def test_a_failed_call_has_no_raw_but_an_error() -> None:
    row = CallRow.model_validate(CALL | {"raw": None, "error": {"cause": "timeout", "message": "after 30 s"}})
    assert row.error is not None and row.error.cause == "timeout"


def test_one_reject_shape_for_parse_failures_and_gate_drops() -> None:
    parse = RejectRow.model_validate({"reason": "parse:no_examples", "call": "c1", "parent_id": "p1"})
    gate = RejectRow(
        reason="leak:test",
        call="c1",
        parent_id="p1",
        id="r1",
        input="x",
        output="y",
        matched_id="t9",
        score=0.97,
    )
    assert set(parse.to_row()) == set(gate.to_row())
    assert parse.id is None and parse.matched_id is None and gate.score == 0.97


@pytest.mark.parametrize(
    ("model", "row", "field"),
    [
        (
            PredictionRow,
            {
                "id": "a",
                "split": "seed",
                "input": "x",
                "gold": "1",
                "prediction": "2",
                "answer": "2",
                "correct": False,
            },
            "output",  # predictions keep the dataset's name for the gold answer
        ),
        (SelectionRow, {"id": "a", "input": "x", "output": "1"}, "prediction"),
        (RejectRow, {"reason": "x", "extra": 1}, "extra"),
    ],
)
def test_rows_that_do_not_fit_name_file_line_and_field(tmp_path: Path, model, row, field) -> None:
    write_jsonl(tmp_path / "r.jsonl", [row])
    with pytest.raises(SeedforgeError, match=rf"r\.jsonl:1: field '{field}'"):
        read_rows(tmp_path / "r.jsonl", model)


def test_a_snapshot_reads_call_rows_under_their_older_file_name(tmp_path: Path) -> None:
    """Revisions from before `generations.jsonl` became `calls.jsonl` still show their calls."""
    from seedforge.audit.snapshot import Snapshot
    from seedforge.schema import layout

    older = tmp_path / "data" / "iterations" / "0" / "generations.jsonl"
    older.parent.mkdir(parents=True)
    write_jsonl(older, [CALL])
    (row,) = Snapshot(tmp_path).rows(layout.calls(0), CallRow)
    assert row.call == "c1"
    assert Snapshot(tmp_path).rows(layout.calls(1), CallRow) == []

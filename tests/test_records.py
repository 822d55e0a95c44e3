from pathlib import Path

import pytest

from seedforge.errors import SeedforgeError
from seedforge.schema.records import Record, read_records, record_id, write_records


def test_id_is_a_content_hash() -> None:
    a = Record.seed("classification", "my parcel is late", "delivery")
    b = Record.seed("classification", "my parcel is late ", "delivery")
    c = Record.seed("classification", "my parcel is late", "billing")
    assert a.id == b.id == record_id("classification", "my parcel is late", "delivery")
    assert a.id != c.id and len(a.id) == 16
    assert record_id("math", "x", "y") != record_id("classification", "x", "y")


def test_round_trip_sorted_and_byte_stable(tmp_path: Path) -> None:
    records = [Record.seed("classification", f"text {i}", "a") for i in range(20)]
    write_records(tmp_path / "a.jsonl", records)
    write_records(tmp_path / "b.jsonl", reversed(records))
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    back = read_records(tmp_path / "a.jsonl")
    assert back == sorted(records, key=lambda r: r.id)


def test_schema_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    good = Record.seed("classification", "x", "a").to_row()
    bad = dict(good, origin="invented")
    path.write_text("\n\n".join(__import__("json").dumps(r) for r in (good, bad)) + "\n")
    with pytest.raises(SeedforgeError, match=r"d\.jsonl:3: field 'origin'"):
        read_records(path)


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(
        __import__("json").dumps(dict(Record.seed("math", "q", "#### 1").to_row(), extra=1)) + "\n"
    )
    with pytest.raises(SeedforgeError, match="field 'extra'"):
        read_records(path)


def test_records_from_before_the_rename_read_generation_as_sampling(tmp_path: Path) -> None:
    """Older records kept the call's sampling params as `generation`; they read, and write back, as
    `sampling` (so a diff or audit of an older revision still works)."""
    row = dict(Record.seed("classification", "x", "a").to_row(), origin="generated")
    older = {k: v for k, v in row.items() if k != "sampling"} | {"generation": {"seed": 3, "sample": 0}}
    (tmp_path / "d.jsonl").write_text(__import__("json").dumps(older) + "\n")
    (back,) = read_records(tmp_path / "d.jsonl")
    assert back.sampling == {"seed": 3, "sample": 0}
    assert "generation" not in back.to_row() and back.to_row()["sampling"] == {"seed": 3, "sample": 0}


def test_teacher_names_its_weights_and_older_rows_without_hashes_still_read(tmp_path: Path) -> None:
    """A record's teacher carries the sha256 of model and adapter; rows from before had neither,
    and they read and write back unchanged (diff and audit across old revisions)."""
    from seedforge.schema.records import TeacherRef

    old = {"profile": "t", "backend": "llamacpp", "model": "m.gguf"}
    row = dict(Record.seed("classification", "x", "a").to_row(), origin="generated", teacher=old)
    (tmp_path / "d.jsonl").write_text(__import__("json").dumps(row) + "\n")
    (back,) = read_records(tmp_path / "d.jsonl")
    assert back.teacher == TeacherRef(**old) and back.to_row()["teacher"] == old
    named = TeacherRef(**old, model_sha256="a" * 64, lora_sha256="b" * 64)
    again = back.model_copy(update={"teacher": named})
    write_records(tmp_path / "e.jsonl", [again])
    assert read_records(tmp_path / "e.jsonl")[0].teacher == named
    assert read_records(tmp_path / "e.jsonl")[0].to_row()["teacher"]["lora_sha256"] == "b" * 64

"""Loading the real Alpaca files, documents, bad input, and the `instruct:` params section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from seedforge.config.params import load_params, parse_params
from seedforge.errors import SeedforgeError
from seedforge.instruct.loaders import load_alpaca, load_documents, load_seed_tasks, load_seeds
from seedforge.instruct.rows import InstructionRow, read_rows, row_id, write_rows
from seedforge.testing.project import REPO
from tests.conftest import shared


def test_alpaca_seed_tasks_load_with_sources() -> None:
    rows = load_seed_tasks(shared("instruct", "alpaca_seed_tasks.jsonl"), name="seed_tasks.jsonl")
    assert len(rows) == 175
    first = rows[0]
    assert first.instruction.startswith("Is there anything I can eat for a breakfast")
    assert first.response and first.origin == "seed" and first.source == "seed_tasks.jsonl:1"
    assert first.id == row_id(first.instruction, first.context, first.response)
    assert sum(bool(r.context) for r in rows) > 50  # many seed tasks carry an input


def test_alpaca_demo_loads_and_dedups() -> None:
    rows = load_alpaca(shared("instruct", "alpaca_en_demo.json"), name="demo.json")
    assert len(rows) == 999 and rows[0].source == "demo.json:0"
    unique = load_seeds(shared("instruct", "alpaca_en_demo.json"), "alpaca", root=Path("/"), limit=None)
    assert len(unique) == len({r.id for r in rows})
    assert len(load_seeds(shared("instruct", "alpaca_en_demo.json"), "alpaca", root=Path("/"), limit=5)) == 5


def test_bad_rows_name_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "seed.jsonl"
    bad.write_text(json.dumps({"instruction": "Do a thing.", "instances": [{"input": ""}]}) + "\n")
    with pytest.raises(SeedforgeError, match=r"seed.jsonl:1: field 'output': missing"):
        load_seed_tasks(bad)
    arr = tmp_path / "pairs.json"
    arr.write_text(json.dumps([{"instruction": "ok then", "input": "", "output": "x"}, {"instruction": 3}]))
    with pytest.raises(SeedforgeError, match=r"pairs.json:#1: field 'instruction': not a string"):
        load_alpaca(arr)


def test_documents_split_into_bounded_passages(tmp_path: Path) -> None:
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "a.md").write_text("Para one.\n\nPara two. " + "Long sentence. " * 40)
    (tmp_path / "docs" / "sub" / "b.txt").write_text("Only one paragraph.")
    (tmp_path / "docs" / "skip.bin").write_bytes(b"\x00\xff")
    passages = load_documents(Path("docs"), 200, root=tmp_path)
    assert [s for s, _ in passages][-1] == "docs/sub/b.txt#0"
    assert all(len(t) <= 200 for _, t in passages) and len(passages) >= 4
    with pytest.raises(SeedforgeError, match="nowhere: documents folder not found"):
        load_documents(Path("nowhere"), 200, root=tmp_path)


def test_rows_round_trip_sorted(tmp_path: Path) -> None:
    rows = [InstructionRow.make(f"Instruction number {i}.", origin="seed", operator="seed") for i in range(5)]
    write_rows(tmp_path / "r.jsonl", rows)
    back = read_rows(tmp_path / "r.jsonl")
    assert back == sorted(rows, key=lambda r: r.id)
    (tmp_path / "bad.jsonl").write_text('{"id": "x"}\n')
    with pytest.raises(SeedforgeError, match=r"bad.jsonl:1: field 'instruction'"):
        read_rows(tmp_path / "bad.jsonl")


def recipe() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def test_shipped_instruct_section_validates_and_samples() -> None:
    ins = load_params(REPO / "params.yaml").instruct
    assert ins is not None and ins.teacher == "smollm2"
    assert ins.expand.temperature > 0.5  # expansion really samples
    assert ins.rebalance.target == "equal" and ins.rebalance.max_repeat == 0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda i: i["expand"].update(top_k=1), "key 'instruct.expand.top_k': unknown key"),
        (lambda i: i.update(teacher="gpt9"), "key 'instruct.teacher': unknown teacher profile 'gpt9'"),
        (lambda i: i["judge"].update(threshold=11), "key 'instruct.judge.threshold'"),
        (lambda i: i["categorize"].update(fallback="misc"), "fallback 'misc' is not one of the categories"),
        (lambda i: i["rebalance"].update(target={"poetry": 1}), "not in categorize.categories: ['poetry']"),
    ],
)
def test_bad_instruct_params_are_one_line_errors(edit, message: str) -> None:
    raw = recipe()
    edit(raw["instruct"])
    with pytest.raises(SeedforgeError) as e:
        parse_params(raw)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_recipe_without_instruct_section_still_validates() -> None:
    raw = recipe()
    del raw["instruct"]
    assert parse_params(raw).instruct is None

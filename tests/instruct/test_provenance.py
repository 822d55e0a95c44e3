"""`seedforge provenance ID` on instruction rows: a responded row is followed back hop by hop to
its seed and the seed file's line; a dropped row is found in an operator's rejects."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from seedforge.cli import app
from seedforge.instruct.rows import InstructionRow, Judgement, write_rows
from seedforge.io import write_jsonl
from seedforge.schema import layout
from seedforge.schema.records import TeacherRef, TemplateRef

STAMP = {
    "teacher": TeacherRef(profile="tiny", backend="llamacpp", model="model.gguf"),
    "template": TemplateRef(path="prompts/instruct/expand.jinja", sha256="ab" * 32),
    "sampling": {"temperature": 1.0, "seed": 7, "sample": 0},
}


def provenance(project: Path, rid: str, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["provenance", rid, "--project", str(project), *extra])
    return result.exit_code, result.output


def test_an_instruction_is_followed_back_to_its_seed_line(tmp_path: Path) -> None:
    seed = InstructionRow.make(
        "Name three primes.", origin="seed", operator="seed", source="data/instruct/raw/seed.jsonl:4"
    )
    other = InstructionRow.make(
        "Say hi.", origin="seed", operator="seed", source="data/instruct/raw/seed.jsonl:5"
    )
    expanded = InstructionRow.make(
        "Name five prime numbers above 10.",
        origin="expanded",
        operator="expand",
        parent_ids=sorted([seed.id, other.id]),
        seed_ids=sorted([seed.id, other.id]),
        call="c-expand",
        raw="1. Name five prime numbers above 10.",
        **STAMP,
    )
    refined = expanded.derive(
        instruction="List five prime numbers greater than 10.",
        origin="refined",
        operator="refine",
        call="c-refine",
    )
    responded = refined.derive(
        response="11, 13, 17, 19, 23", origin="responded", operator="respond", call="c-respond"
    )
    d = tmp_path / layout.INSTRUCT
    write_rows(d / "seed.jsonl", [seed, other])
    write_rows(d / "expanded.jsonl", [expanded])
    write_rows(d / "refined.jsonl", [refined])
    write_rows(d / "responded.jsonl", [responded])
    judged = responded.model_copy(
        update={
            "judge": Judgement(
                score=7.0,
                call="c-judge",
                source="distribution",
                distribution={str(k): 0.5 if k in (6, 8) else 0.0 for k in range(1, 11)},
                relevance=0.61,
            ),
            "category": "math",
            "category_scores": {"math": 0.8, "open_qa": 0.15, "coding": 0.05},
        }
    )
    write_rows(d / "judged.jsonl", [judged])
    write_jsonl(
        d / "rejects" / "gate.jsonl",
        [
            {
                "operator": "gate",
                "reason": "gate:near_duplicate:dataset",
                "call": "c-x",
                "parent_ids": ["p"],
                "id": "deadbeef0011",
                "matched_id": seed.id,
                "score": 0.97,
            }
        ],
    )

    code, out = provenance(tmp_path, responded.id, "--json")
    assert code == 0, out
    c = json.loads(out)
    assert c["kind"] == "instruction" and c["files"] == ["responded", "judged"]
    assert [h["operator"] for h in c["chain"]] == ["refine", "expand", "seed"]
    assert c["chain"][0]["call"] == "c-refine" and c["chain"][1]["template"]["path"].endswith("expand.jinja")
    assert c["chain"][-1]["id"] in {seed.id, other.id}
    assert {s["id"]: s["source"] for s in c["seeds"]} == {
        seed.id: "data/instruct/raw/seed.jsonl:4",
        other.id: "data/instruct/raw/seed.jsonl:5",
    }
    code, text = provenance(tmp_path, responded.id[:8])  # a unique prefix, as text
    assert code == 0 and "by respond" in text and "from data/instruct/raw/seed.jsonl:" in text
    # the judge's distribution and the category's scores are shown, not only the numbers they gave
    assert "judge: 7.0 from the distribution, call c-judge" in text and "6:0.50" in text
    assert "relevance: 0.61 (cosine of instruction and response)" in text
    assert "category: math (P: math 0.80, open_qa 0.15, coding 0.05)" in text

    code, text = provenance(tmp_path, "deadbeef0011")
    assert code == 0 and "rejected by gate (gate:near_duplicate:dataset)" in text
    code, text = provenance(tmp_path, "0123456789ab")
    assert code == 1 and "data/instruct" in text

"""The instruct gate stage with the real MiniLM encoder: a planted near-duplicate of a seed, a
planted copy of a held-out evaluation instruction and a duplicated pair among the new rows are
dropped with their reasons and matched ids; distinct rows pass with their scores attached."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from seedforge.instruct.loaders import load_alpaca
from seedforge.instruct.rows import InstructionRow, read_rows, write_rows
from seedforge.io import read_json, read_jsonl
from seedforge.testing.project import REPO


def row(text: str, origin: str = "responded") -> InstructionRow:
    op = "seed" if origin == "seed" else "respond"
    return InstructionRow.make(text, response="An answer.", origin=origin, operator=op)


def test_gate_stage_drops_duplicates_and_leaks_with_reasons(tmp_path: Path) -> None:
    seeds = [row("Suggest a name for a bakery that sells only sourdough bread.", "seed")]
    held_out = tmp_path / "eval.jsonl"
    held_out.write_text('{"instruction": "Explain why the sky looks blue during the day.", "output": "x"}\n')
    fresh = [
        row("Suggest a name for a bakery which sells only sourdough bread."),  # near a seed
        row("Explain why the sky looks blue during the day to a child."),  # leaks the eval set
        row("Write a short poem about the ocean at night."),
        row("Write a short poem about the sea at night."),  # near the previous row
        row("List three tips for learning to play the guitar."),
    ]
    write_rows(tmp_path / "seed.jsonl", seeds)
    write_rows(tmp_path / "judged.jsonl", fresh)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["instruct"]["eval"] = {"path": str(held_out), "format": "alpaca"}
    params["gates"]["near_duplicate"] = 0.9
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    cmd = [sys.executable, "-m", "stages.instruct.gate", "--params", str(tmp_path / "params.yaml")]
    cmd += ["--in", str(tmp_path / "judged.jsonl"), "--seed", str(tmp_path / "seed.jsonl")]
    cmd += ["--out", str(tmp_path / "gated.jsonl"), "--rejects", str(tmp_path / "rejects.jsonl")]
    cmd += ["--metrics", str(tmp_path / "m.json")]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

    rejects = {r["text"]: r for r in read_jsonl(tmp_path / "rejects.jsonl")}
    bakery, sky, ocean, sea, guitar = fresh
    assert rejects[bakery.instruction]["reason"] == "gate:near_duplicate:dataset"
    assert rejects[bakery.instruction]["matched_id"] == seeds[0].id
    assert rejects[sky.instruction]["reason"] == "gate:leak:eval:ngram"
    assert rejects[sky.instruction]["matched_id"] == load_alpaca(held_out)[0].id
    poem = rejects.get(sea.instruction) or rejects[ocean.instruction]  # the later id of the pair
    assert poem["reason"] == "gate:near_duplicate:batch" and poem["score"] >= 0.9
    assert poem["matched_id"] in {ocean.id, sea.id} and poem["id"] != poem["matched_id"]
    kept = read_rows(tmp_path / "gated.jsonl")
    assert guitar.id in {r.id for r in kept} and len(kept) == 2
    assert all("near_duplicate" in r.gates and "leak_cosine_eval" in r.gates for r in kept)
    m = read_json(tmp_path / "m.json")
    assert m["kept"] == 2 and m["rejected"] == 3 and m["held_out"] == 1
    assert m["rejected_by_reason"] == {
        "gate:leak:eval:ngram": 1,
        "gate:near_duplicate:batch": 1,
        "gate:near_duplicate:dataset": 1,
    }

"""rebalance with `fill: expand` against a real HTTP server on 127.0.0.1 (the loopback), whose
answers are written per operator: the expand answers hold instructions of the category asked
for and planted ones that must not get in (another category, a leak of the held-out set, a pair
the judge scores low). The gates use the real MiniLM encoder.

Given: open_qa 4 rows, coding 2, math none; the target is equal over the three, total 9 (3 each),
so math is 3 short and coding 1; fill_calls 2. Each math call yields one math instruction and one
poem, so math can gain one row a call: after the 2-call bound it is still 1 short. Coding is
filled by its first call (which brings one good row more than it lacks) and asks no more.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from seedforge.cli import app
from seedforge.instruct.categorize import DESCRIPTIONS
from seedforge.instruct.rebalance import resample
from seedforge.instruct.rows import InstructionRow, read_rows, write_rows
from seedforge.io import read_json, read_jsonl
from seedforge.schema import layout
from seedforge.testing.loopback import Loopback, prompt_of
from seedforge.testing.project import REPO

MATH = [
    "Solve for x in the equation 3x + 5 = 20.",
    "Convert 5 miles to kilometres and show the steps.",
    "Calculate the area of a triangle with base 6 cm and height 4 cm.",
]
POEMS = ["Write a short poem about autumn leaves falling.", "Write a short poem about a lighthouse at dawn."]
LEAK = "Explain how a hash table stores and finds values by their key."
CODING = [
    "Write a Python function that returns the factorial of a number.",
    LEAK,  # the held-out set's instruction: the leakage gate must drop it
    "Write a Python one-liner that prints hello.",  # the judge scores it 2
    "Write a regular expression in Python that matches an email address.",  # one more than coding lacks
]
GIVEN = {
    "open_qa": [
        "Why is the sky blue during the day?",
        "Who painted the Mona Lisa?",
        "What causes the seasons on Earth?",
        "How do vaccines train the immune system?",
    ],
    "coding": [
        "Write a SQL query that lists all customers from Paris.",
        "Fix the bug in this JavaScript loop that never ends.",
    ],
}
CATEGORIES = ["coding", "creative_writing", "math", "open_qa"]


class Teacher:
    """What the loopback writes, by the operator whose prompt it got."""

    def __init__(self) -> None:
        self.expand: dict[str, int] = {"math": 0, "coding": 0, "none": 0}

    def __call__(self, body: dict[str, Any]) -> str:
        prompt = prompt_of(body)
        if "new instructions" in prompt:  # expand, with the category hint
            kind = next((c for c in ("math", "coding") if DESCRIPTIONS[c] in prompt), "none")
            i = self.expand[kind]
            self.expand[kind] += 1
            items = {"math": [MATH[i], POEMS[i]], "coding": CODING, "none": []}[kind]
            return "\n".join(f"{n}. {t}" for n, t in enumerate(items, 1))
        if "Rate the response" in prompt:  # judge
            score = 2 if "one-liner" in prompt else 8
            return json.dumps({"score": score, "reason": "checked"})
        if "Which one of these categories" in prompt:  # categorize (method: write)
            task = re.search(r"Task: (.*)", prompt).group(1)  # type: ignore[union-attr]
            if task == POEMS[1]:
                return "no idea"  # names no category: the recipe's fallback (math) must not place it
            if "poem" in task:
                return "creative_writing"
            if "Python" in task or "hash table" in task:
                return "coding"
            return "math" if re.search(r"\d", task) else "open_qa"
        # respond: an answer about the task (the judge's relevance bar drops an off-topic one)
        return f"A complete, careful answer to the task: {prompt.strip()}"


def given_rows() -> list[InstructionRow]:
    return [
        InstructionRow.make(t, response="An answer.", origin="seed", operator="seed", category=c)
        for c, texts in GIVEN.items()
        for t in texts
    ]


def setup(tmp_path: Path, url: str, fill: bool) -> list[str]:
    d = tmp_path / layout.INSTRUCT
    write_rows(d / "categorized.jsonl", given_rows())
    held_out = tmp_path / "eval.jsonl"
    held_out.write_text(json.dumps({"instruction": LEAK, "output": "x"}) + "\n")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["teachers"]["loop"] = {
        "backend": "openai",
        "base_url": url,
        "model": "m",
        "structured": False,
        "timeout": 5.0,
        "max_attempts": 2,
        "backoff": 0.01,
    }
    ins = params["instruct"]
    ins.update(teacher="loop", eval={"path": str(held_out), "format": "alpaca"})
    ins["expand"].update(n=2, m=2)
    ins["categorize"].update(categories=CATEGORIES, method="write", fallback="math")
    ins["rebalance"] = {"target": {"math": 1, "open_qa": 1, "coding": 1}, "total": 9}
    if fill:
        ins["rebalance"].update(fill="expand", fill_calls=2)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    cmd = [sys.executable, "-m", "stages.instruct.rebalance", "--params", str(tmp_path / "params.yaml")]
    cmd += ["--in", str(d / "categorized.jsonl"), "--cache", str(tmp_path / "calls")]
    cmd += ["--out", str(d / "dataset.jsonl"), "--metrics", str(tmp_path / "m.json")]
    cmd += ["--plot", str(tmp_path / "c.csv"), "--filled", str(d / "filled.jsonl")]
    cmd += ["--rejects", str(d / "rejects" / "fill.jsonl")]
    return cmd


def run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_fill_asks_for_the_short_categories_and_keeps_what_passes_every_check(tmp_path: Path) -> None:
    teacher = Teacher()
    with Loopback(answer=teacher) as server:
        cmd = setup(tmp_path, server.url, fill=True)
        run(cmd)
        requests = server.requests
    d = tmp_path / layout.INSTRUCT
    m = read_json(tmp_path / "m.json")
    f = m["fill"]
    # The bound: math made its 2 calls and is still 1 short; coding stopped after 1.
    assert teacher.expand == {"math": 2, "coding": 1, "none": 0}
    assert f["short"] == {"coding": 1, "math": 3} and f["calls_by_category"] == {"coding": 1, "math": 2}
    assert f["asked_by_category"] == {"coding": 2, "math": 4}
    assert f["made_by_category"] == {"coding": 4, "math": 4}
    assert (
        f["kept_by_category"]
        == {"coding": 1, "math": 2}
        == {
            c: sum(r.category == c for r in read_rows(d / "filled.jsonl") if r.operator != "fill")
            for c in ("coding", "math")
        }
    )
    assert f["kept"] == 3 and f["rejected"] == len(read_jsonl(d / "rejects" / "fill.jsonl")) == 5
    # Every drop has its operator's reason and the category asked for.
    rejects = read_jsonl(d / "rejects" / "fill.jsonl")
    by_text = {r["text"]: (r["reason"], r["category"]) for r in rejects}
    assert by_text[POEMS[0]] == ("fill:other_category", "math")
    assert by_text[POEMS[1]] == ("fill:categorize:unknown_category", "math")
    assert by_text[LEAK] == ("fill:gate:leak:eval:ngram", "coding")
    judged_low = [r for r in rejects if r["reason"] == "fill:judge:below_threshold"]
    assert len(judged_low) == 1 and judged_low[0]["category"] == "coding"
    assert f["rejected_by_reason"] == {
        "fill:gate:leak:eval:ngram": 1,
        "fill:judge:below_threshold": 1,
        "fill:categorize:unknown_category": 1,
        "fill:other_category": 1,
        "fill:surplus": 1,  # coding lacked 1 row and got 2 good ones: the second is not kept
    }
    surplus = [r for r in rejects if r["reason"] == "fill:surplus"]
    assert surplus[0]["text"] in (CODING[0], CODING[3]) and surplus[0]["category"] == "coding"
    # Every teacher call is counted: 3 expand; 8 respond and judge (one per instruction made);
    # 6 categorize (the leak and the low score never get there); plus the judge's one probe of
    # whether the server gives top_logprobs (`logprobs: auto`; this one does not).
    t = f["teacher"]
    assert (t["expand"]["calls"], t["respond"]["calls"], t["judge"]["calls"]) == (3, 8, 8)
    assert t["categorize"]["calls"] == 6 and requests == 3 + 8 + 8 + 6 + 1
    # The dataset: the filled rows are in it, nothing is repeated, math is reported 1 short.
    dataset = read_rows(d / "dataset.jsonl")
    counts = {c: sum(r.category == c for r in dataset) for c in ("math", "open_qa", "coding")}
    assert counts == {"math": 2, "open_qa": 3, "coding": 3} and m["short"] == {"math": 1}
    assert m["repeated_rows"] == 0 and len({r.id for r in dataset}) == len(dataset) == 8
    assert m["rows_before"] == 6 and m["missing"] == []  # before: the set the stage was given
    assert {r.instruction for r in dataset if r.category == "math"} == set(MATH[:2])
    new_coding = {r.instruction for r in dataset if r.category == "coding"} - set(GIVEN["coding"])
    assert len(new_coding) == 1 and new_coding < {CODING[0], CODING[3]}
    assert set(GIVEN["coding"]) <= {r.instruction for r in dataset}  # the fill displaced no row

    # A filled row is traced to the fill call that wrote its instruction.
    row = next(r for r in dataset if r.instruction == MATH[0])
    (source,) = [r for r in read_rows(d / "filled.jsonl") if r.id == row.parent_ids[0]]
    assert source.operator == "fill" and source.origin == "expanded" and source.round == 0
    assert source.call and source.template and source.template.path == "prompts/instruct/expand.jinja"
    result = CliRunner().invoke(app, ["provenance", row.id, "--project", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"<- {source.id} expanded by fill" in result.output and source.call in result.output

    # A rerun asks the server nothing (every call is in the cache) and writes the same bytes.
    before = {p: p.read_bytes() for p in (tmp_path / "m.json", d / "dataset.jsonl", d / "filled.jsonl")}
    with Loopback(answer=teacher) as server:
        run(cmd)
        assert server.requests == 0
    assert {p: p.read_bytes() for p in before} == before


def test_fill_off_by_default_asks_nothing_and_only_caps(tmp_path: Path) -> None:
    with Loopback(answer=Teacher()) as server:
        run(setup(tmp_path, server.url, fill=False))
        assert server.requests == 0
    d = tmp_path / layout.INSTRUCT
    rows = given_rows()
    expected, metrics = resample(
        rows, [r.category or "" for r in rows], {"math": 1, "open_qa": 1, "coding": 1}, 9, seed=0
    )
    assert read_json(tmp_path / "m.json") == json.loads(json.dumps(metrics))  # no "fill" key
    assert {r.id for r in read_rows(d / "dataset.jsonl")} == {r.id for r in expected}
    assert read_rows(d / "filled.jsonl") == [] and read_jsonl(d / "rejects" / "fill.jsonl") == []

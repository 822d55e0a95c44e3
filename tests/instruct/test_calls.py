"""The operators' Asker on the shared runner, against a fault-injecting loopback server: the
schema goes out only with `structured: true`, a rerun sends zero requests, retries are invisible to
the rows, and a call that fails for good becomes a reject naming its cause."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from seedforge.config.params import OpenAITeacher
from seedforge.instruct.calls import Ask, Asker
from seedforge.instruct.outcome import Outcome
from seedforge.instruct.rows import InstructionRow
from seedforge.instruct.stage import write_outcome
from seedforge.io import read_jsonl
from seedforge.teachers import make_teacher
from seedforge.teachers.cache import CallCache
from seedforge.testing.loopback import Loopback, prompt_of

FAST = dict(timeout=2.0, backoff=0.01, backoff_max=0.05, max_attempts=3, concurrency=4, fail_share=1.0)
FAST["structured"] = False  # these count requests: no dialect probe (structured: auto has its own tests)


def asker(url: str, cache: Path, **kw: Any) -> Asker:
    # root next to the cache: a probe's answer (logprobs: auto) is cached there, not in the repo
    params = OpenAITeacher(backend="openai", base_url=url, model="m", **{**FAST, **kw})
    return Asker(make_teacher("loop", params, cache.parent), CallCache(cache))


SCHEMA = {"type": "object", "properties": {"instructions": {"type": "array"}}}
ASKS = [Ask(f"Write new instructions, batch {i}.", seed=i, schema=SCHEMA) for i in range(5)]


def test_structured_schema_is_sent_and_a_rerun_sends_nothing(tmp_path: Path) -> None:
    bodies: list[dict] = []

    def script(body: dict, seen: int) -> str:
        bodies.append(body)
        return "500" if seen == 0 and "batch 1" in prompt_of(body) else "ok"  # one retry

    with Loopback(script) as server:
        first = asker(server.url, tmp_path / "c", structured=True)
        answers = first.ask(ASKS)
        assert server.requests == 6 and first.acct["requests"] == 6 and first.acct["cache_hits"] == 0
        assert all(a.text and a.error is None for a in answers)
        assert all(b["response_format"]["json_schema"]["schema"] == SCHEMA for b in bodies)
        again = asker(server.url, tmp_path / "c", structured=True)
        assert [a.text for a in again.ask(ASKS)] == [a.text for a in answers]
        assert server.requests == 6  # the rerun went to the cache only
        assert again.acct == {"cache_hits": 5, "requests": 0, "answered": 0, "failed": 0}
        assert again.counts["calls"] == 5 and again.counts["cached"] == 5

        plain = asker(
            server.url, tmp_path / "c", structured=False
        )  # structured off: no schema, a different call
        plain.ask(ASKS[:1])
        assert "response_format" not in bodies[-1] and plain.acct["requests"] == 1


def test_a_call_that_fails_for_good_is_a_reject_with_its_cause(tmp_path: Path) -> None:
    with Loopback(lambda body, seen: "500" if "batch 2" in prompt_of(body) else "ok") as server:
        a = asker(server.url, tmp_path / "c")
        answers = a.ask(ASKS)
    assert [x.error is not None for x in answers] == [False, False, True, False, False]
    assert a.counts["failed"] == 1 and a.acct["requests"] == 4 + 3  # three attempts for the bad one
    out = Outcome("expand")
    for x in answers:
        if not x.text:  # what an operator does with an empty answer
            out.reject("parse:empty", x.call, ["p"], raw=x.text)
    write_outcome(out, tmp_path / "o.jsonl", tmp_path / "r.jsonl", tmp_path / "m.json", a)
    (rej,) = read_jsonl(tmp_path / "r.jsonl")
    assert rej["reason"] == "expand:call_failed:server" and "injected server error" in rej["error"]
    # retrying the stage later resumes: the four answers are cached, only the failed call goes out
    with Loopback() as server:
        b = asker(server.url, tmp_path / "c")
        assert all(x.error is None for x in b.ask(ASKS)) and server.requests == 1


def test_judge_without_scores_reads_text_and_says_what_was_missing(tmp_path: Path) -> None:
    # This server returns no logprobs (no dialect), so the judge reads the written answer; it writes
    # no score at all, the one case where judge:missing_score is right.
    from seedforge.config.params import Judge
    from seedforge.instruct.judge import judge
    from seedforge.instruct.rows import InstructionRow
    from seedforge.teachers.prompts import load_template
    from seedforge.testing.project import REPO

    rows = [
        InstructionRow.make(f"Name {n} primes.", response="2, 3", origin="seed", operator="seed")
        for n in (2, 3)
    ]
    with Loopback(lambda body, seen: "garbage") as server:
        a = asker(server.url, tmp_path / "c")
        assert not a.teacher.can_score
        out = judge(rows, load_template(Judge().template, root=REPO), a, 6, run_seed=0)
    assert not out.rows and {r["reason"] for r in out.rejects} == {"judge:missing_score"}
    assert all(r["raw"] and r["call"] for r in out.rejects) and out.extra["score_source"] == {}


# --- the judge over HTTP: top_logprobs first, then the written JSON, then text ---------------------

PRIMES = [
    InstructionRow.make(f"Name {n} primes.", response="2, 3", origin="seed", operator="seed") for n in (2, 3)
]
WRITTEN = {"Name 2 primes.": 8, "Name 3 primes.": 10}  # what each answer writes as its score
LP = math.log


def written(body: dict) -> str:
    n = next((v for k, v in WRITTEN.items() if k in prompt_of(body)), None)
    return json.dumps({"score": n, "reason": "Correct."}) if n else "Yes."  # "Yes." to the probe


def alternatives(body: dict, i: int, token: str) -> dict[str, float]:
    """At the score: 8 with 7 and 9 beside it (and a word that is no score); 10 written as " 1"
    then "0", as a digit-splitting tokenizer writes it, with P("0" | "1") = 0.75."""
    if token == " 8":
        return {" 8": LP(0.5), " 7": LP(0.3), " 9": LP(0.1), "8": LP(0.05), " good": LP(0.05)}
    if token == " 1":
        return {" 1": LP(0.6), " 9": LP(0.4)}
    if token == "0":
        return {"0": LP(0.75), ",": LP(0.25)}
    return {}


def judged(server: Loopback, cache: Path, **kw: Any) -> tuple[Outcome, Asker]:
    from seedforge.config.params import Judge
    from seedforge.instruct.judge import judge
    from seedforge.teachers.prompts import load_template
    from seedforge.testing.project import REPO

    a = asker(server.url, cache, **kw)
    return judge(PRIMES, load_template(Judge().template, root=REPO), a, 1, run_seed=0), a


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_judge_over_http_scores_from_top_logprobs(tmp_path: Path, api: str) -> None:
    # This server writes integer scores and returns top_logprobs: a judge that read the written
    # score instead (a silent fall back to the text) scores 8 and 10 with source json, and fails here.
    with Loopback(answer=written, dialect="vllm", logprobs=alternatives) as server:
        out, _ = judged(server, tmp_path / "c", api=api)
        calls = [b for b in server.bodies if "Say yes." not in prompt_of(b)]
        assert server.requests == len(calls) + 1  # one probe (logprobs: auto), then the calls
        again, b = judged(server, tmp_path / "c", api=api)
        assert server.requests == len(calls) + 1  # the rerun came from the cache, logprobs too
    assert all(c["logprobs"] == (True if api == "chat" else 20) for c in calls)
    assert all(c.get("top_logprobs") == (20 if api == "chat" else None) for c in calls)
    assert out.extra["score_source"] == {"top_logprobs": 2} and not out.rejects
    got = {r.instruction: r.judge for r in out.rows}
    eight, ten = got["Name 2 primes."], got["Name 3 primes."]
    assert eight is not None and ten is not None
    assert eight.source == ten.source == "top_logprobs" and eight.reason == "Correct."
    # " 8" and "8" add up; " good" is no score; the rest renormalised over the score tokens
    assert eight.distribution == {
        **{str(k): 0.0 for k in range(1, 11)},
        "7": round(0.3 / 0.95, 6),
        "8": round(0.55 / 0.95, 6),
        "9": round(0.1 / 0.95, 6),
    }
    assert eight.score == round((0.3 * 7 + 0.55 * 8 + 0.1 * 9) / 0.95, 4)
    # " 1" went on to "0": its 0.6 splits into 10 (0.75 of it) and 1
    assert ten.distribution is not None and ten.distribution["10"] == 0.45 and ten.distribution["1"] == 0.15
    assert ten.score == round(0.15 * 1 + 0.4 * 9 + 0.45 * 10, 4)
    assert [r.judge for r in again.rows] == [r.judge for r in out.rows] and b.acct["requests"] == 0


def test_judge_over_http_without_logprobs_reads_the_written_json(tmp_path: Path) -> None:
    # No dialect: this server ignores logprobs. The probe finds that once (cached for the
    # profile's server), the calls go without the fields, and the judge reads the JSON as written.
    with Loopback(answer=written) as server:
        out, _ = judged(server, tmp_path / "c")
        calls = [b for b in server.bodies if "Say yes." not in prompt_of(b)]
        assert server.requests == len(calls) + 1 and calls
        assert not any("logprobs" in c or "top_logprobs" in c for c in calls)
        again, _ = judged(server, tmp_path / "c2")  # a fresh call cache, the same server
        assert server.requests == 2 * len(calls) + 1  # no second probe
    probes = list((tmp_path / ".seedforge" / "cache" / "check").glob("logprobs-*.json"))
    assert len(probes) == 1 and json.loads(probes[0].read_text())["logprobs"] == "none"
    assert out.extra["score_source"] == {"json": 2} == again.extra["score_source"]
    assert {r.instruction: (r.judge.score, r.judge.distribution) for r in out.rows if r.judge} == {
        "Name 2 primes.": (8, None),
        "Name 3 primes.": (10, None),
    }


def test_judge_over_http_reads_prose_last_and_never_asks_when_logprobs_is_off(tmp_path: Path) -> None:
    with Loopback(answer=lambda body: "Clear and right.\nScore: 7/10", dialect="vllm") as server:
        out, _ = judged(server, tmp_path / "c", logprobs=False)
        assert not any("logprobs" in b for b in server.bodies)  # no probe, no fields
    assert out.extra["score_source"] == {"text": 2}
    assert all(r.judge is not None and r.judge.score == 7 for r in out.rows)


def test_judge_over_http_finds_the_score_in_prose_and_rejects_an_answer_without_one(tmp_path: Path) -> None:
    # logprobs come back either way; a distribution needs a written score to stand at (here
    # "7/10" in prose), and an answer that writes none is the one judge:missing_score.
    def prose(body: dict) -> str:
        return "Looks right, 7/10." if "Name 2" in prompt_of(body) else "A fine answer."

    def sevens(body: dict, i: int, token: str) -> dict[str, float]:
        return {" 7": LP(0.5), " 6": LP(0.5)} if token == " 7" else {}

    with Loopback(answer=prose, dialect="vllm", logprobs=sevens) as server:
        out, _ = judged(server, tmp_path / "c")
    assert out.extra["score_source"] == {"top_logprobs": 1}
    assert [(r.judge.score, r.judge.source) for r in out.rows if r.judge] == [(6.5, "top_logprobs")]
    assert [r["reason"] for r in out.rejects] == ["judge:missing_score"]

"""The operators' Asker on the shared runner, against a fault-injecting loopback server: the
schema goes out only with `structured: true`, a rerun sends zero requests, retries are invisible to
the rows, and a call that fails for good becomes a reject naming its cause."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seedforge.config.params import OpenAITeacher
from seedforge.instruct.calls import Ask, Asker
from seedforge.instruct.outcome import Outcome
from seedforge.instruct.stage import write_outcome
from seedforge.io import read_jsonl
from seedforge.teachers import make_teacher
from seedforge.teachers.cache import CallCache
from seedforge.testing.loopback import Loopback, prompt_of

FAST = dict(timeout=2.0, backoff=0.01, backoff_max=0.05, max_attempts=3, concurrency=4, fail_share=1.0)
FAST["structured"] = False  # these count requests: no dialect probe (structured: auto has its own tests)


def asker(url: str, cache: Path, **kw: Any) -> Asker:
    t = make_teacher("loop", OpenAITeacher(backend="openai", base_url=url, model="m", **{**FAST, **kw}))
    return Asker(t, CallCache(cache))


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
    # An OpenAI-compatible teacher cannot score continuations here, so the judge reads the written
    # answer; this server writes no score at all, the one case where judge:missing_score is right.
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

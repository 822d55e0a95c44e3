"""The shared call runner against a fault-injecting loopback server: retries, error rows, fail-fast,
fleets and the cache, with every count checked against what the server saw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from seedforge.config.params import OpenAITeacher
from seedforge.errors import SeedforgeError
from seedforge.teachers import Request, call_key, make_teacher
from seedforge.teachers.cache import CallCache
from seedforge.teachers.runner import Progress, Runner
from seedforge.testing.loopback import Loopback, prompt_of

FAST = dict(timeout=0.5, backoff=0.01, backoff_max=0.05, max_attempts=4, concurrency=8)


def teacher(url: str | list[str], **kw: Any):
    return make_teacher("loop", OpenAITeacher(backend="openai", base_url=url, model="m", **{**FAST, **kw}))


def calls(t, n: int) -> list[tuple[str, Request]]:
    reqs = [Request.user(f"prompt {i}", seed=i) for i in range(n)]
    return [(call_key(t, r), r) for r in reqs]


def index(body: dict) -> int:
    return int(prompt_of(body).split()[-1])


def quiet() -> Progress:
    return Progress("test", enabled=False)


def test_faults_are_retried_and_every_count_adds_up(tmp_path: Path) -> None:
    # Call i's attempts follow one of these scripts; the last two never succeed within 4 attempts.
    scripts = [
        ["ok"],
        ["429", "ok"],
        ["500", "500", "ok"],
        ["stall", "ok"],
        ["truncate", "ok"],
        ["badjson", "ok"],
        ["429", "500", "truncate", "ok"],
        ["500", "500", "500", "500"],
        ["stall", "stall", "stall", "stall"],
        ["garbage"],
    ]

    def script(body: dict, seen: int) -> str:
        s = scripts[index(body) % len(scripts)]
        return s[min(seen, len(s) - 1)]

    with Loopback(script, stall=1.5) as server:
        t = teacher(server.url, fail_share=1.0)
        runner = Runner(t, CallCache(tmp_path / "c.sqlite"), quiet())
        planned = calls(t, 20)
        out = runner.run(planned)
    acct = runner.acct
    assert len(out) == 20 and set(out) == {k for k, _ in planned}
    failed = {k: o for k, o in out.items() if o.error}
    assert len(failed) == 4  # calls 7, 8, 17, 18
    assert sorted(o.error["cause"] for o in failed.values()) == ["server", "server", "timeout", "timeout"]
    assert all("teachers.loop: http://127.0.0.1:" in o.error["message"] for o in failed.values())
    # The server's count, the runner's count and the per-call attempts agree exactly.
    assert server.requests == acct.requests == sum(o.attempts for o in out.values())
    assert acct.answered == 16 and acct.failed == 4 and acct.failures == {"server": 2, "timeout": 2}
    expected_retries = {"rate_limit": 4, "server": 2 * (2 + 1 + 3), "timeout": 2 * (1 + 3)}
    expected_retries["connection"] = 2 * 2  # truncated bodies (calls 4 and 6, twice each)
    expected_retries["bad_response"] = 2
    assert dict(acct.retries) == expected_retries
    # Garbage is an answer (the runner does not judge content); it is stored like any other.
    assert out[planned[9][0]].generation.text.startswith("Sorry")
    # A rerun sends only the failed calls again; answered ones come from the cache.
    with Loopback(lambda body, seen: "ok") as again:
        rerun = Runner(teacher(again.url), CallCache(tmp_path / "c.sqlite"), quiet())
        out2 = rerun.run(planned)
    assert again.requests == 4 and rerun.acct.cache_hits == 16
    assert all(o.error is None for o in out2.values())


def test_retry_after_is_honoured(tmp_path: Path) -> None:
    with Loopback(lambda body, seen: "429" if seen == 0 else "ok", retry_after="1") as server:
        t = teacher(server.url)
        out = Runner(t, CallCache(None), quiet()).run(calls(t, 1))
        (times,) = server.times.values()
    assert next(iter(out.values())).attempts == 2
    assert times[1] - times[0] >= 0.95  # waited as told, although backoff alone is 10 ms


def test_too_many_failures_stop_with_one_line_and_keep_answers(tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    with Loopback(lambda body, seen: "ok" if index(body) < 3 else "500") as server:
        t = teacher(server.url, concurrency=1, max_attempts=2, fail_share=0.5, fail_min=6)
        with pytest.raises(SeedforgeError) as e:
            Runner(t, CallCache(cache), quiet()).run(calls(t, 40))
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("teachers.loop: stopped: ")
    assert "injected server error" in msg and "server" in msg
    assert server.requests < 3 + 37 * 2  # stopped before every call used its 2 attempts
    assert CallCache(cache).stats()["calls"] == 3  # the answered calls are kept


def test_stall_stops_the_run(tmp_path: Path) -> None:
    with Loopback(lambda body, seen: "stall", stall=0.5) as server:
        t = teacher(server.url, timeout=0.2, max_attempts=100, stall_timeout=1.0, fail_share=1.0)
        with pytest.raises(SeedforgeError, match=r"stopped: no call succeeded for 1 s; .*timeout"):
            Runner(t, CallCache(None), quiet()).run(calls(t, 2))
        assert server.requests >= 2


def test_fleet_spreads_calls_and_skips_a_dead_server(tmp_path: Path) -> None:
    with Loopback() as a, Loopback() as b:
        dead = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
        t = teacher([a.url, b.url, dead], concurrency=4)
        runner = Runner(t, CallCache(tmp_path / "c.sqlite"), quiet())
        out = runner.run(calls(t, 30))
    assert all(o.error is None for o in out.values())
    assert a.requests > 5 and b.requests > 5 and a.requests + b.requests == 30
    assert runner.acct.retries["connection"] < 10  # the dead one is skipped after failing
    # The cache is keyed on the model, not the URL: one server alone finds every answer.
    with Loopback() as c:
        t2 = teacher(c.url)
        rerun = Runner(t2, CallCache(tmp_path / "c.sqlite"), quiet())
        rerun.run(calls(t2, 30))
    assert c.requests == 0 and rerun.acct.cache_hits == 30


def test_wrong_key_stops_at_once_without_the_key(monkeypatch) -> None:
    monkeypatch.setenv("LOOP_KEY", "sk-wrong-key-abcdef")
    with Loopback(api_key="sk-right") as server:
        t = teacher(server.url, api_key_env="LOOP_KEY")
        with pytest.raises(SeedforgeError) as e:
            Runner(t, CallCache(None), quiet()).run(calls(t, 5))
    msg = str(e.value)
    assert msg.startswith(f"teachers.loop: {server.url} answered 401") and "sk-wrong" not in msg
    assert server.requests <= FAST["concurrency"]


def test_progress_line(tmp_path: Path) -> None:
    import io

    stream = io.StringIO()
    with Loopback() as server:
        t = teacher(server.url)
        Runner(t, CallCache(None), Progress("generate@0", stream, enabled=True)).run(calls(t, 5))
    assert "generate@0: 5/5 calls" in stream.getvalue() and "ETA" in stream.getvalue()

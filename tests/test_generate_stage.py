"""The generate stage against a fault-injecting loopback server: it completes and every count adds
up; malformed answers are re-asked; `kill -9` at several points resumes without re-sending."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from seedforge.io import read_json, read_jsonl, write_json, write_jsonl
from seedforge.tasks import get_task
from seedforge.testing.loopback import Loopback, prompt_of
from seedforge.testing.project import REPO

LABELS = ["account", "billing", "delivery", "technical"]


def project(tmp_path: Path, url: str, n: int, **profile: Any) -> Path:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["teachers"]["loop"] = {
        "backend": "openai",
        "base_url": url,
        "model": "loop",
        "timeout": 0.5,
        "backoff": 0.01,
        "backoff_max": 0.05,
        "max_attempts": 4,
        "concurrency": 4,
        "fail_share": 1.0,
        "structured": False,  # these count requests: no dialect probe (tests/teachers/test_check.py)
        **profile,
    }
    params["teacher"] = "loop"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    texts = ["my parcel is late", "reset my password", "charged twice", "app crashes on start"]
    rows = [
        {
            "id": f"s{i:02d}",
            "input": f"{texts[i % 4]} ({i})",
            "output": LABELS[(i + 2) % 4],
            "prediction": "x",
        }
        for i in range(n)
    ]
    write_jsonl(tmp_path / "selected.jsonl", rows)
    write_json(tmp_path / "task.json", get_task("classification").with_labels(LABELS).info())
    return tmp_path


def command(tmp: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "stages.generate",
        "--params",
        str(tmp / "params.yaml"),
        "--iteration",
        "0",
        "--selected",
        str(tmp / "selected.jsonl"),
        "--task-info",
        str(tmp / "task.json"),
        "--cache",
        str(tmp / "cache" / "calls.sqlite"),
        "--out",
        str(tmp / "calls.jsonl"),
        "--metrics",
        str(tmp / "metrics.json"),
        "--run-log",
        str(tmp / "run.json"),
    ]


def stage(tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run(command(tmp), cwd=REPO, capture_output=True, text=True)


def test_faults_reasks_and_counts(tmp_path: Path) -> None:
    def script(body: dict, seen: int) -> str:
        i = int(re.search(r"\((\d+)\)", prompt_of(body)).group(1)) % 7  # the seed example's number
        plan = {
            0: ["429", "ok"],
            1: ["500", "truncate", "ok"],
            2: ["stall", "ok"],
            3: ["badjson", "ok"],
            4: ["500", "500", "500", "500"],  # fails for good: an error row
            5: ["garbage"],  # answered, but nothing usable: re-asked with a fresh sample
            6: ["ok"],
        }[i]
        return plan[min(seen, len(plan) - 1)]

    with Loopback(script, stall=1.2) as server:
        tmp = project(tmp_path, server.url, 12, reasks=2)
        out = stage(tmp)
        assert out.returncode == 0, out.stderr
        rows = read_jsonl(tmp / "calls.jsonl")
        metrics = read_json(tmp / "metrics.json")
        run = read_json(tmp / "run.json")
        sent = server.requests
    calls = [r["call"] for r in rows]
    assert calls == sorted(set(calls))  # sorted, nothing duplicated
    assert metrics["calls_planned"] == 12 and metrics["calls"] == len(rows) == run["calls"]
    assert metrics["answered"] + metrics["failed"] == len(rows)
    # Every row is one call; every attempt the server saw is one the runner counted.
    assert sent == run["requests"] == sum(r["attempts"] for r in rows)
    assert run["requests"] == run["answered"] + run["failed"] + sum(run["retries"].values())
    failed = [r for r in rows if r["raw"] is None]
    assert failed and all(r["error"]["cause"] == "server" for r in failed)
    assert metrics["failed"] == len(failed) == run["failed"]
    assert metrics["failed_by_cause"] == {"server": len(failed)}
    # Garbage answers are kept as rows and re-asked under a new sample index, up to 2 times.
    garbage = [r for r in rows if r["raw"] and r["raw"].startswith("Sorry")]
    assert garbage and metrics["reasked"] == sum(1 for r in rows if r["sampling"]["sample"] > 0) > 0
    assert max(r["sampling"]["sample"] for r in rows) <= 2
    parents = {r["parent_id"] for r in rows}
    assert len(parents) == 12
    # The filter stage's parse step sees every call row: error rows and garbage become rejects.
    from seedforge.gates import count_reasons
    from seedforge.loop.candidates import parse_calls
    from seedforge.tasks import get_task

    _, parse_rejects = parse_calls(rows, get_task("classification").with_labels(LABELS), 0)
    reasons = count_reasons(parse_rejects)
    assert reasons.get("call:server") == len(failed) and reasons.get("parse:no_examples") == len(garbage)
    # A rerun sends nothing that was answered: only the failed calls go out again.
    with Loopback() as again:
        tmp2 = project(tmp_path, again.url, 12, reasks=2)
        out = stage(tmp2)
        assert out.returncode == 0, out.stderr
        assert (
            again.requests
            == len(failed)
            + sum(1 for r in read_jsonl(tmp2 / "calls.jsonl") if r["sampling"]["sample"] > 0)
            - metrics["reasked"]
        )
        assert read_json(tmp2 / "run.json")["cache_hits"] == len(rows) - len(failed)


@pytest.mark.parametrize("kill_at", [1, 9, 22])
def test_kill_9_then_rerun_sends_no_answered_call_again(tmp_path: Path, kill_at: int) -> None:
    """`kill -9` when the server has received `kill_at` requests, then a rerun to the end."""
    n = 30
    proc: list[subprocess.Popen] = []

    def on_request(count: int) -> None:
        if count == kill_at and proc:
            os.kill(proc[0].pid, signal.SIGKILL)

    with Loopback(delay=0.05, on_request=on_request) as server:
        tmp = project(tmp_path, server.url, n)
        proc.append(
            subprocess.Popen(command(tmp), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        proc[0].wait(timeout=60)
        assert proc[0].returncode == -signal.SIGKILL
        assert not (tmp / "calls.jsonl").exists()  # nothing half-written
        first = dict(server.by_body)
        proc.clear()
        from seedforge.teachers.cache import CallCache

        stored = CallCache(tmp / "cache" / "calls.sqlite").stats()["calls"]
        out = stage(tmp)
        assert out.returncode == 0, out.stderr
        rows = read_jsonl(tmp / "calls.jsonl")
        run = read_json(tmp / "run.json")
        again = {b: c - first.get(b, 0) for b, c in server.by_body.items() if c > first.get(b, 0)}
    assert len(rows) == n == len({r["call"] for r in rows}) and all(r["raw"] for r in rows)
    assert run["cache_hits"] == stored and run["requests"] == n - stored == sum(again.values())
    assert all(c == 1 for c in again.values())  # each unanswered call sent once on the rerun
    assert stored >= kill_at - 4  # at most `concurrency` calls were in flight when killed
    # A third run sends nothing at all.
    with Loopback() as idle:
        tmp3 = project(tmp_path, idle.url, n)
        assert stage(tmp3).returncode == 0
        assert idle.requests == 0

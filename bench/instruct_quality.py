"""The instruction pipeline's judge and categorize, measured on data nobody here wrote.

Judge: pairs from ../shared/data/instruct/alpaca_en_demo.json (LLaMA-Factory's Alpaca demo). Half
are the original pairs (good); the other half are planted bad ones, a quarter of each kind: the
response of another instruction (moved), the response cut to its first fifth (truncated), no
response (empty), or a fixed off-topic sentence (off_topic). Every pair is scored by the real
`judge()` through the shipped judge template; the AUROC of the score, good vs bad, is reported
overall and per kind, with the score source (must be "distribution" for llama.cpp teachers).

The judge is the default one: its relevance bar (`instruct.judge.min_relevance`) first, a rejected
pair (`judge:off_topic`, `judge:empty_response`) ranking below every scored one. Relevance alone is
reported too: the AUROC of the cosine between each pair's instruction (+ context) and its response
under the gates' MiniLM encoder, on the same pairs.

Categorize: accuracy on tests/data/instruct_categories.jsonl, 136 Alpaca seed tasks
(../shared/data/instruct/alpaca_seed_tasks.jsonl) labelled by hand with the recipe's categories,
for each method (embed: MiniLM to a one-line description; score: the teacher's log-probability of
each name).

    OMP_NUM_THREADS=1 nice python bench/instruct_quality.py --pairs 60 --model smollm2 \\
        --out bench/results/instruct_quality_smollm2.json

With --base-url the judge is the shipped `llama70b` profile (backend openai) pointed at a server,
e.g. `python -m llama_cpp.server --model SmolLM2.gguf --model_alias smol --api_key local` and
`SEEDFORGE_API_KEY=local ... --base-url http://127.0.0.1:PORT/v1 --model smol`: the score then
comes from the server's top_logprobs.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, "src")
from seedforge.config.params import Judge, load_params
from seedforge.instruct.calls import Asker, operator_teacher
from seedforge.instruct.categorize import categorize
from seedforge.instruct.judge import judge
from seedforge.instruct.rows import InstructionRow
from seedforge.io import write_json
from seedforge.teachers.cache import CallCache
from seedforge.teachers.prompts import load_template
from seedforge.vectors.embed import Encoder

DATA = Path("../shared/data/instruct")
KINDS = ("moved", "truncated", "empty", "off_topic")
OFF_TOPIC = "I like to go swimming on Sundays with my friends at the lake near our town."


def auroc(pos: list[float], neg: list[float]) -> float | None:
    """P(score of a good pair > score of a bad one), ties counting half; None with a side empty
    (a judge that scored no good pair at all)."""
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return round(wins / (len(pos) * len(neg)), 4)


def planted(n: int, seed: int) -> list[tuple[InstructionRow, str]]:
    """n good pairs and n bad ones (n/4 of each kind), from distinct demo rows."""
    demo = json.loads((DATA / "alpaca_en_demo.json").read_text())
    rng = random.Random(seed)
    picked = rng.sample(range(len(demo)), 2 * n)
    out = []
    for j, i in enumerate(picked):
        d = demo[i]
        kind = "good" if j < n else KINDS[j % len(KINDS)]
        response = d["output"][:1200]  # the judge sees what respond's max_tokens would allow, roughly
        if kind == "moved":
            response = demo[picked[(j + 1) % len(picked)]]["output"][:1200]
        elif kind == "truncated":
            words = response.split()
            response = " ".join(words[: max(1, len(words) // 5)])
        elif kind == "empty":
            response = ""
        elif kind == "off_topic":
            response = OFF_TOPIC
        row = InstructionRow.make(d["instruction"], d["input"], response, origin="seed", operator="seed")
        out.append((row, kind))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=60, help="good pairs (as many bad ones)")
    ap.add_argument("--model", default="smollm2", help="a GGUF alias or path for the judge")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-score-categorize", action="store_true")
    ap.add_argument(
        "--base-url",
        default=None,
        help="judge over HTTP instead: the shipped llama70b profile (an OpenAI-compatible server, its"
        " key from SEEDFORGE_API_KEY) at this URL, serving --model by that name",
    )
    ap.add_argument("--api", choices=("chat", "completions"), default="chat", help="with --base-url")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    params = load_params()
    name = "smollm2" if args.base_url is None else "llama70b"
    http = {"base_url": args.base_url, "api": args.api}
    update = {"model": args.model} | ({} if args.base_url is None else http)
    profile = params.teachers[name].model_copy(update=update)
    params = params.model_copy(update={"teachers": {**params.teachers, name: profile}})
    cfg = Judge()
    asker = Asker(operator_teacher(params, cfg, profile=name), CallCache(None))
    result: dict[str, object] = {"model": args.model, "pairs": args.pairs, "seed": args.seed}
    if args.base_url is not None:
        result["backend"] = f"openai (HTTP, {args.api} API)"

    pairs = planted(args.pairs, args.seed)
    # The default judge: its relevance bar (Judge().min_relevance) under the gates' encoder.
    encoder = Encoder(params.gates.model, None, params.gates.device, params.gates.batch_size)
    start = time.perf_counter()
    out = judge(
        [r for r, _ in pairs],
        load_template(cfg.template),
        asker,
        1,
        args.seed,
        encode=encoder.encode,
        min_relevance=cfg.min_relevance,
    )
    out.blame_failures(asker.errors)  # a call that failed is not a missing score (as in the stage)
    result["judge_seconds"] = round(time.perf_counter() - start, 1)
    result["min_relevance"] = cfg.min_relevance
    score = {r.id: r.judge.score for r in out.rows if r.judge}
    result["judge_scored"] = len(score)
    result["judge_rejected"] = dict(Counter(r["reason"] for r in out.rejects))
    # A row the judge rejects without a score (an empty or off-topic response) ranks below every
    # scored one: a filter that drops it has judged it worst.
    score |= {r["id"]: 0.0 for r in out.rejects if r["reason"] in ("judge:empty_response", "judge:off_topic")}
    kinds = {r.id: k for r, k in pairs}
    good = [score[i] for i, k in kinds.items() if k == "good" and i in score]
    result["judge_source"] = out.extra["score_source"]
    result["judge_auroc"] = {"all_bad": auroc(good, [s for i, s in score.items() if kinds[i] != "good"])}
    for kind in KINDS:
        bad = [s for i, s in score.items() if kinds[i] == kind]
        result["judge_auroc"][kind] = auroc(good, bad)  # type: ignore[index]
    result["judge_mean"] = {
        k: round(sum(s for i, s in score.items() if kinds[i] == k) / max(1, list(kinds.values()).count(k)), 3)
        for k in ("good", *KINDS)
    }
    # The relevance alone, on the same pairs: how close the response is to its instruction
    # (+ context) under the gates' sentence encoder (what the judge's min_relevance reads).
    rows = [r for r, _ in pairs]
    asked = encoder.encode([f"{r.instruction} {r.context}".strip() for r in rows])
    answered = encoder.encode([r.response for r in rows])
    cosine = {r.id: float(a @ b) for r, a, b in zip(rows, asked, answered, strict=True)}
    encoder.close()
    good_cos = [c for i, c in cosine.items() if kinds[i] == "good"]
    result["relevance_auroc"] = {
        "all_bad": auroc(good_cos, [c for i, c in cosine.items() if kinds[i] != "good"])
    }
    for kind in KINDS:
        result["relevance_auroc"][kind] = auroc(good_cos, [c for i, c in cosine.items() if kinds[i] == kind])  # type: ignore[index]
    result["relevance_range"] = {
        k: [
            round(min(c for i, c in cosine.items() if kinds[i] == k), 3),
            round(max(c for i, c in cosine.items() if kinds[i] == k), 3),
        ]
        for k in ("good", *KINDS)
    }
    print(json.dumps(result), flush=True)

    labels = {r["id"]: r["category"] for r in map(json.loads, open("tests/data/instruct_categories.jsonl"))}
    text = {r["id"]: r["instruction"] for r in map(json.loads, open(DATA / "alpaca_seed_tasks.jsonl"))}
    rows = [InstructionRow.make(text[i], origin="seed", operator="seed") for i in sorted(labels)]
    gold = [labels[i] for i in sorted(labels)]
    c = params.instruct.categorize  # type: ignore[union-attr]
    template = load_template(c.template)
    methods = ["embed"] + ([] if args.skip_score_categorize else ["score"])
    acc: dict[str, object] = {}
    for method in methods:
        encoder = Encoder(params.gates.model, None, params.gates.device, params.gates.batch_size)
        start = time.perf_counter()
        done = categorize(
            rows, template, asker, c.categories, c.fallback, 0, method=method, encode=encoder.encode
        )
        got = [r.category for r in done.rows]
        hits = [g == p for g, p in zip(gold, got, strict=True)]
        per = {
            cat: round(sum(h for h, g in zip(hits, gold, strict=True) if g == cat) / n, 3)
            for cat, n in Counter(gold).items()
        }
        acc[method] = {
            "accuracy": round(sum(hits) / len(hits), 4),
            "n": len(hits),
            "seconds": round(time.perf_counter() - start, 1),
            "per_category": dict(sorted(per.items())),
            "predicted": dict(sorted(Counter(got).items())),
        }
        encoder.close()
        print(method, json.dumps(acc[method]), flush=True)
    result["categorize"] = acc
    write_json(args.out, result)


if __name__ == "__main__":
    main()

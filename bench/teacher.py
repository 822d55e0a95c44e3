"""Teacher call throughput: our runner against a plain asyncio loop with the `openai` client, and
against distilabel, over the same prompts on a loopback server that answers after 200 ms.

    .venv/bin/python bench/teacher.py --json
    .venv/bin/pip install distilabel==1.5.3   # optional, benchmark only: adds the distilabel row

Everything runs in one process against one server (a subprocess), so the ratios are what to
compare. `ours` is the full path: runner, retries armed, SQLite cache written per answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from seedforge.config.params import OpenAITeacher  # noqa: E402
from seedforge.teachers import Request, call_key, make_teacher  # noqa: E402
from seedforge.teachers.cache import CallCache  # noqa: E402
from seedforge.teachers.runner import Progress, Runner  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(delay: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "seedforge.testing.loopback", "--port", str(port), "--delay", str(delay)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/models", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("loopback server did not start")


def prompts(n: int, tag: str) -> list[str]:
    return [
        f"[{tag}] Write 2 new examples like this one, with the label positive, ok.\nInput: case {i}"
        for i in range(n)
    ]


def ours(url: str, texts: list[str], concurrency: int) -> float:
    profile = OpenAITeacher(
        backend="openai", base_url=url, model="loop", concurrency=concurrency, max_tokens=64
    )
    teacher = make_teacher("bench", profile)
    reqs = [Request.user(t, seed=i) for i, t in enumerate(texts)]
    with tempfile.TemporaryDirectory() as tmp:
        cache = CallCache(Path(tmp) / "calls.sqlite")
        start = time.perf_counter()
        out = Runner(teacher, cache, Progress("bench", enabled=False)).run(
            [(call_key(teacher, r), r) for r in reqs]
        )
        took = time.perf_counter() - start
        cache.close()
    assert len(out) == len(texts) and all(o.error is None for o in out.values())
    return took


def plain(url: str, texts: list[str], concurrency: int) -> float:
    import openai

    async def go() -> None:
        client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0)
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int, text: str) -> str:
            async with sem:
                out = await client.chat.completions.create(  # the same body as ours sends
                    model="loop",
                    messages=[{"role": "user", "content": text}],
                    temperature=0.8,
                    top_p=0.95,
                    max_tokens=64,
                    seed=i,
                )
                return out.choices[0].message.content or ""

        results = await asyncio.gather(*(one(i, t) for i, t in enumerate(texts)))
        assert all(results)
        await client.close()

    start = time.perf_counter()
    asyncio.run(go())
    return time.perf_counter() - start


def distilabel_llm(url: str, texts: list[str], concurrency: int) -> float | None:
    """distilabel's OpenAILLM, driven the way its pipeline drives a task: batch after batch of
    `concurrency` inputs, each batch sent concurrently. None when distilabel is not installed."""
    try:
        from distilabel.models.llms import OpenAILLM
    except ImportError:
        return None
    os.environ["OPENAI_API_KEY"] = "x"
    llm = OpenAILLM(model="loop", base_url=url, max_retries=0)
    llm.load()
    start = time.perf_counter()
    for i in range(0, len(texts), concurrency):
        batch = [[{"role": "user", "content": t}] for t in texts[i : i + concurrency]]
        out = llm.generate(inputs=batch, num_generations=1, max_new_tokens=64)
        assert len(out) == len(batch)
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--requests", type=int, default=640)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--sequential", type=int, default=64, help="prompts for the one-at-a-time run")
    p.add_argument("--delay", type=float, default=0.2)
    p.add_argument("--repeats", type=int, default=3, help="interleaved runs of each; the best counts")
    args = p.parse_args()
    proc, url = start_server(args.delay)
    try:
        n, c = args.requests, args.concurrency
        plain(url, prompts(c, "warm"), c)  # warm both paths (imports, connections) before timing
        ours(url, prompts(c, "warm2"), c)
        ours_all, plain_all = [], []
        for r in range(args.repeats):  # interleaved, so load on a shared machine hits both alike
            ours_all.append(ours(url, prompts(n, f"ours{r}"), c))
            plain_all.append(plain(url, prompts(n, f"plain{r}"), c))
        ours_s, plain_s = min(ours_all), min(plain_all)
        one_s = ours(url, prompts(args.sequential, "seq"), 1)
        distil_s = distilabel_llm(url, prompts(n, "distilabel"), c)
    finally:
        proc.terminate()
        proc.wait()
    result = {
        "requests": n,
        "concurrency": c,
        "server_delay_s": args.delay,
        "repeats": args.repeats,
        "ours_s": round(ours_s, 3),
        "plain_s": round(plain_s, 3),
        "ours_all_s": [round(x, 3) for x in ours_all],
        "plain_all_s": [round(x, 3) for x in plain_all],
        "ratio": round(plain_s / ours_s, 3),
        "ours_per_s": round(n / ours_s, 1),
        "sequential_requests": args.sequential,
        "sequential_s": round(one_s, 3),
        "sequential_per_s": round(args.sequential / one_s, 2),
        "speedup_vs_sequential": round((n / ours_s) / (args.sequential / one_s), 1),
        "distilabel_s": round(distil_s, 3) if distil_s is not None else None,
        "distilabel_ratio": round(distil_s / ours_s, 3) if distil_s is not None else None,
    }
    if args.json:
        print(json.dumps(result))
        return
    print("| path | requests | concurrency | wall s | requests/s |\n|---|---|---|---|---|")
    print(f"| ours (runner + cache) | {n} | {c} | {ours_s:.2f} | {n / ours_s:.0f} |")
    print(f"| plain asyncio + openai | {n} | {c} | {plain_s:.2f} | {n / plain_s:.0f} |")
    if distil_s is not None:
        print(f"| distilabel 1.5.3 OpenAILLM | {n} | {c} | {distil_s:.2f} | {n / distil_s:.0f} |")
    print(f"| ours, one at a time | {args.sequential} | 1 | {one_s:.2f} | {args.sequential / one_s:.1f} |")
    print(
        f"\nratio plain/ours = {result['ratio']}; 64-way is {result['speedup_vs_sequential']}x one-at-a-time"
    )


if __name__ == "__main__":
    main()

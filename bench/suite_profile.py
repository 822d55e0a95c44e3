"""Turn pytest's `--durations=0` output into the committed profile of the test suite.

    .venv/bin/python -m pytest -q -n 2 --dist loadgroup --durations=0 | tee /tmp/suite.log
    .venv/bin/python bench/suite_profile.py /tmp/suite.log --note "2 cores, load 1.9" > bench/suite_profile.md

(`make profile` does both.) The table names where the time goes: the slowest items (a module-scoped
fixture's set-up is charged to the first test that uses it) and the seconds per module, summed over
set-up, call and teardown. Under xdist the sum over items exceeds the wall time, which is read from
pytest's own summary line.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

# "12.34s setup    tests/test_x.py::test_y[param]" as pytest prints it under "slowest durations";
# under `--dist loadgroup` xdist appends "@<group>" to the node id, which is dropped here.
ITEM = re.compile(r"^(\d+(?:\.\d+)?)s (setup|call|teardown)\s+(\S.*?)(?:@[^\]@]*)?$")
SUMMARY = re.compile(r"^=*\s*(.*\b(?:passed|failed)\b.*) in (\d+(?:\.\d+)?)s")


def parse(text: str) -> tuple[list[tuple[float, str, str]], str, float | None]:
    """(seconds, phase, node id) for every timed item, pytest's summary line, and its wall seconds.

    >>> items, summary, wall = parse("1.50s call     tests/a.py::t@light_run\\n== 3 passed in 9.10s ==")
    >>> items, summary, wall
    ([(1.5, 'call', 'tests/a.py::t')], '3 passed', 9.1)
    """
    items: list[tuple[float, str, str]] = []
    summary, wall = "", None
    for line in text.splitlines():
        if match := ITEM.match(line.strip()):
            items.append((float(match[1]), match[2], match[3].strip()))
        elif match := SUMMARY.match(line.strip()):
            summary, wall = match[1].strip(" ="), float(match[2])
    return items, summary, wall


def table(items: list[tuple[float, str, str]], summary: str, wall: float | None, note: str, top: int) -> str:
    modules: dict[str, float] = defaultdict(float)
    for seconds, _, node in items:
        modules[node.split("::")[0]] += seconds
    total = sum(modules.values())
    lines = [
        "# Test suite profile",
        "",
        f"pytest: {summary}; wall {wall:.0f} s." if wall else "pytest: no summary line.",
        *([f"({note})"] if note else []),
        "",
        f"Items timed: {len(items)}; their seconds summed over both phases and workers: {total:.0f} s.",
        "",
        f"## The {min(top, len(items))} slowest items",
        "",
        "| s | phase | test |",
        "|---:|---|---|",
        *(f"| {s:.1f} | {phase} | `{node}` |" for s, phase, node in sorted(items, reverse=True)[:top]),
        "",
        "## Seconds per module (set-up + call + teardown)",
        "",
        "| s | share | module |",
        "|---:|---:|---|",
        *(
            f"| {s:.1f} | {s / total:.0%} | `{m}` |"
            for m, s in sorted(modules.items(), key=lambda kv: -kv[1])
            if total
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path, nargs="?", help="pytest output (default: stdin)")
    parser.add_argument("--note", default="", help="the machine and its load, printed under the summary")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    text = args.log.read_text(encoding="utf-8", errors="replace") if args.log else sys.stdin.read()
    items, summary, wall = parse(text)
    if not items:
        print("no `--durations` lines in the input: run pytest with --durations=0", file=sys.stderr)
        return 1
    sys.stdout.write(table(items, summary, wall, args.note, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

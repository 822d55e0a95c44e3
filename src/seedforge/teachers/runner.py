"""The one call runner every teacher backend goes through.

It owns what a backend should not: how many calls are in flight (the profile's `concurrency`),
the cache (an answer is committed the moment it arrives, and a stored answer is never asked
again), retries (exponential backoff with jitter, `Retry-After` honoured, at most `max_attempts`
per call, each attempt bounded by `timeout`), a fleet of URLs (an unhealthy one is skipped for
a while), error rows (a call that fails its last attempt comes back with its cause, never silently
dropped), stopping early (when the share of failed calls among finished ones passes `fail_share`,
or nothing succeeded for `stall_timeout` seconds: one line naming what failed, how often, and the
server's last message), accounting, and a progress line on stderr when it is a terminal.

A request the server rejects (a `CallError` with cause `request`) is not retried: it stops the run
at once with the backend's one line (what was rejected, and the profile key that changes it). The
run's first attempt goes alone, so that stop costs one request, not one per call in flight.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from seedforge.errors import SeedforgeError
from seedforge.teachers.base import CallError, Generation, Request, Teacher, TokenLogprob
from seedforge.teachers.cache import CallCache

Call = tuple[str, Request]  # (call key, request)


@dataclass(frozen=True)
class Outcome:
    """One finished call: its answer, or the error of its last attempt."""

    key: str
    request: Request
    generation: Generation | None
    attempts: int  # attempts it took (as stored with the answer, for a cache hit)
    error: dict[str, str] | None = None  # {"cause": ..., "message": ...}
    cached: bool = False


@dataclass
class Accounting:
    """What the calls cost on this machine (machine-dependent: kept out of tracked metrics)."""

    calls: int = 0
    cache_hits: int = 0
    requests: int = 0  # attempts sent, retries included
    answered: int = 0
    failed: int = 0
    retries: Counter[str] = field(default_factory=Counter)  # by cause
    failures: Counter[str] = field(default_factory=Counter)  # by cause of the last attempt
    tokens_spent: Counter[str] = field(default_factory=Counter)
    tokens_cached: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0

    def as_dict(self, price: Any = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "calls": self.calls,
            "cache_hits": self.cache_hits,
            "requests": self.requests,
            "answered": self.answered,
            "failed": self.failed,
            "retries": dict(sorted(self.retries.items())),
            "failures": dict(sorted(self.failures.items())),
            "tokens_spent": {k: self.tokens_spent[k] for k in ("prompt_tokens", "completion_tokens")},
            "tokens_cached": {k: self.tokens_cached[k] for k in ("prompt_tokens", "completion_tokens")},
            "wall_s": round(self.wall_s, 3),
        }
        if price is not None:
            spent = (
                self.tokens_spent["prompt_tokens"] * price.prompt
                + self.tokens_spent["completion_tokens"] * price.completion
            ) / 1e6
            saved = (
                self.tokens_cached["prompt_tokens"] * price.prompt
                + self.tokens_cached["completion_tokens"] * price.completion
            ) / 1e6
            out["cost"] = {"spent": round(spent, 6), "saved_by_cache": round(saved, 6)}
        return out


class Fleet:
    """Round-robin over URLs, skipping one that failed until its cool-down has passed.

    >>> f = Fleet(["a", "b"]); [f.pick() for _ in range(3)]
    ['a', 'b', 'a']
    >>> f.down("b"); [f.pick() for _ in range(2)]
    ['a', 'a']
    """

    def __init__(self, urls: Sequence[str], cool_down: float = 1.0) -> None:
        self.urls = list(urls)
        self.until = dict.fromkeys(self.urls, 0.0)
        self.strikes = dict.fromkeys(self.urls, 0)
        self.cool_down = cool_down
        self._next = 0

    def pick(self) -> str:
        now = time.monotonic()
        for i in range(len(self.urls)):
            url = self.urls[(self._next + i) % len(self.urls)]
            if self.until[url] <= now:
                self._next = (self._next + i + 1) % len(self.urls)
                return url
        return min(self.urls, key=lambda u: self.until[u])  # all down: the soonest back

    def down(self, url: str) -> None:
        """Skip `url` for a while: 1 s, doubling with each failure in a row, at most a minute."""
        if len(self.urls) > 1:
            self.strikes[url] += 1
            wait = min(60.0, self.cool_down * 2 ** (self.strikes[url] - 1))
            self.until[url] = time.monotonic() + wait

    def up(self, url: str) -> None:
        self.until[url] = 0.0
        self.strikes[url] = 0


class Progress:
    """`generate: 120/640 calls, 35.2/s, ETA 15s` redrawn on stderr; silent when not a terminal."""

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = 0
        self.done = 0
        self.start = time.monotonic()
        self._drawn = 0.0

    def add(self, n: int) -> None:
        self.total += n

    def step(self, failed: int) -> None:
        self.done += 1
        now = time.monotonic()
        if self.enabled and (now - self._drawn > 0.1 or self.done == self.total):
            self._drawn = now
            rate = self.done / max(now - self.start, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else 0
            fail = f", {failed} failed" if failed else ""
            self.stream.write(
                f"\r{self.label}: {self.done}/{self.total} calls, {rate:.1f}/s, ETA {eta:.0f}s{fail}  "
            )
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()


class Stop(Exception):
    pass


class Runner:
    """Run calls through one teacher; see the module docstring for what it guarantees."""

    def __init__(
        self,
        teacher: Teacher,
        cache: CallCache,
        progress: Progress | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.teacher = teacher
        self.options = teacher.params
        self.cache = cache
        self.acct = Accounting()
        self.progress = progress or Progress("generate")
        self._sleep = sleep
        self._finished = 0
        self._last_message = ""
        self._last_success = 0.0

    def run(
        self, calls: Sequence[Call], follow_up: Callable[[list[Outcome]], Sequence[Call]] | None = None
    ) -> dict[str, Outcome]:
        """Run `calls`; then the calls `follow_up(outcomes)` asks for, round after round."""
        return asyncio.run(self.arun(calls, follow_up))

    async def arun(
        self, calls: Sequence[Call], follow_up: Callable[[list[Outcome]], Sequence[Call]] | None = None
    ) -> dict[str, Outcome]:
        start = time.monotonic()
        self._last_success = start
        self._semaphore = asyncio.Semaphore(self.options.concurrency)
        self._gate = asyncio.Event()
        self._pilot = False
        self._fleet = Fleet(self.teacher.endpoints())
        results: dict[str, Outcome] = {}
        try:
            todo = list(calls)
            while todo:
                todo = [(k, r) for k, r in dict(todo).items() if k not in results]
                if not todo:
                    break
                round_out = await self._round(todo)
                results.update({o.key: o for o in round_out})
                todo = list(follow_up(round_out)) if follow_up else []
        finally:
            self.acct.wall_s = time.monotonic() - start
            self.progress.close()
            await self.teacher.aclose()
        return results

    async def _round(self, calls: Sequence[Call]) -> list[Outcome]:
        self.acct.calls += len(calls)
        outcomes: list[Outcome] = []
        todo = []
        for key, request in calls:
            hit = self.cache.get(key)
            if hit is None:
                todo.append((key, request))
                continue
            lps = hit.get("logprobs")
            gen = Generation(
                hit["text"],
                hit.get("finish_reason"),
                hit.get("usage") or {},
                None if lps is None else tuple(TokenLogprob.from_json(t) for t in lps),
            )
            outcomes.append(Outcome(key, request, gen, int(hit.get("attempts", 1)), cached=True))
            self.acct.cache_hits += 1
            self.acct.tokens_cached.update(gen.usage)
        if not todo:
            return outcomes
        self.teacher.load()  # only when something must be sent: a full cache needs no model
        self.progress.add(len(todo))
        self._planned = self._finished + len(todo)
        tasks = [asyncio.create_task(self._call(key, request)) for key, request in todo]
        everything = asyncio.gather(*tasks)
        watchdog = asyncio.create_task(self._watchdog())
        try:
            # One wait for all calls or the watchdog, whichever ends first (a failed call that
            # trips fail_share ends `everything` with its SeedforgeError).
            await asyncio.wait({everything, watchdog}, return_when=asyncio.FIRST_COMPLETED)
            if watchdog.done():
                watchdog.result()  # raises the stall error
            outcomes.extend(everything.result())
        finally:
            watchdog.cancel()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, watchdog, return_exceptions=True)
            if everything.done() and not everything.cancelled():
                everything.exception()  # retrieved, so asyncio does not log it again
        return outcomes

    async def _watchdog(self) -> None:
        o = self.options
        while True:
            await asyncio.sleep(min(1.0, o.stall_timeout / 4))
            if time.monotonic() - self._last_success > o.stall_timeout:
                raise SeedforgeError(self._stop_line(f"no call succeeded for {o.stall_timeout:g} s"))

    async def _call(self, key: str, request: Request) -> Outcome:
        o = self.options
        attempt = 0
        first = not self._gate.is_set() and not self._pilot
        self._pilot = self._pilot or first
        if not first:
            # The run's first attempt goes alone: a request the server rejects costs one request,
            # not one per call in flight; its answer (any answer) lets the rest go.
            await self._gate.wait()
        while True:
            attempt += 1
            async with self._semaphore:
                url = self._fleet.pick()  # picked when the call can go, so health is current
                self.acct.requests += 1
                try:
                    call = self.teacher.agenerate(request, url)
                    # An HTTP client enforces `timeout` itself (and an extra task per call costs
                    # throughput); other backends get the runner's bound.
                    gen = await (call if self.teacher.enforces_timeout else asyncio.wait_for(call, o.timeout))
                    err = None
                except TimeoutError:
                    err = CallError(
                        "timeout",
                        f"teachers.{self.teacher.profile}: {url} did not answer within {o.timeout:g} s",
                    )
                except CallError as e:
                    err = e
                except BaseException:
                    self._gate.set()
                    raise
            if err is None or err.cause != "request":
                self._gate.set()
            if err is None:
                self._fleet.up(url)
                self.cache.put(
                    key,
                    {
                        "text": gen.text,
                        "finish_reason": gen.finish_reason,
                        "usage": gen.usage,
                        "attempts": attempt,
                        # only when the server gave them: other answers are stored as before
                        **(
                            {"logprobs": [t.as_json() for t in gen.logprobs]}
                            if gen.logprobs is not None
                            else {}
                        ),
                    },
                    self.teacher.profile,
                )
                self._last_success = time.monotonic()
                self.acct.answered += 1
                self.acct.tokens_spent.update(gen.usage)
                self._finish(failed=False)
                return Outcome(key, request, gen, attempt)
            self._last_message = str(err)
            if not err.retryable or attempt >= o.max_attempts:
                self.acct.failed += 1
                self.acct.failures[err.cause] += 1
                if err.cause == "request":
                    # The same request would be rejected every time, and so would every other
                    # call's: one line saying what and which key, instead of a run of failures.
                    # (The gate stays shut: the calls waiting on it are cancelled unsent.)
                    raise SeedforgeError(
                        f"{err}; {self.acct.answered} answers sent this run are kept in the cache"
                    )
                self._finish(failed=True)
                return Outcome(key, request, None, attempt, {"cause": err.cause, "message": str(err)})
            self.acct.retries[err.cause] += 1
            delay = min(o.backoff_max, o.backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
            if err.retry_after is not None:  # the server knows best; the stall timeout still bounds it
                delay = max(delay, min(err.retry_after, o.stall_timeout))
            if err.cause in ("server", "connection", "timeout"):
                self._fleet.down(url)
            await self._sleep(delay)

    def _finish(self, failed: bool) -> None:
        self._finished += 1
        self.progress.step(self.acct.failed)
        o = self.options
        if self.acct.failed and self._finished >= min(o.fail_min, self._planned):
            if self.acct.failed / self._finished > o.fail_share:
                raise SeedforgeError(
                    self._stop_line(
                        f"{self.acct.failed} of {self._finished} finished calls failed "
                        f"(more than teachers.{self.teacher.profile}.fail_share={o.fail_share:g})"
                    )
                )

    def _stop_line(self, why: str) -> str:
        causes = ", ".join(f"{c} {n}" for c, n in sorted((self.acct.failures + self.acct.retries).items()))
        return (
            f"teachers.{self.teacher.profile}: stopped: {why}; failed attempts by cause: {causes or 'none'}; "
            f"last error: {self._last_message[:240] or 'none'}; {self.acct.answered} answers sent this run "
            "are kept in the cache, a rerun resumes from them"
        )

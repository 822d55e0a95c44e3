"""Labels scored by a teacher: log-probabilities of each label after a few-shot prompt, normalised.

Annotate labels pool rows this way, and the label check's round trip (`gates.label.reference:
teacher`) asks the same teacher whether a generated row's label is the one it would give.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Protocol

from seedforge.schema.records import Record
from seedforge.tasks import Example


class Scorer(Protocol):
    """A teacher that can score continuations (the llama.cpp backend)."""

    def score(self, prefix: str, items: Sequence[str], options: Sequence[str]) -> list[list[float]]: ...


def demonstrations(seeds: Sequence[Record], labels: Sequence[str], shots: int, seed: int) -> list[Example]:
    """`shots` seed examples of each label, drawn with a fixed RNG, in a shuffled order (so no label
    is always last, next to the input being labelled).

    >>> from seedforge.schema.records import Record
    >>> seeds = [Record.seed("classification", f"x{i}", "ab"[i % 2]) for i in range(6)]
    >>> sorted(e.output for e in demonstrations(seeds, ["a", "b"], 2, 0))
    ['a', 'a', 'b', 'b']
    """
    rng = random.Random(seed)
    shown = []
    for label in labels:
        members = sorted((r for r in seeds if r.output == label), key=lambda r: r.id)
        shown += rng.sample(members, min(shots, len(members)))
    rng.shuffle(shown)
    return [Example(r.input, r.output) for r in shown]


def softmax(logprobs: Sequence[float]) -> list[float]:
    """Normalise log-probabilities over the label set.

    >>> [round(p, 3) for p in softmax([math.log(0.2), math.log(0.6)])]
    [0.25, 0.75]
    """
    top = max(logprobs)
    exps = [math.exp(x - top) for x in logprobs]
    total = sum(exps)
    return [e / total for e in exps]

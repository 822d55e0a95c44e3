"""Planted near-copies of real sentences, for the gate tests and the gate benchmark.

Each perturbation is what a teacher does when it copies: verbatim, with other case and
punctuation, with a few words changed, or with its clauses reordered.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

FILLERS = ["really", "quite", "just", "so", "very", "totally", "honestly", "simply"]


def read_tsv_texts(path: Path) -> list[tuple[str, str]]:
    """(label, text) rows of a headerless `label<TAB>text` file (the shared SST-2 and SNIPS)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        label, _, text = line.partition("\t")
        if text.strip():
            out.append((label.strip(), text.strip()))
    return out


def exact(text: str, rng: random.Random) -> str:
    return text


def case_punct(text: str, rng: random.Random) -> str:
    """Other case, punctuation dropped or added."""
    bare = re.sub(r"[^\w\s']", "", text)
    return rng.choice([bare.upper(), bare.lower() + "!", text.title() + " ..."])


def words_changed(text: str, rng: random.Random) -> str:
    """About one word in ten (at least one) replaced by a filler or dropped."""
    words = text.split()
    for _ in range(min(max(1, len(words) // 10), max(len(words) - 3, 0))):
        i = rng.randrange(len(words))
        if rng.random() < 0.5:
            words[i] = rng.choice(FILLERS)
        else:
            del words[i]
    return " ".join(words)


def reordered(text: str, rng: random.Random) -> str:
    """Clauses swapped around a comma, 'and' or 'but'; else the sentence rotated at its middle."""
    for sep in (", ", " and ", " but ", " ; ", " -- "):
        if sep in text:
            head, tail = text.split(sep, 1)
            return f"{tail.rstrip(' .')}{sep}{head}"
    words = text.split()
    mid = len(words) // 2
    return " ".join(words[mid:] + words[:mid])


PERTURBATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "exact": exact,
    "case_punct": case_punct,
    "words_changed": words_changed,
    "reordered": reordered,
}

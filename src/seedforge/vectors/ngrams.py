"""Word n-grams of normalised text, and an index for finding rows that share one.

Pure Python, so the light `prepare` stage can report seed/test overlap without torch.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_NON_WORD = re.compile(r"[^\w]+")
_JOINER = re.compile(r"(?<=\w)-(?=\w)")


def words(text: str) -> list[str]:
    """Lowercased words with punctuation removed. A hyphen inside a word joins it ("hard-pressed"
    and "hardpressed" are one word); other punctuation splits ("don't" -> "don t").

    >>> words("It's a GREAT film -- scene-by-scene!")
    ['it', 's', 'a', 'great', 'film', 'scenebyscene']
    """
    text = _JOINER.sub("", text.lower().replace("_", " "))
    return _NON_WORD.sub(" ", text).split()


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """The text's word n-grams; a text shorter than n words is one n-gram of its own.

    >>> sorted(ngrams("a b c d", 3))
    [('a', 'b', 'c'), ('b', 'c', 'd')]
    >>> ngrams("Hello, world!", 3)
    {('hello', 'world')}
    """
    w = words(text)
    if len(w) < n:
        return {tuple(w)} if w else set()
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


class NgramIndex:
    """n-gram -> ids of the rows that contain it (each id list sorted, so matches are stable)."""

    def __init__(self, rows: Iterable[tuple[str, str]], n: int) -> None:
        self.n = n
        index: dict[tuple[str, ...], list[str]] = {}
        for row_id, text in sorted(rows):
            for g in ngrams(text, n):
                index.setdefault(g, []).append(row_id)
        self.index = index

    def match(self, text: str) -> tuple[str | None, float]:
        """(the row sharing most n-grams with `text`, share of the text's n-grams it has), or (None, 0).

        >>> ix = NgramIndex([("t1", "the film is a joy to watch from start to finish")], 4)
        >>> ix.match("Honestly, the film is a joy to watch!")
        ('t1', 0.8)
        """
        grams = ngrams(text, self.n)
        hits: Counter[str] = Counter()
        for g in grams:
            for row_id in self.index.get(g, ()):
                hits[row_id] += 1
        if not hits:
            return None, 0.0
        best = min(hits, key=lambda k: (-hits[k], k))
        return best, hits[best] / len(grams)

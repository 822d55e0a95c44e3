"""Topic keys for expand rounds: a deterministic, normalised 'verb + object' of an instruction.

Each round's prompt lists the topics already produced, so the teacher is steered away from them,
and a new instruction whose topic is already taken is rejected as `duplicate_topic`. Cheap and
exact on purpose: embedding near-duplicate gates (a later step) catch paraphrases this misses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Words that carry no topic: politeness, articles, pronouns, light verbs and quantifiers.
_SKIP = frozenset(
    """please kindly can could would you your me i we us our a an the this that these those some any
    of for to in on at by with about from into as and or is are be it its my give provide create
    make write generate come up tell list name describe explain one two three four five six seven
    eight nine ten few several each every following given new short brief simple good best""".split()
)
_VERBS_KEEP = frozenset("write generate create make list name describe explain".split())
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def topic_key(instruction: str) -> str:
    """'verb object': the first word (the imperative), then the first two content words after it.

    >>> topic_key("Please write a short poem about the sea.")
    'write poem sea'
    >>> topic_key("Write a poem about the ocean waves!")
    'write poem ocean'
    >>> topic_key("Can you list 5 prime numbers?")
    'list 5 prime'
    >>> topic_key("What is the capital of France?")
    'what capital france'
    """
    words = _WORD.findall(instruction.lower())
    while words and words[0] in _SKIP and words[0] not in _VERBS_KEEP:
        words = words[1:]
    if not words:
        return ""
    head, rest = words[0], [w for w in words[1:] if w not in _SKIP and w not in {"what", "how", "why"}]
    return " ".join([head, *rest[:2]])


class TopicTracker:
    """Topics seen so far, in first-seen order (so prompts built from it are deterministic).

    >>> t = TopicTracker(["Write a poem about the sea."])
    >>> t.add("Write a short poem about the sea!"), t.add("List three primes.")
    (False, True)
    >>> t.recent(5)
    ['write poem sea', 'list primes']
    """

    def __init__(self, instructions: Iterable[str] = ()) -> None:
        self._order: list[str] = []
        self._seen: set[str] = set()
        for text in instructions:
            self.add(text)

    def __contains__(self, instruction: str) -> bool:
        return topic_key(instruction) in self._seen

    def add(self, instruction: str) -> bool:
        """Record the instruction's topic; False if the topic was already there."""
        key = topic_key(instruction)
        if not key or key in self._seen:
            return False
        self._seen.add(key)
        self._order.append(key)
        return True

    def recent(self, n: int) -> list[str]:
        """The last `n` topics (the prompt shows a bounded list, newest last)."""
        return self._order[-n:] if n > 0 else []

    def __len__(self) -> int:
        return len(self._order)

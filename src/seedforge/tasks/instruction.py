"""Instruction and response: free text in, free text out, scored by overlap with the reference.

Correctness is a ROUGE-L F1 (longest common subsequence of words) at or above the task's
threshold; a judge model can replace the overlap once the instruction operators exist.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from seedforge.tasks.base import Task
from seedforge.tasks.registry import register

_WORD = re.compile(r"\w+")


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (one row of the table at a time).

    >>> _lcs("the cat sat".split(), "the big cat sat down".split())
    3
    """
    if len(a) < len(b):
        a, b = b, a
    row = [0] * (len(b) + 1)
    for x in a:
        prev = 0
        for j, y in enumerate(b, start=1):
            cur = row[j]
            row[j] = prev + 1 if x == y else max(row[j], row[j - 1])
            prev = cur
    return row[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 over lower-cased words, rounded to 4 places.

    >>> rouge_l("The cat sat on the mat", "the cat is on the mat")
    0.8333
    >>> rouge_l("", "anything")
    0.0
    """
    p, r = _WORD.findall(prediction.lower()), _WORD.findall(reference.lower())
    if not p or not r:
        return 0.0
    common = _lcs(p, r)
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(r)
    return round(2 * precision * recall / (precision + recall), 4)


@register
@dataclass(frozen=True)
class InstructionTask(Task):
    """Strict format: ``Instruction: <text>`` then ``Response: <text>``; both may span lines.

    >>> t = InstructionTask()
    >>> ex = t.parse("Instruction: Name a colour.\\nResponse: Blue.\\n\\nInstruction: Say hi").examples
    >>> ex
    [Example(input='Name a colour.', output='Blue.')]
    >>> t.score("Blue is a colour.", "Blue."), t.correct("Blue.\\nInstruction: more", "Blue.")
    (0.4, True)
    """

    kind: ClassVar[str] = "instruction"
    multiline: ClassVar[tuple[str, ...]] = ("input", "output")
    input_field: str = "Instruction"
    output_field: str = "Response"
    threshold: float = 0.5

    def answer(self, text: str) -> str | None:
        """The response up to an invented next ``Instruction:``, stripped; None if empty."""
        return self.own_text(text).strip() or None

    def score(self, prediction: str, gold: str) -> float:
        return rouge_l(self.answer(prediction) or "", self.answer(gold) or "")

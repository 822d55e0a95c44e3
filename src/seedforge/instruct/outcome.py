"""What an operator hands back: kept rows, rejects with reasons, and the counts for its metrics.

Every drop is a reject row naming the operator, the reason, the call it came from and its parents
(datatrove-style), so `rejected_by_reason` adds up to the rejects file and no row vanishes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from seedforge.instruct.rows import InstructionRow


@dataclass
class Outcome:
    operator: str
    rows: list[InstructionRow] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # operator-specific counts

    def reject(self, reason: str, call: str | None, parent_ids: list[str], **detail: Any) -> None:
        """Record a drop.

        >>> o = Outcome("judge")
        >>> o.reject("missing_score", "abc", ["p1"], text="great answer")
        >>> o.rejects[0]["reason"], o.metrics()["rejected_by_reason"]
        ('judge:missing_score', {'judge:missing_score': 1})
        """
        row = {"operator": self.operator, "reason": f"{self.operator}:{reason}", "call": call}
        self.rejects.append({**row, "parent_ids": parent_ids, **detail})

    def sorted_rejects(self) -> list[dict[str, Any]]:
        return sorted(self.rejects, key=lambda r: (r["call"] or "", r["reason"], str(r.get("text", ""))))

    def metrics(self, counts: dict[str, int] | None = None) -> dict[str, Any]:
        return {
            "operator": self.operator,
            **(counts or {}),
            "kept": len(self.rows),
            "rejected": len(self.rejects),
            "rejected_by_reason": dict(sorted(Counter(r["reason"] for r in self.rejects).items())),
            **self.extra,
        }

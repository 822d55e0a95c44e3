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

    def blame_failures(self, errors: dict[str, dict[str, str]]) -> None:
        """Rename each drop whose call failed its last attempt (the operator saw an empty answer)
        `<operator>:call_failed:<cause>`, with the server's message, so an outage is told apart
        from a bad answer. `errors`: call key -> cause and message (`Asker.errors`).

        >>> o = Outcome("respond")
        >>> o.reject("parse:empty", "k1", ["p"], raw="")
        >>> o.blame_failures({"k1": {"cause": "server", "message": "500"}})
        >>> o.rejects[0]["reason"], o.rejects[0]["error"], "raw" in o.rejects[0]
        ('respond:call_failed:server', '500', False)
        """
        for r in self.rejects:
            err = errors.get(r.get("call") or "")
            if err is not None:
                r["reason"] = f"{self.operator}:call_failed:{err['cause']}"
                r["error"] = err["message"]
                r.pop("raw", None)

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

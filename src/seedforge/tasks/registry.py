"""Task kinds by name. A task module registers its class with `@register`; `tasks/__init__`
imports the modules, so a new kind is one new file plus one import line."""

from __future__ import annotations

from typing import Any

KINDS: dict[str, Any] = {}


def register(cls: Any) -> Any:
    """Add a task kind under its ``kind`` name (a class decorator)."""
    KINDS[cls.kind] = cls
    return cls

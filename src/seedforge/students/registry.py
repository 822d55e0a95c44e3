"""Student kinds by name. A student module registers its backend class with `@register`; the
backend names its `kind` and its profile model (`Profile`), and params builds the `students`
union from this table, so a new kind is one new file plus one import line in `students/__init__`."""

from __future__ import annotations

from typing import Any

KINDS: dict[str, Any] = {}


def register(cls: Any) -> Any:
    KINDS[cls.kind] = cls
    return cls

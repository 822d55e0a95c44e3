"""Backends by name. A backend module registers its class with `@register`; params builds the
`teachers` union from this table, so a new backend is one new file plus one import line."""

from __future__ import annotations

from typing import Any

BACKENDS: dict[str, Any] = {}


def register(cls: Any) -> Any:
    BACKENDS[cls.backend] = cls
    return cls

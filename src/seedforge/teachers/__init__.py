"""Teacher backends, chosen by the `backend` key of a teacher profile, with what every backend shares.

The runner calls a backend concurrently with retries, the call cache keeps every answer, and
`prompts` renders the Jinja templates of `prompts/`. A backend is one module that registers itself
(`registry`), owning its profile options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Importing a backend module registers it (the modules import nothing heavy at import time).
from seedforge.teachers import llamacpp, openai_compat, retrieve  # noqa: F401
from seedforge.teachers.base import CallError, Generation, Options, Request, Teacher, call_key
from seedforge.teachers.registry import BACKENDS

__all__ = ["BACKENDS", "CallError", "Generation", "Options", "Request", "Teacher", "call_key", "make_teacher"]


def make_teacher(name: str, profile: Any, root: Path = Path(".")) -> Teacher:
    """Build (but do not load) the backend for a teacher profile."""
    return BACKENDS[profile.backend](name, profile, root)

"""Teacher backends, chosen by the `backend` key of a teacher profile."""

from __future__ import annotations

from pathlib import Path

from seedforge.params import LlamaCppTeacher, OpenAITeacher
from seedforge.teachers.base import Generation, Request, Teacher, call_key

__all__ = ["Generation", "Request", "Teacher", "call_key", "make_teacher"]


def make_teacher(name: str, profile: LlamaCppTeacher | OpenAITeacher, root: Path = Path(".")) -> Teacher:
    """Build (but do not load) the backend for a teacher profile."""
    if isinstance(profile, LlamaCppTeacher):
        from seedforge.teachers.llamacpp import LlamaCppBackend

        return LlamaCppBackend(name, profile, root)
    from seedforge.teachers.openai_compat import OpenAIBackend

    return OpenAIBackend(name, profile)

"""Students: the models the loop fine-tunes and evaluates, chosen by the `kind` of a profile."""

from __future__ import annotations

from seedforge.params import CausalStudent, ClassifierStudent
from seedforge.students.base import Student, resolve_model

__all__ = ["Student", "make_student", "resolve_model"]


def make_student(name: str, profile: ClassifierStudent | CausalStudent) -> Student:
    if isinstance(profile, ClassifierStudent):
        from seedforge.students.classifier import ClassifierBackend

        return ClassifierBackend(name, profile)
    from seedforge.students.causal import CausalBackend

    return CausalBackend(name, profile)

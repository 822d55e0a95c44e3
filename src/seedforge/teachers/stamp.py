"""What a row records about the teacher call that wrote it, for both pipelines: the loop's call
rows (`loop.generate.call_row`) and the instruction rows (`instruct.calls.Asker.stamp`). One
helper, so the two can never disagree on which sampling params or model name a row names."""

from __future__ import annotations

from typing import Any

from seedforge.schema.records import TeacherRef
from seedforge.teachers.base import Teacher


def teacher_ref(teacher: Teacher) -> TeacherRef:
    """The profile, backend and model id of the teacher that answered, with the sha256 of its
    weights (model file, LoRA adapter) where it has local ones."""
    return teacher.ref()


def call_sampling(teacher: Teacher, seed: int, sample: int) -> dict[str, Any]:
    """The params that changed the answer: the profile's sampling, the call's seed and sample index."""
    return {**teacher.sampling(), "seed": seed, "sample": sample}

"""Gates by name. A gate module registers a builder with `@register(name, order)`; `build` runs the
builders in order and keeps the gates they return, so a new gate is one new file plus one import
line in `gates/__init__`.

A builder reads what it needs from the `Context` (the `gates:` settings, the encoder, the task,
the dataset, held-out and seed rows, the current student, a teacher that can score) and returns
its gate, or None when the settings leave it off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedforge.config.params import Gates
from seedforge.gates.base import Gate
from seedforge.schema.records import Record
from seedforge.tasks import Task
from seedforge.vectors.embed import Encoder


@dataclass(frozen=True)
class Context:
    settings: Gates
    encoder: Encoder
    task: Task | None  # None: rows of no task kind (the instruction pipeline)
    dataset: Sequence[Record] = ()  # what a candidate must not duplicate
    held_out: dict[str, Sequence[Record]] = field(default_factory=dict)  # what it must not leak
    seed: Sequence[Record] = ()  # the seed set (label references learn from it)
    student: Path | None = None  # the current iteration's student folder
    teacher: Any = None  # a teacher that can score labels (`gates.label_scorer`)
    rng_seed: int = 0  # params `seed`: draws a reference's demonstrations


Builder = Callable[[Context], Gate | None]
GATES: dict[str, tuple[int, Builder]] = {}


def register(name: str, order: int) -> Callable[[Builder], Builder]:
    """Add a gate's builder under `name`; chains run in ascending `order`."""

    def add(builder: Builder) -> Builder:
        GATES[name] = (order, builder)
        return builder

    return add


def build(ctx: Context, only: Sequence[str] | None = None) -> list[Gate]:
    """The chain: every registered gate (or those in `only`) the settings turn on, in order."""
    unknown = set(only or ()) - set(GATES)
    if unknown:
        raise ValueError(f"unknown gates {sorted(unknown)} (registered: {sorted(GATES)})")
    chosen = sorted((order, name) for name, (order, _) in GATES.items() if only is None or name in only)
    gates = (GATES[name][1](ctx) for _, name in chosen)
    return [g for g in gates if g is not None]

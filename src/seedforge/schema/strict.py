"""The base of every validated model: unknown keys are refused, and a parsed value never changes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A typo in a recipe or a row fails loudly with its dotted path instead of being ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

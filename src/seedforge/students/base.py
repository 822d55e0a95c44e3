"""What every student does, and the pieces they share (model lookup, seeding, LoRA set-up).

Training itself is `seedforge.training.finetune.fit`, shared with every other model the project trains.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from seedforge import weights
from seedforge.config.params import StudentBase
from seedforge.errors import SeedforgeError, first_line
from seedforge.schema.records import Record
from seedforge.tasks import Task
from seedforge.training import finetune


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


def fit_config(profile: StudentBase, seed: int) -> finetune.FitConfig:
    """A student profile's training settings: `epochs` passes at a constant learning rate."""
    return finetune.FitConfig(
        learning_rate=profile.learning_rate,
        batch_size=profile.batch_size,
        epochs=profile.epochs,
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
    return finetune.add_lora(model, lora.r, lora.alpha, lora.dropout, lora.target_modules, task_type)


def load_saved(model_dir: Path, base: Callable[[], tuple[Any, Any]], auto_class: Any) -> tuple[Any, Any]:
    """(tokenizer, model) of a saved student: a whole model, or the base plus its adapter."""
    from seedforge.io import read_json

    if read_json(model_dir / "student.json")["finetune"] == "full":
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(model_dir), auto_class.from_pretrained(model_dir)
    from peft import PeftModel

    tokenizer, model = base()
    return tokenizer, PeftModel.from_pretrained(model, model_dir)

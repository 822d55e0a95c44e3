"""The fine-tuned teacher (DAFTT, arXiv 2310.01119): LoRA on a causal LM from the seed set.

The teacher learns the format it writes examples in: shown a few seed examples of one label in the
task's strict format, it writes one more example of that label. At serving time the same
few-shot prompt (`fewshot_prompt`) is sent as a plain completion (`chat: false`) to llama.cpp,
which loads the base GGUF plus the adapter this module exports (`adapter.gguf`).

Why an adapter and not a merged GGUF: the adapter is a few MB against 98 MB for a merged
SmolLM2, the base file is shipped by a package and stays untouched (still Q4_1), and a profile
switches tunings by changing one path.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from seedforge import weights
from seedforge.errors import SeedforgeError
from seedforge.io import write_json
from seedforge.schema.records import Record
from seedforge.schema.strict import Strict
from seedforge.tasks import Example, Task
from seedforge.training import finetune, gguf_export

ADAPTER_DIR = "adapter"  # the peft adapter (Hugging Face format)
ADAPTER_GGUF = "adapter.gguf"  # the same adapter for llama.cpp's lora_path


class TeacherFinetune(Strict):
    """LoRA-tune a causal-LM teacher on the seed set (DAFTT): few same-label examples -> one more."""

    base: str = "smollm2"  # a llama or Gemma 3 GGUF: a packaged alias or a .gguf path
    steps: int = Field(default=60, gt=0)
    rank: int = Field(default=8, gt=0)
    alpha: int = Field(default=16, gt=0)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: list[str] = ["k_proj", "o_proj", "q_proj", "v_proj"]  # noqa: RUF012
    learning_rate: float = Field(default=2e-4, gt=0)
    batch_size: int = Field(default=4, gt=0)
    max_length: int = Field(default=256, gt=0)  # tokens per training pair (prompt cut first)
    shots: int = Field(default=3, gt=0)  # same-label seed examples shown before the target
    pairs: int = Field(default=240, gt=0)  # training pairs drawn from the seed set
    device: Literal["auto", "cpu", "cuda"] = "auto"


def fewshot_prompt(task: Task, shots: Sequence[Example]) -> str:
    """The completion prompt: each shot in the task's strict format, then a blank line.

    >>> from seedforge.tasks import get_task
    >>> print(fewshot_prompt(get_task("classification"), [Example("no refund yet", "billing")]), end="|")
    Input: no refund yet
    Label: billing
    <BLANKLINE>
    |
    """
    return "".join(task.format_example(shot) + "\n\n" for shot in shots)


def training_pairs(
    seeds: Sequence[Record], task: Task, shots: int, n: int, seed: int
) -> list[tuple[str, str]]:
    """`n` (few-shot prompt, one more example) pairs from the seed set, drawn with a fixed RNG.

    Shots and target share a label (any seed examples for tasks without labels); the target is
    never among its shots. Labels are drawn uniformly, so a rare label is learned as often as a
    common one. A label needs at least two seed examples to take part.
    """
    groups: dict[str, list[Record]] = {}
    for r in sorted(seeds, key=lambda r: r.id):
        groups.setdefault(r.output if task.has_labels else "", []).append(r)
    usable = sorted(k for k, members in groups.items() if len(members) >= 2)
    if not usable:
        raise SeedforgeError(
            "teacher_finetune: no label has two seed examples (one to show, one to learn to write)"
        )
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        members = groups[rng.choice(usable)]
        picked = rng.sample(members, min(shots + 1, len(members)))
        target, shown = picked[-1], picked[:-1]
        prompt = fewshot_prompt(task, [Example(r.input, r.output) for r in shown])
        pairs.append((prompt, task.format_example(Example(target.input, target.output))))
    return pairs


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_base(base: str) -> tuple[Any, Any, weights.ModelRef]:
    """(tokenizer, model, ref) of the base: a GGUF, since llama.cpp must load it with the adapter."""
    try:
        ref = weights.resolve(base)
    except SeedforgeError as e:
        raise SeedforgeError(f"teacher_finetune.base: {e}") from None
    if ref.gguf_file is None:
        raise SeedforgeError(
            f"teacher_finetune.base: {base!r} is not a GGUF (use a packaged alias such as smollm2 or a "
            ".gguf path): llama.cpp loads the tuned adapter on top of the base GGUF"
        )
    tokenizer, model = weights.load_causal_lm(ref)
    if model.config.model_type not in gguf_export.LORA_ARCHES:
        raise SeedforgeError(
            f"teacher_finetune.base: {base!r} is a {model.config.model_type} model; the GGUF adapter "
            f"export supports {', '.join(sorted(gguf_export.LORA_ARCHES))} models"
        )
    return tokenizer, model, ref


def tune(
    pairs: Sequence[tuple[str, str]], params: TeacherFinetune, seed: int, out_dir: Path
) -> dict[str, Any]:
    """LoRA-tune the base on `pairs`; write `adapter/`, `adapter.gguf` and `teacher.json` to `out_dir`."""
    import torch

    torch.manual_seed(seed)  # LoRA A starts random
    tokenizer, model, ref = load_base(params.base)
    model = finetune.add_lora(model, params.rank, params.alpha, params.dropout, params.target_modules)
    config = finetune.FitConfig(
        learning_rate=params.learning_rate,
        batch_size=params.batch_size,
        seed=seed,
        steps=params.steps,
        device=params.device,
    )
    losses = finetune.train_completions(model, tokenizer, pairs, params.max_length, config)
    if not finetune.is_main_process():
        return finetune.summary(losses)
    out_dir = Path(out_dir)
    finetune.save(model, None, out_dir / ADAPTER_DIR, params.base)
    gguf_export.export_lora(model, out_dir / ADAPTER_GGUF, name=f"{params.base}-seedforge-lora")
    digest = sha256_file(out_dir / ADAPTER_GGUF)
    write_json(
        out_dir / "teacher.json",
        {
            "base": params.base,
            "base_gguf": ref.gguf_file,
            "adapter": ADAPTER_GGUF,
            "adapter_sha256": digest,
            "shots": params.shots,
        },
    )
    return {
        **finetune.summary(losses),
        "pairs": len(pairs),
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "adapter_bytes": (out_dir / ADAPTER_GGUF).stat().st_size,
        "adapter_sha256": digest,
    }

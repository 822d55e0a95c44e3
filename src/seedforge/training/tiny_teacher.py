"""The offline default teacher: a tiny llama taught the teacher's job on the seed set.

This is the fine-tuned-teacher idea (DAFTT) at toy scale: the model sees the real rendered
augmentation prompt for a seed example and learns to answer with k other seed examples of the
same label in the strict output format. Sampled warm, it recombines what it saw into new surface
forms, which the gates then judge like any teacher's output. It is exported to GGUF and served
by llama.cpp, so the offline run exercises the same code path as a real GGUF teacher.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from seedforge.errors import SeedforgeError
from seedforge.schema.records import Record
from seedforge.schema.strict import Strict
from seedforge.tasks import Example, Task
from seedforge.teachers.prompts import Template


class TinyTeacher(Strict):
    """The offline default teacher: a tiny llama trained on the seed set, exported to GGUF."""

    vocab_size: int = Field(default=1024, ge=300)
    hidden_size: int = Field(default=64, gt=0)
    num_layers: int = Field(default=2, gt=0)
    num_heads: int = Field(default=4, gt=0)
    intermediate_size: int = Field(default=256, gt=0)
    context_length: int = Field(default=1024, gt=0)
    steps: int = Field(default=300, gt=0)
    batch_size: int = Field(default=8, gt=0)
    learning_rate: float = Field(default=3e-3, gt=0)
    pairs: int = Field(default=400, gt=0)  # training prompts rendered from the seed set


def training_pairs(
    seeds: Sequence[Record],
    template: Template,
    task: Task,
    k: int,
    n: int,
    seed: int,
    show_prediction: bool = True,
) -> list[tuple[str, str]]:
    """`n` (rendered prompt, target output) pairs drawn from the seed set with a fixed RNG."""
    if len(seeds) < 2:
        raise SeedforgeError("tiny_teacher: the seed set needs at least 2 examples to build the tiny teacher")
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        shown = rng.choice(seeds)
        others = [r for r in seeds if r.id != shown.id]
        same = [r for r in others if r.output == shown.output] or others
        picks = rng.sample(same, min(k, len(same)))
        wrong = [label for label in (task.labels or []) if label != shown.output]
        prediction = rng.choice(wrong) if wrong else ""
        prompt = template.render(
            task=task,
            labels=task.labels,
            k=k,
            example=Example(shown.input, shown.output),
            prediction=prediction if show_prediction else "",
        )
        pairs.append((prompt, task.format_examples([Example(r.input, r.output) for r in picks])))
    return pairs


def build(pairs: Sequence[tuple[str, str]], params: TinyTeacher, seed: int, out_dir: Path) -> dict[str, Any]:
    """Train the tiny teacher on `pairs` and write `model.gguf` (plus the HF folder) to `out_dir`."""
    from seedforge.training import tinylm

    # The params section mirrors TinyConfig field for field, plus how many prompts to render.
    config = tinylm.TinyConfig(**params.model_dump(exclude={"pairs"}), seed=seed)
    tokenizer = tinylm.train_tokenizer([p + "\n" + t for p, t in pairs], config.vocab_size)
    model = tinylm.build_model(tokenizer, config)
    chat = [(tinylm.chat_prompt(tokenizer, prompt), target) for prompt, target in pairs]
    # Tokenised as training sees them: prompt and target separately, plus the EOS it appends.
    longest = max(len(tokenizer(p)["input_ids"]) + len(tokenizer(t)["input_ids"]) + 1 for p, t in chat)
    if longest > config.context_length:
        raise SeedforgeError(
            f"tiny_teacher.context_length: a training prompt is {longest} tokens; raise it above that"
        )
    losses = tinylm.train_completions(model, tokenizer, chat, config)
    tinylm.save(model, tokenizer, out_dir / "hf")
    tinylm.export_gguf(model, tokenizer, out_dir / "model.gguf")
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "pairs": len(pairs),
        "longest_tokens": longest,
        "first_loss": round(losses[0], 4),
        "final_loss": round(sum(losses[-10:]) / len(losses[-10:]), 4),
    }

"""Causal-LM student: learns to continue the task's student prompt with the answer.

Trained through `seedforge.training.finetune` (loss on the answer only); evaluated by greedy generation,
from which the task extracts the answer. `model:` may be a hub id, a local folder, a `.gguf`
file or a packaged alias such as `smollm2` (transformers dequantises a GGUF to float32).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from seedforge import weights
from seedforge.io import read_json, write_json
from seedforge.schema.records import Record
from seedforge.students.base import StudentBase, adapt, fit_config, load_error, load_saved, seed_everything
from seedforge.students.registry import register
from seedforge.tasks import Task, from_info
from seedforge.training import finetune


class CausalStudent(StudentBase):
    kind: Literal["causal"]
    max_new_tokens: int = Field(default=64, gt=0)


@register
class CausalBackend:
    kind = "causal"
    Profile = CausalStudent
    # What `student.json` records besides the kind, to predict with a saved folder.
    saved_fields = ("max_new_tokens",)

    def __init__(self, name: str, profile: CausalStudent) -> None:
        self.name = name
        self.profile = profile

    def _base(self) -> tuple[Any, Any]:
        try:
            return weights.load_causal_lm(weights.resolve(self.profile.model))
        except OSError as e:
            raise load_error("causal LM", self.profile.model, e) from None

    def train(
        self,
        records: Sequence[Record],
        task: Task,
        out_dir: Path,
        seed: int,
        init_from: Path | None = None,
    ) -> dict[str, Any]:
        from transformers import AutoModelForCausalLM

        p = self.profile
        seed_everything(seed)
        tokenizer, model = self._base()
        model = adapt(model, p, "CAUSAL_LM", init_from, AutoModelForCausalLM)
        # A leading space keeps the answer a separate word for BPE tokenisers.
        pairs = [(task.student_prompt(r.input), " " + r.output) for r in records]
        losses = finetune.train_completions(
            model, tokenizer, pairs, p.max_length, fit_config(p, seed, len(pairs))
        )
        if finetune.is_main_process():
            finetune.save(model, tokenizer, out_dir, p.model)
            write_json(
                out_dir / "student.json",
                # max_new_tokens: what predicting needs besides the weights (`students.saved_student`).
                {
                    "kind": "causal",
                    "task": task.info(),
                    "finetune": p.finetune,
                    "max_new_tokens": p.max_new_tokens,
                },
            )
        return finetune.summary(losses)

    def predict(self, model_dir: Path, inputs: Sequence[str]) -> list[str]:
        """Greedy continuations (one at a time: left padding differs across architectures)."""
        import torch
        from transformers import AutoModelForCausalLM

        p = self.profile
        device = finetune.pick_device(p.device)
        task = from_info(read_json(model_dir / "student.json")["task"])
        tokenizer, model = load_saved(model_dir, self._base, AutoModelForCausalLM)
        model.to(device).eval()
        out = []
        with torch.no_grad():
            for text in inputs:
                prompt = task.student_prompt(text)
                enc = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(device)
                gen = model.generate(
                    **enc,
                    max_new_tokens=p.max_new_tokens,
                    do_sample=False,
                    pad_token_id=tokenizer.pad_token_id,
                )
                out.append(tokenizer.decode(gen[0, enc["input_ids"].shape[1] :], skip_special_tokens=True))
        return out

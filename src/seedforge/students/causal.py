"""Causal-LM student: learns to continue the task's student prompt with the answer.

Evaluated by greedy generation; the task extracts the answer from the generated text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seedforge.io import read_json, write_json
from seedforge.params import CausalStudent
from seedforge.records import Record
from seedforge.students.base import (
    adapt,
    fit,
    load_error,
    load_saved,
    pick_device,
    resolve_model,
    seed_everything,
)
from seedforge.tasks import Task, from_info


def completion_batch(tokenizer: Any, pairs: Sequence[tuple[str, str]], max_length: int) -> dict[str, Any]:
    """Tokenise prompt+completion+EOS, right-padded, with the loss masked (-100) off the prompt.

    Sequences longer than `max_length` lose the start of the prompt, never the completion's end.
    """
    import torch

    rows, masks = [], []
    for prompt, completion in pairs:
        p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        c = tokenizer(completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        ids = (p + c)[-max_length:]
        rows.append(ids)
        masks.append(([0] * len(p) + [1] * len(c))[-max_length:])
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    input_ids = torch.full((len(rows), width), pad)
    labels = torch.full((len(rows), width), -100)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (ids, mask) in enumerate(zip(rows, masks, strict=True)):
        t = torch.tensor(ids)
        input_ids[i, : len(ids)] = t
        attention[i, : len(ids)] = 1
        labels[i, : len(ids)] = torch.where(torch.tensor(mask, dtype=torch.bool), t, torch.tensor(-100))
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


class CausalBackend:
    def __init__(self, name: str, profile: CausalStudent) -> None:
        self.name = name
        self.profile = profile

    def _base(self) -> tuple[Any, Any]:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        path = resolve_model(self.profile.model)
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path)
        except OSError as e:
            raise load_error("causal LM", self.profile.model, e) from None
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        return tokenizer, model

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
        generator = seed_everything(seed)
        tokenizer, model = self._base()
        model = adapt(model, p, "CAUSAL_LM", init_from, AutoModelForCausalLM)
        # A leading space keeps the answer a separate word for BPE tokenisers.
        pairs = [(task.student_prompt(r.input), " " + r.output) for r in records]

        def make_batch(batch: list[int]) -> dict[str, Any]:
            return completion_batch(tokenizer, [pairs[i] for i in batch], p.max_length)

        info = fit(model, make_batch, len(pairs), p, generator, pick_device(p.device))
        model.save_pretrained(out_dir)
        tokenizer.save_pretrained(out_dir)
        write_json(out_dir / "student.json", {"kind": "causal", "task": task.info(), "finetune": p.finetune})
        return info

    def predict(self, model_dir: Path, inputs: Sequence[str]) -> list[str]:
        """Greedy continuations (one at a time: left padding differs across architectures)."""
        import torch
        from transformers import AutoModelForCausalLM

        p = self.profile
        device = pick_device(p.device)
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

"""Sequence-classification student: an encoder with a label head (default: MiniLM).

Trained with LoRA on the attention projections (the head is always trained in full) or fully.
The saved folder holds only what training changed plus `student.json`; the base model is named
there and loaded again at prediction time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seedforge.errors import SeedforgeError
from seedforge.io import read_json, write_json
from seedforge.params import ClassifierStudent
from seedforge.records import Record
from seedforge.students.base import (
    batches,
    load_error,
    lora_config,
    pick_device,
    resolve_model,
    seed_everything,
)


class ClassifierBackend:
    def __init__(self, name: str, profile: ClassifierStudent) -> None:
        self.name = name
        self.profile = profile

    def _base(self, labels: Sequence[str]) -> tuple[Any, Any]:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # "newly initialized head" is expected, not news
        path = resolve_model(self.profile.model)
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForSequenceClassification.from_pretrained(
                path,
                num_labels=len(labels),
                id2label=dict(enumerate(labels)),
                label2id={label: i for i, label in enumerate(labels)},
            )
        except OSError as e:
            raise load_error("classifier", self.profile.model, e) from None
        return tokenizer, model

    def train(
        self,
        records: Sequence[Record],
        labels: Sequence[str] | None,
        out_dir: Path,
        seed: int,
        init_from: Path | None = None,
    ) -> dict[str, Any]:
        import torch

        if not labels:
            raise SeedforgeError(
                f"students.{self.name}: a classifier student needs a label set (task kind classification)"
            )
        p = self.profile
        generator = seed_everything(seed)
        device = pick_device(p.device)
        tokenizer, model = self._base(labels)
        model = self._adapt(model, init_from)
        model.to(device).train()
        index = {label: i for i, label in enumerate(labels)}
        texts = [r.input for r in records]
        targets = torch.tensor([index[r.output] for r in records])
        optim = torch.optim.AdamW([w for w in model.parameters() if w.requires_grad], lr=p.learning_rate)
        losses = []
        for _ in range(p.epochs):
            for batch in batches(len(texts), p.batch_size, generator):
                enc = tokenizer(
                    [texts[i] for i in batch],
                    truncation=True,
                    max_length=p.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(device)
                out = model(**enc, labels=targets[batch].to(device))
                out.loss.backward()
                optim.step()
                optim.zero_grad()
                losses.append(out.loss.item())
        model.save_pretrained(out_dir)
        tokenizer.save_pretrained(out_dir)
        write_json(
            out_dir / "student.json", {"kind": "classifier", "labels": list(labels), "finetune": p.finetune}
        )
        return {
            "steps": len(losses),
            "first_loss": round(losses[0], 4) if losses else None,
            "final_loss": round(losses[-1], 4) if losses else None,
        }

    def _adapt(self, model: Any, init_from: Path | None) -> Any:
        """LoRA-wrap (or not) the base model, starting from a previous iteration if asked."""
        if self.profile.finetune == "full":
            if init_from is not None:
                from transformers import AutoModelForSequenceClassification

                return AutoModelForSequenceClassification.from_pretrained(init_from)
            return model
        from peft import PeftModel, get_peft_model

        if init_from is not None:
            return PeftModel.from_pretrained(model, init_from, is_trainable=True)
        return get_peft_model(model, lora_config(self.profile, "SEQ_CLS"))

    def load(self, model_dir: Path) -> tuple[Any, Any]:
        info = read_json(model_dir / "student.json")
        if info["finetune"] == "full":
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            return AutoTokenizer.from_pretrained(
                model_dir
            ), AutoModelForSequenceClassification.from_pretrained(model_dir)
        from peft import PeftModel

        tokenizer, base = self._base(info["labels"])
        return tokenizer, PeftModel.from_pretrained(base, model_dir)

    def predict(self, model_dir: Path, inputs: Sequence[str]) -> list[str]:
        import torch

        p = self.profile
        device = pick_device(p.device)
        labels = read_json(model_dir / "student.json")["labels"]
        tokenizer, model = self.load(model_dir)
        model.to(device).eval()
        out: list[str] = []
        with torch.no_grad():
            for batch in batches(len(inputs), 64, None):
                enc = tokenizer(
                    [inputs[i] for i in batch],
                    truncation=True,
                    max_length=p.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(device)
                out.extend(labels[i] for i in model(**enc).logits.argmax(-1).tolist())
        return out

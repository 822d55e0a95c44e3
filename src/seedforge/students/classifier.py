"""Sequence-classification student: an encoder with a label head (default: MiniLM).

Trained with LoRA on the attention projections (peft keeps the head fully trainable) or fully.
The saved folder holds only what training changed plus `student.json`; with LoRA the base model
is loaded again from the profile at prediction time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from seedforge.errors import SeedforgeError
from seedforge.io import read_json, write_json
from seedforge.schema.records import Record
from seedforge.students.base import (
    StudentBase,
    adapt,
    chunks,
    fit_config,
    load_error,
    load_saved,
    resolve_model,
    seed_everything,
)
from seedforge.students.registry import register
from seedforge.tasks import Task
from seedforge.training import finetune


class ClassifierStudent(StudentBase):
    kind: Literal["classifier"]


@register
class ClassifierBackend:
    kind = "classifier"
    Profile = ClassifierStudent
    # What `student.json` records besides the kind, to predict with a saved folder.
    saved_fields = ("max_length",)

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

    def _encode(self, tokenizer: Any, texts: Sequence[str]) -> dict[str, Any]:
        return tokenizer(
            list(texts),
            truncation=True,
            max_length=self.profile.max_length,
            padding=True,
            return_tensors="pt",
        )

    def train(
        self,
        records: Sequence[Record],
        task: Task,
        out_dir: Path,
        seed: int,
        init_from: Path | None = None,
    ) -> dict[str, Any]:
        import torch
        from transformers import AutoModelForSequenceClassification

        labels = task.labels
        if not labels:
            raise SeedforgeError(
                f"students.{self.name}: a classifier student needs a closed label set "
                f"(task kind classification or multiple_choice, not {task.kind})"
            )
        seed_everything(seed)
        tokenizer, model = self._base(labels)
        model = adapt(model, self.profile, "SEQ_CLS", init_from, AutoModelForSequenceClassification)
        index = {label: i for i, label in enumerate(labels)}
        targets = torch.tensor([index[r.output] for r in records])

        def make_batch(batch: list[int]) -> dict[str, Any]:
            return {**self._encode(tokenizer, [records[i].input for i in batch]), "labels": targets[batch]}

        losses = finetune.fit(
            model, range(len(records)), make_batch, fit_config(self.profile, seed, len(records))
        )
        if finetune.is_main_process():
            finetune.save(model, tokenizer, out_dir, self.profile.model)
            write_json(
                out_dir / "student.json",
                {
                    "kind": "classifier",
                    "labels": list(labels),
                    "finetune": self.profile.finetune,
                    # What predicting needs besides the weights: see `students.saved_student`.
                    "max_length": self.profile.max_length,
                },
            )
        return finetune.summary(losses)

    def predict(self, model_dir: Path, inputs: Sequence[str]) -> list[str]:
        labels, probs = self.probabilities(model_dir, inputs)
        return [labels[max(range(len(labels)), key=row.__getitem__)] for row in probs]

    def probabilities(self, model_dir: Path, inputs: Sequence[str]) -> tuple[list[str], list[list[float]]]:
        """The label set and, per input, the softmax over it (for the label check's score)."""
        import torch
        from transformers import AutoModelForSequenceClassification

        labels = read_json(model_dir / "student.json")["labels"]
        tokenizer, model = load_saved(
            model_dir, lambda: self._base(labels), AutoModelForSequenceClassification
        )
        device = finetune.pick_device(self.profile.device)
        model.to(device).eval()
        out: list[list[float]] = []
        with torch.no_grad():
            for batch in chunks(len(inputs), 64):
                enc = self._encode(tokenizer, [inputs[i] for i in batch]).to(device)
                # float64: distinct float32 logits stay distinct, so the argmax is the logits' own.
                out.extend(model(**enc).logits.double().softmax(-1).tolist())
        return labels, out

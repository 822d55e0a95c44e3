"""Students: the models the loop fine-tunes and evaluates, chosen by the `kind` of a profile."""

from __future__ import annotations

from pathlib import Path

from seedforge.config.params import CausalStudent, ClassifierStudent
from seedforge.errors import SeedforgeError
from seedforge.io import read_json
from seedforge.students.base import Student, resolve_model

__all__ = ["Student", "make_student", "resolve_model", "saved_student"]


def make_student(name: str, profile: ClassifierStudent | CausalStudent) -> Student:
    if isinstance(profile, ClassifierStudent):
        from seedforge.students.classifier import ClassifierBackend

        return ClassifierBackend(name, profile)
    from seedforge.students.causal import CausalBackend

    return CausalBackend(name, profile)


def saved_student(model_dir: Path, device: str = "auto") -> Student:
    """The student saved in `model_dir`, rebuilt from what the folder itself records.

    `student.json` names the kind, the fine-tuning and the prediction settings (`max_length`,
    `max_new_tokens`; folders saved before they were recorded get the profile defaults), and a
    LoRA adapter's `adapter_config.json` names its base model (the profile's model string, see
    `finetune.normalise_adapter`). So a stage that only predicts with a trained student depends
    on the folder, not on the `students.*` params that trained it.
    """
    model_dir = Path(model_dir)
    if not (model_dir / "student.json").is_file():
        raise SeedforgeError(f"{model_dir}: not a saved student (no student.json)")
    info = read_json(model_dir / "student.json")
    if info["finetune"] == "full":
        base = str(model_dir)  # a whole model: the folder is its own base
    else:
        base = read_json(model_dir / "adapter_config.json")["base_model_name_or_path"]
    fields = {"model": base, "finetune": info["finetune"], "device": device}
    if info["kind"] == "classifier":
        fields.update({k: info[k] for k in ("max_length",) if k in info})
        return make_student(str(model_dir), ClassifierStudent(kind="classifier", **fields))
    fields.update({k: info[k] for k in ("max_new_tokens",) if k in info})
    return make_student(str(model_dir), CausalStudent(kind="causal", **fields))

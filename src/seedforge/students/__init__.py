"""Students: the models the loop fine-tunes and evaluates, chosen by the `kind` of a profile.

Each kind is one module that registers its backend (`students.registry`); importing this package
registers the built-in ones.
"""

from __future__ import annotations

from pathlib import Path

from seedforge.errors import SeedforgeError
from seedforge.io import read_json
from seedforge.students import causal, classifier  # noqa: F401  (registers the kinds)
from seedforge.students.base import Student, StudentBase, resolve_model
from seedforge.students.registry import KINDS

__all__ = ["KINDS", "Student", "make_student", "resolve_model", "saved_student"]


def make_student(name: str, profile: StudentBase) -> Student:
    return KINDS[profile.kind](name, profile)  # type: ignore[attr-defined]


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
    backend = KINDS.get(info["kind"])
    if backend is None:
        raise SeedforgeError(f"{model_dir}/student.json: kind: unknown student kind {info['kind']!r}")
    fields = {"model": base, "finetune": info["finetune"], "device": device}
    fields.update({k: info[k] for k in backend.saved_fields if k in info})
    return make_student(str(model_dir), backend.Profile(kind=info["kind"], **fields))

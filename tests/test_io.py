"""Atomic writes leave files and folders with the modes a plain open() or mkdir() would."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from seedforge.io import atomic_dir, write_text


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_writes_follow_the_umask(tmp_path: Path, umask: None) -> None:
    write_text(tmp_path / "a.txt", "x")
    (tmp_path / "plain.txt").write_text("x")
    assert mode(tmp_path / "a.txt") == mode(tmp_path / "plain.txt") == 0o640
    with atomic_dir(tmp_path / "d") as d:
        write_text(d / "inner.json", "{}")
    (tmp_path / "plain_dir").mkdir()
    assert mode(tmp_path / "d") == mode(tmp_path / "plain_dir") == 0o750
    assert mode(tmp_path / "d" / "inner.json") == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "d", "plain.txt", "plain_dir"]

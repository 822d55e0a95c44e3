"""Test projects: copies of this checkout as git + DVC repositories, sharing one DVC cache on request."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedforge.testing.project import copy_project, dvc, stages_done


@pytest.mark.slow
def test_copies_sharing_a_cache_restore_each_others_stages_from_the_run_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = copy_project(tmp_path / "first", cache_dir=cache)
    second = copy_project(tmp_path / "second", cache_dir=cache)
    alone = copy_project(tmp_path / "alone")

    ran = dvc(first, "repro", "prepare")
    assert "Running stage 'prepare'" in ran and stages_done(ran) == {"prepare"}
    restored = dvc(second, "repro", "prepare")
    assert "Stage 'prepare' is cached - skipping run" in restored and stages_done(restored) == {"prepare"}
    assert (second / "data" / "prepared" / "seed.jsonl").read_bytes() == (
        first / "data" / "prepared" / "seed.jsonl"
    ).read_bytes()
    assert not (first / ".dvc" / "cache").exists() and not (second / ".dvc" / "cache").exists()
    assert (cache / "runs").is_dir()
    # Without cache_dir a copy keeps its own cache, and runs the stage itself.
    assert "Running stage 'prepare'" in dvc(alone, "repro", "prepare")
    assert (alone / ".dvc" / "cache").is_dir()

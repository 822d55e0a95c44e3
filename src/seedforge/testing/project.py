"""A test or benchmark's own copy of this project, as a real git + DVC repository.

Used by the tests and by `bench/`: both run the real pipeline on a copy, never on the checkout.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

# The checkout this module lives in (src/seedforge/testing/project.py): what a copy is made from.
REPO = Path(__file__).resolve().parents[3]

__all__ = ["REPO", "clone_run", "copy_project", "dvc", "stages_done"]


def copy_project(dest: Path, cache_dir: Path | None = None) -> Path:
    """A fresh copy of the project (code, recipe, demo data) as its own git + DVC repo.

    `cache_dir`: a DVC cache (and run-cache) to use instead of the copy's own `.dvc/cache`. Copies
    that share one are served identical stages (same command, dependencies and params) from its
    run-cache instead of recomputing them: DVC's cache is content-addressed and safe to share
    between repositories and processes. Leave it out when a test must see a stage really run twice.
    """
    for name in ("stages", "prompts", "src", "data/raw"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("params.yaml", "dvc.yaml", ".dvcignore", ".gitignore"):
        shutil.copy(REPO / name, dest / name)
    # Tests run the loop with the tiny teacher (seconds a round), whatever `make repro` defaults to;
    # a text edit keeps the recipe's comments, which some tests edit by text.
    recipe = dest / "params.yaml"
    text, n = re.subn(r"(?m)^teacher: .*$", "teacher: tiny", recipe.read_text())
    assert n == 1, "params.yaml must have one top-level `teacher:` line"
    recipe.write_text(text)
    run = lambda *cmd: subprocess.run(cmd, cwd=dest, check=True, capture_output=True)  # noqa: E731
    run("git", "init", "-q")
    run("git", "config", "user.email", "tests@seedforge.invalid")
    run("git", "config", "user.name", "seedforge tests")
    run("dvc", "init", "-q")
    run("dvc", "config", "core.analytics", "false")
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        run("dvc", "cache", "dir", str(cache_dir))
    run("git", "add", "-A")
    run("git", "commit", "-qm", "project")
    return dest


def dvc(project: Path, *args: str) -> str:
    """Run dvc in `project`; a failure shows its output."""
    out = subprocess.run(["dvc", *args], cwd=project, capture_output=True, text=True)
    assert out.returncode == 0, f"dvc {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


def clone_run(src: Path, dest: Path) -> Path:
    """A private copy of a reproduced project (DVC copies files out of its cache, no links)."""
    shutil.copytree(src, dest, symlinks=True)
    return dest


_DONE = re.compile(r"Running stage '([^']+)'|Stage '([^']+)' is cached - skipping run")


def stages_done(output: str) -> set[str]:
    """The stages a `dvc repro` / `dvc exp run` output says it ran or restored from the run-cache.

    Either way DVC found the stage changed; with a shared cache (`copy_project(cache_dir=...)`) which
    of the two happens depends on whether another project already ran the same stage.

    >>> sorted(stages_done("Running stage 'a':\\nStage 'b' is cached - skipping run, checking out outputs"))
    ['a', 'b']
    """
    return {ran or restored for ran, restored in _DONE.findall(output)}

"""What every `stages/<name>.py` shares: argument parsing, logging, and the error contract.

A `SeedforgeError` becomes one line on stderr and exit status 1; since every output is written
atomically at the end, a failed stage leaves nothing half-written behind.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seedforge.errors import SeedforgeError
from seedforge.io import atomic_dir, read_json, write_json, write_text
from seedforge.tasks import Task, from_info


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    return p


# Progress bars and deprecation notices a pipeline user cannot act on: the weight-loading bar of
# every model load, the GGUF de-quantizing bar (a plain tqdm, hence TQDM_DISABLE), hub download
# bars, and libraries' FutureWarnings about their own API. Each goes through the library's own
# switch; errors and our own warnings still print.
QUIET_ENV = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TQDM_DISABLE": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}
QUIET_LOGGERS = (
    "sentence_transformers",
    "transformers",
    "peft",
    "accelerate",
    "huggingface_hub",
    "httpx",
    "urllib3",
    "filelock",
    "datasets",
)
QUIET_MODULES = r"(transformers|peft|accelerate|torch|huggingface_hub|sentence_transformers)(\.|$)"


def quiet_libraries() -> None:
    """Silence third-party progress bars and FutureWarnings in this process (a stage); a value the
    user set already is kept (SEEDFORGE_VERBOSE=1 keeps everything)."""
    import warnings

    if os.environ.get("SEEDFORGE_VERBOSE"):
        return
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    warnings.filterwarnings("ignore", category=FutureWarning, module=QUIET_MODULES)
    # Stages log at INFO (run() below); libraries' INFO lines ("Loading SentenceTransformer model
    # from /abs/path ...") are not results, so they keep only their warnings.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def result(name: str, message: str) -> None:
    """The one line a stage logs about what it did (`name: message` on stderr, like its other logs)."""
    logging.getLogger(name).info(message)


def run(main: Callable[[], None]) -> None:
    """Run a stage's main with the error contract."""
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        main()
    except SeedforgeError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


def task_info(path: Path) -> Task:
    """The task, bound to its label set, that `prepare` fixed for the whole run."""
    info: dict[str, Any] = read_json(path)
    return from_info(info)


def teacher_skips(teacher_info: Path | None, out: Path, metrics: Path) -> bool:
    """Whether a stage that builds a teacher model into `out` has nothing to build.

    The `teacher` stage lists the local files the chosen profile reads; when none lies inside `out`
    (an HTTP teacher, another GGUF), the stage writes a marker folder and `built: false` instead of
    training for nothing, so switching teachers costs no training time.
    """
    if teacher_info is None:
        return False
    files = read_json(teacher_info).get("local_files") or []
    if any(Path(f).resolve().is_relative_to(out.resolve()) for f in files):
        return False
    with atomic_dir(out) as tmp:
        write_text(tmp / "NOT_BUILT", "the chosen teacher profile does not use this model\n")
    write_json(metrics, {"built": False})
    return True

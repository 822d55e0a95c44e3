"""Where a run keeps its files: the one module that knows the layout.

Paths are POSIX strings relative to the project root, so the same name opens a file in the
workspace and, through `dvc.api`, at a git revision or in a DVC experiment. `dvc.yaml` spells the
same paths out for the stages; `tests/test_layout.py` checks that the two agree.

    data/prepared/{seed,test,dev,pool}.jsonl, task.json (pool: {id, input} only)
    data/iterations/<i>/dataset.jsonl       iteration i's training set (records)
    data/iterations/<i>/predictions.jsonl   iteration i's student on seed/test/dev (PredictionRow)
    data/iterations/<i>/selected.jsonl      seed examples chosen for augmentation (SelectionRow)
    data/iterations/<i>/calls.jsonl   one row per teacher call (CallRow)
    data/iterations/<i>/kept.jsonl          records that passed the gates, entering iteration i+1
    data/iterations/<i>/rejects.jsonl       everything dropped, with its reason (RejectRow)
    data/iterations/<i>/annotated.jsonl     pool inputs labelled by annotate@i (records, origin annotated)
    data/iterations/<i>/annotate_rejects.jsonl  pool rows dropped: unsure labels and gate drops (RejectRow)
    data/iterations/<i>/merge_rejects.jsonl rows over the label-share cap, turned away by merge@i (RejectRow)
    metrics/<step>/<i>.json                 per-iteration metrics of each step (STEPS)
    data/final/dataset.jsonl, metrics/final.json  the dataset of the best iteration on dev (final)

The instruction pipeline (instruct/dvc.yaml) keeps one file per operator (InstructionRow):

    data/instruct/<file>.jsonl              seed, expanded, ..., dataset (INSTRUCT_FILES, in order)
    data/instruct/rejects/<operator>.jsonl  each operator's drops, with reasons
"""

from __future__ import annotations

import re
from typing import Literal

PARAMS = "params.yaml"
PREPARED = "data/prepared"
TASK_INFO = f"{PREPARED}/task.json"
ITERATIONS = "data/iterations"
METRICS = "metrics"
REPORTS = "reports"
SUMMARY = f"{REPORTS}/summary.json"
STUDENTS = "models/student"  # models/student/<i>: iteration i's student
FINAL_DATASET = "data/final/dataset.jsonl"  # the chosen iteration's dataset (stage final)
FINAL_METRICS = "metrics/final.json"  # which iteration, why, its dev and test scores
TABLE = f"{REPORTS}/iterations.csv"

IterationFile = Literal[
    "dataset",
    "predictions",
    "selected",
    "calls",
    "kept",
    "rejects",
    "annotated",
    "annotate_rejects",
    "merge_rejects",
]
ITERATION_FILES: tuple[IterationFile, ...] = (
    "dataset",
    "predictions",
    "selected",
    "calls",
    "kept",
    "rejects",
    "annotated",
    "annotate_rejects",
    "merge_rejects",
)
SPLITS = ("seed", "test", "dev")
STEPS = ("train", "evaluate", "select", "generate", "filter", "annotate", "merge")


def iteration_file(i: int, name: IterationFile) -> str:
    """>>> iteration_file(2, "dataset")
    'data/iterations/2/dataset.jsonl'
    """
    if name not in ITERATION_FILES:
        raise ValueError(f"unknown iteration file {name!r}")
    return f"{ITERATIONS}/{i}/{name}.jsonl"


def dataset(i: int) -> str:
    return iteration_file(i, "dataset")


def predictions(i: int) -> str:
    return iteration_file(i, "predictions")


def selected(i: int) -> str:
    return iteration_file(i, "selected")


def calls(i: int) -> str:
    return iteration_file(i, "calls")


def kept(i: int) -> str:
    return iteration_file(i, "kept")


def rejects(i: int) -> str:
    return iteration_file(i, "rejects")


def annotated(i: int) -> str:
    return iteration_file(i, "annotated")


def annotate_rejects(i: int) -> str:
    return iteration_file(i, "annotate_rejects")


def merge_rejects(i: int) -> str:
    return iteration_file(i, "merge_rejects")


# Files renamed since a revision a user may still diff or audit: new name -> old name.
OLDER_NAMES = {"calls": "generations"}


def older_name(path: str) -> str | None:
    """The name `path` had in older revisions, if it was renamed.

    >>> older_name("data/iterations/2/calls.jsonl")
    'data/iterations/2/generations.jsonl'
    >>> older_name("data/iterations/2/dataset.jsonl") is None
    True
    """
    m = re.fullmatch(rf"({ITERATIONS}/\d+/)(\w+)(\.jsonl)", path)
    if m is None or m.group(2) not in OLDER_NAMES:
        return None
    return m.group(1) + OLDER_NAMES[m.group(2)] + m.group(3)


def prepared(split: str) -> str:
    """>>> prepared("test")
    'data/prepared/test.jsonl'
    """
    return f"{PREPARED}/{split}.jsonl"


def metrics(step: str, i: int | None = None) -> str:
    """>>> metrics("filter", 1), metrics("prepare")
    ('metrics/filter/1.json', 'metrics/prepare.json')
    """
    return f"{METRICS}/{step}.json" if i is None else f"{METRICS}/{step}/{i}.json"


INSTRUCT = "data/instruct"
# In pipeline order: a later file's copy of a row carries more (judge score, gate scores, category).
INSTRUCT_FILES = (
    "seed",
    "expanded",
    "refined",
    "responded",
    "extracted",
    "judged",
    "gated",
    "categorized",
    "filled",
    "dataset",
    "expanded_distilled",
)
INSTRUCT_OPERATORS = ("expand", "refine", "respond", "extract", "judge", "gate", "categorize", "fill")


def instruct(name: str) -> str:
    """>>> instruct("judged"), instruct_rejects("gate")
    ('data/instruct/judged.jsonl', 'data/instruct/rejects/gate.jsonl')
    """
    return f"{INSTRUCT}/{name}.jsonl"


def instruct_rejects(operator: str) -> str:
    return f"{INSTRUCT}/rejects/{operator}.jsonl"


_ITERATION = re.compile(rf"^{re.escape(ITERATIONS)}/(\d+)/([a-z_]+)\.jsonl$")


def parse_iteration_file(path: str) -> tuple[int, str] | None:
    """(iteration, file name) of a layout path, or None.

    >>> parse_iteration_file("data/iterations/3/kept.jsonl"), parse_iteration_file("x.jsonl")
    ((3, 'kept'), None)
    """
    m = _ITERATION.match(path.replace("\\", "/").removeprefix("./"))
    return (int(m.group(1)), m.group(2)) if m and m.group(2) in ITERATION_FILES else None

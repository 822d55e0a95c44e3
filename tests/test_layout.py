"""dvc.yaml spells out the paths for the stages; the commands find them through seedforge.schema.layout."""

import re

import yaml

from seedforge.schema import layout
from seedforge.testing.project import REPO


def stage_paths() -> dict[str, set[str]]:
    """Every path in each stage's cmd, deps and outs, with the loop variables set to 7 (next: 8)."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    out: dict[str, set[str]] = {}
    for name, stage in stages.items():
        body = stage.get("do", stage)
        text = yaml.safe_dump(body)
        text = text.replace("${item.i}", "7").replace("${item.next}", "8").replace("${item}", "7")
        out[name] = set(re.findall(r"(?:data|metrics|reports)/[\w./-]+", text))
    return out


def test_dvc_yaml_writes_where_layout_reads() -> None:
    paths = stage_paths()
    assert layout.dataset(0) in paths["prepare"] and layout.TASK_INFO.rsplit("/", 1)[0] in paths["prepare"]
    assert layout.predictions(7) in paths["evaluate"] and layout.metrics("evaluate", 7) in paths["evaluate"]
    assert layout.selected(7) in paths["select"] and layout.metrics("select", 7) in paths["select"]
    assert layout.calls(7) in paths["generate"] and layout.metrics("generate", 7) in paths["generate"]
    assert {layout.kept(7), layout.rejects(7), layout.metrics("filter", 7)} <= paths["filter"]
    assert {layout.dataset(7), layout.kept(7), layout.dataset(8), layout.merge_rejects(7)} <= paths["merge"]
    assert layout.metrics("merge", 7) in paths["merge"]
    assert {layout.annotated(7), layout.annotate_rejects(7), layout.metrics("annotate", 7)} <= paths[
        "annotate"
    ]
    assert layout.annotated(7) in paths["merge"]
    assert layout.metrics("train", 0) in paths["train"] and layout.metrics("train", 8) in paths["retrain"]
    assert {layout.SUMMARY, layout.TABLE} <= paths["report"]
    every = set().union(*paths.values())
    for name in layout.ITERATION_FILES:
        assert layout.iteration_file(7, name) in every, name


def test_iteration_paths_parse_back() -> None:
    for name in layout.ITERATION_FILES:
        assert layout.parse_iteration_file(layout.iteration_file(12, name)) == (12, name)
    assert layout.parse_iteration_file("data/iterations/1/other.jsonl") is None

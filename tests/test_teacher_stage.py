"""The teacher stage: what generate@i must be rebuilt for, pinned in models/teacher.json."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from seedforge.testing.project import copy_project, dvc


def info(project: Path) -> dict:
    return json.loads((project / "models" / "teacher.json").read_text())


def test_a_profiles_own_template_is_pinned_so_editing_it_reruns_generate(
    tmp_path: Path, dvc_cache: Path
) -> None:
    project = copy_project(tmp_path / "project", cache_dir=dvc_cache)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["teacher"] = "smollm2"  # renders prompts/classification_fewshot.jinja, not data.template
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dvc(project, "repro", "teacher")
    before = info(project)
    assert before["local_files"] == ["smollm2"]
    assert before["template"]["path"] == "prompts/classification_fewshot.jinja"

    fewshot = project / "prompts" / "classification_fewshot.jinja"
    fewshot.write_text(fewshot.read_text() + "\n{# edited #}\n")
    assert "teacher" in dvc(project, "status", "teacher")  # the edit is seen...
    dvc(project, "repro", "teacher")
    after = info(project)
    assert after["template"]["sha256"] != before["template"]["sha256"]
    # ... and reaches generate@i, which DVC cannot point at the profile's template directly.
    generate = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]["generate"]["do"]
    assert "models/teacher.json" in generate["deps"]

    # The tiny teacher renders data.template: editing the few-shot template changes nothing for it.
    params["teacher"] = "tiny"
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dvc(project, "repro", "teacher")
    tiny = info(project)
    assert tiny["template"]["path"] == "prompts/classification.jinja"
    fewshot.write_text(fewshot.read_text() + "{# again #}\n")
    dvc(project, "repro", "teacher")
    assert info(project) == tiny

"""The tuned teacher: training pairs, the DVC stage on SST-2, and the adapter in llama.cpp."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from seedforge.schema.records import Record
from seedforge.tasks import get_task
from seedforge.testing.project import copy_project
from seedforge.training.teacher_finetune import fewshot_prompt, training_pairs
from tests.conftest import shared


def _seeds() -> list[Record]:
    rows = [("billing", f"charged twice for order {i}") for i in range(4)]
    rows += [("delivery", f"parcel {i} never came") for i in range(3)] + [("account", "cannot log in")]
    return [Record.seed("classification", text, label) for label, text in rows]


def test_pairs_show_same_label_examples_and_target_another() -> None:
    task = get_task("classification").with_labels(["account", "billing", "delivery"])
    pairs = training_pairs(_seeds(), task, shots=2, n=40, seed=0)
    assert pairs == training_pairs(_seeds(), task, shots=2, n=40, seed=0)  # seeded
    assert pairs != training_pairs(_seeds(), task, shots=2, n=40, seed=1)
    labels_seen = set()
    for prompt, target in pairs:
        shown = task.parse(prompt).examples
        [new] = task.parse(target).examples
        assert len(shown) == 2 and {e.output for e in shown} == {new.output}
        assert new.input not in {e.input for e in shown}
        assert prompt == fewshot_prompt(task, shown) and target == task.format_example(new)
        labels_seen.add(new.output)
    # "account" has one seed example: nothing to show beside it, so it is never a target.
    assert labels_seen == {"billing", "delivery"}


def test_delivery_group_smaller_than_shots_shows_what_it_has() -> None:
    task = get_task("classification").with_labels(["account", "billing", "delivery"])
    for prompt, _ in training_pairs(_seeds(), task, shots=5, n=20, seed=0):
        assert len(task.parse(prompt).examples) in (2, 3)  # delivery: 3 examples, billing: 4


def _dvc(project: Path, *args: str) -> str:
    out = subprocess.run(["dvc", *args], cwd=project, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.mark.slow
def test_stage_tunes_smollm2_and_llama_cpp_output_changes(tmp_path: Path, dvc_cache: Path) -> None:
    import llama_cpp

    from seedforge import weights

    project = copy_project(tmp_path / "project", cache_dir=dvc_cache)
    params = yaml.safe_load((project / "params.yaml").read_text())
    sst2 = {"header": False, "columns": ["label", "sentence"], "input": "sentence", "output": "label"}
    params["data"] = {
        "task": "classification",
        "template": "prompts/classification.jinja",
        "seed": {"path": str(shared("sst2", "train.tsv")), "limit": 12, **sst2},
        "test": {"path": str(shared("sst2", "test.tsv")), "limit": 4, **sst2},
        "dev": None,
    }
    # Few steps on short sequences at a high learning rate: enough to move greedy output.
    params["teacher"] = "smollm2_tuned"  # the stage builds only for a teacher that reads its adapter
    params["teacher_finetune"].update(
        steps=3, batch_size=2, max_length=64, pairs=6, shots=2, learning_rate=0.01
    )
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _dvc(project, "repro", "teacher_finetune")

    out = project / "models" / "teacher_finetune"
    adapter = out / "adapter.gguf"
    metrics = json.loads((project / "metrics" / "teacher_finetune.json").read_text())
    digest = hashlib.sha256(adapter.read_bytes()).hexdigest()
    assert metrics["adapter_sha256"] == digest and metrics["steps"] == 3 and metrics["pairs"] == 6
    assert json.loads((out / "teacher.json").read_text())["adapter_sha256"] == digest
    config = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "smollm2"
    assert config["target_modules"] == ["k_proj", "o_proj", "q_proj", "v_proj"]
    assert adapter.stat().st_size < 5_000_000  # megabytes, not a 98 MB merged model

    task = get_task("classification")
    seeds = [json.loads(line) for line in (project / "data" / "prepared" / "seed.jsonl").open()]
    shots = [s for s in seeds if s["output"] == "Positive"][:2]
    from seedforge.tasks import Example

    prompt = fewshot_prompt(task, [Example(s["input"], s["output"]) for s in shots])
    base = str(weights.gguf_path("smollm2"))
    texts = []
    for lora in (None, str(adapter)):
        llm = llama_cpp.Llama(model_path=base, lora_path=lora, n_ctx=512, seed=0, verbose=False)
        try:
            texts.append(llm.create_completion(prompt, max_tokens=24, temperature=0.0)["choices"][0]["text"])
        finally:
            llm.close()
    assert texts[0] != texts[1], texts

    # DVC reruns the stage only for its own inputs: not for another section's params ...
    params["teachers"]["tiny"]["temperature"] = 0.5
    params["students"]["minilm"].update(epochs=3, min_steps=0)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert "up to date" in _dvc(project, "status", "teacher_finetune")
    # ... but for its own.
    params["teacher_finetune"]["rank"] = 4
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert "teacher_finetune" in _dvc(project, "status", "teacher_finetune")

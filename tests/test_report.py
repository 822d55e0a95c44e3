import json
from pathlib import Path

from seedforge.loop import summary


def test_rows_from_metric_files(tmp_path: Path) -> None:
    for step, i, data in [
        ("train", 0, {"dataset_size": 40, "steps": 3}),
        ("evaluate", 0, {"test_accuracy": 0.5, "seed_wrong": 4}),
        (
            "filter",
            0,
            {
                "kept": 3,
                "rejected": 6,
                "rejected_by_reason": {
                    "leak:test:ngram": 2,
                    "leak:dev:embedding": 1,
                    "parse:no_examples": 2,
                    "x": 1,
                },
            },
        ),
        ("train", 1, {"dataset_size": 43}),
        ("evaluate", 1, {"test_accuracy": 0.55}),
    ]:
        (tmp_path / step).mkdir(exist_ok=True)
        (tmp_path / step / f"{i}.json").write_text(json.dumps(data))
    table = summary.rows([0, 1], tmp_path)
    families = {f"rejected_{f}": 0 for f in summary.REJECT_FAMILIES}
    assert table == [
        {
            "iteration": 0,
            "dataset_size": 40,
            "test_accuracy": 0.5,
            "seed_wrong": 4,
            "kept": 3,
            "rejected": 6,
            **families,
            "rejected_leak": 3,
            "rejected_parse": 2,
            "rejected_other": 1,
        },
        {"iteration": 1, "dataset_size": 43, "test_accuracy": 0.55},
    ]
    s = summary.summary(table)
    assert s["dataset_growth"] == 3 and s["test_accuracy_gain"] == 0.05
    csv = summary.to_csv(table).splitlines()
    assert csv[0].startswith("iteration,dataset_size,") and csv[2].startswith("1,43,")

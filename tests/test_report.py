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


def test_merge_balance_drops_count_beside_filters(tmp_path: Path) -> None:
    for step, data in [
        ("filter", {"kept": 5, "rejected": 2, "rejected_by_reason": {"duplicate:exact": 2}}),
        ("merge", {"rejected": 3, "rejected_by_reason": {"balance:cap": 3}}),
    ]:
        (tmp_path / step).mkdir()
        (tmp_path / step / "0.json").write_text(json.dumps(data))
    (row,) = summary.rows([0], tmp_path)
    assert row["rejected"] == 5 and row["rejected_balance"] == 3 and row["rejected_duplicate"] == 2


def test_runs_table_shows_every_param_that_differs_and_the_final_dataset_leads() -> None:
    """`seedforge report --exp none --exp uniform` once showed two identical rows: loop.augment
    and seed were no columns. A run that made no calls draws no reject or token chart."""
    from seedforge.audit import page

    def run(label: str, augment: str, seed: int, calls: int) -> page.Run:
        r = page.Run(label=label, task="classification", labels=None, recipe={})
        r.params = {"seed": seed, "loop.augment": augment, "loop.k": 4, "gates.near_duplicate": 0.95}
        r.table = [
            {"iteration": 0, "calls": calls, "test_accuracy": 0.7},  # round 0's calls
            {"iteration": 1, "test_accuracy": 0.8},
        ]
        r.reasons = {0: {"duplicate:exact": 1} if calls else {}}
        r.final = {"iteration": 1, "chosen_by": "dev", "reason": "best dev score", "test_accuracy": 0.8}
        return r

    runs = [run("none", "none", 0, 0), run("uniform", "uniform", 1, 4)]
    # the recipe's columns always; gates.near_duplicate only once it differs
    assert page.differing(runs) == page.differing([runs[0]]) == ["seed", "loop.augment", "loop.k"]
    runs[1].params["gates.near_duplicate"] = 0.9
    assert "gates.near_duplicate" in page.differing(runs)
    md = page.markdown(runs)
    assert md.index("## Final dataset") < md.index("## Runs") and "best dev score" in md
    html = page.html(runs)
    assert html.index("Final dataset") < html.index("<h2>Runs</h2>")
    assert "rejects-uniform" in html and "tokens-uniform" in html
    assert "rejects-none" not in html and "tokens-none" not in html

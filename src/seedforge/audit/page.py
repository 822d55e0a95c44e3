"""The run report a person reads: one self-contained HTML page and its markdown twin.

For one run (the workspace, a git revision) or several experiments side by side: per iteration,
test and seed accuracy, dataset size, seed examples wrong, rejects by reason, teacher tokens and
cost; label balance per iteration; a sample of generated examples, each with its provenance chain
one click away. Everything is read from the run's files through a `Snapshot`; the page embeds
its CSS and draws its charts as inline SVG, so it opens offline and sends no request.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from html import escape
from typing import Any

from seedforge.audit import provenance
from seedforge.audit.charts import Series, bar_chart, color, line_chart
from seedforge.audit.snapshot import Snapshot
from seedforge.loop.evaluate import accuracy
from seedforge.schema import layout
from seedforge.schema.rows import CallRow, PredictionRow, RejectRow

SAMPLES = 8  # generated or annotated examples shown per run
COLUMNS = [
    ("iteration", "iteration"),
    ("dataset_size", "dataset size"),
    ("generated", "generated"),
    ("annotated", "annotated"),
    ("test_accuracy", "test acc."),
    ("seed_accuracy", "seed acc."),
    ("dev_accuracy", "dev acc."),
    ("seed_wrong", "seed wrong"),
    ("calls", "calls"),
    ("failed_calls", "failed calls"),
    ("kept", "kept"),
    ("rejected", "rejected"),
    ("prompt_tokens", "tokens in"),
    ("completion_tokens", "tokens out"),
    ("cost", "cost"),
]


@dataclass
class Run:
    label: str
    task: str | None
    labels: list[str] | None
    recipe: dict[str, Any]
    table: list[dict[str, Any]] = field(default_factory=list)
    reasons: dict[int, dict[str, int]] = field(default_factory=dict)  # round -> reason -> count
    balance: dict[int, dict[str, int]] = field(default_factory=dict)  # iteration -> label -> count
    samples: list[dict[str, Any]] = field(default_factory=list)  # provenance chains
    params: dict[str, Any] = field(default_factory=dict)  # every scalar param, by dotted key
    final: dict[str, Any] | None = None  # metrics/final.json: the shipped iteration and why


# The recipe columns every runs table shows; a comparison adds every other param that differs.
RECIPE_KEYS = ("seed", "teacher", "student", "loop.augment", "loop.select", "loop.k", "loop.init")


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Scalar leaves by dotted key; a list is one value (its text).

    >>> flatten({"loop": {"k": 4, "iterations": [0, 1]}, "seed": 0})
    {'loop.k': 4, 'loop.iterations': '[0, 1]', 'seed': 0}
    """
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: str(tree) if isinstance(tree, list) else tree}


def differing(runs: list[Run]) -> list[str]:
    """The runs table's param columns: RECIPE_KEYS that some run has, then every other param
    whose value is not the same in all runs (a key one run lacks counts as differing)."""
    keys = {k for run in runs for k in run.params}
    shown = [k for k in RECIPE_KEYS if k in keys]
    if len(runs) > 1:
        shown += sorted(k for k in keys - set(shown) if len({repr(run.params.get(k)) for run in runs}) > 1)
    return shown


def _cost(metrics: dict[str, Any] | None) -> float | None:
    """A round's cost, if the generate metrics carry one (a price in the teacher profile)."""
    if not metrics:
        return None
    costs = [v for k, v in metrics.items() if "cost" in k and isinstance(v, int | float)]
    return round(sum(costs), 6) if costs else None


def collect(snap: Snapshot, samples: int = SAMPLES) -> Run:
    """Everything the report shows about one run, read from its files."""
    info = snap.json(layout.TASK_INFO) or {}
    params_text = snap.read_bytes(layout.PARAMS)
    recipe: dict[str, Any] = {}
    params: dict[str, Any] = {}
    if params_text is not None:
        import yaml

        raw = yaml.safe_load(params_text) or {}
        params = flatten(raw)
        recipe = {k: params[k] for k in RECIPE_KEYS if k in params}
        teacher = (raw.get("teachers") or {}).get(raw.get("teacher")) or {}
        recipe.update({f"sampling.{k}": str(teacher[k]) for k in ("temperature", "top_p") if k in teacher})
    run = Run(label=snap.label, task=info.get("task"), labels=info.get("labels"), recipe=recipe)
    run.params = {**params, **recipe}
    run.final = snap.json(layout.FINAL_METRICS)
    its = snap.iterations()
    for i in its:
        dataset = snap.records(layout.dataset(i))
        predictions = snap.rows(layout.predictions(i), PredictionRow)
        by_split: dict[str, list[PredictionRow]] = {}
        for p in predictions:
            by_split.setdefault(p.split, []).append(p)
        row: dict[str, Any] = {
            "iteration": i,
            "dataset_size": len(dataset),
            "generated": sum(r.origin == "generated" for r in dataset),
        }
        if any(r.origin == "annotated" for r in dataset) or snap.exists(layout.annotated(i)):
            row["annotated"] = sum(r.origin == "annotated" for r in dataset)
        for split in ("test", "seed", "dev"):
            row[f"{split}_accuracy"] = accuracy(by_split.get(split, []))
        if predictions:
            row["seed_wrong"] = sum(not p.correct for p in by_split.get("seed", []))
        if snap.exists(layout.calls(i)):
            calls = snap.rows(layout.calls(i), CallRow)
            rejects = snap.rows(layout.rejects(i), RejectRow)
            row.update(
                calls=len(calls),
                failed_calls=sum(c.error is not None for c in calls),
                kept=len(snap.records(layout.kept(i))),
                rejected=len(rejects),
                prompt_tokens=sum(c.usage.get("prompt_tokens", 0) for c in calls),
                completion_tokens=sum(c.usage.get("completion_tokens", 0) for c in calls),
                cost=_cost(snap.json(layout.metrics("generate", i))),
            )
            run.reasons[i] = dict(sorted(Counter(r.reason for r in rejects).items()))
        # annotate@i's drops (unsure labels, gates) beside filter@i's, told apart by a prefix
        pool_rejects = Counter(f"pool {r.reason}" for r in snap.rows(layout.annotate_rejects(i), RejectRow))
        capped = Counter(r.reason for r in snap.rows(layout.merge_rejects(i), RejectRow))
        if pool_rejects or capped:
            run.reasons[i] = dict(sorted((run.reasons.get(i, {}) | pool_rejects | capped).items()))
        run.table.append(row)
        if run.labels is not None:
            counts = Counter(r.output for r in dataset)
            run.balance[i] = {label: counts.get(label, 0) for label in sorted(counts)}
    if its:
        generated = [r for r in snap.records(layout.dataset(its[-1])) if r.origin != "seed"]
        # An even spread over the id order: a fixed sample, not the first few of one parent.
        step = max(1, len(generated) // samples) if generated else 1
        run.samples = [provenance.chain(snap, r.id) for r in generated[::step][:samples]]
    return run


def _fmt(value: Any) -> str:
    """>>> _fmt(None), _fmt(0.9), _fmt(12), _fmt(0.00125)
    ('–', '0.900', '12', '0.00125')
    """
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if value >= 0.01 else f"{value:g}"
    return str(value)


def _stacked(key: str, title: str, counts: dict[int, dict[str, int]], names: list[str], y_label: str) -> str:
    """Stacked bars per iteration of `counts` (iteration -> name -> n); colours follow `names`."""
    its = sorted(counts)
    present = sorted({x for c in counts.values() for x in c})
    series = [Series(x, [counts[i].get(x, 0) for i in its], color(names.index(x))) for x in present]
    return bar_chart(
        key, title, [str(i) for i in its], series or [Series("none", [0] * len(its), color(0))], y_label
    )


def _charts(runs: list[Run]) -> list[str]:
    its = sorted({r["iteration"] for run in runs for r in run.table})

    def values(run: Run, key: str) -> list[float | None]:
        by = {r["iteration"]: r.get(key) for r in run.table}
        return [by.get(i) for i in its]

    acc = []
    for k, run in enumerate(runs):
        name = f"{run.label} " if len(runs) > 1 else ""
        acc.append(Series(f"{name}test", values(run, "test_accuracy"), color(k)))
        acc.append(Series(f"{name}seed", values(run, "seed_accuracy"), color(k), dashed=True))
    out = [
        line_chart("accuracy", "Test and seed accuracy per iteration", its, acc, "accuracy", y_max=1.0),
        line_chart(
            "dataset-size",
            "Dataset size per iteration",
            its,
            [Series(run.label, values(run, "dataset_size"), color(k)) for k, run in enumerate(runs)],
            "rows",
        ),
        line_chart(
            "seed-wrong",
            "Seed examples the student got wrong",
            its,
            [Series(run.label, values(run, "seed_wrong"), color(k)) for k, run in enumerate(runs)],
            "examples",
        ),
    ]
    # One colour per reason and per label across all runs, so side-by-side charts read alike.
    every_reason = sorted({x for run in runs for r in run.reasons.values() for x in r})
    every_label = sorted({x for run in runs for b in run.balance.values() for x in b})
    for run in runs:
        suffix = f" · {run.label}" if len(runs) > 1 else ""
        # A run that made no calls (loop.augment: none) and rejected nothing draws neither chart.
        rounds = sorted(run.reasons)
        by = {r["iteration"]: r for r in run.table}
        if any(run.reasons.values()):
            out.append(
                _stacked(
                    f"rejects-{run.label}",
                    f"Rejects by reason per round{suffix}",
                    run.reasons,
                    every_reason,
                    "candidates",
                )
            )
        if any(by[i].get("calls") for i in rounds):
            out.append(
                bar_chart(
                    f"tokens-{run.label}",
                    f"Teacher tokens per round{suffix}",
                    [str(i) for i in rounds],
                    [
                        Series("prompt", [by[i].get("prompt_tokens") for i in rounds], color(0)),
                        Series("completion", [by[i].get("completion_tokens") for i in rounds], color(4)),
                    ],
                    "tokens",
                )
            )
        if run.balance:
            out.append(
                _stacked(
                    f"labels-{run.label}",
                    f"Label balance per iteration{suffix}",
                    run.balance,
                    every_label,
                    "rows",
                )
            )
    return out


CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1400px;
color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:12px}
figure.chart{margin:0;border:1px solid #ddd;border-radius:6px;padding:8px;background:#fafafa}
figcaption{font-weight:600;margin-bottom:4px}
svg text{font:11px system-ui,sans-serif;fill:#333}svg .axis{font-size:12px}
details{margin:4px 0;border:1px solid #e4e4e4;border-radius:4px;padding:4px 8px;background:#fcfcfc}
summary{cursor:pointer}pre{white-space:pre-wrap;font-size:12px;background:#f6f6f6;padding:8px;margin:6px 0}
code{font-size:12px}.muted{color:#777}
"""


def _pivot(counts: dict[int, dict[str, int]], name: str, prefix: str) -> tuple[list[str], list[list[Any]]]:
    """A table of counts per iteration: one row per name, one column per iteration.

    >>> _pivot({0: {"a": 2}, 1: {"a": 1, "b": 3}}, "reason", "round")
    (['reason', 'round 0', 'round 1'], [['a', 2, 1], ['b', 0, 3]])
    """
    its = sorted(counts)
    names = sorted({x for c in counts.values() for x in c})
    return [name, *(f"{prefix} {i}" for i in its)], [[x, *(counts[i].get(x, 0) for i in its)] for x in names]


def _table(headers: list[str], rows: list[list[Any]], left: int = 1) -> str:
    head = "".join(f'<th class="{"l" if k < left else ""}">{escape(h)}</th>' for k, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"l" if k < left else ""}">{escape(_fmt(v))}</td>' for k, v in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _columns(runs: list[Run]) -> list[tuple[str, str]]:
    """The table columns that have a value in some run (no column of dashes)."""
    return [(k, t) for k, t in COLUMNS if any(r.get(k) is not None for run in runs for r in run.table)]


def html(runs: list[Run]) -> str:
    title = "seedforge report: " + ", ".join(run.label for run in runs)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # No request may leave the page: forbid every fetch, font, image or script from elsewhere.
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        '<p class="muted">Per iteration: the student trained on that iteration\'s dataset; per round: the '
        "teacher calls and gates that built the next one.</p>",
        "<h2>Final dataset</h2>",
        _table(*_final_table(runs), left=99),
        "<h2>Runs</h2>",
        _table(
            ["run", "task", *differing(runs)],
            [[run.label, run.task, *(run.params.get(k) for k in differing(runs))] for run in runs],
            left=99,
        ),
        "<h2>Charts</h2>",
        '<div class="charts">',
        *_charts(runs),
        "</div>",
        "<h2>Per iteration</h2>",
    ]
    cols = _columns(runs)
    for run in runs:
        parts.append(f"<h3>{escape(run.label)}</h3>")
        parts.append(_table([t for _, t in cols], [[r.get(k) for k, _ in cols] for r in run.table], left=0))
        if run.reasons:
            parts += ["<p>Rejects by reason and round:</p>", _table(*_pivot(run.reasons, "reason", "round"))]
        if run.balance:
            parts += ["<p>Label balance (rows per label):</p>", _table(*_pivot(run.balance, "label", "it."))]
    parts.append("<h2>Generated examples and their lineage</h2>")
    for run in runs:
        parts.append(f"<h3>{escape(run.label)}</h3>")
        if not run.samples:
            parts.append('<p class="muted">No generated examples.</p>')
        for c in run.samples:
            ex = c["example"]
            anchor = escape(f"{run.label}-{c['id']}")
            parent = escape(str(ex.get("parent_id")))
            parts.append(
                f'<details class="lineage" id="{anchor}"><summary><code>{escape(c["id"])}</code> '
                f"<b>{escape(ex['output'][:40])}</b> · {escape(ex['input'][:120])} "
                f'<span class="muted">(iteration {ex["iteration"]}, parent {parent})</span>'
                f"</summary><pre>{escape(provenance.render(c))}</pre></details>"
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


FINAL_HEADERS = ["run", "iteration", "chosen by", "why", "rows", "dev", "test", "test at it. 0", "student"]


def _final_table(runs: list[Run]) -> tuple[list[str], list[list[Any]]]:
    """One row per run: the shipped iteration (metrics/final.json), or a dash where none was chosen."""
    rows = []
    for run in runs:
        f = run.final or {}
        first = run.table[0].get("test_accuracy") if run.table else None
        rows.append(
            [
                run.label,
                f.get("iteration"),
                f.get("chosen_by"),
                f.get("reason", "no final stage in this run"),
                f.get("dataset_size"),
                f.get("dev_accuracy"),
                f.get("test_accuracy"),
                first,
                f.get("student"),
            ]
        )
    return FINAL_HEADERS, rows


def _md_table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    cell = lambda v: _fmt(v).replace("|", "\\|")  # noqa: E731
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
        *("| " + " | ".join(cell(v) for v in r) + " |" for r in rows),
    ]


def markdown(runs: list[Run]) -> str:
    """The same numbers as the page, as tables (charts become their tables), for a pull request."""
    out = ["# seedforge report: " + ", ".join(run.label for run in runs), "", "## Final dataset", ""]
    out += _md_table(*_final_table(runs))
    keys = differing(runs)
    out += ["", "## Runs", ""]
    out += _md_table(
        ["run", "task", *keys], [[run.label, run.task, *(run.params.get(k) for k in keys)] for run in runs]
    )
    cols = _columns(runs)
    for run in runs:
        out += ["", f"## {run.label}", "", "### Per iteration", ""]
        out += _md_table([t for _, t in cols], [[r.get(k) for k, _ in cols] for r in run.table])
        if run.reasons:
            out += ["", "### Rejects by reason", "", *_md_table(*_pivot(run.reasons, "reason", "round"))]
        if run.balance:
            out += ["", "### Label balance", "", *_md_table(*_pivot(run.balance, "label", "it."))]
        out += ["", "### Generated examples", ""]
        for c in run.samples:
            ex = c["example"]
            summary = (
                f"<code>{c['id']}</code> <b>{escape(ex['output'][:40])}</b> · {escape(ex['input'][:100])}"
            )
            out += [
                f"<details><summary>{summary}</summary>",
                "",
                "```",
                provenance.render(c),
                "```",
                "",
                "</details>",
            ]
    return "\n".join(out) + "\n"

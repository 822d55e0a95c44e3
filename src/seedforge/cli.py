"""The `seedforge` command: verbs that are not pipeline stages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
import yaml

from seedforge import __version__
from seedforge.config.params import load_params, parse_params
from seedforge.errors import SeedforgeError
from seedforge.io import write_text

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="seedforge: compile training sets with a teacher."
)

PARAMS = typer.Option(Path("params.yaml"), "--params", help="the recipe")


def _fail(e: SeedforgeError) -> None:
    typer.echo(f"error: {e}", err=True)
    raise typer.Exit(1)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def validate(params: Path = PARAMS) -> None:
    """Check the recipe: every key, the profiles it names, the loop's iteration lists."""
    try:
        p = load_params(params)
    except SeedforgeError as e:
        _fail(e)
    typer.echo(
        f"{params}: ok (task {p.data.task.kind}, teacher {p.teacher}, student {p.student}, "
        f"{len(p.loop.rounds)} rounds)"
    )


def loop_lists(n: int) -> tuple[str, str]:
    """The flow-style YAML values of loop.iterations and loop.rounds for n rounds.

    >>> loop_lists(2)
    ('[0, 1, 2]', '[{i: 0, next: 1}, {i: 1, next: 2}]')
    """
    iterations = "[" + ", ".join(str(i) for i in range(n + 1)) + "]"
    rounds = "[" + ", ".join(f"{{i: {i}, next: {i + 1}}}" for i in range(n)) + "]"
    return iterations, rounds


def set_iterations(text: str, n: int) -> str:
    """Rewrite the `iterations:` and `rounds:` lines of a params.yaml, keeping everything else.

    >>> print(set_iterations("loop:\\n  iterations: [0, 1]  # keep\\n  rounds: [{i: 0, next: 1}]\\n", 2))
    loop:
      iterations: [0, 1, 2]  # keep
      rounds: [{i: 0, next: 1}, {i: 1, next: 2}]
    <BLANKLINE>
    """
    iterations, rounds = loop_lists(n)
    for key, value in (("iterations", iterations), ("rounds", rounds)):
        pattern = re.compile(rf"^(\s+{key}:[ \t]*)\[[^\n]*?\]", re.MULTILINE)
        text, count = pattern.subn(lambda m, v=value: m.group(1) + v, text, count=1)
        if count != 1:
            raise SeedforgeError(f"loop.{key}: expected a one-line flow list like `{key}: {value}`")
    return text


@app.command()
def iterations(
    n: int = typer.Argument(..., min=0, help="number of augmentation rounds (students trained: N+1)"),
    params: Path = PARAMS,
    exp_args: bool = typer.Option(False, "--exp-args", help="print `dvc exp run -S` arguments instead"),
) -> None:
    """Set the number of LLM2LLM rounds (rewrites loop.iterations and loop.rounds)."""
    iterations_value, rounds_value = loop_lists(n)
    if exp_args:
        no_space = rounds_value.replace(" ", "")
        typer.echo(f"-S 'loop.iterations={iterations_value.replace(' ', '')}' -S 'loop.rounds={no_space}'")
        return
    try:
        if not params.exists():
            raise SeedforgeError(f"{params}: file not found")
        text = set_iterations(params.read_text(encoding="utf-8"), n)
        parse_params(yaml.safe_load(text), source=str(params))  # validate before writing
        write_text(params, text)
    except SeedforgeError as e:
        _fail(e)
    typer.echo(f"{params}: loop.iterations = {iterations_value}")


@app.command()
def check(
    profiles: Annotated[
        list[str] | None,
        typer.Argument(help="teacher profiles (default: teacher, annotate.teacher, instruct.teacher)"),
    ] = None,
    as_json: bool = typer.Option(False, "--json", help="the same results as JSON"),
    fresh: bool = typer.Option(False, "--fresh", help="ask the server again instead of the cache"),
    params: Path = PARAMS,
) -> None:
    """Preflight teacher profiles against their servers. Exit 1 when one cannot work."""
    from seedforge import check as preflight
    from seedforge.io import dumps

    try:
        recipe = load_params(params)
        names = profiles or preflight.default_profiles(recipe)
        reports = [preflight.check(name, recipe, params.parent, fresh) for name in names]
    except SeedforgeError as e:
        _fail(e)
    typer.echo(dumps([r.as_dict() for r in reports]) if as_json else preflight.render(reports))
    if not all(r.works for r in reports):
        raise typer.Exit(1)


cache_app = typer.Typer(no_args_is_help=True, help="The teacher call cache (.seedforge/cache/calls.sqlite).")
app.add_typer(cache_app, name="cache")
CACHE = typer.Option(Path(".seedforge/cache/calls.sqlite"), "--cache", help="the call cache database")


@cache_app.command("stats")
def cache_stats(cache: Path = CACHE) -> None:
    """Answers stored, per teacher profile, with their size and age."""
    import time

    from seedforge.teachers.cache import CallCache

    if not cache.exists():
        _fail(SeedforgeError(f"{cache}: no call cache here yet"))
    stats = CallCache(cache).stats()
    typer.echo(f"{cache}: {stats['calls']} answered calls")
    now = time.time()
    for profile, s in sorted(stats["profiles"].items()):
        typer.echo(
            f"  {profile or '(none)'}: {s['calls']} calls, {s['bytes'] / 1e6:.2f} MB, "
            f"oldest {(now - s['oldest']) / 86400:.1f} days, newest {(now - s['newest']) / 86400:.1f} days"
        )


@cache_app.command("prune")
def cache_prune(
    cache: Path = CACHE,
    older_than: float = typer.Option(None, "--older-than", min=0, help="delete answers older than DAYS"),
    profile: str = typer.Option(None, "--profile", help="delete answers of this teacher profile"),
) -> None:
    """Delete stored answers by age and/or teacher profile (both given: those matching both)."""
    from seedforge.teachers.cache import CallCache

    if older_than is None and profile is None:
        _fail(SeedforgeError("cache prune: give --older-than DAYS and/or --profile NAME"))
    if not cache.exists():
        _fail(SeedforgeError(f"{cache}: no call cache here yet"))
    removed = CallCache(cache).prune(older_than, profile)
    typer.echo(f"{cache}: removed {removed} answered calls")


@app.command()
def similarity(
    a: Annotated[Path, typer.Argument(help="dataset A (.jsonl .json .csv .tsv .parquet)")],
    b: Annotated[Path, typer.Argument(help="dataset B; the same file as A compares A with itself")],
    column: str = typer.Option("input", "--column", help="text column (headerless csv/tsv: column_0, ...)"),
    no_header: bool = typer.Option(False, "--no-header", help="csv/tsv without a header row"),
    png: Annotated[Path | None, typer.Option("--png", help="also draw the histogram here")] = None,
    thresholds: str = typer.Option(
        "0.8,0.85,0.9,0.95,0.98", "--thresholds", help="comma-separated cosines to count flags at"
    ),
    model: str | None = typer.Option(None, "--model", help="encoder (default: gates.model of the recipe)"),
    params: Path = PARAMS,
) -> None:
    """Nearest-neighbour cosine of each row of A to B: a histogram and the rows each threshold flags."""
    try:
        import numpy as np

        from seedforge.config.params import Gates, Source
        from seedforge.data.sources import load_rows
        from seedforge.vectors import similarity as sim
        from seedforge.vectors.embed import Encoder
        from seedforge.vectors.search import nearest

        settings = load_params(params).gates if params.exists() else Gates()
        try:
            cuts = [float(t) for t in thresholds.split(",") if t.strip()]
        except ValueError:
            raise SeedforgeError(
                f"--thresholds: expected numbers like 0.9,0.95 (got {thresholds!r})"
            ) from None
        texts = []
        for path in (a, b):
            rows = load_rows(Source(path=str(path), header=not no_header, input=column))
            if rows and column not in rows[0]:
                raise SeedforgeError(
                    f"{path}: row 1: missing column {column!r} (columns: {', '.join(rows[0])})"
                )
            texts.append([str(r[column]) for r in rows])
        encoder = Encoder(model or settings.model, Path(".seedforge/cache/embeddings"), settings.device)
        same = a.resolve() == b.resolve()
        va = encoder.encode(texts[0])
        vb = va if same else encoder.encode(texts[1])
        _, scores = nearest(va, vb, skip_self=same)
        scores = scores[np.isfinite(scores)]
        typer.echo(f"nearest-neighbour cosine of {len(texts[0])} rows of {a} to {len(texts[1])} rows of {b}")
        typer.echo(sim.histogram(scores))
        typer.echo("threshold  rows flagged")
        for t, n in sim.flagged(scores, cuts):
            typer.echo(f"{t:9.3f}  {n:6d} ({n / max(len(scores), 1):.1%})")
        if png is not None:
            sim.plot(scores, cuts, png, f"{a.name} vs {b.name}: nearest-neighbour cosine")
            typer.echo(f"wrote {png}")
    except SeedforgeError as e:
        _fail(e)


# --- Audit: provenance, diff, report, audit (see README `## Audit`) ---------------------------

PROJECT = typer.Option(Path("."), "--project", "-C", help="the project root (a git + DVC repo)")
REPORT_OUT = typer.Option(Path("reports"), "--out", help="folder for report.html and report.md")
REPORT_EXPS = typer.Option(
    [], "--exp", help="an experiment or revision to show (repeat for side by side; 'workspace' too)"
)
AUDIT_PATH = typer.Argument(Path("."), help="the project root")
REV = typer.Option(
    None, "--rev", help="read the run at a git revision or DVC experiment instead of the workspace"
)


@app.command()
def provenance(
    id: str = typer.Argument(..., help="an example id (or a unique prefix of 6+ hex digits)"),
    as_json: bool = typer.Option(False, "--json", help="print the chain as JSON"),
    project: Path = PROJECT,
    rev: str | None = REV,
) -> None:
    """Where one example came from: seed parent, the mistake, the teacher call, gates, iteration."""
    from seedforge.audit import provenance as prov
    from seedforge.audit.snapshot import Snapshot
    from seedforge.io import dumps

    try:
        chain = prov.chain(Snapshot(project, rev), id)
    except SeedforgeError as e:
        _fail(e)
    typer.echo(dumps(chain) if as_json else prov.render(chain))


@app.command()
def diff(
    a: str = typer.Argument(
        ..., help="dataset file, iter:N[@REV], final[@REV], REV:PATH, git revision or experiment"
    ),
    b: str = typer.Argument(..., help="the same kinds as A"),
    as_json: bool = typer.Option(False, "--json", help="every added, removed and changed id, as JSON"),
    markdown: bool = typer.Option(False, "--markdown", help="tables for a pull request"),
    project: Path = PROJECT,
) -> None:
    """Row-level diff of two datasets: added, removed and changed rows, by origin/label/teacher/parent."""
    from seedforge.audit import diff as rowdiff
    from seedforge.io import dumps

    if as_json and markdown:
        _fail(SeedforgeError("--json and --markdown: choose one"))
    try:
        d = rowdiff.compare(rowdiff.resolve(a, project), rowdiff.resolve(b, project))
    except SeedforgeError as e:
        _fail(e)
    if as_json:
        typer.echo(dumps(d))
    else:
        typer.echo(rowdiff.render_markdown(d) if markdown else rowdiff.render_text(d), nl=not markdown)


@app.command()
def report(
    out: Path = REPORT_OUT,
    exp: list[str] = REPORT_EXPS,
    project: Path = PROJECT,
) -> None:
    """One self-contained HTML page (and a markdown twin) for the run or several experiments."""
    from seedforge.audit import page
    from seedforge.audit.snapshot import Snapshot

    try:
        runs = [page.collect(Snapshot(project, name)) for name in (exp or [None])]
        if not any(run.table for run in runs):
            raise SeedforgeError(f"{project / 'data/iterations'}: no iteration datasets (run `dvc repro`)")
        html, md = page.html(runs), page.markdown(runs)
    except SeedforgeError as e:
        _fail(e)
    write_text(out / "report.html", html)
    write_text(out / "report.md", md)
    typer.echo(f"{out / 'report.html'}\n{out / 'report.md'}")


@app.command()
def audit(
    path: Path = AUDIT_PATH,
    as_json: bool = typer.Option(False, "--json", help="findings as JSON"),
    rev: str | None = REV,
) -> None:
    """Integrity of a run: parents, templates, calls, provenance, test-set leakage. Exit 1 on a finding."""
    from seedforge.audit import checks as run_audit
    from seedforge.audit.snapshot import Snapshot
    from seedforge.io import dumps

    try:
        auditor = run_audit.audit(Snapshot(path, rev))
    except SeedforgeError as e:
        _fail(e)
    if as_json:
        typer.echo(dumps(auditor.summary()))
    else:
        for finding in auditor.findings:
            typer.echo(str(finding))
        verdict = f"{len(auditor.findings)} findings" if auditor.findings else "ok"
        typer.echo(
            f"audit: {verdict} ({auditor.checked_rows} rows in {len(auditor.files)} files)",
            err=bool(auditor.findings),
        )
    if auditor.findings:
        raise typer.Exit(1)

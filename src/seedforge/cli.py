"""The `seedforge` command: verbs that are not pipeline stages."""

from __future__ import annotations

import re
from pathlib import Path

import typer
import yaml

from seedforge import __version__
from seedforge.errors import SeedforgeError
from seedforge.io import write_text
from seedforge.params import load_params, parse_params

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

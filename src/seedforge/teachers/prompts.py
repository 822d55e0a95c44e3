"""Render the Jinja prompt templates in `prompts/`.

Undefined variables are errors (StrictUndefined): a template that names a variable the stage does
not provide must fail before any teacher call, not send "None" to a paid API.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from seedforge.errors import SeedforgeError
from seedforge.schema.records import TemplateRef


@dataclass(frozen=True)
class Template:
    ref: TemplateRef
    jinja: jinja2.Template

    def render(self, **variables: Any) -> str:
        return self.render_parts(**variables).text

    def render_parts(self, **variables: Any) -> Rendered:
        """The prompt text plus what the template sets for the call: `{% set prefill = "..." %}`
        (an assistant prefill the answer continues) and `{% set stop = [...] %}` (stop sequences).
        A few-shot completion template needs both next to its text, so they live in the template.
        """
        try:
            module = self.jinja.make_module(variables)
            text = str(module)
        except jinja2.UndefinedError as e:
            raise SeedforgeError(f"{self.ref.path}: template error: {e.message}") from None
        except jinja2.TemplateError as e:
            raise SeedforgeError(f"{self.ref.path}: template error: {e}") from None
        prefill = getattr(module, "prefill", "") or ""
        stop = getattr(module, "stop", None)
        if not isinstance(prefill, str) or not (stop is None or isinstance(stop, (list, tuple, str))):
            raise SeedforgeError(f"{self.ref.path}: 'prefill' must be a string and 'stop' a list of strings")
        stops = (stop,) if isinstance(stop, str) else tuple(str(x) for x in stop) if stop else None
        return Rendered(text=text, prefill=prefill, stop=stops)


@dataclass(frozen=True)
class Rendered:
    text: str
    prefill: str = ""
    stop: tuple[str, ...] | None = None


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # prompts are plain text, not HTML
    )


def load_template(path: Path | str, root: Path = Path(".")) -> Template:
    """Load a template; its ref pins the path (as given) and the sha256 of its bytes."""
    full = root / path
    if not full.exists():
        raise SeedforgeError(f"{path}: template not found")
    data = full.read_bytes()
    try:
        jinja = environment().from_string(data.decode("utf-8"))
    except jinja2.TemplateSyntaxError as e:
        raise SeedforgeError(f"{path}:{e.lineno}: template syntax error: {e.message}") from None
    ref = TemplateRef(path=str(path), sha256=hashlib.sha256(data).hexdigest())
    return Template(ref=ref, jinja=jinja)

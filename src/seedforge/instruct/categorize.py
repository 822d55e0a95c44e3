"""categorize: give each instruction one task category from a list in params.

A small model cannot be relied on to *write* a category name (SmolLM2-135M names one of the list
about never), so categories are chosen by scoring, not by writing:

- `method: embed` (the default; 0.60 accuracy on 136 hand-labelled Alpaca seed tasks against a
  majority class of 0.20, bench/README.md; `score` is not measured yet): the cosine
  similarity of the instruction to a one-line description of each category, with the gates'
  sentence encoder (MiniLM, offline). No teacher call at all.
- `method: score`: the teacher's log-probability of each category name after the prompt, as
  annotate scores labels (teachers that `can_score`: llama.cpp).
- `method: write`: the teacher writes the name (JSON through the schema when `structured`); an
  answer naming no category falls back to `fallback` (counted) or is rejected.

The scores behind the choice stay on the row (`category_scores`), softmaxed over the list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from seedforge.instruct.calls import Ask, Asker
from seedforge.instruct.outcome import Outcome
from seedforge.instruct.parsing import parse_category
from seedforge.instruct.rows import InstructionRow
from seedforge.loop.annotate import softmax
from seedforge.loop.generate import call_seed
from seedforge.teachers.prompts import Template

# One line per category of the shipped recipe (Dolly's task types). A category missing here is
# described by its name; params can override any line (instruct.categorize.descriptions).
DESCRIPTIONS = {
    "brainstorming": "Brainstorm a list of ideas, suggestions, options or things to do.",
    "classification": "Classify the text: choose a label, tell if a statement is true, or detect a property.",
    "closed_qa": "Answer a question using only the given passage, list or options.",
    "coding": "Write, complete or fix computer code, a program, a function, SQL or a regular expression.",
    "creative_writing": "Write a story, poem, joke, letter, email, review or other creative text.",
    "extraction": "Extract names, places, entities or facts from the given text.",
    "math": "Solve a math problem, equation or calculation, or convert numbers and units.",
    "open_qa": "Answer a general knowledge question or explain something about the world.",
    "rewriting": "Rewrite, paraphrase, correct or change the style of the given sentence or paragraph.",
    "summarization": "Summarize the given document, email or article in a shorter form.",
}

Encode = Callable[[Sequence[str]], np.ndarray]  # texts -> L2-normalised rows


def descriptions(categories: Sequence[str], overrides: Mapping[str, str]) -> list[str]:
    """The description of each category: params' own, else the built-in one, else its name.

    >>> descriptions(["math", "poetry_writing"], {})[1]
    'poetry writing'
    """
    return [overrides.get(c) or DESCRIPTIONS.get(c) or c.replace("_", " ") for c in categories]


def scored(scores: Sequence[float], categories: Sequence[str]) -> tuple[str, dict[str, float]]:
    """The best category (first on ties) and the softmax of the scores over the list.

    >>> scored([0.1, 0.3], ["a", "b"])[0]
    'b'
    """
    probs = softmax(scores)
    best = max(range(len(categories)), key=lambda i: (scores[i], -i))
    return categories[best], {c: round(p, 6) for c, p in zip(categories, probs, strict=True)}


def by_embedding(rows: Sequence[InstructionRow], encode: Encode, described: Sequence[str]) -> np.ndarray:
    """Cosine similarity of each instruction to each description, scaled to logits (x 1/0.05, the
    temperature SimCSE-style contrastive encoders are trained at), one row per instruction."""
    if not rows:
        return np.zeros((0, len(described)))
    sims = encode([r.instruction for r in rows]) @ encode(list(described)).T
    return np.asarray(sims, dtype=np.float64) / 0.05


def categorize(
    rows: Sequence[InstructionRow],
    template: Template,
    asker: Asker | None,
    categories: list[str],
    fallback: str | None,
    run_seed: int,
    method: str = "write",
    encode: Encode | None = None,
    overrides: Mapping[str, str] | None = None,
) -> Outcome:
    out = Outcome("categorize")
    described = descriptions(categories, overrides or {})
    if method == "embed":
        assert encode is not None
        for row, sims in zip(rows, by_embedding(rows, encode, described), strict=True):
            category, probs = scored(list(sims), categories)
            out.rows.append(row.model_copy(update={"category": category, "category_scores": probs}))
        out.extra = {"method": method, "fallback_by_reason": {}}  # a scored choice never falls back
        return out
    assert asker is not None
    prompts = [
        template.render(instruction=r.instruction, categories=categories, descriptions=described)
        for r in rows
    ]
    if method == "score":
        options = [" " + c for c in categories]
        for row, (call, logprobs) in zip(
            rows, asker.score([p + "\n\nCategory:" for p in prompts], options), strict=True
        ):
            category, probs = scored(logprobs, categories)
            update = {"category": category, "category_scores": probs, "category_call": call}
            out.rows.append(row.model_copy(update=update))
        out.extra = {"method": method, "fallback_by_reason": {}}
        return out
    asks = [
        Ask(p, seed=call_seed(run_seed, "categorize", r.id), schema=schema(categories))
        for p, r in zip(prompts, rows, strict=True)
    ]
    fell_back: dict[str, int] = {}
    for row, answer in zip(rows, asker.ask(asks), strict=True):
        parsed = parse_category(answer.text, categories)
        if parsed.errors and fallback is None:
            out.reject(parsed.errors[0], answer.call, [row.id], id=row.id, raw=answer.text)
            continue
        if parsed.errors:
            fell_back[parsed.errors[0]] = fell_back.get(parsed.errors[0], 0) + 1
        category = parsed.items[0] if parsed.items else fallback
        out.rows.append(row.model_copy(update={"category": category, "category_call": answer.call}))
    out.extra = {"method": method, "fallback_by_reason": dict(sorted(fell_back.items()))}
    return out


def schema(categories: Sequence[str]) -> dict[str, object]:
    """The structured answer: one category, constrained to the list.

    >>> schema(["math", "coding"])["properties"]["category"]["enum"]
    ['math', 'coding']
    """
    return {
        "type": "object",
        "properties": {"category": {"type": "string", "enum": list(categories)}},
        "required": ["category"],
    }

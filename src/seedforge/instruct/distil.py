"""distil: teach a small LM (SmolLM2-135M + LoRA) to do what the big instruct teacher did.

Training pairs are the teacher's own work, rendered with the operators' templates so the small
model sees at training time exactly the prompt expand/refine will send it:
- expand: the seeds a call was shown -> the instructions kept from that call, as a numbered list;
- refine: an expanded instruction -> its refined form.
Training and the GGUF adapter export are `teacher_finetune.tune` (one code path); the adapter is
served by a teacher profile (`instruct.distil.profile`, `lora: models/instruct/distil/adapter.gguf`)
and `expand_distilled` reruns expand with it. `compare` puts the two expansions side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seedforge.config.params import Params
from seedforge.instruct.rows import InstructionRow
from seedforge.teachers.prompts import Template

ADAPTER = "models/instruct/distil/adapter.gguf"  # where the distil stage writes the adapter


def training_pairs(
    seeds: Sequence[InstructionRow],
    expanded: Sequence[InstructionRow],
    refined: Sequence[InstructionRow],
    expand_template: Template,
    refine_template: Template,
    n: int,
) -> list[dict[str, str]]:
    """(prompt, completion) pairs, sorted, as rows `{"operator", "call", "prompt", "completion"}`."""
    by_id = {r.id: r for r in [*seeds, *expanded]}
    calls: dict[str, list[InstructionRow]] = {}
    for row in expanded:
        calls.setdefault(row.call or row.id, []).append(row)
    pairs = []
    for call, rows in sorted(calls.items()):
        shown = [by_id[p].instruction for p in rows[0].parent_ids if p in by_id]
        if not shown:
            continue
        listing = "\n".join(
            f"{i}. {r.instruction}" for i, r in enumerate(sorted(rows, key=lambda r: r.id), 1)
        )
        prompt = expand_template.render(examples=shown, n=n, topics=[])
        pairs.append({"operator": "expand", "call": call, "prompt": prompt, "completion": listing})
    for row in sorted(refined, key=lambda r: r.id):
        parent = by_id.get(row.parent_ids[0]) if row.parent_ids else None
        if parent is None:
            continue
        prompt = refine_template.render(instruction=parent.instruction)
        pairs.append(
            {
                "operator": "refine",
                "call": row.call or row.id,
                "prompt": prompt,
                "completion": row.instruction,
            }
        )
    return pairs


def cost(params: Params, profile: str, metrics: dict[str, Any], rows: int) -> dict[str, Any]:
    """Tokens (and money, when the profile has `price_per_million`) per 1,000 kept rows."""
    prompt, completion = metrics.get("prompt_tokens", 0), metrics.get("completion_tokens", 0)
    per = 1000 / rows if rows else None
    out: dict[str, Any] = {
        "calls": metrics.get("calls", 0),
        "tokens": prompt + completion,
        "tokens_per_1000_rows": None if per is None else round((prompt + completion) * per, 1),
        "cost_per_1000_rows": None,
    }
    price = getattr(params.teachers[profile], "price_per_million", None)
    if price is not None and per is not None:
        out["cost_per_1000_rows"] = round(
            (prompt * price.prompt + completion * price.completion) / 1e6 * per, 6
        )
    return out


def side(
    rows: Sequence[InstructionRow],
    expand_metrics: dict[str, Any],
    judged: dict[str, Any],
    near_duplicates: int,
    cost_view: dict[str, Any],
) -> dict[str, Any]:
    """One expansion's column of the comparison.

    The dedup rate is the share of what the teacher wrote that was a duplicate: expand's own
    text/topic duplicates plus embedding near-duplicates (of a seed or of each other) among the
    rows it kept.
    """
    dup = sum(
        n for reason, n in expand_metrics.get("rejected_by_reason", {}).items() if "duplicate" in reason
    )
    written = len(rows) + dup
    return {
        "rows": len(rows),
        "judge_mean_score": judged.get("mean_score"),
        "judge_scored": judged.get("scored", 0),
        "dedup_rate": round((dup + near_duplicates) / written, 4) if written else None,
        **cost_view,
    }

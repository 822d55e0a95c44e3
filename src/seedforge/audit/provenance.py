"""Where one example came from, and why it is in: the chain from seed to dataset.

For a generated example: the seed example it descends from; the iteration whose student got that
seed example wrong, and what it answered; the teacher call (profile, model, template path and
sha256, sampling params, the rendered request and the whole raw output); the parsed example; the
gate scores it passed with; the iteration it entered. For an annotated example (DAFTT, annotate@i):
the pool row it was read from, the wrong seed example it was picked for, the teacher that
labelled it and the label's probability. For a seed example: every descendant, by iteration, and
each iteration's verdict on it. An example that was dropped is found in the rejects (filter@i's or
annotate@i's), with its reason and its call or pool row.

An instruction row of the instruction pipeline (data/instruct/*.jsonl) is followed back through
its `parent_ids`, one operator at a time (respond <- refine <- expand <- seed), to the seed rows
it descends from and the file line each seed was read from; each hop shows the call that wrote it.
"""

from __future__ import annotations

import textwrap
from typing import Any

from seedforge.audit.snapshot import Snapshot
from seedforge.errors import SeedforgeError
from seedforge.instruct.rows import InstructionRow
from seedforge.schema import layout
from seedforge.schema.records import Record
from seedforge.schema.rows import CallRow, PredictionRow, RejectRow

MIN_PREFIX = 6  # like git: a unique prefix of an id names it


def _match(ids: list[str], query: str) -> str | None:
    """The id that `query` names: equal, or the one id it is a unique prefix of.

    >>> _match(["abc123", "abd456"], "abc1"), _match(["abc123", "abc456"], "abc")
    (None, None)
    >>> _match(["abc123ff", "abd45600"], "abc123")
    'abc123ff'
    """
    if query in ids:
        return query
    if len(query) < MIN_PREFIX:
        return None
    hits = [i for i in ids if i.startswith(query)]
    return hits[0] if len(hits) == 1 else None


def _dataset_records(snap: Snapshot) -> tuple[dict[str, Record], dict[str, list[int]]]:
    """Every record in any iteration's dataset (latest copy wins), and the iterations holding it."""
    records: dict[str, Record] = {}
    present: dict[str, list[int]] = {}
    for i in snap.iterations():
        for r in snap.records(layout.dataset(i)):
            records[r.id] = r
            present.setdefault(r.id, []).append(i)
    return records, present


def _calls(snap: Snapshot, i: int) -> dict[str, CallRow]:
    return {c.call: c for c in snap.rows(layout.calls(i), CallRow)}


def _seed_prediction(snap: Snapshot, i: int, seed_id: str) -> PredictionRow | None:
    for p in snap.rows(layout.predictions(i), PredictionRow):
        if p.split == "seed" and p.id == seed_id:
            return p
    return None


def _call_view(call: CallRow | None) -> dict[str, Any] | None:
    if call is None:
        return None
    return {
        "call": call.call,
        "teacher": call.teacher.model_dump(),
        "template": call.template.model_dump(),
        "sampling": call.sampling,
        "request": call.request.text(),
        "raw": call.raw,
        "finish_reason": call.finish_reason,
        "usage": call.usage,
        "attempts": call.attempts,
        "error": None if call.error is None else call.error.model_dump(),
    }


def _generated(snap: Snapshot, rec: Record, present: list[int], seeds: dict[str, Record]) -> dict[str, Any]:
    """The chain of a generated record that entered iteration `rec.iteration`."""
    round_ = rec.iteration - 1  # the round whose student's mistake triggered the call
    call = _calls(snap, round_).get(rec.call) if rec.call else None
    parent = seeds.get(rec.parent_id) if rec.parent_id else None
    siblings = sorted(
        r.id for r in snap.records(layout.kept(round_)) if r.call == rec.call and r.id != rec.id
    )
    return {
        "id": rec.id,
        "kind": "generated",
        "example": rec.to_row(),
        "entered": {"iteration": rec.iteration, "in_datasets": present},
        "seed": None if parent is None else parent.to_row(),
        "trigger": _trigger(snap, round_, rec.parent_id),
        "teacher": None if rec.teacher is None else rec.teacher.model_dump(),
        "template": None if rec.template is None else rec.template.model_dump(),
        "sampling": rec.sampling,
        "call": _call_view(call),
        "gates": rec.gates,
        "siblings": siblings,
    }


def _trigger(snap: Snapshot, round_: int, parent_id: str | None) -> dict[str, Any]:
    """Round `round_`'s verdict on the seed example a new row was made for."""
    prediction = _seed_prediction(snap, round_, parent_id) if parent_id else None
    return {
        "iteration": round_,
        "selected": any(s["id"] == parent_id for _, s in snap.lines(layout.selected(round_))),
        "prediction": None if prediction is None else prediction.to_row(),
    }


def _pool_row(snap: Snapshot, text: str) -> dict[str, Any] | None:
    """The row of data/prepared/pool.jsonl holding `text` (pool ids hash the input with no label)."""
    return next((row for _, row in snap.lines(layout.prepared("pool")) if row.get("input") == text), None)


def _annotated(snap: Snapshot, rec: Record, present: list[int], seeds: dict[str, Record]) -> dict[str, Any]:
    """The chain of a pool row that annotate@(i-1) labelled and that entered iteration i."""
    round_ = rec.iteration - 1
    parent = seeds.get(rec.parent_id) if rec.parent_id else None
    return {
        "id": rec.id,
        "kind": "annotated",
        "example": rec.to_row(),
        "entered": {"iteration": rec.iteration, "in_datasets": present},
        "pool": _pool_row(snap, rec.input),
        "seed": None if parent is None else parent.to_row(),
        "trigger": _trigger(snap, round_, rec.parent_id),
        "teacher": None if rec.teacher is None else rec.teacher.model_dump(),
        "probability": rec.gates.get("probability"),
        "gates": rec.gates,
    }


def _seed(snap: Snapshot, rec: Record, records: dict[str, Record], present: list[int]) -> dict[str, Any]:
    """A seed example's history: each iteration's verdict on it, and what was made from it."""
    history = []
    for i in snap.iterations():
        prediction = _seed_prediction(snap, i, rec.id)
        calls = [c for c in _calls(snap, i).values() if c.parent_id == rec.id]
        rejects = [r for r in snap.rows(layout.rejects(i), RejectRow) if r.parent_id == rec.id]
        kept = [r.id for r in snap.records(layout.kept(i)) if r.parent_id == rec.id]
        annotated = [r.id for r in snap.records(layout.annotated(i)) if r.parent_id == rec.id]
        pool_rejects = [r for r in snap.rows(layout.annotate_rejects(i), RejectRow) if r.parent_id == rec.id]
        history.append(
            {
                "iteration": i,
                "prediction": None if prediction is None else prediction.to_row(),
                "selected": any(s["id"] == rec.id for _, s in snap.lines(layout.selected(i))),
                "calls": len(calls),
                "kept": sorted(kept),
                "rejected": len(rejects),
                "annotated": sorted(annotated),
                "annotate_rejected": len(pool_rejects),
            }
        )
    descendants: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(records.values(), key=lambda r: (r.iteration, r.id)):
        if r.parent_id == rec.id and r.origin != "seed":
            descendants.setdefault(str(r.iteration), []).append(r.to_row())
    return {
        "id": rec.id,
        "kind": "seed",
        "example": rec.to_row(),
        "entered": {"iteration": rec.iteration, "in_datasets": present},
        "history": history,
        "descendants": descendants,
    }


def _rejected(snap: Snapshot, query: str) -> dict[str, Any] | None:
    for i in reversed(snap.iterations()):
        for stage, path in (
            ("filter", layout.rejects(i)),
            ("annotate", layout.annotate_rejects(i)),
            ("merge", layout.merge_rejects(i)),
        ):
            rows = snap.rows(path, RejectRow)
            found = _match([r.id for r in rows if r.id], query)
            if found:
                reject = next(r for r in rows if r.id == found)
                call = _calls(snap, i).get(reject.call) if reject.call else None
                return {
                    "id": found,
                    "kind": "rejected",
                    "stage": stage,
                    "reject": reject.to_row(),
                    "trigger": {"iteration": i},
                    "call": _call_view(call),
                    "pool": _pool_row(snap, reject.input or "") if stage == "annotate" else None,
                }
    return None


def _held_out(snap: Snapshot, query: str) -> dict[str, Any] | None:
    for split in ("test", "dev"):
        rows = snap.records(layout.prepared(split))
        found = _match([r.id for r in rows], query)
        if found:
            rec = next(r for r in rows if r.id == found)
            verdicts = []
            for i in snap.iterations():
                p = next((p for p in snap.rows(layout.predictions(i), PredictionRow) if p.id == found), None)
                verdicts.append({"iteration": i, "prediction": None if p is None else p.to_row()})
            return {"id": found, "kind": split, "example": rec.to_row(), "history": verdicts}
    return None


def _final(snap: Snapshot, rid: str) -> dict[str, Any]:
    """Whether the shipped dataset (stage final) holds the row, and which iteration it is."""
    chosen = snap.json(layout.FINAL_METRICS)
    if not chosen or not snap.exists(layout.FINAL_DATASET):
        return {}
    ids = {r.id for r in snap.records(layout.FINAL_DATASET)}
    return {"final": {"iteration": chosen.get("iteration"), "in_final": rid in ids}}


def chain(snap: Snapshot, query: str) -> dict[str, Any]:
    """The provenance of the example `query` names (an id or a unique prefix of at least 6 digits)."""
    records, present = _dataset_records(snap)
    seeds = {r.id: r for r in snap.records(layout.prepared("seed"))}
    found = _match(sorted(records), query) or _match(sorted(seeds), query)
    if found is not None:
        rec = records.get(found) or seeds[found]
        if rec.origin == "seed":
            out = _seed(snap, rec, records, present.get(found, []))
        elif rec.origin == "annotated":
            out = _annotated(snap, rec, present.get(found, []), seeds)
        else:
            out = _generated(snap, rec, present.get(found, []), seeds)
        return out | _final(snap, found)
    for other in (_rejected(snap, query), _held_out(snap, query), _instruction(snap, query)):
        if other is not None:
            return other
    raise SeedforgeError(
        f"{query}: no example with this id in {snap.where(layout.ITERATIONS)} "
        f"(datasets, rejects), {snap.where(layout.PREPARED)} or {snap.where(layout.INSTRUCT)}"
    )


def _instruction_rows(snap: Snapshot) -> tuple[dict[str, InstructionRow], dict[str, list[str]]]:
    """Every instruction row (the latest file's copy wins) and the files holding each id."""
    rows: dict[str, InstructionRow] = {}
    files: dict[str, list[str]] = {}
    for name in layout.INSTRUCT_FILES:
        for r in snap.rows(layout.instruct(name), InstructionRow):
            rows[r.id] = r
            if name not in files.setdefault(r.id, []):
                files[r.id].append(name)
    return rows, files


def _hop(row: InstructionRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "operator": row.operator,
        "origin": row.origin,
        "instruction": row.instruction,
        "context": row.context,
        "response": row.response,
        "source": row.source,
        "call": row.call,
        "teacher": None if row.teacher is None else row.teacher.model_dump(),
        "template": None if row.template is None else row.template.model_dump(),
        "sampling": row.sampling,
        "raw": row.raw,
    }


def _instruction(snap: Snapshot, query: str) -> dict[str, Any] | None:
    """An instruction row's chain back to its seeds, or its reject rows when it was dropped."""
    rows, files = _instruction_rows(snap)
    found = _match(sorted(rows), query)
    if found is None:
        for op in layout.INSTRUCT_OPERATORS:
            for _, rej in snap.lines(layout.instruct_rejects(op)):
                rid = rej.get("id")
                if rid and _match([rid], query):
                    return {"id": rid, "kind": "instruction_rejected", "reject": rej}
        return None
    row = rows[found]
    hops, current, seen = [], row, {found}
    while current.origin != "seed" and current.parent_ids and current.parent_ids[0] in rows:
        current = rows[current.parent_ids[0]]
        if current.id in seen:
            break
        seen.add(current.id)
        hops.append(_hop(current))
    return {
        "id": found,
        "kind": "instruction",
        "example": row.to_row(),
        "files": files[found],
        "chain": hops,  # parent first, the seed last
        "seeds": [_hop(rows[s]) if s in rows else {"id": s, "missing": True} for s in row.seed_ids],
        "parents": row.parent_ids,
    }


def _render_instruction(c: dict[str, Any]) -> str:
    if c["kind"] == "instruction_rejected":
        r = c["reject"]
        return f"{c['id']}: instruction rejected by {r.get('operator')} ({r['reason']}), call {r.get('call')}"
    ex = c["example"]
    lines = [
        f"{c['id']}: instruction ({ex['origin']}, by {ex['operator']}) in {', '.join(c['files'])}",
        f"  instruction: {_clip(ex['instruction'])}",
        f"  response:    {_clip(ex['response'])}",
        f"  call: {ex['call'] or '-'}  sampling: {_sampling(ex['sampling'])}",
    ]
    if ex.get("judge"):
        j = ex["judge"]
        lines.append(f"  judge: {j['score']} from the {j.get('source', 'text')}, call {j['call']}")
        if j.get("distribution"):  # P(score) of each score token, the mean above
            lines.append("    P(score): " + " ".join(f"{k}:{p:.2f}" for k, p in j["distribution"].items()))
        if j.get("reason"):
            lines.append(f"    reason: {_clip(j['reason'], 60)}")
        if j.get("relevance") is not None:  # the off-topic check it passed (judge.min_relevance)
            lines.append(f"    relevance: {j['relevance']} (cosine of instruction and response)")
    if ex.get("category"):
        scores = ex.get("category_scores") or {}
        top = sorted(scores.items(), key=lambda kv: -kv[1])[:3]
        detail = ", ".join(f"{c} {p:.2f}" for c, p in top)
        lines.append(f"  category: {ex['category']}" + (f" (P: {detail})" if detail else ""))
    for h in c["chain"]:
        t = h["template"] or {}
        lines.append(f"  <- {h['id']} {h['origin']} by {h['operator']}: {_clip(h['instruction'], 70)}")
        if h["origin"] == "seed":
            lines.append(f"     from {h['source']}")
        else:
            lines.append(f"     call {h['call']} template {t.get('path')}")
    lines.append("seeds: " + (", ".join(s["id"] for s in c["seeds"]) or "-"))
    if not c["seeds"] and c["parents"]:
        lines.append(f"parents (passages): {', '.join(c['parents'])}  source {ex.get('source')}")
    return "\n".join(lines)


def _clip(text: str | None, width: int = 100) -> str:
    return "" if text is None else textwrap.shorten(" ".join(text.split()), width, placeholder="…")


def _block(title: str, text: str | None) -> list[str]:
    body = "(none)" if text is None else text.rstrip("\n")
    return [f"── {title} " + "─" * max(0, 60 - len(title)), body]


def _sampling(params: dict[str, Any] | None) -> str:
    return "-" if not params else " ".join(f"{k}={v}" for k, v in sorted(params.items()))


def render(c: dict[str, Any]) -> str:
    """The chain as text for a terminal."""
    kind = c["kind"]
    if kind.startswith("instruction"):
        return _render_instruction(c)
    if kind == "rejected":
        r = c["reject"]
        lines = [
            f"{c['id']}: rejected in round {c['trigger']['iteration']} ({r['reason']})",
            f"  input:  {_clip(r['input'])}",
            f"  output: {_clip(r['output'])}",
            f"  parent: {r['parent_id']}",
        ]
        if r.get("matched_id"):
            lines.append(f"  matched: {r['matched_id']} (score {r['score']})")
        if c.get("stage") == "annotate":  # a pool row the teacher labelled: there is no call
            pool = c.get("pool") or {}
            lines.append(f"  pool row: {pool.get('id', '(not in the pool file)')} (labelled by annotate@)")
            if r["score"] is not None and r["reason"] == "unsure":
                lines.append(f"  label probability: {r['score']:g}")
            return "\n".join(lines)
        return "\n".join(lines + _call_lines(c["call"]))
    ex = c["example"]
    head = [
        f"{c['id']}: {kind} example",
        f"  input:  {_clip(ex['input'])}",
        f"  output: {_clip(ex['output'])}",
    ]
    if c.get("final"):
        where = "in" if c["final"]["in_final"] else "not in"
        head.append(f"  final:  {where} the final dataset (iteration {c['final']['iteration']})")
    if kind in ("test", "dev"):
        return "\n".join(head + _verdicts(c["history"]))
    if kind == "seed":
        lines = [*head, "  entered: iteration 0 (the seed set)", "by iteration:"]
        for h in c["history"]:
            p = h["prediction"]
            verdict = "?" if p is None else _verdict(p)
            lines.append(
                f"  {h['iteration']}: student {verdict}; selected {'yes' if h['selected'] else 'no'}; "
                f"{h['calls']} calls, {len(h['kept'])} kept, {h['rejected']} rejected"
                + (
                    f"; pool: {len(h['annotated'])} annotated, {h['annotate_rejected']} rejected"
                    if h.get("annotated") or h.get("annotate_rejected")
                    else ""
                )
            )
        total = sum(len(v) for v in c["descendants"].values())
        lines.append(f"descendants: {total}")
        for it, rows in c["descendants"].items():
            lines.append(f"  entered iteration {it}:")
            lines += [
                f"    {r['id']}  {r['origin']:<9} {r['output']:<12} {_clip(r['input'], 60)}" for r in rows
            ]
        return "\n".join(lines)
    lines = [*head, *_parent_lines(c)]
    if kind == "annotated":
        pool, teacher = c["pool"] or {}, c["teacher"] or {}
        lines += [
            f"pool row: {pool.get('id', '(NOT FOUND in ' + layout.prepared('pool') + ')')}",
            f"teacher: {teacher.get('profile')} ({teacher.get('backend')}, model {teacher.get('model')})",
            "label probability: " + ("-" if c["probability"] is None else f"{c['probability']:g}"),
            *_gate_lines(c["gates"]),
        ]
        return "\n".join(lines)
    teacher, template = c["teacher"] or {}, c["template"] or {}
    lines += [
        f"teacher: {teacher.get('profile')} ({teacher.get('backend')}, model {teacher.get('model')})",
        f"template: {template.get('path')} sha256 {template.get('sha256')}",
        f"sampling: {_sampling(c['sampling'])}",
    ]
    lines += _call_lines(c["call"], example_call=ex.get("call"))
    lines += _gate_lines(c["gates"])
    if c["siblings"]:
        lines.append(f"same call also gave: {', '.join(c['siblings'])}")
    return "\n".join(lines)


def _gate_lines(gates: dict[str, float]) -> list[str]:
    scores = ", ".join(f"{k} {v:g}" for k, v in sorted(gates.items()))
    return ["gates: " + (scores or "passed (no scores recorded)")]


def _parent_lines(c: dict[str, Any]) -> list[str]:
    """When the row entered, the seed example it was made for, and that round's verdict on it."""
    ex, t, seed = c["example"], c["trigger"], c["seed"]
    p = t["prediction"]
    lines = [
        f"  entered: iteration {c['entered']['iteration']} "
        f"(in datasets {c['entered']['in_datasets'] or '-'})",
        f"seed parent: {ex['parent_id']}" + ("  (MISSING from the seed set)" if seed is None else ""),
    ]
    if seed is not None:
        lines += [f"  input:  {_clip(seed['input'])}", f"  output: {_clip(seed['output'])}"]
    if p is None:
        lines.append(f"trigger: round {t['iteration']} (no prediction row for the parent)")
    else:
        verdict = _verdict(p, said=False)
        lines.append(
            f"trigger: iteration {t['iteration']}'s student answered {_clip(p['prediction'], 40)!r} "
            f"(answer {p['answer']!r}, expected {_clip(p['output'], 30)!r}: {verdict}); "
            f"selected: {'yes' if t['selected'] else 'no'}"
        )
    return lines


def _verdict(p: dict[str, Any], said: bool = True) -> str:
    """The student's verdict on a seed row; a right one says how sure it was, since `hardest` picks
    right answers for being unsure.

    >>> _verdict({"correct": True, "confidence": 0.412, "answer": "a"})
    'right, gold probability 0.41'
    >>> _verdict({"correct": False, "answer": "b"}), _verdict({"correct": False, "answer": "b"}, said=False)
    ("wrong (said 'b')", 'wrong')
    """
    if not p["correct"]:
        return f"wrong (said {_clip(p['answer'], 30)!r})" if said else "wrong"
    sure = p.get("confidence")
    return "right" if sure is None else f"right, gold probability {sure:.2f}"


def _call_lines(call: dict[str, Any] | None, example_call: str | None = None) -> list[str]:
    if call is None:
        return [f"call: {example_call or '-'} (NOT FOUND in the calls file)"]
    usage = call["usage"] or {}
    lines = [
        f"call: {call['call']} (finish {call['finish_reason']}, tokens {usage.get('prompt_tokens', '?')} in "
        f"+ {usage.get('completion_tokens', '?')} out, attempts {call['attempts']})"
    ]
    if call["error"]:
        lines.append(f"  error: {call['error']['cause']}: {call['error']['message']}")
    return lines + _block("request", call["request"]) + _block("raw output", call["raw"])


def _verdicts(history: list[dict[str, Any]]) -> list[str]:
    out = []
    for h in history:
        p = h["prediction"]
        out.append(
            f"  iteration {h['iteration']}: "
            + ("-" if p is None else f"{'right' if p['correct'] else 'wrong'} (answer {p['answer']!r})")
        )
    return out

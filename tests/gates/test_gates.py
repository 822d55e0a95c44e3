from seedforge.gates import ExactDuplicate, TaskGate, count_reasons, run_gates
from seedforge.loop.candidates import candidates
from seedforge.loop.filter import filter_calls
from seedforge.schema.records import Record
from seedforge.schema.rows import REJECT_FIELDS
from seedforge.tasks import get_task

LABELS = ["account", "billing", "delivery", "technical"]
TASK = get_task("classification").with_labels(LABELS)


def call(raw: str | None, call_id: str = "c1") -> dict:
    return {
        "call": call_id,
        "parent_id": "p1",
        "raw": raw,
        "teacher": {"profile": "tiny", "backend": "llamacpp", "model": "model.gguf"},
        "template": {"path": "prompts/classification.jinja", "sha256": "0" * 64},
        "sampling": {"temperature": 1.0, "seed": 7, "sample": 0},
    }


RAW = """Sure! Here are 4 new examples:

1. Input: My card was billed twice for one order
   Label: Billing

2. Input: the courier left my box in the rain
   Label: delivery

3. Input: I want a refund
   Label: refunds

4. Input: Where is my parcel?
"""


def test_candidates_carry_provenance_and_canonical_labels() -> None:
    records, rejects = candidates(call(RAW), TASK, iteration=1)
    assert [r.output for r in records] == ["billing", "delivery", "refunds"]
    first = records[0]
    assert first.origin == "generated" and first.iteration == 1 and first.parent_id == "p1"
    assert first.teacher is not None and first.teacher.profile == "tiny"
    assert first.sampling == {"temperature": 1.0, "seed": 7, "sample": 0}
    assert first.call == "c1"  # the raw output stays in the call row
    assert [r["reason"] for r in rejects] == ["parse:missing_field:label"]
    assert all(tuple(r) == REJECT_FIELDS for r in rejects)


def test_older_call_rows_name_sampling_generation() -> None:
    row = call(RAW)
    row["generation"] = row.pop("sampling")
    records, _ = candidates(row, TASK, iteration=1)
    assert records[0].sampling == {"temperature": 1.0, "seed": 7, "sample": 0}
    assert records[0].call == "c1"


def test_failed_call_is_counted_not_parsed() -> None:
    records, rejects = candidates(call(None), TASK, iteration=1)
    assert records == []
    assert rejects == [
        {
            "reason": "call:error",
            "call": "c1",
            "parent_id": "p1",
            "id": None,
            "input": None,
            "output": None,
            "matched_id": None,
            "score": None,
            "answer": None,
        }
    ]


def test_gates_reject_with_reasons_and_keep_the_rest() -> None:
    records, _ = candidates(
        call(RAW + "\nInput: the courier left my box in the rain\nLabel: delivery\n"),
        TASK,
        iteration=1,
    )
    in_dataset = Record.seed("classification", "My card was billed twice for one order", "billing")
    kept, rejects = run_gates(records, [TaskGate(TASK), ExactDuplicate([in_dataset.id])])
    assert [r.input for r in kept] == ["the courier left my box in the rain"]
    assert count_reasons(rejects) == {
        "duplicate:batch": 1,
        "duplicate:dataset": 1,
        "invalid:label_not_in_set": 1,
    }
    assert all(r["call"] == "c1" and r["parent_id"] == "p1" for r in rejects)
    dup = next(r for r in rejects if r["reason"] == "duplicate:dataset")
    assert dup["matched_id"] == in_dataset.id and dup["score"] == 1.0


def test_output_with_no_examples_is_counted() -> None:
    records, rejects = candidates(call("I cannot help with that."), TASK, iteration=1)
    assert records == [] and [r["reason"] for r in rejects] == ["parse:no_examples"]


def test_filter_calls_counts_every_candidate() -> None:
    existing = [Record.seed("classification", "My card was billed twice for one order", "billing").id]
    chain = [TaskGate(TASK), ExactDuplicate(existing)]
    kept, rejects, counts = filter_calls([call(RAW), call(None, "c0")], chain, TASK, iteration=0)
    assert [r.input for r in kept] == ["the courier left my box in the rain"]
    assert counts == {
        "iteration": 0,
        "calls": 2,
        "parsed": 3,
        "kept": 1,
        "rejected": 4,
        "rejected_by_reason": {
            "call:error": 1,
            "duplicate:dataset": 1,
            "invalid:label_not_in_set": 1,
            "parse:missing_field:label": 1,
        },
    }
    assert all(r.iteration == 1 for r in kept)  # they enter the next iteration's dataset
    assert [r["reason"] for r in rejects] == sorted(counts["rejected_by_reason"])  # sorted by call, reason

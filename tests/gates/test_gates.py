from seedforge.gates import ExactDuplicate, TaskGate, candidates, count_reasons, filter_generations, run_gates
from seedforge.records import Record
from seedforge.tasks import get_task

LABELS = ["account", "billing", "delivery", "technical"]
TASK = get_task("classification").with_labels(LABELS)


def generation(raw: str) -> dict:
    return {
        "call": "c1",
        "parent_id": "p1",
        "raw": raw,
        "teacher": {"profile": "tiny", "backend": "llamacpp", "model": "model.gguf"},
        "template": {"path": "prompts/classification.jinja", "sha256": "0" * 64},
        "generation": {"temperature": 1.0, "seed": 7, "sample": 0},
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
    records, rejects = candidates(generation(RAW), TASK, iteration=1)
    assert [r.output for r in records] == ["billing", "delivery", "refunds"]
    first = records[0]
    assert first.origin == "generated" and first.iteration == 1 and first.parent_id == "p1"
    assert first.teacher is not None and first.teacher.profile == "tiny"
    assert first.generation == {"temperature": 1.0, "seed": 7, "sample": 0, "call": "c1"}
    assert first.raw == RAW
    assert [r["reason"] for r in rejects] == ["parse:missing_field:label"]


def test_gates_reject_with_reasons_and_keep_the_rest() -> None:
    records, _ = candidates(
        generation(RAW + "\nInput: the courier left my box in the rain\nLabel: delivery\n"),
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


def test_output_with_no_examples_is_counted() -> None:
    records, rejects = candidates(generation("I cannot help with that."), TASK, iteration=1)
    assert records == [] and [r["reason"] for r in rejects] == ["parse:no_examples"]


def test_filter_generations_counts_every_candidate() -> None:
    existing = [Record.seed("classification", "My card was billed twice for one order", "billing").id]
    kept, rejects, counts = filter_generations([generation(RAW)], TASK, existing, iteration=0)
    assert [r.input for r in kept] == ["the courier left my box in the rain"]
    assert counts == {
        "iteration": 0,
        "calls": 1,
        "parsed": 3,
        "kept": 1,
        "rejected": 3,
        "rejected_by_reason": {
            "duplicate:dataset": 1,
            "invalid:label_not_in_set": 1,
            "parse:missing_field:label": 1,
        },
    }
    assert all(r.iteration == 1 for r in kept)  # they enter the next iteration's dataset
    assert [r["reason"] for r in rejects] == sorted(counts["rejected_by_reason"])  # sorted by call, reason

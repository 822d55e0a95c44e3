"""Fine-tuning speed: seconds per optimiser step through `seedforge.training.finetune`.

1. SmolLM2-135M LoRA (the tuned teacher's default settings: r=8 on q/k/v/o) on SST-2 few-shot
   pairs, at three batch shapes.
2. The tiny teacher's training, through the shared Trainer-based path and through the hand-written
   loop it replaced (that loop is loaded from git, `--old-ref`, not kept in the tree).

    .venv/bin/python bench/finetune.py [--steps 6] [--old-ref c986b6e] [--skip-tiny] [--skip-smollm2]
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from seedforge.schema.records import Record  # noqa: E402
from seedforge.tasks import get_task  # noqa: E402
from seedforge.training import finetune, teacher_finetune, tinylm  # noqa: E402

SST2 = REPO.parent / "shared" / "data" / "sst2" / "train.tsv"


def sst2_pairs(n: int, shots: int) -> list[tuple[str, str]]:
    rows = [line.rstrip("\n").split("\t", 1) for line in SST2.open(encoding="utf-8")][:200]
    seeds = [Record.seed("classification", text, label) for label, text in rows]
    return teacher_finetune.training_pairs(seeds, get_task("classification"), shots, n, seed=0)


def smollm2(steps: int, shapes: list[tuple[int, int]]) -> None:
    """Print seconds per step for each (batch, max tokens), LoRA r=8 on q/k/v/o, as each is done."""
    start = time.perf_counter()
    tokenizer, model, _ = teacher_finetune.load_base("smollm2")
    print(f"SmolLM2 load from GGUF (transformers, dequantised): {time.perf_counter() - start:.1f} s")
    torch.manual_seed(0)
    model = finetune.add_lora(model, 8, 16, 0.05, ["q_proj", "k_proj", "v_proj", "o_proj"])
    for batch_size, max_length in shapes:
        pairs = sst2_pairs(batch_size * (steps + 1), shots=3)
        for n in (1, steps):  # one warm-up step, then the timed ones
            config = finetune.FitConfig(
                learning_rate=2e-4, batch_size=batch_size, seed=0, steps=n, device="cpu"
            )
            start = time.perf_counter()
            finetune.train_completions(model, tokenizer, pairs, max_length, config)
        seconds = (time.perf_counter() - start) / steps
        print(
            f"| SmolLM2-135M LoRA r=8 q/k/v/o | Trainer | {batch_size} x {max_length} | {seconds:.2f} |",
            flush=True,
        )


def old_tinylm(ref: str):
    source = subprocess.run(
        ["git", "show", f"{ref}:src/seedforge/tinylm.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "old_tinylm.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_tinylm", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_tinylm"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def tiny(module, tok, steps: int) -> float:
    """Seconds per step training the tiny teacher (default size) on rendered-prompt-like pairs."""
    pairs = [(tinylm.chat_prompt(tok, p), c) for p, c in sst2_pairs(64, shots=3)]
    config = module.TinyConfig(steps=steps, batch_size=8, seed=0)
    model = module.build_model(tok, config)
    start = time.perf_counter()
    module.train_completions(model, tok, pairs, config)
    return (time.perf_counter() - start) / steps


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--tiny-steps", type=int, default=100)
    ap.add_argument("--skip-smollm2", action="store_true")
    ap.add_argument("--skip-tiny", action="store_true")
    ap.add_argument("--old-ref", default="c986b6e", help="git ref with the hand-written tinylm loop")
    args = ap.parse_args()
    print(f"{platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    tok = tinylm.train_tokenizer([p + c for p, c in sst2_pairs(64, shots=3)], 1024)
    old = old_tinylm(args.old_ref)
    print("| model | path | batch x max tokens | s / step |")
    print("|---|---|---|---|")
    for name, module in (
        ("Trainer (seedforge.training.finetune)", tinylm),
        (f"hand loop ({args.old_ref})", old),
    ):
        if args.skip_tiny:
            break
        tiny(module, tok, 1)  # warm-up: imports and one-time set-up are not per-step costs
        print(
            f"| tiny teacher 262k | {name} | 8 x 1024 | {tiny(module, tok, args.tiny_steps):.4f} |",
            flush=True,
        )
    if not args.skip_smollm2:
        smollm2(args.steps, [(2, 64), (4, 256), (8, 256)])

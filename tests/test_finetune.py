"""The one fine-tuning path: loss masking, LoRA, portable saves, and GGUF LoRA export vs llama.cpp."""

from __future__ import annotations

import json
from pathlib import Path

import llama_cpp
import numpy as np
import pytest
import torch

from seedforge.errors import SeedforgeError
from seedforge.training import finetune, gguf_export, tinylm

TEXTS = [f"Question: what is {a} plus {b}?\nAnswer: {a + b}." for a in range(8) for b in range(8)]


@pytest.fixture(scope="module")
def tokenizer():
    return tinylm.train_tokenizer(TEXTS, 400)


def _gqa_llama(tokenizer):
    """A tiny llama with grouped-query attention (4 query heads, 2 key/value heads), like SmolLM2."""
    from transformers import LlamaConfig, LlamaForCausalLM

    eos = tokenizer.eos_token_id
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        tie_word_embeddings=False,
        bos_token_id=eos,
        eos_token_id=eos,
        pad_token_id=eos,
    )
    torch.manual_seed(0)
    return LlamaForCausalLM(config)


def test_encode_pair_masks_and_truncates(tokenizer) -> None:
    eos = tokenizer.eos_token_id
    p, c = finetune.encode_pair(tokenizer, "Question: what is 1 plus 2?\nAnswer:", " 3.", 64)
    assert c[-1] == eos and tokenizer.decode(c[:-1]) == " 3."
    assert tokenizer.decode(p) == "Question: what is 1 plus 2?\nAnswer:"
    # Too long: the prompt loses its start, the completion is kept whole.
    p2, c2 = finetune.encode_pair(tokenizer, "Question: what is 1 plus 2?\nAnswer:", " 3.", len(c) + 2)
    assert c2 == c and p2 == p[-2:]
    # A completion longer than the limit loses its end (and its EOS).
    p3, c3 = finetune.encode_pair(tokenizer, "Q", TEXTS[0], 4)
    assert p3 == [] and len(c3) == 4 and eos not in c3

    pairs = [("Answer:", " 3."), ("Question: what is 1 plus 2?", " 3.")]
    batch = finetune.CompletionCollator(tokenizer, 64)(pairs)
    labels, ids, mask = batch["labels"], batch["input_ids"], batch["attention_mask"]
    assert ids.shape == labels.shape == mask.shape and ids.shape[0] == 2
    for row, (prompt, _) in enumerate(pairs):
        assert labels[row][labels[row] != -100].tolist() == c  # only " 3." + EOS is trained
        n_prompt = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        assert int(mask[row].sum()) == n_prompt + len(c)  # right padding is not attended


def test_fit_is_seeded_and_needs_data(tokenizer) -> None:
    pairs = [(t.split("Answer:")[0] + "Answer:", t.split("Answer:")[1]) for t in TEXTS[:6]]
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(0)
        model = finetune.add_lora(_gqa_llama(tokenizer), 4, 8, 0.0, ["q_proj", "v_proj"])
        config = finetune.FitConfig(learning_rate=1e-2, batch_size=2, seed=seed, steps=4, device="cpu")
        runs.append(finetune.train_completions(model, tokenizer, pairs, 64, config))
    assert len(runs[0]) == 4 and runs[0] == runs[1] and runs[0] != runs[2]
    with pytest.raises(SeedforgeError, match="at least one"):
        finetune.train_completions(_gqa_llama(tokenizer), tokenizer, [], 64, config)


def test_lora_adapter_gguf_matches_peft_in_llama_cpp(tokenizer, tmp_path: Path) -> None:
    """llama.cpp with base GGUF + exported adapter computes what peft computes, to float tolerance.

    Every llama projection carries a non-zero adapter, with GQA, so a wrong tensor name, a
    missing rotary permutation of q/k lora_b (or one with the wrong head count), a transposed
    factor or a wrong alpha/rank scale all show up as errors of order 1.
    """
    base = _gqa_llama(tokenizer)
    tinylm.export_gguf(base, tokenizer, tmp_path / "base.gguf")
    modules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    torch.manual_seed(1)
    model = finetune.add_lora(base, 4, 12, 0.0, modules)
    with torch.no_grad():  # peft starts lora_B at zero (a no-op adapter): make it count
        for name, w in model.named_parameters():
            if "lora_B" in name:
                w.normal_(0, 0.2)
    gguf_export.export_lora(model, tmp_path / "adapter.gguf")

    import gguf

    reader = gguf.GGUFReader(tmp_path / "adapter.gguf")
    field = lambda key: reader.fields[key].contents()  # noqa: E731
    assert field("general.type") == "adapter" and field("adapter.type") == "lora"
    assert field("adapter.lora.alpha") == 12.0 and field("general.architecture") == "llama"
    names = {t.name for t in reader.tensors}
    assert {"blk.0.attn_q.weight.lora_a", "blk.1.ffn_down.weight.lora_b"} <= names and len(names) == 28

    ids = tokenizer("Question: what is 3 plus 4?\nAnswer: 7.", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        tuned = model(torch.tensor([ids])).logits[0].numpy()
        with model.disable_adapter():
            plain = model(torch.tensor([ids])).logits[0].numpy()
    assert np.abs(tuned - plain).max() > 0.5  # the adapter matters

    llm = llama_cpp.Llama(
        model_path=str(tmp_path / "base.gguf"),
        lora_path=str(tmp_path / "adapter.gguf"),
        n_ctx=128,
        logits_all=True,
        verbose=False,
    )
    try:
        llm.eval(ids)
        np.testing.assert_allclose(np.asarray(llm.scores[: len(ids)]), tuned, atol=2e-3, rtol=1e-3)
    finally:
        llm.close()


def test_gemma3_adapter_moves_llama_cpp_as_it_moves_peft(tmp_path: Path) -> None:
    """Gemma 3 270M (the packaged Q4_K_M GGUF) with a random q/k adapter: llama.cpp's change in
    logits follows peft's. Gemma's rope is the NEOX kind, so q/k rows go unpermuted. Measured once
    on a like prompt (bench/README.md, Gemma 3 270M LoRA-tuned): r = 0.83 so, -0.11 with llama's
    permutation, and 0.87 for a v-only adapter, which no permutation touches. An exact match is out
    of reach: llama.cpp runs the quantised base, peft its float32 dequantisation."""
    from seedforge import weights

    path = weights.gguf_path("gemma3-270m")
    tokenizer, base = weights.load_causal_lm(weights.resolve("gemma3-270m"))
    assert base.config.model_type == "gemma3_text"
    torch.manual_seed(1)
    model = finetune.add_lora(base, 4, 12, 0.0, ["q_proj", "k_proj"])
    with torch.no_grad():
        for name, w in model.named_parameters():
            if "lora_B" in name:
                w.normal_(0, 0.02)
    gguf_export.export_lora(model, tmp_path / "adapter.gguf")

    import gguf

    reader = gguf.GGUFReader(tmp_path / "adapter.gguf")
    assert reader.fields["general.architecture"].contents() == "gemma3"

    text = (
        "Input: the movie was a delight from start to finish\nLabel: Positive\n\nInput: a dull mess\nLabel:"
    )
    ids = tokenizer(text)["input_ids"]
    model.eval()
    with torch.no_grad():
        tuned = model(torch.tensor([ids])).logits[0].float().numpy()
        with model.disable_adapter():
            plain = model(torch.tensor([ids])).logits[0].float().numpy()

    def scores(**lora: str) -> np.ndarray:
        llm = llama_cpp.Llama(model_path=str(path), n_ctx=128, logits_all=True, verbose=False, **lora)
        try:
            llm.eval(ids)
            return np.asarray(llm.scores[: len(ids)])[:, : tuned.shape[1]]
        finally:
            llm.close()

    change = scores(lora_path=str(tmp_path / "adapter.gguf")) - scores()
    assert np.abs(tuned - plain).max() > 1.0  # the adapter matters
    assert np.corrcoef((tuned - plain).ravel(), change.ravel())[0, 1] > 0.6


def test_export_rejects_unmapped_modules(tokenizer, tmp_path: Path) -> None:
    model = finetune.add_lora(_gqa_llama(tokenizer), 2, 4, 0.0, ["lm_head"])
    with pytest.raises(SeedforgeError, match="lm_head"):
        gguf_export.export_lora(model, tmp_path / "a.gguf")
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_save_is_portable(tokenizer, tmp_path: Path) -> None:
    """No install path, sorted target modules, no generated model card."""
    model = finetune.add_lora(_gqa_llama(tokenizer), 2, 4, 0.0, ["v_proj", "q_proj", "o_proj"])
    model.peft_config["default"].base_model_name_or_path = str(tmp_path / "somewhere" / "base")
    finetune.save(model, tokenizer, tmp_path / "out", "my-base")
    config = json.loads((tmp_path / "out" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "my-base"
    assert config["target_modules"] == ["o_proj", "q_proj", "v_proj"]
    assert not (tmp_path / "out" / "README.md").exists()
    for path in (tmp_path / "out").iterdir():
        assert str(tmp_path) not in path.read_text(errors="replace"), path.name


def test_stage_scripts_pin_cpu_kernels_before_torch_loads() -> None:
    """Every stage imports the `stages` package first, which fixes torch's kernel choice to AVX2
    whatever CPU it finds (a machine with AVX-512 would otherwise sum in another order)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_CBWR")}
    code = "import stages, os, torch; print(torch.backends.cpu.get_cpu_capability(), os.environ['MKL_CBWR'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["AVX2", "AVX2"]


def test_fit_trains_with_fixed_threads_and_deterministic_algorithms() -> None:
    """Inside fit the thread count is TRAIN_THREADS whatever the process had, and both settings
    are restored afterwards (they are process-global)."""
    import torch

    from seedforge.training import finetune

    seen = []

    class Probe(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
            seen.append((torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()))
            return {"loss": ((self.w * x - labels) ** 2).mean()}

    torch.set_num_threads(1)
    collate = lambda b: {"x": torch.tensor(b, dtype=torch.float32), "labels": torch.ones(len(b))}  # noqa: E731
    finetune.fit(Probe(), [1.0, 2.0], collate, finetune.FitConfig(learning_rate=0.1, batch_size=2, steps=1))
    assert seen and set(seen) == {(finetune.TRAIN_THREADS, True)}
    assert torch.get_num_threads() == 1 and not torch.are_deterministic_algorithms_enabled()

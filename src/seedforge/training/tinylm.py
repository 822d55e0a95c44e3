"""Tiny llama-architecture causal LMs trained from scratch on CPU.

Used by the pipeline to build the offline default teacher (served through
llama.cpp from a GGUF file) and by tests as a tiny causal-LM student. Every
heavy dependency (torch, transformers, tokenizers, gguf) is imported inside the
functions so that stage modules can import this module cheaply.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import torch
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

__all__ = [
    "CHAT_TEMPLATE",
    "EOS_TOKEN",
    "TinyConfig",
    "build_model",
    "chat_prompt",
    "export_gguf",
    "gguf_writer",
    "permute_rotary",
    "save",
    "train_completions",
    "train_tokenizer",
]

EOS_TOKEN = "<|endoftext|>"

# Plain-text role markers: they are ordinary BPE text, so the template renders
# to identical token ids under transformers and llama.cpp without needing any
# extra special tokens. Only the Jinja subset both engines support is used
# (llama_cpp's Jinja2ChatFormatter passes messages, add_generation_prompt,
# bos_token and eos_token). EOS closes each assistant turn so multi-turn
# histories look exactly like the single-turn training sequences.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '\n' }}"
    "{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


@dataclass(frozen=True)
class TinyConfig:
    """Size and training hyper-parameters of a tiny model."""

    vocab_size: int = 1024
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 256
    context_length: int = 1024
    steps: int = 300
    batch_size: int = 8
    learning_rate: float = 3e-3
    seed: int = 0


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Train a GPT-2 style byte-level BPE tokenizer with ``EOS_TOKEN`` as its only special token.

    The vocabulary may come out smaller than ``vocab_size`` when the corpus is small;
    use ``len(tokenizer)`` for the real size.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    # GPT-2 regex split without a prefix space: this is exactly what llama.cpp's
    # "gpt-2" pre-tokenizer does, so both engines produce the same ids.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS_TOKEN],  # id 0
        # All 256 byte symbols up front so any input text stays encodable.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        # bos = eos, as GPT-2 does; nothing adds it automatically (add_bos is off in GGUF too).
        bos_token=EOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=EOS_TOKEN,
        unk_token=None,
        model_max_length=1 << 30,
    )
    hf.chat_template = CHAT_TEMPLATE
    return hf


def build_model(tokenizer: PreTrainedTokenizerFast, config: TinyConfig) -> LlamaForCausalLM:
    """Build a randomly initialised (seeded by ``config.seed``) llama model sized to the tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    eos_id = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    llama_config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads,
        max_position_embeddings=config.context_length,
        rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        tie_word_embeddings=False,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
    )
    torch.manual_seed(config.seed)
    model = LlamaForCausalLM(llama_config)
    model.generation_config.pad_token_id = eos_id
    model.generation_config.eos_token_id = eos_id
    model.generation_config.bos_token_id = eos_id
    return model


def train_completions(
    model: LlamaForCausalLM,
    tokenizer: PreTrainedTokenizerFast,
    pairs: Sequence[tuple[str, str]],
    config: TinyConfig,
) -> list[float]:
    """Supervised fine-tuning on (prompt, completion) pairs; returns the loss of every step.

    Each example is ``prompt + completion + EOS`` with the loss on completion tokens
    (and EOS) only (``finetune.train_completions``). Prompts are used verbatim: pass
    ``chat_prompt(tokenizer, msg)`` as the prompt to train a chat model. Over-long examples
    lose tokens from the start of the prompt. Deterministic for a given ``config.seed``.
    """
    from seedforge.training import finetune

    fit = finetune.FitConfig(
        learning_rate=config.learning_rate,
        batch_size=config.batch_size,
        seed=config.seed,
        steps=config.steps,
        # Short linear warm-up then cosine decay to 10 %: stable at the high learning rate
        # tiny models want, and the final steps polish the fit.
        schedule="cosine",
        warmup_steps=max(1, min(20, config.steps // 10)),
        min_lr_ratio=0.1,
        adam_beta2=0.95,
        max_grad_norm=1.0,
        threads=_train_threads(config),
    )
    return finetune.train_completions(model, tokenizer, pairs, config.context_length, fit)


def _train_threads(config: TinyConfig) -> int:
    # Matrices of a 64-wide model are too small to split across cores: measured on
    # the 2-core box, 2 threads ran 3-40x slower per step than 1 (OpenMP sync and
    # spinning, worst when another process also wants the CPU). Wider models get the
    # fixed training count, never the machine's core count: the bytes must not depend on it.
    if config.hidden_size < 256:
        return 1
    from seedforge.training.finetune import TRAIN_THREADS

    return TRAIN_THREADS


def chat_prompt(tokenizer: PreTrainedTokenizerFast, user_message: str) -> str:
    """Text the chat template renders for one user message, ready for the assistant's reply."""
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": user_message}],
        tokenize=False,
        add_generation_prompt=True,
    )


def save(model: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast, out_dir: Path) -> None:
    """Save model and tokenizer as a Hugging Face folder (loadable with ``from_pretrained``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def permute_rotary(w: np.ndarray, n_head: int) -> np.ndarray:
    # Hugging Face stores q/k rows as [first halves | second halves] per head
    # (rotate_half); llama.cpp expects the two halves interleaved pairwise.
    # Same transform as llama.cpp's convert_hf_to_gguf.py LlamaModel.permute.
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


@contextlib.contextmanager
def gguf_writer(path: Path, arch: str = "llama") -> Iterator[Any]:
    """A `gguf.GGUFWriter` on a temporary file beside `path`, moved into place if the block succeeds.

    The block adds metadata and tensors; header, metadata and tensors are then written out, so a
    reader never sees a half-written file and a failure leaves nothing behind.
    """
    import gguf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    writer = gguf.GGUFWriter(tmp, arch)
    try:
        yield writer
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, path)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise


def export_gguf(
    model: LlamaForCausalLM,
    tokenizer: PreTrainedTokenizerFast,
    path: Path,
    name: str = "seedforge-tiny",
) -> None:
    """Write ``model`` and ``tokenizer`` as an f32 llama-architecture GGUF that llama.cpp can serve.

    Written to a temporary file next to ``path`` and moved into place, so a reader
    never sees a half-written model.
    """
    import json

    import gguf

    path = Path(path)
    cfg = model.config
    n_head = cfg.num_attention_heads
    n_head_kv = cfg.num_key_value_heads or n_head
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_head
    rope = getattr(cfg, "rope_parameters", None) or {}
    rope_theta = float(rope.get("rope_theta", getattr(cfg, "rope_theta", 10000.0)))
    # Fail loudly on llama variants this minimal writer does not describe in metadata,
    # rather than writing a file that loads but computes something else.
    unsupported = {
        "rope scaling": rope.get("rope_type", "default") != "default",
        "attention bias": getattr(cfg, "attention_bias", False),
        "mlp bias": getattr(cfg, "mlp_bias", False),
        "activation": getattr(cfg, "hidden_act", "silu") != "silu",
    }
    if any(unsupported.values()):
        raise ValueError(f"export_gguf cannot write {[k for k, v in unsupported.items() if v]}")

    # Vocabulary straight from tokenizer.json: tokens in byte-to-unicode form and
    # merges as "a b" strings are what llama.cpp's gpt2 (BPE) tokenizer reads.
    tok_json = json.loads(tokenizer.backend_tokenizer.to_str())
    vocab: dict[str, int] = tok_json["model"]["vocab"]
    for added in tok_json.get("added_tokens", []):
        vocab[added["content"]] = added["id"]
    n_vocab = cfg.vocab_size
    id_to_token = {i: t for t, i in vocab.items()}
    if len(id_to_token) > n_vocab or max(id_to_token) >= n_vocab:
        raise ValueError(f"tokenizer has {len(id_to_token)} tokens but the model only {n_vocab}")
    special_ids = set(tokenizer.all_special_ids)
    tokens: list[str] = []
    types: list[int] = []
    for i in range(n_vocab):
        if i in id_to_token:
            tokens.append(id_to_token[i])
            types.append(gguf.TokenType.CONTROL if i in special_ids else gguf.TokenType.NORMAL)
        else:  # embedding rows past the tokenizer's vocabulary
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok_json["model"]["merges"]]

    eos_id = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    bos_id = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else eos_id
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_id
    chat_template = tokenizer.chat_template or CHAT_TEMPLATE

    with gguf_writer(path) as writer:
        writer.add_name(name)
        writer.add_file_type(gguf.LlamaFileType.ALL_F32)
        writer.add_context_length(cfg.max_position_embeddings)
        writer.add_embedding_length(cfg.hidden_size)
        writer.add_block_count(cfg.num_hidden_layers)
        writer.add_feed_forward_length(cfg.intermediate_size)
        writer.add_head_count(n_head)
        writer.add_head_count_kv(n_head_kv)
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
        writer.add_rope_dimension_count(head_dim)
        writer.add_rope_freq_base(rope_theta)
        writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
        writer.add_vocab_size(n_vocab)

        writer.add_tokenizer_model("gpt2")
        # Must be "gpt-2" (with the hyphen): llama.cpp rejects "gpt2" as an unknown pre-tokenizer.
        writer.add_tokenizer_pre("gpt-2")
        writer.add_token_list(tokens)
        writer.add_token_types(types)
        writer.add_token_merges(merges)
        writer.add_bos_token_id(bos_id)
        writer.add_eos_token_id(eos_id)
        writer.add_pad_token_id(pad_id)
        writer.add_add_bos_token(False)
        writer.add_add_eos_token(False)
        # Without an embedded template llama_cpp.server silently uses the llama-2 format.
        writer.add_chat_template(chat_template)

        def f32(t: torch.Tensor) -> np.ndarray:
            return t.detach().to("cpu").float().numpy().copy()

        writer.add_tensor("token_embd.weight", f32(model.model.embed_tokens.weight))
        for i, layer in enumerate(model.model.layers):
            att, mlp = layer.self_attn, layer.mlp
            writer.add_tensor(f"blk.{i}.attn_norm.weight", f32(layer.input_layernorm.weight))
            writer.add_tensor(f"blk.{i}.attn_q.weight", permute_rotary(f32(att.q_proj.weight), n_head))
            writer.add_tensor(f"blk.{i}.attn_k.weight", permute_rotary(f32(att.k_proj.weight), n_head_kv))
            writer.add_tensor(f"blk.{i}.attn_v.weight", f32(att.v_proj.weight))
            writer.add_tensor(f"blk.{i}.attn_output.weight", f32(att.o_proj.weight))
            writer.add_tensor(f"blk.{i}.ffn_norm.weight", f32(layer.post_attention_layernorm.weight))
            writer.add_tensor(f"blk.{i}.ffn_gate.weight", f32(mlp.gate_proj.weight))
            writer.add_tensor(f"blk.{i}.ffn_up.weight", f32(mlp.up_proj.weight))
            writer.add_tensor(f"blk.{i}.ffn_down.weight", f32(mlp.down_proj.weight))
        writer.add_tensor("output_norm.weight", f32(model.model.norm.weight))
        # Always write the output matrix, even when tied to the embedding: one
        # code path for both cases and no reliance on llama.cpp's fallback.
        writer.add_tensor("output.weight", f32(model.lm_head.weight))

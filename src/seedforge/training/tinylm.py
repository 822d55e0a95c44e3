"""Tiny llama-architecture causal LMs trained from scratch on CPU.

Used by the pipeline to build the offline default teacher (served through
llama.cpp from a GGUF file) and by tests as a tiny causal-LM student. Every
heavy dependency (torch, transformers, tokenizers, gguf) is imported inside the
functions so that stage modules can import this module cheaply.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from seedforge.training import gguf_export

if TYPE_CHECKING:
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

__all__ = [
    "CHAT_TEMPLATE",
    "EOS_TOKEN",
    "TinyConfig",
    "build_model",
    "chat_prompt",
    "export_gguf",
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


def export_gguf(model: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast, path: Path) -> None:
    """Write a tiny model as an f32 GGUF that llama.cpp can serve, with the tiny chat template."""
    gguf_export.export_model(model, tokenizer, path, "seedforge-tiny", EOS_TOKEN, CHAT_TEMPLATE)

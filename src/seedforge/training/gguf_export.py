"""Writing GGUF files that llama.cpp loads: a whole llama model, or a peft LoRA adapter for a llama
or a Gemma 3.

One tensor-name map (Hugging Face llama module -> llama.cpp tensor) serves both writers, and one
atomic writer (`gguf_writer`) means a reader never sees a half-written file. The model writer
matches what llama.cpp's `convert_hf_to_gguf.py` writes for a llama with a byte-level BPE
tokenizer; the adapter writer matches `convert_lora_to_gguf.py`. Heavy imports stay inside
functions (named apart from the pip package `gguf`, which it uses).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedforge.errors import SeedforgeError

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "LLAMA_TENSORS",
    "LORA_ARCHES",
    "export_lora",
    "export_model",
    "gguf_writer",
    "permute_rotary",
    "tensor_name",
]

# Hugging Face llama module (relative to a decoder layer) -> llama.cpp tensor, as llama.cpp's
# converters map them. The projections are also what a LoRA adapter may target.
LLAMA_TENSORS = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
# Hugging Face model_type -> (llama.cpp architecture, whether q/k rows go to llama.cpp's rotary
# layout) for the adapter writer. llama.cpp runs llama's rope on interleaved pairs, so its
# converter permutes q and k; Gemma 3's rope is the NEOX kind (halves, as Hugging Face stores
# them), so its converter writes the rows as they are. The projections have llama's names in both.
LORA_ARCHES = {"llama": ("llama", True), "gemma3_text": ("gemma3", False)}
# The per-layer norms, written for a whole model only (LoRA never targets them).
LLAMA_NORMS = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}


def permute_rotary(w: np.ndarray, n_head: int) -> np.ndarray:
    """Hugging Face rows -> llama.cpp rows for a q or k projection.

    Hugging Face stores each head's rows as [first halves | second halves] (rotate_half);
    llama.cpp expects the two halves interleaved pairwise (convert_hf_to_gguf.py's
    LlamaModel.permute). One head of 4 rows:

    >>> import numpy as np
    >>> permute_rotary(np.arange(4).reshape(4, 1), n_head=1).ravel().tolist()
    [0, 2, 1, 3]
    """
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def tensor_name(module: str) -> str:
    """llama.cpp's tensor name for a (peft) module path of a llama model.

    >>> tensor_name("base_model.model.model.layers.3.self_attn.k_proj")
    'blk.3.attn_k.weight'
    """
    _, sep, rest = module.partition("model.layers.")
    layer, _, sub = rest.partition(".")
    if not sep or not layer.isdigit() or sub not in LLAMA_TENSORS:
        raise SeedforgeError(
            f"GGUF adapter export: LoRA on {module!r} is not supported "
            f"(target modules must be among {sorted(k.split('.')[-1] for k in LLAMA_TENSORS)})"
        )
    return f"blk.{layer}.{LLAMA_TENSORS[sub]}.weight"


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


def _f32(t: Any) -> np.ndarray:
    return t.detach().to("cpu").float().numpy().copy()


# --- a whole model -------------------------------------------------------------------------------


def _check_supported(cfg: Any) -> None:
    """Fail loudly on llama variants this minimal writer does not describe in metadata, rather than
    writing a file that loads but computes something else."""
    rope = getattr(cfg, "rope_parameters", None) or {}
    unsupported = {
        "rope scaling": rope.get("rope_type", "default") != "default",
        "attention bias": getattr(cfg, "attention_bias", False),
        "mlp bias": getattr(cfg, "mlp_bias", False),
        "activation": getattr(cfg, "hidden_act", "silu") != "silu",
    }
    if any(unsupported.values()):
        raise ValueError(f"GGUF export cannot write {[k for k, v in unsupported.items() if v]}")


def _vocabulary(tokenizer: Any, n_vocab: int) -> tuple[list[str], list[int], list[str]]:
    """Tokens, token types and merges straight from tokenizer.json: tokens in byte-to-unicode form
    and merges as "a b" strings are what llama.cpp's gpt2 (BPE) tokenizer reads."""
    import gguf

    tok_json = json.loads(tokenizer.backend_tokenizer.to_str())
    vocab: dict[str, int] = tok_json["model"]["vocab"]
    for added in tok_json.get("added_tokens", []):
        vocab[added["content"]] = added["id"]
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
    return tokens, types, merges


def export_model(
    model: Any, tokenizer: Any, path: Path, name: str, eos_token: str, chat_template: str
) -> None:
    """Write a transformers llama `model` and its byte-level BPE `tokenizer` as an f32 GGUF.

    `chat_template` is used when the tokenizer has none: without an embedded template
    llama_cpp.server silently uses the llama-2 format.
    """
    import gguf

    cfg = model.config
    _check_supported(cfg)
    n_head = cfg.num_attention_heads
    n_head_kv = cfg.num_key_value_heads or n_head
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_head
    rope = getattr(cfg, "rope_parameters", None) or {}
    rope_theta = float(rope.get("rope_theta", getattr(cfg, "rope_theta", 10000.0)))
    n_vocab = cfg.vocab_size
    tokens, types, merges = _vocabulary(tokenizer, n_vocab)
    eos_id = tokenizer.convert_tokens_to_ids(eos_token)
    bos_id = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else eos_id
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_id

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
        writer.add_chat_template(tokenizer.chat_template or chat_template)

        writer.add_tensor("token_embd.weight", _f32(model.model.embed_tokens.weight))
        for i, layer in enumerate(model.model.layers):
            for module, gguf_name in LLAMA_NORMS.items():
                writer.add_tensor(f"blk.{i}.{gguf_name}.weight", _f32(attrgetter(module)(layer).weight))
            for module, gguf_name in LLAMA_TENSORS.items():
                w = _f32(attrgetter(module)(layer).weight)
                if gguf_name in ("attn_q", "attn_k"):
                    w = permute_rotary(w, n_head if gguf_name == "attn_q" else n_head_kv)
                writer.add_tensor(f"blk.{i}.{gguf_name}.weight", w)
        writer.add_tensor("output_norm.weight", _f32(model.model.norm.weight))
        # Always write the output matrix, even when tied to the embedding: one
        # code path for both cases and no reliance on llama.cpp's fallback.
        writer.add_tensor("output.weight", _f32(model.lm_head.weight))


# --- a LoRA adapter ------------------------------------------------------------------------------


def export_lora(model: Any, path: Path, name: str = "seedforge-lora") -> None:
    """Write the LoRA weights of peft `model` (an architecture in LORA_ARCHES: llama, Gemma 3) as a
    llama.cpp GGUF adapter.

    The layout is what llama.cpp's convert_lora_to_gguf.py writes: `general.type = adapter`,
    `adapter.type = lora`, `adapter.lora.alpha`, and per base tensor `<name>.lora_a` (rank x in)
    and `<name>.lora_b` (out x rank), float32. llama.cpp scales by alpha / rank, as peft does.
    For llama, the q and k projections' rows are stored in llama.cpp's rotary layout, so their
    `lora_b` (whose rows are the output rows) gets the same permutation as the base weights.
    An unsupported module or architecture leaves no file.
    """
    import gguf
    from peft import get_peft_model_state_dict

    adapter_name = "default"
    lora = model.peft_config[adapter_name]
    if getattr(lora, "use_rslora", False) or getattr(lora, "use_dora", False):
        raise SeedforgeError("GGUF adapter export: rsLoRA and DoRA are not supported")
    cfg = model.get_base_model().config
    if cfg.model_type not in LORA_ARCHES:
        raise SeedforgeError(
            f"GGUF adapter export: {cfg.model_type} models are not supported "
            f"(supported: {', '.join(sorted(LORA_ARCHES))})"
        )
    arch, rotary_rows = LORA_ARCHES[cfg.model_type]
    n_head = cfg.num_attention_heads
    n_head_kv = cfg.num_key_value_heads or n_head
    state = get_peft_model_state_dict(model, adapter_name=adapter_name)
    pairs: dict[str, dict[str, Any]] = {}
    for key, tensor in state.items():
        for part, suffix in (("A", ".lora_A.weight"), ("B", ".lora_B.weight")):
            if key.endswith(suffix):
                pairs.setdefault(key.removesuffix(suffix), {})[part] = tensor
                break
        else:
            raise SeedforgeError(f"GGUF adapter export: unexpected adapter tensor {key!r}")

    with gguf_writer(path, arch) as writer:
        writer.add_name(name)
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(lora.lora_alpha))
        for module in sorted(pairs, key=_layer_order):
            base = tensor_name(module)
            a, b = _f32(pairs[module]["A"]), _f32(pairs[module]["B"])
            if rotary_rows and ".attn_q." in base:
                b = permute_rotary(b, n_head)
            elif rotary_rows and ".attn_k." in base:
                b = permute_rotary(b, n_head_kv)
            writer.add_tensor(base + ".lora_a", a)
            writer.add_tensor(base + ".lora_b", b)


def _layer_order(module: str) -> tuple[int, str]:
    """Layer number first, numerically (so blk.10 follows blk.9), then the module name.

    >>> sorted(["model.layers.10.mlp.up_proj", "model.layers.9.mlp.up_proj"], key=_layer_order)[0]
    'model.layers.9.mlp.up_proj'
    """
    _, _, rest = module.partition("model.layers.")
    layer, _, sub = rest.partition(".")
    return (int(layer) if layer.isdigit() else -1, sub)

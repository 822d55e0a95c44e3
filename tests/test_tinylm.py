"""Tiny llama models: tokenizer, SFT training, GGUF export and parity with llama.cpp."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import llama_cpp
import numpy as np
import pytest
import torch
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from seedforge.training import tinylm

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "A journey of a thousand miles begins with a single step.",
    "She sells sea shells by the sea shore.",
    "It's 2024, and we've got 17 tests to run; they'll pass.",
    "Numbers like 3.14159 and 2,718 appear in maths.",
    "Water boils at 100 degrees Celsius at sea level.",
    "The capital of France is Paris.",
    "The capital of Japan is Tokyo.",
    "Photosynthesis turns sunlight, water and carbon dioxide into sugar.",
    "Rivers flow downhill towards the sea.",
    "Cats sleep for most of the day.",
    "Dogs are loyal companions.",
    "Bread is made from flour, water, salt and yeast.",
    "The moon orbits the earth roughly every 27 days.",
    "Please answer the question briefly.",
    "Translate the sentence into French.",
    "Summarise the paragraph in one line.",
    "What is the colour of the sky? It is blue.",
    "Which planet is the largest? Jupiter is the largest planet.",
    "Email me at someone@example.com before 5pm!",
    "Indented   text\twith tabs\nand new lines\n\n  and    spaces.",
    "Café, naïve, jalapeño and 東京 are not ASCII.",
    "def add(a, b):\n    return a + b",
    "{'key': [1, 2, 3], \"other\": None}",
    "Good morning! How are you today?",
    "I am fine, thank you very much.",
    "Short.",
    "Yes or no?",
    "Mountains are tall; valleys are low.",
    "Seeds grow into plants when given water and light.",
] * 3

QA = [
    (
        "What is the capital of France?",
        "The capital of France is Paris, a city on the river Seine with many museums.",
    ),
    (
        "What is the capital of Japan?",
        "The capital of Japan is Tokyo, a huge city with trains that run on time.",
    ),
    (
        "How do plants grow?",
        "Seeds grow into plants when given water and light, and their roots drink from soil.",
    ),
    ("Say hello.", "Good morning! How are you today? I am fine, thank you very much for asking me."),
    ("Count to ten.", "1, 2, 3, 4, 5, 6, 7, 8, 9, 10. That is ten numbers counted one by one."),
]

CONFIG = tinylm.TinyConfig(vocab_size=512, context_length=256, steps=100, batch_size=5, seed=0)
N_CTX = 256


@pytest.fixture(scope="module")
def tokenizer():
    return tinylm.train_tokenizer(SENTENCES + [a for _, a in QA], CONFIG.vocab_size)


@pytest.fixture(scope="module")
def pairs(tokenizer):
    return [(tinylm.chat_prompt(tokenizer, q), a) for q, a in QA]


@pytest.fixture(scope="module")
def trained(tokenizer, pairs):
    model = tinylm.build_model(tokenizer, CONFIG)
    losses = tinylm.train_completions(model, tokenizer, pairs, CONFIG)
    return model, losses


@pytest.fixture(scope="module")
def gguf_path(trained, tokenizer, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gguf") / "tiny.gguf"
    tinylm.export_gguf(trained[0], tokenizer, path)
    return path


@pytest.fixture(scope="module")
def llm(gguf_path):
    model = llama_cpp.Llama(model_path=str(gguf_path), n_ctx=N_CTX, logits_all=True, verbose=False)
    yield model
    model.close()


def _eos(tokenizer) -> int:
    return tokenizer.convert_tokens_to_ids(tinylm.EOS_TOKEN)


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def _hf_greedy(model, prompt_ids: list[int], n: int, suppress: list[int] | None = None) -> list[int]:
    inputs = torch.tensor([prompt_ids])
    with torch.no_grad():
        out = model.generate(
            inputs,
            attention_mask=torch.ones_like(inputs),
            do_sample=False,
            max_new_tokens=n,
            suppress_tokens=suppress,
        )
    return out[0, len(prompt_ids) :].tolist()


# (a) tokenizer ---------------------------------------------------------------


def test_tokenizer_round_trips_and_has_eos(tokenizer):
    assert len(tokenizer) <= CONFIG.vocab_size
    assert tokenizer.eos_token == tinylm.EOS_TOKEN
    assert tokenizer.pad_token_id == tokenizer.eos_token_id == _eos(tokenizer)
    # Unseen words, odd whitespace and characters outside the corpus must survive: byte-level BPE.
    for text in [*SENTENCES[:30], "Zebra-crossing  x\t\ty\n\n\nz 🙂 ünïcødé ∑", " leading space"]:
        ids = _ids(tokenizer, text)
        assert tokenizer.decode(ids) == text
    # No prefix space and no automatic BOS/EOS.
    assert tokenizer.decode(_ids(tokenizer, "Hello")) == "Hello"
    assert _eos(tokenizer) not in _ids(tokenizer, "Hello world")
    # The special token is one id when it appears in text (chat histories contain it).
    assert _ids(tokenizer, "a" + tinylm.EOS_TOKEN)[-1] == _eos(tokenizer)
    assert tokenizer.chat_template == tinylm.CHAT_TEMPLATE


def test_chat_prompt_renders_generation_prompt(tokenizer):
    text = tinylm.chat_prompt(tokenizer, "Hi there")
    assert text == "<|user|>\nHi there\n<|assistant|>\n"


# (b) training ------------------------------------------------------------------


def test_training_loss_drops(trained):
    _, losses = trained
    assert len(losses) == CONFIG.steps
    assert all(np.isfinite(losses))
    start, end = np.mean(losses[:3]), np.mean(losses[-10:])
    assert start > 4.0  # roughly ln(vocab) for an untrained model
    assert end < 0.25 * start, (start, end)


def test_model_memorises_completion(trained, tokenizer, pairs):
    model, _ = trained
    prompt, completion = pairs[0]
    target = [*_ids(tokenizer, completion), _eos(tokenizer)]
    out = _hf_greedy(model, _ids(tokenizer, prompt), len(target))
    assert tokenizer.decode(out, skip_special_tokens=True) == completion
    assert out[-1] == _eos(tokenizer)


def test_loss_covers_only_completion_and_eos(tokenizer):
    config = tinylm.TinyConfig(vocab_size=512, context_length=64, steps=1, batch_size=1, seed=5)
    prompt, completion = "Question: what is the capital of Japan?\n", "Tokyo."
    p_ids, c_ids = _ids(tokenizer, prompt), [*_ids(tokenizer, completion), _eos(tokenizer)]
    reference = tinylm.build_model(tokenizer, config)
    labels = [-100] * len(p_ids) + c_ids
    with torch.no_grad():
        expected = reference(torch.tensor([p_ids + c_ids]), labels=torch.tensor([labels])).loss.item()
    model = tinylm.build_model(tokenizer, config)
    [first] = tinylm.train_completions(model, tokenizer, [(prompt, completion)], config)
    assert first == pytest.approx(expected, rel=1e-5)


def test_training_is_deterministic(tokenizer, pairs):
    config = tinylm.TinyConfig(vocab_size=512, context_length=64, steps=8, batch_size=2, seed=3)
    runs = []
    for _ in range(2):
        model = tinylm.build_model(tokenizer, config)
        runs.append(tinylm.train_completions(model, tokenizer, pairs, config))
    assert runs[0] == runs[1]
    other = tinylm.build_model(tokenizer, config)
    assert tinylm.train_completions(other, tokenizer, pairs, replace(config, seed=4)) != runs[0]


def test_overlong_examples_are_truncated_from_the_prompt(tokenizer):
    config = tinylm.TinyConfig(vocab_size=512, context_length=16, steps=2, batch_size=2)
    model = tinylm.build_model(tokenizer, config)
    long_prompt = " ".join(SENTENCES[:10])
    # Would raise an index error past max_position_embeddings if not truncated.
    losses = tinylm.train_completions(model, tokenizer, [(long_prompt, "Paris."), ("x", long_prompt)], config)
    assert len(losses) == 2 and all(np.isfinite(losses))


def test_save_round_trips(trained, tokenizer, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, _ = trained
    tinylm.save(model, tokenizer, tmp_path / "hf")
    assert (tmp_path / "hf" / "chat_template.jinja").read_text() == tinylm.CHAT_TEMPLATE
    tok2 = AutoTokenizer.from_pretrained(tmp_path / "hf")
    model2 = AutoModelForCausalLM.from_pretrained(tmp_path / "hf")
    ids = _ids(tokenizer, "The capital of Japan")
    assert _ids(tok2, "The capital of Japan") == ids
    assert tinylm.chat_prompt(tok2, "x") == tinylm.chat_prompt(tokenizer, "x")
    with torch.no_grad():
        a = model(torch.tensor([ids])).logits
        b = model2(torch.tensor([ids])).logits
    torch.testing.assert_close(a, b)


# (c) GGUF parity with llama.cpp ------------------------------------------------


def test_gguf_metadata(llm, tokenizer, trained):
    md = llm.metadata
    assert md["general.architecture"] == "llama"
    assert md["tokenizer.ggml.model"] == "gpt2"
    assert md["tokenizer.ggml.pre"] == "gpt-2"
    assert int(md["llama.context_length"]) == CONFIG.context_length
    assert llm.n_vocab() == len(tokenizer) == trained[0].config.vocab_size
    assert llm.token_eos() == _eos(tokenizer)
    # add_bos is off: llama.cpp must not prepend anything even when asked to add specials.
    assert llm.tokenize(b"Hello", add_bos=True) == _ids(tokenizer, "Hello")


def test_llama_cpp_tokenizes_like_transformers(llm, tokenizer, pairs):
    texts = [
        *SENTENCES[:30],
        "Zebra-crossing  x\t\ty\n\n\nz 🙂 ünïcødé ∑ don't WE'LL   ",
        *(p + a for p, a in pairs),
    ]
    for text in texts:
        assert llm.tokenize(text.encode(), add_bos=False, special=True) == _ids(tokenizer, text), text
    # Both sides parse the EOS marker in text as the control token.
    assert llm.tokenize(tinylm.EOS_TOKEN.encode(), add_bos=False, special=True) == [_eos(tokenizer)]


def test_gguf_logits_match_transformers(llm, trained, tokenizer, pairs):
    model, _ = trained
    ids = _ids(tokenizer, pairs[1][0] + pairs[1][1])
    with torch.no_grad():
        expected = model(torch.tensor([ids])).logits[0].numpy()
    llm.reset()
    llm.eval(ids)
    got = np.asarray(llm.scores[: len(ids)])
    # Wrong rotary permutation or tensor mapping gives errors of order 1.
    np.testing.assert_allclose(got, expected, atol=2e-3, rtol=1e-3)


def test_greedy_generation_matches_transformers(llm, trained, tokenizer, pairs):
    model, _ = trained
    eos = _eos(tokenizer)
    for prompt, _completion in pairs[:3]:
        prompt_ids = _ids(tokenizer, prompt)
        expected = _hf_greedy(model, prompt_ids, 20, suppress=[eos])

        # Token for token through the low-level generator ...
        def no_eos(_ids_, scores):
            scores[eos] = -np.inf
            return scores

        got: list[int] = []
        for token in llm.generate(
            prompt_ids,
            temp=0.0,
            top_k=1,
            top_p=1.0,
            min_p=0.0,
            repeat_penalty=1.0,
            logits_processor=llama_cpp.LogitsProcessorList([no_eos]),
        ):
            got.append(token)
            if len(got) == 20:
                break
        assert got == expected

        # ... and as text through the completion API the server uses.
        out = llm.create_completion(
            prompt, max_tokens=20, temperature=0.0, top_k=1, repeat_penalty=1.0, logit_bias={eos: -1e9}
        )
        assert out["choices"][0]["text"] == tokenizer.decode(expected)
        assert out["usage"]["completion_tokens"] == 20


# (d) chat template -------------------------------------------------------------


def test_chat_template_renders_identically(llm, tokenizer):
    template = llm.metadata["tokenizer.chat_template"]
    assert template == tinylm.CHAT_TEMPLATE
    # Llama picks the embedded template instead of falling back to llama-2.
    assert llm.chat_format == "chat_template.default"
    formatter = Jinja2ChatFormatter(template=template, eos_token=tinylm.EOS_TOKEN, bos_token=tinylm.EOS_TOKEN)
    conversations = [
        [{"role": "user", "content": "What is the capital of France?"}],
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Count to ten."},
        ],
    ]
    for messages in conversations:
        hf_text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        assert formatter(messages=messages).prompt == hf_text
        hf_ids = tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True)
        if not isinstance(hf_ids, list):  # transformers 5 returns a BatchEncoding
            hf_ids = hf_ids["input_ids"]
        assert llm.tokenize(hf_text.encode(), add_bos=False, special=True) == hf_ids
    assert (
        tinylm.chat_prompt(tokenizer, "Say hello.")
        == formatter(messages=[{"role": "user", "content": "Say hello."}]).prompt
    )


def test_chat_completion_matches_transformers(llm, trained, tokenizer):
    model, _ = trained
    question, answer = QA[3]
    prompt_ids = _ids(tokenizer, tinylm.chat_prompt(tokenizer, question))
    expected = _hf_greedy(model, prompt_ids, 40)
    out = llm.create_chat_completion(
        messages=[{"role": "user", "content": question}],
        max_tokens=40,
        temperature=0.0,
        top_k=1,
        repeat_penalty=1.0,
    )
    # The model learned to answer and stop: both engines produce the answer and end at EOS.
    assert out["choices"][0]["message"]["content"] == tokenizer.decode(expected, skip_special_tokens=True)
    assert out["choices"][0]["finish_reason"] == "stop"
    assert tokenizer.decode(expected, skip_special_tokens=True) == answer


def test_export_is_atomic_and_handles_tied_embeddings(tokenizer, tmp_path):
    from transformers import LlamaForCausalLM

    config = tinylm.TinyConfig(vocab_size=512, context_length=32, steps=0)
    untied = tinylm.build_model(tokenizer, config)
    tied_config = untied.config.__class__(**{**untied.config.to_dict(), "tie_word_embeddings": True})
    torch.manual_seed(0)
    tied = LlamaForCausalLM(tied_config)
    assert tied.lm_head.weight.data_ptr() == tied.model.embed_tokens.weight.data_ptr()
    path = tmp_path / "tied.gguf"
    tinylm.export_gguf(tied, tokenizer, path)
    assert [p.name for p in tmp_path.iterdir()] == ["tied.gguf"]  # no temporary left behind
    ids = _ids(tokenizer, "The capital of France is Paris.")
    with torch.no_grad():
        expected = tied(torch.tensor([ids])).logits[0].numpy()
    small = llama_cpp.Llama(model_path=str(path), n_ctx=32, logits_all=True, verbose=False)
    try:
        small.eval(ids)
        np.testing.assert_allclose(np.asarray(small.scores[: len(ids)]), expected, atol=2e-3, rtol=1e-3)
    finally:
        small.close()

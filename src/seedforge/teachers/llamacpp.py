"""In-process llama.cpp teacher (llama-cpp-python) for a local or hub-downloaded GGUF.

llama.cpp runs one call at a time, so calls go to a worker thread one by one (behind a lock)
while the shared runner's event loop keeps caching and accounting.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from seedforge.errors import SeedforgeError, first_line
from seedforge.io import file_sha256
from seedforge.teachers.base import Generation, Options, Request, Teacher
from seedforge.teachers.registry import register
from seedforge.weights import gguf_path


class HubFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    repo_id: str
    filename: str
    revision: str | None = None


class LlamaCppTeacher(Options):
    backend: Literal["llamacpp"]
    model: str | None = None  # a local GGUF path, or a packaged GGUF alias such as smollm2
    hub: HubFile | None = None  # or a GGUF on the Hugging Face hub, downloaded into its cache
    lora: str | None = None  # a GGUF LoRA adapter applied on top (e.g. from teacher_finetune)
    n_ctx: int = Field(default=4096, gt=0)
    n_gpu_layers: int = 0  # -1 offloads every layer when llama.cpp was built with GPU support
    chat: bool = True  # use the GGUF's chat template (else plain completion)
    repeat_penalty: float = Field(default=1.1, gt=0)  # llama.cpp's server default, so both agree
    concurrency: int = Field(default=1, gt=0)  # one model, one call at a time; more only queues

    @model_validator(mode="after")
    def _one_location(self) -> LlamaCppTeacher:
        if (self.model is None) == (self.hub is None):
            raise ValueError("give exactly one of 'model' (a GGUF path) or 'hub'")
        return self

    def local_files(self) -> list[str]:
        """The project files this profile reads (model, adapter), for generate's DVC dependencies."""
        return [f for f in (self.model, self.lora) if f is not None]


@register
class LlamaCppBackend(Teacher):
    backend = "llamacpp"
    Options = LlamaCppTeacher
    can_score = True

    def __init__(self, profile: str, params: LlamaCppTeacher, root: Path = Path(".")) -> None:
        super().__init__(profile, params, root)
        # The model id is the GGUF's file name: stable across machines, unlike an absolute path.
        self.model_id = params.hub.filename if params.hub else Path(params.model or "").name
        self._llm: Any = None
        self._scorer: Any = None  # a second context for scoring, its KV cache rewound per option
        self._lock = threading.Lock()

    def sampling(self) -> dict[str, Any]:
        p = self.params
        return {**super().sampling(), "repeat_penalty": p.repeat_penalty, "chat": p.chat}

    @property
    def continues_prefill(self) -> bool:
        return not self.params.chat  # a plain completion of the prompt, prefill at its end

    def fingerprint(self) -> str:
        """A hub file by repo, name and revision; a local GGUF by name, size and its two ends.

        Hashing the first and last MiB (not the whole file) keeps this instant for 40 GB models
        while still telling a retrained or re-quantised file from the one it replaced.
        """
        p = self.params
        if p.hub is not None:
            return f"hub:{p.hub.repo_id}/{p.hub.filename}@{p.hub.revision or 'main'}"
        path = self._local_path()
        size = path.stat().st_size
        digest = hashlib.sha256(str(size).encode())
        with path.open("rb") as f:
            digest.update(f.read(1 << 20))
            f.seek(max(0, size - (1 << 20)))
            digest.update(f.read(1 << 20))
        base = f"{path.name}:{size}:{digest.hexdigest()[:16]}"
        return base + (f"+lora:{self._lora_sha256()[:16]}" if self.params.lora else "")

    def _lora_path(self) -> Path:
        path = self.root / (self.params.lora or "")
        if not path.is_file():
            raise SeedforgeError(f"teachers.{self.profile}.lora: GGUF adapter not found: {self.params.lora}")
        return path

    def _lora_sha256(self) -> str:
        # Adapters are megabytes: hash all of it, so calls made with another tuning never match.
        return file_sha256(self._lora_path())

    def weights(self) -> dict[str, str]:
        """The whole files' sha256 (a hub file once fetched), so a row names the exact weights."""
        out = {"model_sha256": file_sha256(self.model_path())}
        if self.params.lora:
            out["lora_sha256"] = self._lora_sha256()
        return out

    def model_ref(self) -> str:
        """The model a record names: the GGUF's file name, plus the adapter's hash when tuned."""
        return self.model_id + (f"+lora:{self._lora_sha256()[:16]}" if self.params.lora else "")

    def _local_path(self) -> Path:
        try:
            path = gguf_path(self.params.model or "", self.root)  # a path, or an alias like smollm2
        except SeedforgeError as e:
            raise SeedforgeError(f"teachers.{self.profile}.model: {e}") from None
        if not path.is_file():
            raise SeedforgeError(f"teachers.{self.profile}.model: GGUF file not found: {self.params.model}")
        return path

    def model_path(self) -> Path:
        """The GGUF to load: the local path, or the hub file fetched into the Hugging Face cache."""
        p = self.params
        if p.model is not None:
            return self._local_path()
        assert p.hub is not None
        from huggingface_hub import hf_hub_download

        try:
            return Path(hf_hub_download(p.hub.repo_id, p.hub.filename, revision=p.hub.revision))
        except Exception as e:  # noqa: BLE001 - offline, 404 and auth errors all need the same advice
            reason = first_line(e)
            raise SeedforgeError(
                f"teachers.{self.profile}.hub: cannot fetch {p.hub.repo_id}/{p.hub.filename} from "
                f"the Hugging Face hub ({reason[:160]}); on a connected machine run `hf download "
                f"{p.hub.repo_id} {p.hub.filename}`, or set teachers.{self.profile}.model to a "
                "local .gguf path"
            ) from None

    def score(self, prefix: str, items: Sequence[str], options: Sequence[str]) -> list[list[float]]:
        """log P(option | prefix + item) for every item and option, summed over the option's tokens.

        The shared prefix (few-shot demonstrations) is evaluated once; each item once after it; each
        option after that, reusing the KV cache by rewinding `n_tokens`. Deterministic: no sampling.
        Only the logits of the last position are computed (not every position's, which for a long
        prompt costs far more than the model itself: tokens x vocabulary x hidden), so an option of
        k tokens is read one token at a time, in k - 1 one-token steps.
        """
        llm = self._scoring_model()
        prefix_ids = llm.tokenize(prefix.encode("utf-8"), add_bos=True, special=False)
        option_ids = [llm.tokenize(o.encode("utf-8"), add_bos=False, special=False) for o in options]
        out = []
        with self._lock:
            llm.reset()
            llm.eval(prefix_ids)
            for item in items:
                item_ids = llm.tokenize(item.encode("utf-8"), add_bos=False, special=False)
                start = len(prefix_ids) + len(item_ids)
                if start + max(map(len, option_ids)) > self.params.n_ctx:
                    raise SeedforgeError(
                        f"teachers.{self.profile}: prompt of {start} tokens does not fit n_ctx "
                        f"{self.params.n_ctx} (raise teachers.{self.profile}.n_ctx or use fewer shots)"
                    )
                llm.n_tokens = len(prefix_ids)
                llm.eval(item_ids)
                after_item = self._last_logprobs(llm)
                row = []
                for ids in option_ids:
                    total, logprobs = 0.0, after_item
                    for t, token in enumerate(ids):
                        total += float(logprobs[token])
                        if t + 1 < len(ids):
                            llm.n_tokens = start + t
                            llm.eval([token])
                            logprobs = self._last_logprobs(llm)
                    row.append(total)
                out.append(row)
        return out

    @staticmethod
    def _last_logprobs(llm: Any) -> Any:
        """Log-softmax of the logits of the last evaluated position."""
        import numpy as np

        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)
        top = logits.max()
        return logits - (top + np.log(np.exp(logits - top).sum()))

    def _scoring_model(self) -> Any:
        if self._scorer is None:
            self._scorer = self._new_llama(logits_all=False)
        return self._scorer

    def load(self) -> None:
        if self._llm is not None:
            return
        self._llm = self._new_llama(logits_all=False)

    def _new_llama(self, logits_all: bool) -> Any:
        path = self.model_path()
        try:
            from llama_cpp import Llama
        except ImportError:
            raise SeedforgeError(
                f"teachers.{self.profile}: llama-cpp-python is not installed "
                "(pip install 'seedforge[llamacpp]')"
            ) from None
        try:
            return Llama(
                model_path=str(path),
                n_ctx=self.params.n_ctx,
                n_gpu_layers=self.params.n_gpu_layers,
                lora_path=str(self._lora_path()) if self.params.lora else None,
                logits_all=logits_all,
                verbose=False,
            )
        except (ValueError, RuntimeError) as e:
            raise SeedforgeError(f"teachers.{self.profile}: llama.cpp could not load {path} ({e})") from None

    async def agenerate(self, request: Request, endpoint: str) -> Generation:
        self.load()
        return await asyncio.to_thread(self._locked, request)

    def _locked(self, request: Request) -> Generation:
        with self._lock:
            return self._one(request)

    def _one(self, request: Request) -> Generation:
        p = self.params
        kwargs: dict[str, Any] = dict(
            temperature=p.temperature,
            top_p=p.top_p,
            max_tokens=p.max_tokens,
            repeat_penalty=p.repeat_penalty,
            seed=request.seed,
            stop=list(request.stop) if request.stop else None,
        )
        try:
            if p.chat:
                if request.schema is not None:
                    kwargs["response_format"] = {"type": "json_object", "schema": request.schema}
                out = self._llm.create_chat_completion(messages=request.chat(), **kwargs)
                choice = out["choices"][0]
                text = choice["message"]["content"] or ""
            else:
                if request.schema is not None:
                    from llama_cpp import LlamaGrammar

                    kwargs["grammar"] = LlamaGrammar.from_json_schema(
                        json.dumps(request.schema), verbose=False
                    )
                out = self._llm.create_completion(prompt=request.prompt(), **kwargs)
                choice = out["choices"][0]
                text = choice["text"]
        except ValueError as e:  # llama.cpp raises ValueError when the prompt exceeds n_ctx
            raise SeedforgeError(
                f"teachers.{self.profile}: {e} (raise teachers.{self.profile}.n_ctx)"
            ) from None
        usage = {k: int(v) for k, v in (out.get("usage") or {}).items() if isinstance(v, int)}
        return Generation(text=text, finish_reason=choice.get("finish_reason"), usage=usage)

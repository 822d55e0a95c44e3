"""`seedforge check`: will this teacher profile work with its server? Asked in seconds, before a run.

For an HTTP profile it asks the server itself: the models it lists, one real prompt (the recipe's
template on the first seed example, parsed with the task's parser), each structured-output dialect
(`json_schema` as OpenAI and vLLM take it, `guided_json` through vLLM's extra body, and llama.cpp's
`json_object` + `schema`), `logprobs`/`top_logprobs`, and the longest rendered prompt against the
context the server says it has. A llama.cpp profile gets the same checks in-process.

Each check is a row: what was checked, what was found, and the params.yaml line to change when it
failed. Results are cached per profile and server under `.seedforge/cache/check/` (the key hashes
the URLs, the model and the profile's options; no API key is ever stored: keys come only from the
environment variable the profile names). `structured: auto` reads the dialect found here.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from seedforge.errors import SeedforgeError, first_line
from seedforge.teachers.base import Request
from seedforge.teachers.dialects import (
    CACHE,
    DIALECTS,
    ask,
    client_for,
    dialects_path,
    logprobs_path,
    options_key,
    preferred,
    probe_dialects,
    probe_logprobs,
    read_cache,
    text_of,
    write_cache,
)


@dataclass
class Row:
    check: str
    status: str  # ok | warn | fail | info
    result: str
    fix: str = ""


@dataclass
class Report:
    profile: str
    backend: str
    server: str
    model: str
    rows: list[Row] = field(default_factory=list)
    dialects: dict[str, str] = field(default_factory=dict)  # dialect -> takes | ignored | rejected ...
    cached: bool = False

    @property
    def works(self) -> bool:
        return not any(r.status == "fail" for r in self.rows)

    def add(self, check: str, status: str, result: str, fix: str = "") -> None:
        self.rows.append(Row(check, status, result, fix))

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "backend": self.backend,
            "server": self.server,
            "model": self.model,
            "works": self.works,
            "cached": self.cached,
            "dialects": self.dialects,
            "checks": [asdict(r) for r in self.rows],
        }


# --- the checks --------------------------------------------------------------------------------


@dataclass
class Prompts:
    """The recipe's prompts for a profile: the first seed example's, and the longest."""

    first: Request
    longest: Request
    task: Any
    count: int


def prompts(params: Any, profile: Any, root: Path) -> Prompts:
    from seedforge.data.sources import examples, load_rows, source_name, to_records
    from seedforge.loop import generate
    from seedforge.tasks import make_task
    from seedforge.teachers.prompts import load_template

    data = params.data
    task = make_task(data.task.model_dump())
    rows = load_rows(data.seed, root)
    if not rows:
        raise SeedforgeError(f"{source_name(data.seed)}: the seed set is empty")
    task = task.bind(examples(rows, data.seed, task, data.max_input_chars))
    records = to_records(rows, data.seed, task, data.max_input_chars)
    seeds = [{"id": r.id, "input": r.input, "output": r.output} for r in records]
    first_seed = seeds[0]
    # The student's wrong answer the template shows: another label, as generate would see.
    wrong = next((x for x in (task.labels or []) if x != first_seed["output"]), "")
    selected = [{**s, "prediction": wrong} for s in seeds]
    template = load_template(str(root / (profile.template or data.template)))
    planned = generate.plan(
        selected,
        template,
        task,
        params.loop.k,
        params.seed,
        0,
        structured=False,
        show_prediction=params.loop.show_prediction,
        seed_set=seeds,
        shots=params.loop.shots,
    )
    reqs = [r for _, r in planned]
    return Prompts(reqs[0], max(reqs, key=lambda r: len(r.prompt())), task, len(reqs))


def parsed_result(task: Any, text: str) -> tuple[int, int]:
    parsed = task.parse(text).examples
    return len(parsed), sum(task.validate(e)[0] for e in parsed)


def check_http(name: str, teacher: Any, params: Any, root: Path) -> Report:
    from seedforge.teachers.base import CallError

    p = teacher.params
    key = f"teachers.{name}"
    endpoint = teacher.endpoints()[0]
    report = Report(name, "openai", endpoint, p.model)
    try:
        client = client_for(teacher, endpoint)
    except SeedforgeError as e:
        report.add("api key", "fail", str(e), f"export {p.api_key_env}=...")
        return report

    # 1. the model
    context: int | None = None
    try:
        listed = client.models.list().data
        ids = [m.id for m in listed]
        for m in listed:
            extra = m.model_dump()
            for k in ("max_model_len", "context_length", "n_ctx", "context_window"):
                if isinstance(extra.get(k), int) and m.id == p.model:
                    context = extra[k]
            meta = extra.get("meta") or {}
            if m.id == p.model and isinstance(meta.get("n_ctx_train"), int):
                context = context or meta["n_ctx_train"]
    except Exception as e:  # noqa: BLE001 - any failure here is the answer
        report.add("server", "fail", f"{endpoint}: {first_line(e)[:160]}", f"{key}.base_url")
        client.close()
        return report
    if p.model in ids:
        report.add("model", "ok", f"{p.model} is served" + (f" (context {context})" if context else ""))
    else:
        report.add(
            "model",
            "fail",
            f"{p.model} is not among the served models: {', '.join(ids[:5]) or 'none'}",
            f"{key}.model: {ids[0]}" if ids else f"{key}.model",
        )

    # 2. one real prompt
    recipe = prompts(params, p, root)
    usage_tokens = 0
    try:
        out = ask(teacher, client, recipe.first, None)
        text = recipe.first.full_text(text_of(teacher, out))
        usage_tokens = int(getattr(out.usage, "prompt_tokens", 0) or 0)
        n, valid = parsed_result(recipe.task, text)
        if valid:
            report.add("prompt", "ok", f"first seed example's prompt: {valid} of {n} examples valid")
        else:
            report.add(
                "prompt",
                "warn",
                f"first seed example's prompt: {n} examples parsed, none valid ({text[:60]!r}...)",
                f"{key}.template (or data.template)",
            )
    except CallError as e:
        status = "fail" if e.cause == "request" else "warn"
        report.add("prompt", status, str(e).split(": ", 1)[-1][:200], fix_of(str(e)))

    # 3. structured output
    client.close()
    try:
        report.dialects = probe_dialects(teacher, endpoint)
    except CallError as e:
        report.add("structured", "fail", f"probe failed: {str(e)[:200]}", f"{key}.base_url")
        return report
    write_cache(dialects_path(teacher, root), {"dialects": report.dialects, "checked": time.time()})
    best = preferred(report.dialects)
    for d in DIALECTS:
        report.add(f"structured {d}", "info", report.dialects[d])
    if p.structured is True and report.dialects.get(p.structured_format) != "takes":
        fix = f"{key}.structured_format: {best}" if best else f"{key}.structured: false"
        report.add("structured", "fail", f"structured_format {p.structured_format} does not work here", fix)
    elif p.structured == "auto":
        report.add("structured", "ok", f"auto uses {best}" if best else "auto sends no schema (none taken)")
    elif p.structured is True:
        report.add("structured", "ok", f"{p.structured_format} works")
    else:
        tip = f"{key}.structured: auto" if best else ""
        report.add(
            "structured", "ok" if not best else "info", "off" + (f" ({best} would work)" if best else ""), tip
        )

    # 4. logprobs: the probe `logprobs: auto` makes, with as many alternatives as the judge asks for
    try:
        found = probe_logprobs(teacher, endpoint)
    except CallError as e:
        report.add("logprobs", "warn", f"probe failed: {str(e)[:160]}")
    else:
        write_cache(logprobs_path(teacher, root), {**found, "checked": time.time()})
        status = found["logprobs"]
        if status == "top":
            report.add(
                "logprobs", "ok", f"logprobs and top_logprobs returned ({found['alternatives']} alternatives)"
            )
        elif status == "tokens":
            report.add("logprobs", "warn", "logprobs returned, top_logprobs not")
        elif status == "none":
            report.add(
                "logprobs",
                "warn",
                "not returned (a judge or label check scoring by logprobs cannot use this server)",
            )
        else:
            report.add("logprobs", "warn", status[:170])

    # 5. context
    longest = len(recipe.longest.prompt())
    if context is None:
        report.add("context", "info", f"server does not say its context; longest prompt {longest} characters")
    else:
        first_chars = max(len(recipe.first.prompt()), 1)
        tokens = round(usage_tokens * longest / first_chars) if usage_tokens else longest // 3
        need = tokens + p.max_tokens
        if need > context:
            report.add(
                "context",
                "fail",
                f"longest prompt ~{tokens} tokens + max_tokens {p.max_tokens} > context {context}",
                f"{key}.max_tokens: {max(16, context - tokens - 16)}",
            )
        else:
            report.add(
                "context", "ok", f"longest prompt ~{tokens} tokens + max_tokens {p.max_tokens} <= {context}"
            )
    return report


def fix_of(message: str) -> str:
    return message.split("; change ", 1)[1] if "; change " in message else ""


def check_local(name: str, teacher: Any, params: Any, root: Path) -> Report:
    """A llama.cpp profile, in-process: the model loads, a prompt parses, the prompts fit n_ctx,
    and scoring (the log-probabilities annotate uses) works."""
    p = teacher.params
    key = f"teachers.{name}"
    report = Report(name, "llamacpp", "in-process", str(p.model))
    try:
        teacher.load()
        report.add("model", "ok", f"{teacher.model_path().name} loads (n_ctx {p.n_ctx})")
    except SeedforgeError as e:
        missing_lora = "adapter" in str(e) and p.lora is not None
        fix = "run the stage that builds it (dvc repro), or " if missing_lora else ""
        report.add("model", "fail", str(e)[:200], fix + f"{key}.{'lora' if missing_lora else 'model'}")
        return report
    recipe = prompts(params, p, root)
    llm = teacher._llm
    train_ctx = int(llm.n_ctx_train()) if hasattr(llm, "n_ctx_train") else None
    tokens = len(llm.tokenize(recipe.longest.prompt().encode("utf-8")))
    if tokens + p.max_tokens > p.n_ctx:
        report.add(
            "context",
            "fail",
            f"longest prompt {tokens} tokens + max_tokens {p.max_tokens} > n_ctx {p.n_ctx}",
            f"{key}.n_ctx: {min(train_ctx or 1 << 30, 1 << (tokens + p.max_tokens - 1).bit_length())}",
        )
    else:
        trained = f" (model trained on {train_ctx})" if train_ctx else ""
        report.add(
            "context",
            "ok",
            f"longest prompt {tokens} tokens + max_tokens {p.max_tokens} <= n_ctx {p.n_ctx}{trained}",
        )
    try:
        gen = teacher.generate([recipe.first])[0]
        n, valid = parsed_result(recipe.task, recipe.first.full_text(gen.text))
        status = "ok" if valid else "warn"
        report.add(
            "prompt",
            status,
            f"first seed example's prompt: {valid} of {n} examples valid",
            "" if valid else f"{key}.template (or data.template)",
        )
    except SeedforgeError as e:
        report.add("prompt", "fail", str(e)[:200], f"{key}.n_ctx")
    try:
        scores = teacher.score("Answer: ", ["yes"], ["yes", "no"])
        report.add(
            "logprobs", "ok", f"scoring works (log p of 2 options: {scores[0][0]:.2f}, {scores[0][1]:.2f})"
        )
    except Exception as e:  # noqa: BLE001
        report.add("logprobs", "warn", f"scoring failed: {first_line(e)[:160]}")
    report.add("structured", "info", "in-process: a GBNF grammar from the schema (structured: true)")
    return report


def default_profiles(params: Any) -> list[str]:
    """The recipe's teacher, annotate.teacher and instruct.teacher, each once."""
    names = [params.teacher, params.annotate.teacher]
    if params.instruct is not None:
        names.append(params.instruct.teacher)
    return [n for i, n in enumerate(names) if n in params.teachers and n not in names[:i]]


def check(name: str, params: Any, root: Path = Path("."), fresh: bool = False) -> Report:
    """Check one profile (a cached result of the same profile and server is reused)."""
    from seedforge.teachers import make_teacher

    if name not in params.teachers:
        raise SeedforgeError(
            f"teachers.{name}: no such profile (profiles: {', '.join(sorted(params.teachers))})"
        )
    profile = params.teachers[name]
    teacher = make_teacher(name, profile, root)
    if profile.backend == "openai":
        path = root / CACHE / f"{name}-{options_key(teacher)}.json"
        hit = None if fresh else read_cache(path)
        if hit is not None:
            report = Report(
                hit["profile"],
                hit["backend"],
                hit["server"],
                hit["model"],
                [Row(**r) for r in hit["checks"]],
                hit["dialects"],
                cached=True,
            )
            return report
        report = check_http(name, teacher, params, root)
        if report.works:  # a failure is asked again: the fix may be on the server's side
            write_cache(path, report.as_dict())
        return report
    if profile.backend == "llamacpp":
        return check_local(name, teacher, params, root)
    report = Report(name, profile.backend, "in-process", "")
    report.add("backend", "info", f"{profile.backend}: nothing to check against a server")
    return report


def render(reports: list[Report]) -> str:
    lines = []
    for r in reports:
        cached = " (cached)" if r.cached else ""
        verdict = "works" if r.works else "CANNOT WORK"
        lines.append(f"{r.profile} [{r.backend}] {r.model} @ {r.server}: {verdict}{cached}")
        width = max(len(x.check) for x in r.rows) if r.rows else 5
        for x in r.rows:
            fix = f"  -> {x.fix}" if x.fix else ""
            lines.append(f"  {x.check:<{width}}  {x.status:<4}  {x.result}{fix}")
    return "\n".join(lines)

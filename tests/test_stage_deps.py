"""Each stage of both pipelines lists exactly the parts of src/seedforge its script imports."""

from __future__ import annotations

from seedforge.testing import stage_deps
from seedforge.testing.project import REPO


def test_pipelines_list_what_their_scripts_import() -> None:
    for name in stage_deps.PIPELINES:
        text = (REPO / name).read_text()
        assert stage_deps.rewrite(text) == text, (
            f"{name}: stage deps disagree with the code; run `python -m seedforge.testing.stage_deps --write`"
        )


def test_no_stage_depends_on_the_audit_code() -> None:
    """Editing audit/ (provenance, diff, report page) reruns no stage of either pipeline."""
    for name in stage_deps.PIPELINES:
        for script, deps in stage_deps.listed((REPO / name).read_text()).items():
            assert deps, f"{name}: the stage running {script} lists no src/seedforge deps"
            assert "src/seedforge/audit" not in deps and "src/seedforge/cli.py" not in deps, script


def test_a_stale_list_is_rewritten_from_the_imports() -> None:
    stale = (
        "stages:\n"
        "  select:\n"
        "    cmd: python -m stages.select --out x\n"
        "    deps:\n"
        "      - src/seedforge\n"
        "      - stages/select.py\n"
        "      - data/x\n"
    )
    fixed = stage_deps.rewrite(stale)
    deps = stage_deps.listed(fixed)["stages.select"]
    assert "src/seedforge" not in deps and "src/seedforge/loop" in deps  # select lives in loop/
    assert "src/seedforge/audit" not in deps and "src/seedforge/gates" not in deps
    assert fixed.index("stages/select.py") < fixed.index("src/seedforge/loop") < fixed.index("data/x")
    assert stage_deps.rewrite(fixed) == fixed

"""provenance, diff, report and audit on a real run of the loop (tiny settings), its git history
and two DVC experiments with different teacher params; the report opened in headless Chromium."""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from seedforge.audit.charts import PALETTE
from seedforge.cli import app
from seedforge.io import read_jsonl, write_jsonl
from seedforge.schema import layout
from seedforge.schema.records import read_records, record_id
from seedforge.testing.expect import hardest
from seedforge.testing.project import clone_run, dvc

pytestmark = pytest.mark.slow
runner = CliRunner()
BUDGET = 0.1  # loop.budget in params.yaml: light_run keeps it (test_params checks the default)


def git(project: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)


def lines_by_id(path: Path) -> dict[str, str]:
    return {json.loads(line)["id"]: line for line in path.read_text().splitlines()}


@pytest.fixture(scope="module")
def run(light_run: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Commits baseline (teacher tiny) then `cool` (teacher tiny_cool); experiments `cool` and `hot`.

    The workspace ends as experiment `hot` (teacher tiny: the baseline's outputs from the run
    cache); HEAD~1 is the baseline, HEAD the cool teacher's run.
    """
    src, _ = light_run
    project = clone_run(src, tmp_path_factory.mktemp("audit") / "project")
    keep = project.parent / "datasets"
    keep.mkdir()
    git(project, "add", "-A")
    git(project, "commit", "-qm", "baseline")
    shutil.copy(project / layout.dataset(2), keep / "baseline.jsonl")
    dvc(project, "exp", "run", "-n", "cool", "-S", "teacher=tiny_cool")
    shutil.copy(project / layout.dataset(2), keep / "cool.jsonl")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "cool teacher")
    dvc(project, "exp", "run", "-n", "hot", "-S", "teacher=tiny")
    assert (project / layout.dataset(2)).read_bytes() == (keep / "baseline.jsonl").read_bytes()
    return {"project": project, "baseline": keep / "baseline.jsonl", "cool": keep / "cool.jsonl"}


def cli(project: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--project", str(project)])
    return result.exit_code, result.output


def chain(project: Path, rid: str, *extra: str) -> dict:
    code, out = cli(project, "provenance", rid, "--json", *extra)
    assert code == 0, out
    return json.loads(out)


# --- provenance ---------------------------------------------------------------------------------


def test_provenance_of_generated_examples_in_both_rounds(run: dict) -> None:
    project = run["project"]
    seed = {r.id: r for r in read_records(project / layout.prepared("seed"))}
    final = read_records(project / layout.dataset(2))
    sha = hashlib.sha256((project / "prompts" / "classification.jinja").read_bytes()).hexdigest()
    # call rows and records name the exact weights that wrote them
    gguf_sha = hashlib.sha256((project / "models" / "tiny_teacher" / "model.gguf").read_bytes()).hexdigest()
    shipped = {r.id for r in read_records(project / layout.FINAL_DATASET)}
    for entered in (1, 2):
        rec = next(r for r in final if r.origin == "generated" and r.iteration == entered)
        c = chain(project, rec.id)
        assert c["kind"] == "generated" and c["example"] == rec.to_row()
        assert c["entered"] == {"iteration": entered, "in_datasets": list(range(entered, 3))}
        assert c["final"]["in_final"] == (rec.id in shipped)
        assert c["seed"] == seed[rec.parent_id].to_row()
        # The student of the round before got the parent wrong or was least sure of it, and that
        # is why it was selected: the trigger is that prediction, as evaluate wrote it.
        trigger = c["trigger"]
        assert trigger["iteration"] == entered - 1 and trigger["selected"] is True
        predictions = {p["id"]: p for p in read_jsonl(project / layout.predictions(entered - 1))}
        assert trigger["prediction"] == predictions[rec.parent_id]
        assert rec.parent_id in hardest(list(predictions.values()), BUDGET)
        call = c["call"]
        calls = {g["call"]: g for g in read_jsonl(project / layout.calls(entered - 1))}
        assert call["call"] == rec.call and call["raw"] == calls[rec.call]["raw"]
        assert rec.input in " ".join(call["raw"].split())  # the example was parsed from this output
        assert seed[rec.parent_id].input in call["request"]  # the rendered prompt shows the parent
        assert (
            call["teacher"]
            == c["teacher"]
            == {"profile": "tiny", "backend": "llamacpp", "model": "model.gguf", "model_sha256": gguf_sha}
        )
        assert call["template"] == c["template"] == {"path": "prompts/classification.jinja", "sha256": sha}
        assert c["sampling"]["temperature"] == 1.0 and "seed" in c["sampling"]
        assert c["gates"] == rec.gates
    code, text = cli(project, "provenance", rec.id[:8])  # a unique prefix names it too
    assert code == 0 and text.startswith(f"{rec.id}: generated example")
    assert "── raw output" in text and f"seed parent: {rec.parent_id}" in text


def test_provenance_of_a_seed_example_lists_its_descendants_by_iteration(run: dict) -> None:
    project = run["project"]
    final = read_records(project / layout.dataset(2))
    parent = max(
        {r.parent_id for r in final if r.parent_id}, key=lambda p: sum(r.parent_id == p for r in final)
    )
    c = chain(project, parent)
    assert c["kind"] == "seed"
    expected: dict[str, list[str]] = {}
    for r in sorted(final, key=lambda r: r.id):
        if r.parent_id == parent:
            expected.setdefault(str(r.iteration), []).append(r.id)
    assert {it: [d["id"] for d in rows] for it, rows in c["descendants"].items()} == expected
    for h in c["history"]:
        selected = (
            [s["id"] for s in read_jsonl(project / layout.selected(h["iteration"]))]
            if h["iteration"] < 2
            else []
        )
        assert h["selected"] == (parent in selected)
        if h["selected"]:
            predictions = read_jsonl(project / layout.predictions(h["iteration"]))
            assert parent in hardest(predictions, BUDGET) and h["calls"] >= 1


def test_unknown_id_is_one_line_and_exit_1(run: dict) -> None:
    code, out = cli(run["project"], "provenance", "0123456789abcdef")
    assert code == 1 and out.count("\n") == 1 and out.startswith("error: 0123456789abcdef: no example")


def test_provenance_inside_an_experiment_without_checking_it_out(run: dict) -> None:
    project = run["project"]
    cool = read_records(run["cool"])
    rec = next(r for r in cool if r.origin == "generated")
    c = chain(project, rec.id, "--rev", "cool")
    assert c["teacher"]["profile"] == "tiny_cool" and c["sampling"]["temperature"] == 0.7
    assert c["call"]["sampling"]["temperature"] == 0.7 and c["call"]["raw"]


# --- diff ---------------------------------------------------------------------------------------


def expected_diff(a: Path, b: Path) -> dict:
    la, lb = lines_by_id(a), lines_by_id(b)
    return {
        "added": sorted(set(lb) - set(la)),
        "removed": sorted(set(la) - set(lb)),
        "changed": sorted(i for i in set(la) & set(lb) if la[i] != lb[i]),
    }


def diff_json(project: Path, a: str, b: str) -> dict:
    code, out = cli(project, "diff", a, b, "--json")
    assert code == 0, out
    return json.loads(out)


def test_diff_across_two_iterations(run: dict) -> None:
    project = run["project"]
    d = diff_json(project, "iter:1", "iter:2")
    capped = {r["id"] for r in read_jsonl(project / layout.merge_rejects(1))}  # over the label-share cap
    kept = sorted(r.id for r in read_records(project / layout.kept(1)) if r.id not in capped)
    assert d["added"] == kept and d["removed"] == [] and d["changed"] == []
    assert d["rows"]["unchanged"] == len(read_records(project / layout.dataset(1)))
    generated = {r["origin"]: r for r in d["by_origin"]}["generated"]
    assert generated["added"] == len(kept)
    # `final` is the shipped dataset: no difference from the iteration metrics/final.json names
    chosen = json.loads((project / layout.FINAL_METRICS).read_text())["iteration"]
    same = diff_json(project, f"iter:{chosen}", "final")
    assert same["added"] == same["removed"] == same["changed"] == []


def test_diff_across_two_git_commits_and_two_experiments(run: dict) -> None:
    project = run["project"]
    want = expected_diff(run["baseline"], run["cool"])
    assert want["added"] and want["removed"], "the cooler teacher should change what was generated"
    by_commit = diff_json(project, "HEAD~1", "HEAD")
    by_exp = diff_json(project, "hot", "cool")
    for d in (by_commit, by_exp):
        assert d["added"] == want["added"] and d["removed"] == want["removed"]
        assert [c["id"] for c in d["changed"]] == want["changed"]
        teachers = {r["teacher"]: r for r in d["by_teacher"]}
        assert teachers["tiny_cool"]["a"] == 0 and teachers["tiny_cool"]["b"] >= len(want["added"])
        assert teachers["tiny"]["b"] == 0 and teachers["tiny"]["removed"] >= len(want["removed"])
        assert {r["origin"]: r for r in d["by_origin"]}["seed"]["removed"] == 0
    assert (
        by_exp["rows"] == by_commit["rows"] and by_exp["b"]["path"] == "cool:data/iterations/2/dataset.jsonl"
    )
    code, md = cli(project, "diff", "hot", "cool", "--markdown")
    assert code == 0 and md.startswith("### Dataset diff: `hot` → `cool`")
    assert "#### By teacher profile" in md and re.search(r"\| tiny_cool \| 0 \| \d+ \|", md)
    code, out = cli(project, "diff", "iter:2@HEAD~1", "iter:2@cool")  # iteration at a revision
    assert code == 0 and f"added {len(want['added'])}, removed {len(want['removed'])}" in out


# --- audit --------------------------------------------------------------------------------------


def audit(project: Path, *args: str) -> tuple[int, list[dict], str]:
    result = runner.invoke(app, ["audit", str(project), *args])
    code_json = runner.invoke(app, ["audit", str(project), "--json", *args])
    assert code_json.exit_code == result.exit_code
    return result.exit_code, json.loads(code_json.output)["findings"], result.output


def test_audit_passes_a_clean_run_and_an_experiment(run: dict) -> None:
    for args in ((), ("--rev", "cool"), ("--rev", "HEAD~1")):
        code, findings, out = audit(run["project"], *args)
        assert code == 0 and findings == [], out
        # 8 files: the datasets of iterations 0-2, kept and annotated (empty: no pool) of rounds 0-1,
        # and the final dataset (byte for byte the iteration metrics/final.json names)
        assert re.match(r"audit: ok \(\d+ rows in 8 files\)", out)


def broken_copy(project: Path, dest: Path) -> Path:
    for name in ("data", "prompts"):
        shutil.copytree(project / name, dest / name)
    shutil.copy(project / "params.yaml", dest / "params.yaml")
    shutil.rmtree(dest / "data" / "final")  # these tests edit iteration datasets, not what ships
    return dest


def add_row(project: Path, **changes: str) -> str:
    """Append to the last dataset a copy of a generated row with `changes` (and a matching id)."""
    path = project / layout.dataset(2)
    rows = read_jsonl(path)
    row = dict(next(r for r in rows if r["origin"] == "generated"), **changes)
    row["id"] = record_id(row["task"], row["input"], row["output"])
    write_jsonl(path, [*rows, row])
    return row["id"]


def test_audit_finds_an_orphan_row(run: dict, tmp_path: Path) -> None:
    project = broken_copy(run["project"], tmp_path)
    rid = add_row(project, input="a row whose parent never existed", parent_id="f" * 16)
    code, findings, out = audit(project)
    assert code == 1 and {f["id"] for f in findings} == {rid}
    assert {f["check"] for f in findings} == {"orphan", "call_mismatch"}
    n = len(read_jsonl(project / layout.dataset(2)))
    assert f"data/iterations/2/dataset.jsonl:{n}: orphan: {rid}: parent ffffffffffffffff" in out
    assert len(out.strip().splitlines()) == len(findings) + 1  # one line each, then the verdict


def test_audit_finds_an_edited_template(run: dict, tmp_path: Path) -> None:
    project = broken_copy(run["project"], tmp_path)
    with (project / "prompts" / "classification.jinja").open("a") as f:
        f.write("\nBe concise.\n")
    code, findings, _ = audit(project)
    # Every generated row written with the template: those merged, and kept rows the label-share
    # cap turned away at merge (still in kept.jsonl, so still the template's work).
    generated = {
        r["id"] for i in (1, 2) for r in read_jsonl(project / layout.dataset(i)) if r["origin"] != "seed"
    } | {r["id"] for i in (0, 1) for r in read_jsonl(project / layout.kept(i))}
    assert code == 1 and {f["check"] for f in findings} == {"template_changed"}
    assert len(findings) == len(generated) > 0 and {f["id"] for f in findings} == generated


def test_audit_finds_a_missing_call(run: dict, tmp_path: Path) -> None:
    project = broken_copy(run["project"], tmp_path)
    kept = read_records(project / layout.kept(0))
    gone = kept[0].call
    calls = read_jsonl(project / layout.calls(0))
    write_jsonl(project / layout.calls(0), [c for c in calls if c["call"] != gone])
    code, findings, _ = audit(project)
    assert code == 1 and {f["check"] for f in findings} == {"missing_call"}
    assert sorted(f["id"] for f in findings) == sorted(r.id for r in kept if r.call == gone)


def test_audit_finds_a_test_sentence_copied_into_a_dataset(run: dict, tmp_path: Path) -> None:
    project = broken_copy(run["project"], tmp_path)
    test = read_records(project / layout.prepared("test"))[5]
    rid = add_row(project, input=test.input.upper() + "!")  # case and punctuation do not hide it
    code, findings, out = audit(project)
    assert code == 1 and [(f["check"], f["id"]) for f in findings] == [("test_leak", rid)]
    assert f"input equals test example {test.id}" in out


# --- report in a real browser -------------------------------------------------------------------


class Recorder(BaseHTTPRequestHandler):
    """A proxy that answers nothing and remembers every request sent to it."""

    seen: ClassVar[list[str]] = []

    def _record(self) -> None:
        Recorder.seen.append(self.requestline)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_HEAD = do_CONNECT = do_OPTIONS = _record

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[tuple[int, list[str]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


# Chromium's own services (component updates, network time, sign-in) call these hosts whatever
# page is open, even with background networking disabled; they are not requests of the page.
BROWSER_SERVICES = re.compile(
    r"^(CONNECT |\w+ https?://)(?:[\w-]+\.)*(google|googleapis|gstatic|gvt1)\.com[:/ ]"
)


def page_requests(seen: list[str]) -> list[str]:
    """Requests the proxy saw, less the browser's own service calls.

    >>> page_requests(["CONNECT update.googleapis.com:443 HTTP/1.1", "GET http://x.invalid/a.png HTTP/1.1"])
    ['GET http://x.invalid/a.png HTTP/1.1']
    """
    return [r for r in seen if not BROWSER_SERVICES.match(r)]


def chromium(url: str, port: int, profile: Path, *args: str, height: int = 1200) -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is missing: `make test` installs the Debian package `chromium`")
    cmd = [
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions", "--force-device-scale-factor=1",
        # Every request the page could make, even to loopback, goes to the recording proxy.
        f"--proxy-server=http://127.0.0.1:{port}", "--proxy-bypass-list=<-loopback>",
        f"--user-data-dir={profile}", f"--window-size=1400,{height}", *args, url,
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


PROBE = """<script>
document.body.setAttribute("data-probe", JSON.stringify({
  height: document.documentElement.scrollHeight,
  charts: [...document.querySelectorAll("figure.chart svg")].map(e => {
    const r = e.getBoundingClientRect();
    return [e.closest("figure").dataset.chart, r.left, r.top + window.scrollY, r.width, r.height];
  })}));
</script></body>"""


def test_report_side_by_side_in_headless_chromium(
    run: dict, tmp_path: Path, proxy: tuple[int, list[str]]
) -> None:
    import numpy as np
    from PIL import Image

    port, seen = proxy
    project = run["project"]
    code, out = cli(project, "report", "--out", str(tmp_path / "report"), "--exp", "hot", "--exp", "cool")
    assert code == 0, out
    page = (tmp_path / "report" / "report.html").read_text()
    md = (tmp_path / "report" / "report.md").read_text()
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", page), "the page must not load anything"
    assert "## hot" in md and "## cool" in md and "### Rejects by reason" in md and "<details>" in md
    assert md.index("## Final dataset") < md.index("## Runs")  # the report leads with what ships

    # The check can fail: a page that loads an image from elsewhere is seen by the proxy.
    control = tmp_path / "control.html"
    control.write_text('<html><body><img src="http://seedforge-probe.invalid/pixel.png"></body></html>')
    chromium(control.as_uri(), port, tmp_path / "profile0", "--dump-dom")
    assert any("seedforge-probe.invalid" in line for line in page_requests(seen)), seen
    seen.clear()

    # Layout: where each chart landed (a copy of the page with a measuring script; same layout).
    probe = tmp_path / "report" / "probe.html"
    probe.write_text(
        re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", page).replace("</body>", PROBE)
    )
    dom = chromium(probe.as_uri(), port, tmp_path / "profile1", "--dump-dom", "--virtual-time-budget=2000")
    info = json.loads(html.unescape(re.search(r'data-probe="([^"]+)"', dom).group(1)))
    charts = {c[0]: c[1:] for c in info["charts"]}
    titles = re.findall(r"<figcaption>([^<]+)</figcaption>", dom)
    for title in ("Test and seed accuracy per iteration", "Dataset size per iteration",
                  "Seed examples the student got wrong", "Rejects by reason per round · hot",
                  "Teacher tokens per round · cool", "Label balance per iteration · cool"):  # fmt: skip
        assert title in titles, titles
    assert {"accuracy", "dataset-size", "seed-wrong", "rejects-hot", "rejects-cool", "labels-hot"} <= set(
        charts
    )

    # The page itself, as a person sees it, with no request leaving it.
    shot = tmp_path / "report" / "report.png"
    height = int(info["height"]) + 40
    chromium((tmp_path / "report" / "report.html").as_uri(), port, tmp_path / "profile2",
             f"--screenshot={shot}", height=height)  # fmt: skip
    assert page_requests(seen) == [], f"the report made network requests: {seen}"
    image = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    palette = np.array([[int(c[k : k + 2], 16) for k in (1, 3, 5)] for c in PALETTE], dtype=np.int16)
    for key, (x, y, w, h) in charts.items():
        assert w > 100 and h > 100, key
        region = image[int(y) : int(y + h), int(x) : int(x + w)]
        assert region.std() > 10, f"chart {key} is blank"
        # Pixels within a small distance of a series colour: the lines, points and bars drew.
        distance = np.abs(region[:, :, None, :] - palette[None, None, :, :]).sum(axis=-1).min(axis=-1)
        drawn = int((distance < 30).sum())
        assert drawn > 150, f"chart {key}: only {drawn} pixels in series colours"

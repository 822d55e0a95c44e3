"""Integrity of a run: every training row can say where it came from, and none leaks the test set.

Each finding is one line naming the file, line, check and record. Checks, per distinct row (at its
first occurrence, datasets, kept and annotated files in iteration order):

- `bad_id`: the id is not the content hash of task, input and output (the row was edited);
- `no_provenance`: a generated row lacks its parent, teacher, template, sampling params or call;
  an annotated row (a pool input labelled by annotate@i: it has no call) lacks its parent or teacher;
- `not_in_pool`: an annotated row's input is not in the prepared pool (data/prepared/pool.jsonl);
- `unknown_seed`: a row says `origin: seed` but is not in the prepared seed set;
- `orphan`: a generated or annotated row's parent is not a seed example of this run;
- `template_missing` / `template_changed`: the template it names is gone, or its sha256 differs
  from the file in this snapshot (workspace, or the revision audited);
- `missing_call` / `call_mismatch`: its call is not in its round's calls file, or that call
  was made for another parent or by another teacher;
- `iteration`: a row sits in a dataset older than the iteration it says it entered;
- `lost_row`: a row of dataset i (or kept or annotated in round i) is missing from dataset i+1
  (merge@i drops an annotated row whose id or input a kept generated row holds, and rows it
  lists in merge_rejects.jsonl for the label-share cap: neither is a loss);
- `final_mismatch`: data/final/dataset.jsonl is not byte for byte the dataset of the iteration
  metrics/final.json names (the shipped file was edited, or chosen by another run);
- `test_leak`: its input equals a test or dev input after normalisation (case, punctuation,
  spacing). The embedding leakage gates catch paraphrases; this catches copies, whatever wrote them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from seedforge.audit.snapshot import Snapshot
from seedforge.io import dumps, validate_row
from seedforge.loop import annotate
from seedforge.schema import layout
from seedforge.schema.records import Record, record_id
from seedforge.schema.rows import CallRow, RejectRow


@dataclass(frozen=True)
class Finding:
    check: str
    file: str
    line: int
    id: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.check}: {self.id}: {self.message}"


def normalise(text: str) -> str:
    """Text as compared for leakage: NFKC, case-folded, punctuation dropped, spaces collapsed.

    >>> normalise("  My  Parcel is LATE!! ") == normalise("my parcel, is late")
    True
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


class Auditor:
    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.findings: list[Finding] = []
        self.checked_rows = 0
        self.files: list[str] = []
        self.seeds = {r.id for r in snap.records(layout.prepared("seed"))}
        self.held_out: dict[str, str] = {}
        for split in ("test", "dev"):
            for r in snap.records(layout.prepared(split)):
                self.held_out.setdefault(normalise(r.input), f"{split} {r.id}")
        self.calls: dict[int, dict[str, CallRow]] = {}
        self.templates: dict[str, str | None] = {}
        self._pool: set[str] | None = None

    @property
    def pool(self) -> set[str]:
        """The prepared pool's inputs, read only when an annotated row needs them."""
        if self._pool is None:
            self._pool = {row.get("input") for _, row in self.snap.lines(layout.prepared("pool"))}
        return self._pool

    def _flag(self, check: str, path: str, line: int, rid: str, message: str) -> None:
        self.findings.append(Finding(check, self.snap.where(path), line, rid, message))

    def _calls(self, i: int) -> dict[str, CallRow]:
        if i not in self.calls:
            self.calls[i] = {c.call: c for c in self.snap.rows(layout.calls(i), CallRow)}
        return self.calls[i]

    def _template_sha(self, path: str) -> str | None:
        if path not in self.templates:
            data = self.snap.read_bytes(path)
            self.templates[path] = None if data is None else hashlib.sha256(data).hexdigest()
        return self.templates[path]

    def run(self) -> list[Finding]:
        its = self.snap.iterations()
        if not its:
            self._flag("no_run", layout.ITERATIONS, 0, "-", "no iteration datasets to audit")
            return self.findings
        if not self.seeds:
            self.seeds = {r.id for r in self.snap.records(layout.dataset(its[0])) if r.origin == "seed"}
        seen: set[str] = set()
        expected: list[str] = []  # ids of the dataset before and the rows kept in its round
        for i in its:
            path = layout.dataset(i)
            ids = set(self._file(path, seen, in_dataset=i))
            for rid in sorted(set(expected) - ids):
                self._flag("lost_row", path, 0, rid, f"in iteration {i - 1}'s data but not in this dataset")
            expected = list(ids)
            kept: list[Record] = []
            if self.snap.exists(layout.kept(i)):
                expected += self._file(layout.kept(i), seen, in_dataset=None)
                kept = self.snap.records(layout.kept(i))
            if self.snap.exists(layout.annotated(i)):
                self._file(layout.annotated(i), seen, in_dataset=None)
                annotated = self.snap.records(layout.annotated(i))
                expected += [r.id for r in annotate.unique_against(annotated, kept)]
            if self.snap.exists(layout.merge_rejects(i)):  # over the label-share cap: not a loss
                capped = {r.id for r in self.snap.rows(layout.merge_rejects(i), RejectRow)}
                expected = [rid for rid in expected if rid not in capped]
        self._final()
        return self.findings

    def _final(self) -> None:
        if not self.snap.exists(layout.FINAL_DATASET):
            return
        self.files.append(self.snap.where(layout.FINAL_DATASET))
        chosen = (self.snap.json(layout.FINAL_METRICS) or {}).get("iteration")
        source = layout.dataset(chosen) if isinstance(chosen, int) else None
        if source is None or self.snap.read_bytes(source) != self.snap.read_bytes(layout.FINAL_DATASET):
            where = f"the dataset of iteration {chosen}" if source else f"named in {layout.FINAL_METRICS}"
            self._flag("final_mismatch", layout.FINAL_DATASET, 0, "-", f"not {where}")

    def _file(self, path: str, seen: set[str], in_dataset: int | None) -> list[str]:
        """Check every record of one file not checked before; returns the file's ids."""
        self.files.append(self.snap.where(path))
        ids = []
        for line, row in self.snap.lines(path):
            rec = validate_row(Record, row, f"{self.snap.where(path)}:{line}")
            ids.append(rec.id)
            if in_dataset is not None and rec.iteration > in_dataset:
                self._flag(
                    "iteration",
                    path,
                    line,
                    rec.id,
                    f"entered iteration {rec.iteration} but is in dataset {in_dataset}",
                )
            # The same row in a later file is checked once; an edited copy is checked again.
            if (content := dumps(row)) in seen:
                continue
            seen.add(content)
            self.checked_rows += 1
            self._record(path, line, rec)
        return ids

    def _record(self, path: str, line: int, rec: Record) -> None:
        flag = lambda check, message: self._flag(check, path, line, rec.id, message)  # noqa: E731
        if rec.id != record_id(rec.task, rec.input, rec.output):
            flag("bad_id", "id is not the hash of task, input and output (edited by hand?)")
        leak = self.held_out.get(normalise(rec.input))
        if leak:
            flag("test_leak", f"input equals {leak.split()[0]} example {leak.split()[1]}")
        if rec.origin == "seed":
            if rec.id not in self.seeds:
                flag("unknown_seed", "origin is seed but it is not in the prepared seed set")
            return
        needed: tuple[tuple[str, Any], ...] = (("parent_id", rec.parent_id), ("teacher", rec.teacher))
        if rec.origin == "annotated":  # a real pool input, labelled by scoring: no template, no call
            if rec.input not in self.pool:
                flag("not_in_pool", f"annotated input is not in {self.snap.where(layout.prepared('pool'))}")
        else:
            needed += (("template", rec.template), ("sampling", rec.sampling), ("call", rec.call))
        missing = [name for name, value in needed if value is None]
        if missing:
            flag("no_provenance", f"{rec.origin} row lacks {', '.join(missing)}")
        if rec.parent_id is not None and rec.parent_id not in self.seeds:
            flag("orphan", f"parent {rec.parent_id} is not a seed example of this run")
        if rec.template is not None:
            sha = self._template_sha(rec.template.path)
            if sha is None:
                flag("template_missing", f"template {rec.template.path} not found")
            elif sha != rec.template.sha256:
                flag(
                    "template_changed",
                    f"{rec.template.path} has sha256 {sha[:12]}…, "
                    f"the row was made with {rec.template.sha256[:12]}…",
                )
        if rec.call is not None:
            call = self._calls(rec.iteration - 1).get(rec.call)
            if call is None:
                flag("missing_call", f"call {rec.call} not in {layout.calls(rec.iteration - 1)}")
            elif call.parent_id != rec.parent_id or (rec.teacher is not None and call.teacher != rec.teacher):
                flag(
                    "call_mismatch",
                    f"call {rec.call} was made for parent {call.parent_id} by {call.teacher.profile}",
                )

    def summary(self) -> dict[str, Any]:
        return {
            "ok": not self.findings,
            "snapshot": self.snap.label,
            "rows_checked": self.checked_rows,
            "files": self.files,
            "findings": [asdict(f) for f in self.findings],
        }


def audit(snap: Snapshot) -> Auditor:
    auditor = Auditor(snap)
    auditor.run()
    return auditor

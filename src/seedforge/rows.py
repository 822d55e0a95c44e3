"""The call row: one line of `generations.jsonl` per teacher call, answered or failed.

Every call the generate stage made is a row, including re-asks of a call whose output held no
valid example and calls that failed after their last attempt (`raw` is null and `error` says
why), so nothing the teacher was asked disappears. Rows are sorted by `call`, the call's cache
key. Only content goes in: no URL, time or machine-dependent count (those are in the run log).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Flat(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TeacherInfo(Flat):
    profile: str  # the params profile name
    backend: str
    model: str  # GGUF file name or API model name


class TemplateInfo(Flat):
    path: str
    sha256: str


class Usage(Flat):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ErrorInfo(Flat):
    cause: str  # rate_limit | server | timeout | connection | bad_response | client
    message: str  # one line naming teacher and URL, with the server's words


class CallRow(Flat):
    call: str  # the call key (cache key): backend, model, sampling and the whole request
    parent_id: str  # the seed example the prompt was rendered from
    teacher: TeacherInfo
    template: TemplateInfo
    request: dict[str, Any]  # messages (system, user), prefill, stop, schema: as sent
    sampling: dict[str, Any]  # the profile's sampling params, plus seed and sample index
    raw: str | None  # prefill + the model's text; null when the call failed
    finish_reason: str | None = None
    usage: Usage = Usage()
    attempts: int = 1  # attempts the answer took (retries included), as stored with it
    error: ErrorInfo | None = None  # why the last attempt failed; null when answered

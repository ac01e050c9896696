"""The GitHub Actions runner's side: the event a workflow run is about, and the files and workflow
commands a step answers with (``$GITHUB_STEP_SUMMARY``, ``$GITHUB_OUTPUT``, ``::error::`` lines).

Nothing from the event payload is trusted: ids are checked to be 40 hex digits, numbers to be numbers.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitokens.errors import UsageError

SUMMARY_LIMIT = 1024 * 1024  # GitHub refuses a step summary above 1 MiB
_ZERO = "0" * 40


@dataclass(frozen=True)
class Event:
    """What the workflow run is about, from ``GITHUB_EVENT_NAME``, ``GITHUB_EVENT_PATH``, ``GITHUB_REF``..."""

    name: str
    payload: dict[str, Any]
    ref: str
    sha: str | None
    env: Mapping[str, str]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Event:
        payload: Any = {}
        path = env.get("GITHUB_EVENT_PATH")
        if path:
            try:
                payload = json.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UsageError(
                    f"cannot read the event payload {path}: {exc}", hint="run this inside a workflow"
                ) from None
        return cls(
            env.get("GITHUB_EVENT_NAME", ""),
            payload if isinstance(payload, dict) else {},
            env.get("GITHUB_REF", ""),
            env.get("GITHUB_SHA") or None,
            env,
        )

    def _pr_field(self, *path: str) -> Any:
        value: Any = self.payload.get("pull_request") if self.name.startswith("pull_request") else None
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    @property
    def pr_number(self) -> int | None:
        number = self._pr_field("number")
        return number if isinstance(number, int) and not isinstance(number, bool) else None

    @property
    def pr_head(self) -> tuple[str | None, str | None]:
        """The pull request's head commit and branch."""
        return _hex(self._pr_field("head", "sha")), _text(self._pr_field("head", "ref"))

    @property
    def pr_base(self) -> str | None:
        return _hex(self._pr_field("base", "sha"))

    @property
    def merge_commit(self) -> str | None:
        """The commit a merged pull request landed as (None unless this is its ``closed`` event, merged)."""
        return _hex(self._pr_field("merge_commit_sha")) if self._pr_field("merged") is True else None

    @property
    def from_fork(self) -> bool:
        head, base = self._pr_field("head", "repo", "full_name"), self._pr_field("base", "repo", "full_name")
        return self.pr_number is not None and (head is None or head != base)

    @property
    def pushed(self) -> tuple[str | None, str | None, str | None]:
        """For a push to a branch: (branch, before, after)."""
        if self.name != "push" or not self.ref.startswith("refs/heads/"):
            return None, None, None
        before = _hex(self.payload.get("before"))
        return (
            self.ref.removeprefix("refs/heads/"),
            None if before == _ZERO else before,
            _hex(self.payload.get("after")) or _hex(self.sha),
        )


def _hex(value: Any) -> str | None:
    return value if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{40}", value) and value != _ZERO else None


def _text(value: Any) -> str | None:
    """A name from the payload, on one line (a line starting with ``::`` would be a workflow command)."""
    return re.sub(r"[\x00-\x1f\x7f]", "?", value) if isinstance(value, str) and value else None


def cap(text: str, limit: int) -> str:
    """``text`` cut at a line so that it stays under ``limit`` bytes, with a line saying so."""
    if len(text.encode()) <= limit:
        return text
    notice = "\n\n*Cut here: the report is larger than GitHub accepts. Narrow it with `since` or `sections`.*\n"
    head = text.encode()[: limit - len(notice.encode())].decode(errors="ignore")
    return head[: head.rfind("\n") + 1] + notice


def write_summary(env: Mapping[str, str], text: str) -> None:
    path = env.get("GITHUB_STEP_SUMMARY")
    if path and text:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(cap(text, SUMMARY_LIMIT))


def write_outputs(env: Mapping[str, str], outputs: Mapping[str, str]) -> None:
    """Append ``name<<DELIMITER`` entries: safe whatever a value holds."""
    path = env.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            for name, value in outputs.items():
                delimiter = f"gitokens_{uuid.uuid4().hex}"
                handle.write(f"{name}<<{delimiter}{os.linesep}{value}{os.linesep}{delimiter}{os.linesep}")


def annotation(kind: str, title: str, message: str) -> str:
    """A workflow command line (``::error title=...::message``), its data escaped as GitHub specifies."""

    def data(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    safe_title = data(title).replace(":", "%3A").replace(",", "%2C")
    return f"::{kind} title={safe_title}::{data(message)}"

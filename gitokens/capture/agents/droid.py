"""Factory Droid's session settings: ``~/.factory/sessions/[<encoded cwd>/]<session>.settings.json``.

Droid is closed source; the facts come from other readers that agree (ccusage
``rust/crates/ccusage/src/adapter/droid/{paths,parser,loader}.rs`` @5816e640, a mirror of Factory's settings
schema, several session-storage readers): confidence medium.

- Usage is only in ``<session>.settings.json``, rewritten whole: ``tokenUsage`` = ``{inputTokens,
  outputTokens, cacheCreationTokens, cacheReadTokens, thinkingTokens}``, the session's running totals
  (Anthropic-style: input without cache). ``inclusiveTokenUsage`` adds the sub-agent sessions, which have
  their own files, so it is never read. Whether ``outputTokens`` already holds ``thinkingTokens`` is not
  known; like ccusage, the thinking is added to the output (and is the reasoning part of it).
- There are no per-call counts: each read gives one call, the growth of the totals since the position's
  snapshot (the whole totals on a first read). Its key is the session and the totals, so an archived copy
  or a rewrite that leaves the totals alone counts nothing again; totals that shrink are a new baseline.
  The snapshot lives in the position: a reader started again from nothing gives the whole totals once more,
  so a read from the start (``Agent.restart``) keeps it.
- The call is dated at the last ``timestamp`` in the transcript ``<session>.jsonl`` beside the settings,
  else the settings file's modification time. The working directory is ``cwd`` on the transcript's first
  line (``{"type": "session_start", ..., "cwd": ...}``); without it, cwd is None (the folder name encodes
  the path lossily and is not decoded).
- ``model`` as configured (may be a display name such as ``custom:...``); ``providerLock`` the provider.
  No branch; cost only in Factory credits (``factoryCredits``), not read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from json.encoder import encode_basestring_ascii
from pathlib import Path

from gitokens.capture.agents.base import (
    MAKE,
    MAX_JSON,
    Agent,
    AgentCall,
    Position,
    Reading,
    changed,
    count,
    epoch_of,
    home_of,
    key_digest,
    loads,
    read_file,
    text,
    walk,
)

SOURCE = "droid"
SUFFIX = ".settings.json"
_KINDS = ("inputTokens", "outputTokens", "cacheReadTokens", "cacheCreationTokens", "thinkingTokens")


class Droid(Agent):
    name = "droid"
    source = SOURCE
    variable = None
    default = "~/.factory/sessions/**/<session>.settings.json (no variable moves it)"
    reads = "the growth of each session's running tokenUsage totals between reads"
    unknown = "per-call counts and times (one call per read per session); branch; cost in USD"
    snapshot = ("totals",)  # the totals counted so far: a read from the start measures the growth from them

    def roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        env, home = home_of(env)
        return [home / ".factory" / "sessions"]

    def logs(self, env: Mapping[str, str] | None = None) -> list[Path]:
        env, home = home_of(env)
        return walk(home / ".factory" / "sessions", lambda name: name.endswith(SUFFIX), depth=2)

    def read(self, path: Path, position: Position | None = None) -> Reading:
        moved, now = changed(path, position)
        before = (position or {}).get("totals")
        reading = Reading(position={**now, "totals": before})
        if not moved:
            return reading
        name = os.fspath(path)
        data = read_file(name, MAX_JSON)
        settings = loads(data) if data is not None else None
        usage = settings.get("tokenUsage") if isinstance(settings, dict) else None
        if not isinstance(usage, dict):
            if settings is None or not isinstance(settings, dict):
                reading.malformed.append(str(path))
            return reading
        totals = [count(usage.get(kind)) for kind in _KINDS]
        reading.position["totals"] = totals
        if not isinstance(before, list) or len(before) != len(totals) or not all(isinstance(n, int) for n in before):
            before = [0] * len(totals)
        grown = [after - earlier for after, earlier in zip(totals, before, strict=True)]
        if not any(grown) or min(grown) < 0:
            return reading
        assert isinstance(settings, dict)
        session = path.name[: -len(SUFFIX)]
        cwd, last = _transcript(
            name[: -len(SUFFIX)] + ".jsonl" if name.endswith(SUFFIX) else os.fspath(path.with_name(session + ".jsonl"))
        )
        when = last or epoch_of(now["mtime_ns"] / 1e9) or 0.0
        reading.calls.append(
            MAKE(
                AgentCall,
                (
                    totals_key(session, totals),
                    when,
                    SOURCE,
                    session,
                    cwd,
                    None,
                    text(settings.get("model")),
                    text(settings.get("providerLock")),
                    grown[0],
                    grown[1] + grown[4],
                    grown[2],
                    grown[3],
                    grown[4],
                    None,
                ),
            )
        )
        return reading


def totals_key(session: str, totals: list[int]) -> bytes:
    """``key_of(SOURCE, session, totals)`` (totals of ints, as ``count`` gives them), its text written here as
    ``key_of``'s encoder writes it, without the encoder."""
    return _DIGEST("[" + encode_basestring_ascii(session) + ",[" + ",".join(map(int.__repr__, totals)) + "]]")


_DIGEST = key_digest(SOURCE)
_TIMESTAMP = b'"timestamp"'


def _transcript(name: str) -> tuple[str | None, float | None]:
    """The session's directory (its first line's ``cwd``) and the time of its last dated line: the lines that
    mention a timestamp looked for from the end, without splitting the transcript into lines."""
    data = read_file(name, MAX_JSON)
    if data is None:
        return None, None
    first = loads(data[: data.find(b"\n")] if b"\n" in data else data)
    cwd = text(first.get("cwd")) if isinstance(first, dict) else None
    end = len(data)
    while (found := data.rfind(_TIMESTAMP, 0, end)) >= 0:
        start = data.rfind(b"\n", 0, found) + 1
        stop = data.find(b"\n", found)
        entry = loads(data[start : stop if stop >= 0 else len(data)])
        when = epoch_of(entry.get("timestamp")) if isinstance(entry, dict) else None
        if when is not None:
            return cwd, when
        end = start
    return cwd, None

"""OpenCode's SQLite store: ``${XDG_DATA_HOME:-~/.local/share}/opencode/opencode.db`` (``OPENCODE_DB`` moves it).

Facts relied on, read in anomalyco/opencode (the successor of sst/opencode; ``packages/opencode/src/
session/session.sql.ts``, ``message-v2.ts``, ``processor.ts``, ``session/index.ts``, ``storage/db.ts``,
``storage/json-migration.ts``, ``global/index.ts``):

- The data folder comes from xdg-basedir on every OS. ``OPENCODE_DB`` is an absolute path or a name in the
  data folder; install channels other than latest/beta use ``opencode-<channel>.db``: every
  ``opencode*.db`` there is read. The older JSON tree (``storage/``) was migrated into the database on
  first run and is left in place: it is not read, so nothing counts twice.
- One ``part`` row with ``data.type == "step-finish"`` per model call, written once when the step ends:
  ``{"cost", "snapshot", "tokens": {"total", "input", "output", "reasoning", "cache": {"read", "write"}}}``.
  ``message.data`` (``role: "assistant"``) has the ``modelID``, ``providerID``, ``time.created`` and
  ``path.cwd``; ``session.directory`` (NOT NULL) is the session's directory. The message's own ``tokens``
  is overwritten by each step (the last only), so the parts are the per-call ledger.
- Token semantics (``Session.getUsage``): ``input`` is without cache reads and writes. Current builds (AI SDK
  v6) report ``output`` without ``reasoning`` and ``total`` as the provider's total (input with cache, output
  and reasoning); older ones (v5) reported the provider's output, reasoning included, alongside
  ``reasoning``. A part whose ``total`` equals input + output + cache (reasoning not on top) is read as the
  older kind. Our output = output (+ reasoning when not already in it); reasoning = reasoning.
- ``cost`` is USD computed by OpenCode (models.dev prices; 0 when unknown or under a subscription: then
  None). No branch.
- Reading: a watermark on ``part``'s rowid (new rows get larger rowids; a database whose largest rowid
  fell below the watermark was replaced and is read again). ``Session.fork`` copies a session's messages
  and parts under new ids with the same data, so the key is the copied data (the message's creation time,
  provider, model, the step's snapshot, tokens and cost), not the part id: a fork's copies count once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from time import time as now
from typing import Any

import msgspec

from gitokens.capture.agents.base import (
    MAKE,
    MAX_COUNT,
    PLAIN,
    Agent,
    AgentCall,
    Database,
    Position,
    Reading,
    cost,
    count,
    epoch_of,
    home_of,
    key_digest,
    key_of,
    key_start,
    loads,
    plain_text,
    text,
    xdg_data,
)
from gitokens.capture.model import EARLIEST

SOURCE = "opencode"
_QUERY = (
    "SELECT p.rowid, p.{time}, p.data, m.data, s.id, s.directory FROM part p "
    "LEFT JOIN message m ON m.id = p.message_id LEFT JOIN session s ON s.id = p.session_id "
    "WHERE p.rowid > ? AND p.data LIKE '%step-finish%' AND (instr(p.data, '\"step-finish\"') OR instr(p.data, '\\')) "
    "ORDER BY p.rowid"
)
"""The parts that can be steps: ``step-finish`` in them (any case), and either the string ``"step-finish"``
whole or a backslash (an escape inside a ``type`` that decodes to ``step-finish``). A step's ``type`` is that
string, so the parts left out are ones ``_step`` would skip: a text that mentions the word (every message
talking about OpenCode); no JSON is parsed by SQLite, so it cannot disagree with ours."""
_LAST = "SELECT max(rowid) FROM part WHERE rowid > ? AND data LIKE '%step-finish%'"
"""The last part mentioning ``step-finish`` after the last step read: where the next read starts, as when
every such part was read."""


class OpenCode(Agent):
    name = "opencode"
    source = SOURCE
    variable: str | None = "OPENCODE_DB"
    default = "~/.local/share/opencode/opencode.db (XDG_DATA_HOME moves the folder)"
    reads = "each step-finish part (one per model call) of the SQLite store"
    unknown = "branch; the pre-SQLite JSON tree (migrated into the store by OpenCode itself)"

    def folder(self, env: Mapping[str, str] | None = None) -> Path:
        env, home = home_of(env)
        return xdg_data(env, home) / name_of(self)

    def roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        chosen = self.chosen(env)
        return [chosen.parent if chosen is not None else self.folder(env)]  # the folder: it holds the -wal too

    def watch(self, env: Mapping[str, str] | None = None) -> list[tuple[Path, bool]]:
        """The stores and their write-ahead logs, and the folder for a store that appears (a new channel's):
        the folder also holds the old JSON tree and the snapshots' git objects, many files a commit need not
        walk."""
        chosen = self.chosen(env)
        stores = [chosen] if chosen is not None else self.logs(env)
        folder = chosen.parent if chosen is not None else self.folder(env)
        return [(folder, False), *((Path(f"{store}{end}"), False) for store in stores for end in ("", "-wal"))]

    def chosen(self, env: Mapping[str, str] | None) -> Path | None:
        """The store the variable names, if it names one."""
        env, _ = home_of(env)
        value = env.get(self.variable or "", "").strip() if self.variable else ""
        if not value or value == ":memory:":
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.folder(env) / path

    def logs(self, env: Mapping[str, str] | None = None) -> list[Path]:
        chosen = self.chosen(env)
        if chosen is not None:
            return [chosen]
        folder = self.folder(env)
        try:
            return sorted(p for p in folder.iterdir() if p.name.startswith(name_of(self)) and p.suffix == ".db")
        except OSError:
            return []

    def read(self, path: Path, position: Position | None = None) -> Reading:
        return read_store(path, position, self.source)


def name_of(agent: Agent) -> str:
    return agent.name


def read_store(path: Path, position: Position | None, source: str, plain: bool = False) -> Reading:
    """The step-finish parts after the saved rowid in an OpenCode-schema store (OpenCode's or a fork's).
    ``plain`` reads every part the general way (``plain_step``): the same reading, more slowly."""
    mark = (position or {}).get("rowid", 0)
    mark = mark if isinstance(mark, int) else 0
    reading = Reading(position={"rowid": mark})
    with Database(path) as db:
        columns = db.columns("part")
        if db.problem is None and not {"message_id", "session_id", "data"} <= columns:
            reading.warnings.append(f"{path}: no part table of a known shape; not read")
            return reading
        top = next(db.rows("SELECT max(rowid) FROM part"), (0,))[0] or 0
        if top < mark:
            mark = 0  # a new database under the old name
        time = "time_created" if "time_created" in columns else "rowid"
        last, after, where = reading.position["rowid"], mark, str(path)
        memo: list[Any] = [None, _Message(), None, None, None, None]  # the last message and its fields: _remember
        steps = _plain_steps if plain else _steps
        for batch in db.batches(_QUERY.format(time=time), (mark,)):
            last = after = batch[-1][0]
            steps(batch, memo, source, where, reading)
        if db.problem is None:
            final = next(db.rows(_LAST, (after,)), (None,))[0]
            last = last if final is None else final
        reading.position["rowid"] = last
        if db.problem:
            reading.warnings.append(db.problem)
    return reading


def _plain_steps(rows: list[tuple[Any, ...]], memo: list[Any], source: str, where: str, reading: Reading) -> None:
    """The calls of a batch of parts, each read by ``plain_step``; a part it cannot read is malformed."""
    for row in rows:
        try:
            call = plain_step(row, memo, source)
        except (ValueError, TypeError, KeyError, AttributeError):
            reading.malformed.append(f"{where}:part rowid {row[0]}")
            continue
        if call is not None:
            reading.calls.append(call)


def _steps(rows: list[tuple[Any, ...]], memo: list[Any], source: str, where: str, reading: Reading) -> None:
    """``_plain_steps``, each part read by ``_typed`` where it can be (``plain_step`` otherwise)."""
    calls, start = reading.calls, key_start(source, "")
    for row in rows:
        try:
            call = _typed(row, memo, source, start) or plain_step(row, memo, source)
        except (ValueError, TypeError, KeyError, AttributeError):
            reading.malformed.append(f"{where}:part rowid {row[0]}")
            continue
        if call is not None:
            calls.append(call)


def _typed(row: tuple[Any, ...], memo: list[Any], source: str, start: Any) -> AgentCall | None:
    """``plain_step`` of a step as OpenCode writes it, with less work; None for any other part, left to
    ``plain_step`` (data that is not text, a part that is not a step, tokens of another shape or a count out of
    range, a snapshot or a message's field that is not a plain JSON value, a cost that is not a number from 0
    to 1e6, no part time).

    Its tokens are decoded as counts (``_Tokens``), the key's text of its message's fields is written once per
    message (``_remember``), and the rest of the key's text and the call's numbers are taken straight from the
    values, with no call per value. The message is taken where ``plain_step`` takes it: after the part's
    tokens are known to be there (so that ``memo`` changes as it would)."""
    _, created, data, message, session, directory = row
    if type(data) is not str or type(created) is not int or created <= 1e11:
        return None
    try:
        part = _COUNTED(data)
    except (msgspec.MsgspecError, RecursionError):
        return None
    tokens, snapshot, spent = part.tokens, part.snapshot, part.cost
    if part.type != "step-finish" or tokens is None or not (type(spent) is float or type(spent) is int):
        return None
    snap, cache = PLAIN.get(type(snapshot)), tokens.cache
    inp, out, reasoning, read, write, total = (
        tokens.input,
        tokens.output,
        tokens.reasoning,
        cache.read,
        cache.write,
        tokens.total,
    )
    if snap is None or not 0 <= spent < 1e6 or not 0 <= inp | out | reasoning | read | write | total <= MAX_COUNT:
        return None  # (every count is in range when the bits of all of them are)
    if message != memo[0]:
        _remember(memo, message)
    head, when = memo[5], created / 1000
    if head is None or not EARLIEST <= when <= now() + 86_400:
        return None
    hashed = start.copy()  # key_digest(source) of the key's text (ASCII: the strings in it are escaped)
    hashed.update(
        f'[{head},{snap(snapshot)},{{"cache":{{"read":{read},"write":{write}}},"input":{inp},"output":{out},'
        f'"reasoning":{reasoning},"total":{total}}},{spent!r}]'.encode()
    )
    inside = reasoning > 0 and total == inp + out + read + write
    values = (
        hashed.digest(),
        when,
        source,
        session if type(session) is str and session else None,
        directory if type(directory) is str and directory else memo[4],
        None,
        memo[2],
        memo[3],
        inp,
        out if inside else out + reasoning,
        read,
        write,
        (reasoning if reasoning < out else out) if inside else reasoning,
        float(spent) if spent else None,
    )
    return MAKE(AgentCall, values)


def plain_step(row: tuple[Any, ...], memo: list[Any], source: str) -> AgentCall | None:
    """The call of one part that is a step (None for another part), every part decoded and keyed the general way.
    ``memo`` holds the last message's data and what the steps take from it (see ``_remember``)."""
    _, created, part_data, message_data, session, directory = row
    part = _part(part_data)
    if part is None or part.type != "step-finish":
        return None
    raw = _counts(part)
    if message_data != memo[0]:
        _remember(memo, message_data)
    times, model, provider, cwd = memo[1], memo[2], memo[3], memo[4]
    when = epoch_of(created) if isinstance(created, int) and created > 1e11 else None
    when = when or epoch_of(times.get("completed")) or epoch_of(times.get("created"))
    if when is None:
        raise ValueError("no time")
    inp, out, reasoning, read, write, total = [
        value if type(value) is int and 0 <= value <= MAX_COUNT else count(value)  # count's own first case
        for value in raw
    ]
    inside = reasoning > 0 and total == inp + out + read + write
    key = _key(source, (times.get("created"), provider, model, part.snapshot), part, raw)
    values = (
        key,
        when,
        source,
        text(session),
        text(directory) or cwd,
        None,
        model,
        provider,
        inp,
        out if inside else out + reasoning,
        read,
        write,
        min(reasoning, out) if inside else reasoning,
        cost(part.cost),
    )
    return MAKE(AgentCall, values)


def _counts(part: _Part | _CountedPart) -> tuple[Any, ...]:
    """A step's input, output, reasoning, cache read, cache write and total, as the part gives them."""
    tokens = part.tokens
    if type(tokens) is _Tokens:
        return tokens.input, tokens.output, tokens.reasoning, tokens.cache.read, tokens.cache.write, tokens.total
    if not isinstance(tokens, dict):
        raise ValueError("a step without tokens")
    cache: dict[str, Any] = tokens["cache"] if isinstance(tokens.get("cache"), dict) else {}
    names = ("input", "output", "reasoning")
    return *(tokens.get(name) for name in names), cache.get("read"), cache.get("write"), tokens.get("total")


def _key(source: str, head: tuple[Any, ...], part: _Part | _CountedPart, raw: tuple[Any, ...]) -> bytes:
    """``key_of(source, *head, tokens, cost)``: for tokens decoded as counts (``_Tokens``: exactly those keys,
    all ints) their sorted text is written here, the same as the encoder writes it."""
    if type(part.tokens) is not _Tokens:
        return key_of(source, *head, part.tokens, part.cost, plain=False)
    inp, out, reasoning, read, write, total = raw
    before, after = plain_text(head), plain_text((part.cost,))
    if before is None or after is None:
        tokens = {"total": total, "input": inp, "output": out, "reasoning": reasoning}
        return key_of(source, *head, tokens | {"cache": {"read": read, "write": write}}, part.cost, plain=False)
    counts = (
        f'{{"cache":{{"read":{read},"write":{write}}},"input":{inp},"output":{out},'
        f'"reasoning":{reasoning},"total":{total}}}'
    )
    return key_digest(source)(f"[{before},{counts},{after}]")


def _remember(memo: list[Any], data: Any) -> None:
    """Sets ``memo`` to a message's data, what its steps take from it (its times, model, provider and
    directory) and the key's text of its fields (None when one is not a plain JSON value): a message's steps
    come one after another, so it is decoded once for them all."""
    message = _message(data)
    times = message.time if isinstance(message.time, dict) else {}
    path, model, provider, created = message.path, message.modelID, message.providerID, times.get("created")
    cwd = path.get("cwd") if isinstance(path, dict) else None
    model = model if isinstance(model, str) and model else None
    provider = provider if isinstance(provider, str) and provider else None
    written = PLAIN.get(type(created))
    head = (
        None if written is None else f"{written(created)},{PLAIN[type(provider)](provider)},{PLAIN[type(model)](model)}"
    )
    memo[:] = data, times, model, provider, cwd if isinstance(cwd, str) and cwd else None, head


class _Part(msgspec.Struct):
    """The fields of a part's ``data`` that a step takes (None when missing); the rest is skipped unbuilt."""

    type: Any = None
    tokens: Any = None
    snapshot: Any = None
    cost: Any = None


class _Cache(msgspec.Struct, forbid_unknown_fields=True):
    read: int
    write: int


class _Tokens(msgspec.Struct, forbid_unknown_fields=True):
    """A step's tokens as OpenCode writes them: exactly these keys (and the cache's two), every one an int.
    Tokens of any other shape are decoded as they are (``_Part``)."""

    total: int
    input: int
    output: int
    reasoning: int
    cache: _Cache


class _CountedPart(msgspec.Struct):
    """A part whose tokens, if any, are ``_Tokens``."""

    type: Any = None
    tokens: _Tokens | None = None
    snapshot: Any = None
    cost: Any = None


_COUNTED = msgspec.json.Decoder(_CountedPart).decode
_PART = msgspec.json.Decoder(_Part).decode


def _part(data: Any) -> _Part | _CountedPart | None:
    """A part's fields, decoded straight into them (its tokens as counts when they are OpenCode's), or (data
    msgspec refuses: not an object, NaN, ...) by ``loads``, so that they are what the whole decoded part would
    give; None when it is not a JSON object."""
    if not isinstance(data, (str, bytes)):
        return None
    try:
        return _COUNTED(data)
    except (msgspec.MsgspecError, RecursionError):
        pass
    try:
        return _PART(data)
    except (msgspec.MsgspecError, RecursionError):
        decoded = loads(data)
    if not isinstance(decoded, dict):
        return None
    return _Part(decoded.get("type"), decoded.get("tokens"), decoded.get("snapshot"), decoded.get("cost"))


class _Message(msgspec.Struct):
    """The fields of a message's ``data`` that a step takes (None when missing); the rest is skipped unbuilt."""

    time: Any = None
    modelID: Any = None
    providerID: Any = None
    path: Any = None


_MESSAGE = msgspec.json.Decoder(_Message).decode


def _message(data: Any) -> _Message:
    """A message's fields: decoded straight into them, or (data msgspec refuses: not an object, NaN, ...) by
    ``loads``, so that they are what the whole decoded message would give; all None when it is not JSON."""
    if not isinstance(data, (str, bytes)):
        return _Message()
    try:
        return _MESSAGE(data)
    except (msgspec.MsgspecError, RecursionError):
        decoded = loads(data)
    if not isinstance(decoded, dict):
        return _Message()
    return _Message(decoded.get("time"), decoded.get("modelID"), decoded.get("providerID"), decoded.get("path"))

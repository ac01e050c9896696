"""The readers' fast paths give what the plain ones gave: a call's time written without a datetime, a
capture message built without the named tuple's constructor, an OpenCode part decoded into the fields a step
takes, the parts an OpenCode-schema store's query leaves out (those that only mention ``step-finish``), and a
Gemini chat line decoded into the fields a call takes."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from agentlogs import T0
from agentlogs_more import (
    gemini_message,
    gemini_tokens,
    opencode_message,
    opencode_session,
    opencode_store,
    opencode_tokens,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitokens.capture import attribute
from gitokens.capture.agents import gemini, goose, opencode
from gitokens.capture.agents.base import (
    AgentCall,
    iso_ms,
    key_digest,
    key_of,
    key_start,
    loads,
    plain_text,
    read_jsonl,
    walk,
)
from gitokens.capture.agents.goose import ledger_key
from gitokens.capture.model import Message

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def iso_by_datetime(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


@pytest.mark.parametrize(
    "epoch",
    [0.0, 1_760_918_400.0, 1_760_918_400.0005, 1_760_918_400.9999995, 1_760_918_399.9999996, 86_399.9999999, -1.5],
    ids=["epoch", "midnight", "half-ms", "carry", "carry-midnight", "carry-day", "before-1970"],
)
def test_iso_ms_writes_what_datetime_writes_at_the_edges(epoch: float) -> None:
    assert iso_ms(epoch) == iso_by_datetime(epoch)


@SETTINGS
@given(
    whole=st.integers(0, 4_102_444_800),
    fraction=st.floats(0, 1, exclude_max=True) | st.sampled_from([0.0005, 0.9995, 0.9999995, 0.0000005]),
)
def test_iso_ms_writes_what_datetime_writes(whole: int, fraction: float) -> None:
    assert iso_ms(whole + fraction) == iso_by_datetime(whole + fraction)


@SETTINGS
@given(
    epoch=st.floats(1e9, 2e9),
    cwd=st.none() | st.text(max_size=5),
    branch=st.none() | st.text(max_size=5),
    spent=st.none() | st.floats(0, 10),
)
def test_a_call_s_message_is_the_one_its_constructor_builds(
    epoch: float, cwd: str | None, branch: str | None, spent: float | None
) -> None:
    call = AgentCall(b"k" * 16, epoch, "pi", "s", cwd, branch, "m", "p", 1, 2, 3, 4, 1, spent)
    expected = Message(
        b"k" * 16,
        epoch,
        iso_by_datetime(epoch),
        "pi",
        "s",
        "m",
        branch,
        1,
        2,
        3,
        4,
        1,
        spent,
        worktree=None if branch else cwd,
        provider="p",
    )
    assert call.to_message() == expected and call.ts == expected.ts


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
FIELDS = ["type", "tokens", "snapshot", "cost", "text"]


def object_text(pairs: list[tuple[str, Any]]) -> str:
    """An object's JSON text with its pairs as given: repeated keys stay (the last one counts when decoded)."""
    return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs) + "}"


@SETTINGS
@given(
    pairs=st.lists(st.tuples(st.sampled_from(FIELDS), values), max_size=6),
    whole=values,
    choice=st.integers(0, 3),
)
def test_a_part_s_fields_are_those_of_the_whole_decoded_part(
    pairs: list[tuple[str, Any]], whole: Any, choice: int
) -> None:
    text = [object_text(pairs), json.dumps(whole), object_text(pairs)[:-1], "\ufeff" + object_text(pairs)][choice]
    decoded = loads(text)
    part = opencode._part(text)
    if not isinstance(decoded, dict):
        assert part is None
    else:
        assert part is not None
        got = json.dumps([part.type, part.tokens, part.snapshot, part.cost])
        assert got == json.dumps([decoded.get(name) for name in ("type", "tokens", "snapshot", "cost")])


STEP = {"type": "step-finish", "snapshot": "abc", "cost": 0.5, "tokens": opencode_tokens(10, 5, 2, 100, 7)}
STEP_TEXT = json.dumps(STEP)
PARTS = [
    STEP_TEXT,
    STEP_TEXT.replace('"step-finish"', '"step\\u002dfinish"') + ' ["step-finish"]',  # escaped, mentioned after
    STEP_TEXT.replace('"step-finish"', '"step\\u002dfinish"'),  # escaped, no mention: not even LIKE takes it
    STEP_TEXT.replace('"step-finish"', '"STEP-FINISH"'),
    '{"type": "text", "text": "step-finish is a word here"}',
    '{"type": "text", "text": "a \\"step-finish\\" quoted"}',
    '{"type": "step-finish", "type": "text"}',  # the last key counts
    '{"type": "text", "type": "step-finish", "tokens": {"input": 3}}',
    '{"type": "step-finish", "tokens": "none"}',  # a step without tokens: malformed
    '{"type": "step-finish", "tokens": {"input": NaN}}',
    '{"type": "step-finish", "tokens": {"input": 1}',  # cut: not JSON
    "step-finish",
    '["step-finish"]',
]


def store_with(path: Path, parts: list[str | bytes]) -> None:
    db = opencode_store(path)
    opencode_session(db, "ses_1", "/w")
    opencode_message(db, "ses_1", "msg_1", T0, "/w", [{"cost": 0.0, "tokens": opencode_tokens(1, 1)}])
    for n, data in enumerate(parts):
        db.execute("INSERT INTO part VALUES (?,?,?,?,?,?)", (f"p{n}", "msg_1", "ses_1", None, None, data))
    db.commit()
    db.close()


def everything(path: Path, position: dict[str, Any] | None = None) -> tuple[Any, ...]:
    reading = opencode.read_store(path, position, "opencode")
    return reading.calls, reading.position, reading.malformed, reading.warnings


UNFILTERED = (
    "SELECT p.rowid, p.{time}, p.data, m.data, s.id, s.directory FROM part p "
    "LEFT JOIN message m ON m.id = p.message_id LEFT JOIN session s ON s.id = p.session_id "
    "WHERE p.rowid > ? AND p.data LIKE '%step-finish%' ORDER BY p.rowid"
)


def read_unfiltered(path: Path, position: dict[str, Any] | None, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """The reading as when every part mentioning step-finish came to Python (the query before the filter)."""
    with monkeypatch.context() as patched:
        patched.setattr(opencode, "_QUERY", UNFILTERED)
        return everything(path, position)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parts=st.lists(st.sampled_from(PARTS) | st.text(max_size=30) | st.binary(max_size=12), max_size=8),
    start=st.integers(-1, 12),
)
def test_the_filtered_query_reads_what_reading_every_mention_read(
    parts: list[str | bytes], start: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / "opencode.db"
        store_with(path, parts)
        position = {"rowid": start}
        assert everything(path, position) == read_unfiltered(path, position, monkeypatch)
        assert everything(path) == read_unfiltered(path, None, monkeypatch)


def test_the_position_passes_mentions_after_the_last_step(tmp_path: Path) -> None:
    path = tmp_path / "opencode.db"
    store_with(path, [STEP_TEXT, PARTS[4], PARTS[4]])
    calls, position, malformed, _ = everything(path)
    assert len(calls) == 2 and malformed == [] and position == {"rowid": 5}  # the message's own two parts, then 3


def test_a_store_whose_data_are_blobs_reads_as_before_the_filter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "opencode.db"
    store_with(path, [STEP_TEXT.encode(), PARTS[4].encode(), STEP_TEXT, PARTS[4].encode()])
    assert everything(path) == read_unfiltered(path, None, monkeypatch)


def test_sqlite_is_not_asked_to_parse_json(tmp_path: Path) -> None:
    """A part SQLite's JSON functions would refuse (NaN) is still read by ours, as before the filter."""
    path = tmp_path / "opencode.db"
    store_with(path, [STEP_TEXT.replace('"cost": 0.5', '"cost": NaN')])
    calls, _, malformed, warnings = everything(path)
    assert [c.input_tokens for c in calls] == [1, 10] and malformed == [] and warnings == []
    with sqlite3.connect(path) as db, pytest.raises(sqlite3.OperationalError):
        db.execute("SELECT json_extract(data, '$.type') FROM part").fetchall()


@pytest.mark.parametrize(
    "names",
    [["a-b.jsonl", "a/b.jsonl", "a.jsonl"], ["s/x/wire.jsonl", "s-x/wire.jsonl", "s/x.jsonl", "s!/wire.jsonl"]],
    ids=["flat", "nested"],
)
def test_walk_lists_files_in_the_order_paths_sort(tmp_path: Path, names: list[str]) -> None:
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    listed = walk(tmp_path, lambda name: name.endswith(".jsonl"))
    assert listed == sorted(tmp_path / name for name in names) and listed != sorted(listed, key=str)


@SETTINGS
@given(
    sessions=st.lists(st.none() | st.text(max_size=6) | st.integers() | st.floats() | st.binary(max_size=3)),
    rids=st.lists(st.integers(-(2**63), 2**63) | st.floats() | st.none() | st.text(max_size=3), min_size=1, max_size=4),
)
def test_goose_s_ledger_key_is_key_of(sessions: list[Any], rids: list[Any]) -> None:
    prefixes: dict[Any, str] = {}
    for session in [*sessions, *sessions]:
        for rid in rids:
            assert outcome(ledger_key, session, rid, prefixes) == outcome(key_of, goose.SOURCE, "ledger", session, rid)


def test_a_key_part_of_bytes_is_written_as_its_hex_digits() -> None:
    assert key_of(goose.SOURCE, "ledger", b"s1", 1) == key_of(goose.SOURCE, "ledger", bytearray(b"s1"), 1)
    assert key_of(goose.SOURCE, "ledger", b"s1", 1) != key_of(goose.SOURCE, "ledger", "s1", 1)
    assert key_of(goose.SOURCE, "ledger", b"s1", 1) != key_of(goose.SOURCE, "ledger", "7331", 1)
    with pytest.raises(TypeError):
        key_of(goose.SOURCE, "ledger", object(), 1)


def outcome(function: Any, *arguments: Any) -> Any:
    """What a call gives, or the type of what it raised (a part that is no JSON value)."""
    try:
        return function(*arguments)
    except TypeError as error:
        return type(error)


scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=6)


@SETTINGS
@given(parts=st.lists(scalars, min_size=1, max_size=5))
def test_plain_parts_are_written_as_json_writes_them(parts: list[Any]) -> None:
    assert "[" + str(plain_text(tuple(parts))) + "]" == json.dumps(parts, separators=(",", ":"), sort_keys=True)


counts = st.integers(-(2**64), 2**64) | st.sampled_from([0, 1, 10**12])
TOKEN_NAMES = ["total", "input", "output", "reasoning", "cache", "extra"]


@SETTINGS
@given(
    tokens=st.dictionaries(st.sampled_from(TOKEN_NAMES), counts | st.floats() | st.booleans(), max_size=6),
    cache=st.dictionaries(st.sampled_from(["read", "write", "x"]), counts | st.none(), max_size=3),
    standard=st.lists(counts, min_size=6, max_size=6),
    shaped=st.booleans(),
    head=st.tuples(scalars, scalars, scalars, scalars | st.lists(scalars, max_size=2)),
    spent=scalars | st.dictionaries(st.text(max_size=2), scalars, max_size=2),
)
def test_a_step_s_key_is_key_of_its_decoded_part(
    tokens: dict[str, Any],
    cache: dict[str, Any],
    standard: list[int],
    shaped: bool,
    head: tuple[Any, ...],
    spent: Any,
) -> None:
    if shaped:  # the shape OpenCode writes: typed as counts when every count is an int msgspec takes
        tokens = dict(zip(["total", "input", "output", "reasoning"], standard, strict=False))
        tokens["cache"] = {"read": standard[4], "write": standard[5]}
    else:
        tokens["cache"] = cache
    text = json.dumps({"type": "step-finish", "tokens": tokens, "snapshot": head[3], "cost": spent})
    part = opencode._part(text)
    assert part is not None
    if shaped and all(-(2**63) <= n < 2**64 for n in standard) and "NaN" not in text and "Infinity" not in text:
        assert type(part.tokens) is opencode._Tokens  # the typed path is the one taken (msgspec refuses NaN)
    decoded = loads(text)
    expected = key_of("kilo", *head[:3], decoded["snapshot"], decoded["tokens"], decoded["cost"], plain=False)
    assert opencode._key("kilo", (*head[:3], part.snapshot), part, opencode._counts(part)) == expected


GEMINI_NAMES = ["type", "sessionId", "model", "id", "timestamp", "tokens", "content", "typ\\u0065", "tok\\u0065ns"]
GEMINI_COUNTS = ["input", "output", "cached", "thoughts", "tool", "total", "inpu\\u0074"]
odd = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.sampled_from([0, 1, -1, 10**12, 10**12 + 1, 2**63, 2**64, 1.0, 2.5, float("nan"), float("inf"), "7", ""])
    | st.floats()
    | st.text(max_size=4)
)
stamps = st.sampled_from(
    [
        "2025-10-21T14:50:37.000Z",
        "2025-10-21T14:50:37.731Z",
        "2025-10-21T14:50:37Z",
        "2025-10-21T14:50:37.731+02:00",
        "2025-10-21T14:50:37.731",
        "2025-10-21 14:50:37.731Z",
        "2025-10-21T24:00:00.000Z",
        "2025-02-30T14:50:37.000Z",
        "2025-10-21T14:60:37.000Z",
        "\u0662025-10-21T14:50:37.000Z",
        "1999-12-31T23:59:59.999Z",
        "2999-01-01T00:00:00.000Z",
        "2025-10-21",
        "",
    ]
) | st.builds(iso_by_datetime, st.floats(946_684_800, 1_900_000_000))


class Pairs(list[tuple[str, Any]]):
    """An object's pairs, in order: its JSON text keeps repeated names, and names written escaped."""


def json_token(value: Any) -> str:
    if isinstance(value, Pairs):
        return "{" + ",".join(f'"{name}":{json_token(inner)}' for name, inner in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(json_token(inner) for inner in value) + "]"
    return json.dumps(value)


gemini_values = st.recursive(
    odd | stamps | st.sampled_from(["gemini", "user", "info"]),
    lambda inner: (
        st.builds(Pairs, st.lists(st.tuples(st.sampled_from(GEMINI_COUNTS), inner), max_size=6))
        | st.lists(inner, max_size=2)
    ),
    max_leaves=10,
)
gemini_objects = st.builds(Pairs, st.lists(st.tuples(st.sampled_from(GEMINI_NAMES), gemini_values), max_size=8))


edge_counts = st.sampled_from([-1, 10**12, 10**12 + 1, 2**63, 2**64, 2**64 + 1, 1.0, 2.5, True, None, "7"])
SPOILS: dict[int, Any] = {
    0: lambda text: text.replace('"@"', '""'),
    1: lambda text: text.replace('"@"', "NaN"),
    2: lambda text: text.replace('"@"', '"\\udc00"'),  # a lone surrogate, escaped
    3: lambda text: text.replace('"@"', '"\\ud83d\\ude00"'),  # a pair, escaped
    4: lambda text: text.replace('"@"', '"caf\u00e9"'),  # UTF-8, not ASCII
    5: lambda text: "\ufeff" + text.replace('"@"', '""'),
    6: lambda text: text.replace('"@"', "[" * 3000 + "]" * 3000),
}


@st.composite
def gemini_lines(draw: st.DrawFn) -> bytes:
    """One line of a chat: most often a message of the CLI's shape (its fields at times odd or missing), or
    the metadata line, or any object of its names; its content at times spoilt (NaN, a lone surrogate, bytes
    that are not UTF-8, text that is UTF-8 but not ASCII, deep nesting), or the line cut or not an object."""
    counts = draw(st.lists(st.integers(0, 10**6) | edge_counts, min_size=5, max_size=5))
    shaped = [
        ("id", draw(st.sampled_from(["m0", "m1", "m0", "", None, 3]))),
        ("timestamp", draw(st.builds(iso_by_datetime, st.floats(946_684_800, 1_800_000_000)) | stamps)),
        ("type", draw(st.sampled_from(["gemini", "gemini", "gemini", "user", None]))),
        ("content", "@"),
        ("tokens", Pairs(zip(["input", "output", "cached", "thoughts", "tool"], counts, strict=True))),
        ("model", draw(st.sampled_from(["gemini-2.5-pro", "gemini-2.5-flash", "", None, "gemini-\ud83d"]))),
    ]
    meta = [("sessionId", draw(st.sampled_from(["s1", "s2", "", None, 5]))), ("kind", "@")]
    if draw(st.booleans()):  # a line of a type with a session id: not the metadata line
        meta.append(("type", draw(st.sampled_from(["user", None]))))
    pairs = [shaped, shaped, shaped, meta, draw(gemini_objects)][draw(st.integers(0, 4))]
    pairs = [pair for pair in pairs if draw(st.integers(0, 7))]  # a field missing at times
    text = json_token(Pairs(draw(st.permutations(pairs))))
    spoil = draw(st.integers(0, 16))
    if spoil in SPOILS:
        return str(SPOILS[spoil](text)).encode()
    if spoil == 7:
        return text.replace('"@"', '"\udcff"').encode("utf-8", "surrogateescape")  # a byte that is not UTF-8
    if spoil == 8:
        return text.replace('"@"', '"\ud800"').encode("utf-8", "surrogatepass")  # a surrogate's bytes
    if spoil == 9:
        return text.replace('"@"', '""')[: draw(st.integers(0, len(text)))].encode()
    if spoil == 10:
        return json_token(draw(gemini_values)).encode()
    return SPOILS[0](text).encode()


def gemini_readings(path: Path, position: dict[str, Any] | None) -> tuple[Any, ...]:
    """The typed reading and the plain one (``read_jsonl`` with ``_line``), each as its text."""
    typed = gemini.read_lines(path, position)
    plain = read_jsonl(path, position, gemini._line, gemini._begin)
    return tuple(repr((r.calls, r.position, r.malformed, r.warnings)) for r in (typed, plain))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.lists(gemini_lines(), max_size=8), then=st.lists(gemini_lines(), max_size=8))
def test_a_gemini_chat_reads_as_its_plain_reading(first: list[bytes], then: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / "chats" / "s1" / "sub.jsonl"  # a sub-agent's file: the parent is in every call
        path.parent.mkdir(parents=True)
        path.write_bytes(b"".join(line + b"\n" for line in first))
        typed, plain = gemini_readings(path, None)
        assert typed == plain
        position = gemini.read_lines(path, None).position
        with path.open("ab") as handle:
            handle.write(b"".join(line + b"\n" for line in then))
        assert gemini_readings(path, position)[0] == gemini_readings(path, position)[1]


@SETTINGS
@given(counts=st.lists(st.integers(0, 10**6) | edge_counts, min_size=5, max_size=5), escaped=st.booleans())
def test_a_gemini_message_s_counts_are_read_as_count_reads_them(counts: list[Any], escaped: bool) -> None:
    tokens = dict(zip(["input", "output", "cached", "thoughts", "tool"], counts, strict=True))
    line = gemini_message("m1", 1_761_058_300.731, tokens).replace('"input"', '"inpu\\u0074"' if escaped else '"input"')
    try:
        entry = gemini._ENTRY(line.encode())
    except msgspec.ValidationError:  # a count msgspec's int refuses: the plain path reads the line
        assert not all(type(n) is int for n in counts)
        return
    assert gemini._call(entry, {"session": "s"}) == gemini._message(json.loads(line), {"session": "s"})


def test_a_gemini_message_as_the_cli_writes_it_takes_the_typed_path() -> None:
    line = gemini_message("m1", 1_761_058_300.731, gemini_tokens(45641, 1077, 40937, 5, 7), tools=True)
    entry = gemini._ENTRY(line.encode())
    assert entry.type == "gemini" and entry.tokens == gemini._Tokens(45641, 1077, 40937, 5, 7)
    call = gemini._call(entry, {"session": "s"})
    assert call is not None and call.epoch == 1_761_058_300.731 and call.input_tokens == 45641 - 40937 + 7


@SETTINGS
@given(
    session=st.none() | st.text(st.characters(exclude_categories=()), max_size=6),
    mid=st.text(st.characters(exclude_categories=()), max_size=6),
)
def test_a_gemini_key_is_key_of(session: str | None, mid: str) -> None:
    gemini._KEYS.clear()
    assert gemini._key(session, mid) == key_of(gemini.SOURCE, session, mid)


_MESSAGES = st.lists(
    st.builds(
        lambda key, epoch, ts, tokens, cost, write_1h, provider: Message(
            key, epoch, ts, "codex", "S", "m", "main", *tokens, cost, write_1h, None, provider
        ),
        st.binary(min_size=16, max_size=16),
        st.sampled_from([T0, T0 + 0.5, T0 + 1.0]),  # ties, so that the key and then the time string decide
        st.sampled_from(["2025-01-01T00:00:00Z", "2025-01-01T00:00:00.000Z"]),
        st.tuples(*[st.integers(0, 10**9)] * 5),
        st.one_of(st.none(), st.floats(0, 10, allow_nan=False)),
        st.integers(0, 1000),
        st.one_of(st.none(), st.sampled_from(["openai", "azure"])),
    ),
    min_size=1,
    max_size=30,
)


@SETTINGS
@given(_MESSAGES)
def test_a_group_added_up_column_by_column_is_the_group_added_up_one_by_one(messages: list[Message]) -> None:
    groups: dict[Any, list[Any]] = {}
    for message in messages:
        attribute.add(groups, ("c", "codex", "S", "m", "main", 0, 0), message)
    [one_by_one] = groups.values()
    assert attribute.group_of(messages) == one_by_one


MS = 1_761_043_892_000  # a part's or a message's time as OpenCode writes it (ms)
step_counts = st.integers(0, 10**6) | edge_counts | st.floats()
odd_costs = st.sampled_from([-0.0, 1e6, 999_999.5, -1.0, True, None, "0.5", [1], 2**64]) | st.floats()
step_costs = st.sampled_from([0, 0.0, 0.5, 3, 0.000123]) | st.floats(0, 10) | odd_costs
odd_times = st.sampled_from([10**11, 10**11 + 1, 2**62, -MS, 0, None, "x", 1.5e12, True, b"\x01"])
step_times = st.integers(MS, MS + 10**6) | st.integers(MS, MS + 10**6) | odd_times
message_times = st.sampled_from([MS, MS + 5000, "2025-10-21T10:51:32Z", 1.7e9, None, [MS], {"ms": MS}, True, 2**64])
texts = st.sampled_from(["anthropic", "claude-sonnet-4-5", "caf\u00e9", "\u2603", 'a"b']) | st.sampled_from(
    ["", None, 5, ["x"]]
)


@st.composite
def opencode_steps(draw: st.DrawFn) -> str | bytes:
    """A part's data: most often a step of OpenCode's shape (its counts, cost, snapshot at times odd or missing,
    its tokens at times of another shape), or another part, or text that is not JSON; at times spoilt (NaN, an
    escaped surrogate, text that is UTF-8 but not ASCII, a BOM, deep nesting), or stored as a BLOB."""
    counts = draw(st.lists(st.integers(0, 10**6), min_size=6, max_size=6))
    if draw(st.integers(0, 3)) == 0:  # at times a count msgspec's int refuses, or one out of range
        counts[draw(st.integers(0, 5))] = draw(step_counts)
    tokens: Any = Pairs(
        [
            ("total", counts[0]),
            ("input", counts[1]),
            ("output", counts[2]),
            ("reasoning", counts[3]),
            ("cache", Pairs([("read", counts[4]), ("write", counts[5])])),
        ]
    )
    if draw(st.integers(0, 7)) == 0:
        tokens = draw(values | st.builds(Pairs, st.lists(st.tuples(st.sampled_from(TOKEN_NAMES), values), max_size=4)))
    pairs = [
        ("type", draw(st.sampled_from(["step-finish", "step-finish", "step-finish", "text", "step-start", None]))),
        ("reason", "@"),
        ("snapshot", draw(st.sampled_from(["19a066547200000", "", None, 7, 1.5, ["x"], "caf\u00e9"]))),
        ("cost", draw(step_costs)),
        ("tokens", tokens),
    ]
    pairs = [pair for pair in pairs if draw(st.integers(0, 19))]  # a field missing at times
    text = json_token(Pairs(draw(st.permutations(pairs))))
    spoil = draw(st.integers(0, 16))
    if spoil in SPOILS:
        text = str(SPOILS[spoil](text))
    elif spoil == 7:
        text = text.replace('"@"', '""')[: draw(st.integers(0, len(text)))] + ' "step-finish"'
    elif spoil == 8:
        return text.replace('"@"', '""').encode()  # a BLOB
    else:
        text = SPOILS[0](text)
    return text


@st.composite
def opencode_messages(draw: st.DrawFn) -> Any:
    """A message's data: most often of OpenCode's shape (its fields at times odd or missing), or any JSON, or
    text that is not JSON, or none (the part's message is not in the store)."""
    time = Pairs([("created", draw(message_times)), ("completed", draw(message_times))])
    pairs = [
        ("role", "assistant"),
        ("time", draw(st.sampled_from([time, time, time, time, time, None, "x", [MS]]))),
        ("modelID", draw(texts)),
        ("providerID", draw(texts)),
        ("path", Pairs([("cwd", draw(texts)), ("root", "/w")])),
        ("tokens", Pairs([("input", 1)])),
    ]
    pairs = [pair for pair in pairs if draw(st.integers(0, 9))]
    text = json_token(Pairs(draw(st.permutations(pairs))))
    spoilt = [text.replace('"assistant"', "NaN"), text.encode(), "{", "[1]", None]
    return draw(st.sampled_from([text] * 10 + spoilt))


@st.composite
def opencode_stores(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """A store's part rows (message, session, time, data) over a few messages and sessions, some of which are
    missing, each message's parts together or interleaved with another's, and copies of a message's parts under
    another message of the same data (as ``Session.fork`` writes them)."""
    messages = draw(st.lists(opencode_messages(), min_size=1, max_size=3))
    rows = []
    for n, message in enumerate(messages):
        for _ in range(draw(st.integers(0, 3))):
            mid = f"m{n}" if message is not None else "gone"
            session = draw(st.sampled_from(["s0", "s1", "s2", "gone", "s0"]))
            rows.append((mid, session, draw(step_times), draw(opencode_steps())))
    if draw(st.booleans()):
        rows = draw(st.permutations(rows))
    if rows and draw(st.booleans()):  # a fork: the first message's parts again, under a copy of the message
        rows += [("fork", session, when, data) for mid, session, when, data in rows if mid == "m0"]
        messages.append(messages[0])
    return [(messages, *row) for row in rows]


def opencode_store_of(path: Path, rows: list[tuple[Any, ...]], broken: bool) -> None:
    """The store of ``opencode_stores``' rows; ``broken``: one part's data is text that is not UTF-8 (SQLite
    keeps it; reading it fails)."""
    db = opencode_store(path)
    for name, directory in (("s0", "/w"), ("s1", ""), ("s2", "/other")):
        opencode_session(db, name, directory)
    messages = rows[0][0] if rows else []
    ids = [f"m{n}" for n in range(len(messages))] + (["fork"] if len(messages) > 1 else [])
    for mid, data in zip(ids, messages, strict=False):
        if data is not None:
            db.execute("INSERT INTO message VALUES (?,?,?,?,?)", (mid, "s0", MS, MS, data))
    for n, (_, mid, session, when, data) in enumerate(rows):
        db.execute("INSERT INTO part VALUES (?,?,?,?,?,?)", (f"p{n}", mid, session, when, when, data))
    if broken and rows:
        db.execute(
            "UPDATE part SET data = CAST(X'7b2274797065223a22737465702d66696e697368222cff7d' AS TEXT) WHERE rowid = 1"
        )
    db.commit()
    db.close()


def opencode_readings(path: Path, position: dict[str, Any] | None) -> tuple[str, str]:
    """The typed reading and the plain one (every part read by ``plain_step``), each as its text."""
    typed, plain = (opencode.read_store(path, position, "opencode", plain=kind) for kind in (False, True))
    return repr((typed.calls, typed.position, typed.malformed, typed.warnings)), repr(
        (plain.calls, plain.position, plain.malformed, plain.warnings)
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=opencode_stores(), start=st.integers(-1, 6), broken=st.integers(0, 9))
def test_an_opencode_store_reads_as_its_plain_reading(rows: list[tuple[Any, ...]], start: int, broken: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / "opencode.db"
        opencode_store_of(path, rows, broken == 0)
        typed, plain = opencode_readings(path, None)
        assert typed == plain
        typed, plain = opencode_readings(path, {"rowid": start})
        assert typed == plain


def test_a_step_as_opencode_writes_it_takes_the_typed_path() -> None:
    """A step of OpenCode's shape, its cost a float or (JavaScript writes a whole number so) an int, is read by
    ``_typed``, as ``plain_step`` reads it; one with a count out of range is left to ``plain_step``."""
    message = json.dumps({"time": {"created": MS}, "modelID": "m", "providerID": "p", "path": {"cwd": "/w"}})
    for spent in (0.25, 0, 2):
        row = (1, MS, json.dumps({**STEP, "cost": spent}), message, "ses_1", "/w")
        memo: list[Any] = [None, opencode._Message(), None, None, None, None]
        typed = opencode._typed(row, memo, "opencode", key_start("opencode", ""))
        assert typed is not None and typed == opencode.plain_step(row, memo, "opencode")
        assert typed.cost_usd == (float(spent) or None) and typed.cwd == "/w" and typed.input_tokens == 10
    over = {"total": 10**12 + 1, "input": 0, "output": 0, "reasoning": 5, "cache": {"read": 0, "write": 0}}
    row = (1, MS, json.dumps({**STEP, "tokens": over}), message, "ses_1", "/w")
    memo = [None, opencode._Message(), None, None, None, None]
    assert opencode._typed(row, memo, "opencode", key_start("opencode", "")) is None
    plain = opencode.plain_step(row, memo, "opencode")
    assert plain is not None and (plain.output_tokens, plain.reasoning_tokens) == (0, 0)  # reasoning inside output


@SETTINGS
@given(source=st.sampled_from(["opencode", "kilo", "caf\u00e9"]), written=st.text(st.characters(max_codepoint=127)))
def test_a_key_hashed_from_key_start_is_key_digest_s(source: str, written: str) -> None:
    hashed = key_start(source, "").copy()
    hashed.update(written.encode())
    assert hashed.digest() == key_digest(source)(written)

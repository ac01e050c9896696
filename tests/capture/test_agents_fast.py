"""The readers' fast paths give what the plain ones gave: a call's time written without a datetime, a
capture message built without the named tuple's constructor, an OpenCode part decoded into the fields a step
takes, and the parts an OpenCode-schema store's query leaves out (those that only mention ``step-finish``)."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from agentlogs import T0
from agentlogs_more import opencode_message, opencode_session, opencode_store, opencode_tokens
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitokens.capture.agents import goose, opencode
from gitokens.capture.agents.base import AgentCall, iso_ms, key_of, loads, plain_text, walk
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

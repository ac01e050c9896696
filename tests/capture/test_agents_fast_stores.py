"""The Goose and Droid readers' fast paths give what the plain ones gave: Goose's ledger rows fetched without
their sessions and paired with them once per session, as SQLite's join pairs them (whatever the columns'
types, affinities and collations), or packed by SQLite column by column into JSON arrays; Droid's settings
and transcripts read with the fewest system calls, the last dated line found from the end, its key written
without the encoder; and ``walk``'s order sorted folder by folder."""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from agentlogs import T0, iso
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitokens.capture.agents import droid, goose
from gitokens.capture.agents.base import MAX_JSON, Database, Reading, epoch_of, key_of, loads, read_file, text, walk

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# -- Goose --------------------------------------------------------------------------------------------------------

IDS = st.sampled_from(["s1", "S1", "s1 ", "", "7", 7, 7.0, b"s1", None, "a\x00b", 'q"\\', "\x1f", "é", "😀"])
CREATED = (
    st.sampled_from(
        [
            T0,
            T0 * 1000,
            T0 + 0.5,
            float(T0),
            5,
            -1,
            10**11,
            10**11 + 1,
            2**62,
            iso(T0),
            "2025-06-15 15:06:40",
            "x",
            b"\x01",
        ]
    )
    | st.none()
)
COUNT = (
    st.sampled_from([0, 1, 250, 10**12, 10**12 + 1, -1, 2.0, 2.5, float("inf"), "3", b"3"])
    | st.integers(-(2**63), 2**63 - 1)
    | st.none()
)
MODEL = st.sampled_from(["claude-sonnet-4-5", "", 3, b"m"]) | st.none()
COST = st.sampled_from([0.25, 0, 2, -1.0, 1e6, 999_999.5, float("inf"), "0.1", b"1"]) | st.none()
CONFIG = st.sampled_from(['{"model_name": "gpt-5"}', '{"model_name": ""}', "[]", "{", 5, b"{}"]) | st.none()
# The declared type and collation of ``sessions.id`` and ``usage_ledger.session_id``: what SQLite's join and
# ``DISTINCT`` compare by (the fast path must pair sessions as the join does, or fall back).
DECLARED = st.sampled_from(["TEXT", "TEXT COLLATE NOCASE", "TEXT COLLATE RTRIM", "INTEGER", "", "BLOB"])


def store(
    path: Path, id_type: str, unique: bool, session_type: str, row_id: str = "INTEGER PRIMARY KEY AUTOINCREMENT"
) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute(
        f"CREATE TABLE sessions (id {id_type}{' PRIMARY KEY' if unique else ''}, working_dir TEXT, "
        "provider_name TEXT, model_config_json TEXT)"
    )
    db.execute(
        f"CREATE TABLE usage_ledger (id {row_id}, session_id {session_type}, "
        "created_timestamp INTEGER, model TEXT, input_tokens INTEGER, output_tokens INTEGER, "
        "cache_read_tokens INTEGER, cache_write_tokens INTEGER, cost REAL)"
    )
    return db


LEDGER_VALUES = (
    "INSERT INTO usage_ledger (session_id, created_timestamp, model, input_tokens, output_tokens, "
    "cache_read_tokens, cache_write_tokens, cost) VALUES (?,?,?,?,?,?,?,?)"
)


def filled(
    path: Path, declared: tuple[str, bool, str], sessions: list[tuple[Any, ...]], rows: list[tuple[Any, ...]], **kw: Any
) -> None:
    """A store of ``declared`` types (``store``'s) with the sessions (a second one of an id under a PRIMARY KEY
    left out) and the ledger rows: without their ids (``LEDGER_VALUES``), or with them where ``row_id`` says
    the id is a column of its own."""
    db = store(path, *declared, **kw)
    for row in sessions:
        try:
            db.execute("INSERT INTO sessions VALUES (?,?,?,?)", row)
        except sqlite3.IntegrityError:
            continue
    db.executemany("INSERT INTO usage_ledger VALUES (?,?,?,?,?,?,?,?,?)" if kw else LEDGER_VALUES, rows)
    db.commit()
    db.close()


def both(path: Path, mark: int) -> tuple[Reading | None, Reading]:
    """The fast reading (None where it falls back) and the joined one, from the same position."""
    with Database(path) as db:
        sessions, ledger = db.columns("sessions"), db.columns("usage_ledger")
        fast: Reading | None = Reading(position={"id": mark})
        fetched = goose._fetched(db, mark, sessions, ledger)
        if fetched is None or not goose._calls(db, fast, *fetched):  # type: ignore[arg-type]
            fast = None
        joined = Reading(position={"id": mark})
        goose._joined(db, joined, sessions, ledger)
        assert db.problem is None
    return fast, joined


def packed(path: Path, mark: int) -> Reading | None:
    """The packed reading from ``mark``, None where it falls back."""
    with Database(path) as db:
        reading = Reading(position={"id": mark})
        done = goose._packed(db, reading, db.columns("sessions"), db.columns("usage_ledger"))
        assert db.problem is None
    return reading if done else None


def shown(reading: Reading) -> str:
    return repr([reading.calls, reading.position, reading.malformed])


@SETTINGS
@given(
    declared=st.tuples(DECLARED, st.booleans(), DECLARED),
    sessions=st.lists(st.tuples(IDS, st.sampled_from(["/w/a", "", 4]) | st.none(), MODEL, CONFIG), max_size=4),
    rows=st.lists(st.tuples(IDS, CREATED, MODEL, COUNT, COUNT, COUNT, COUNT, COST), max_size=6),
    mark=st.integers(0, 3),
)
def test_goose_s_ledger_read_without_the_join_is_the_joined_reading(
    declared: tuple[str, bool, str], sessions: list[tuple[Any, ...]], rows: list[tuple[Any, ...]], mark: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sessions.db"
        filled(path, declared, sessions, rows)
        fast, joined = both(path, mark)
        if fast is not None:
            assert shown(fast) == shown(joined)
        quick = packed(path, mark)
        if quick is not None:
            assert shown(quick) == shown(joined)


PLAIN_COUNT = st.integers(0, 10**12) | st.none()
TEXT_IDS = st.sampled_from(["s1", "S1", "s1 ", "", "7", "a\x00b", 'q"\\', "\x1f", "é", "😀"])
TEXT_MODEL = st.sampled_from(["claude-sonnet-4-5", "", "gpt-5"]) | st.none()


@SETTINGS
@given(
    declared=st.tuples(DECLARED, st.booleans(), DECLARED),
    sessions=st.lists(st.tuples(IDS, st.sampled_from(["/w/a", ""]) | st.none(), MODEL, CONFIG), max_size=4),
    rows=st.lists(
        st.tuples(
            TEXT_IDS, st.integers(T0, T0 + 9), TEXT_MODEL, PLAIN_COUNT, PLAIN_COUNT, PLAIN_COUNT, PLAIN_COUNT, COST
        ),
        max_size=8,
    ),
    mark=st.integers(0, 3),
)
def test_goose_s_packed_reading_of_the_values_goose_writes_is_the_joined_reading(
    declared: tuple[str, bool, str], sessions: list[tuple[Any, ...]], rows: list[tuple[Any, ...]], mark: int
) -> None:
    """Times and counts as Goose writes them (the packed reading's usual case), the rest of any type, under
    any declared types and collations of the session ids: the packed reading, where it reads, is the join's."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sessions.db"
        filled(path, declared, sessions, rows)
        quick, (_, joined) = packed(path, mark), both(path, mark)
        if quick is not None:
            assert shown(quick) == shown(joined)


ROW_IDS = st.integers(-2, 6) | st.sampled_from([2.5, 3.0, "4", b"5"]) | st.none()


@SETTINGS
@given(
    sessions=st.lists(st.tuples(IDS, st.sampled_from(["/w/a", ""]), MODEL, CONFIG), max_size=3),
    rows=st.lists(st.tuples(ROW_IDS, IDS, CREATED, MODEL, COUNT, COUNT, COUNT, COUNT, COST), max_size=6),
    mark=st.integers(0, 3),
)
def test_goose_s_packed_reading_of_ids_that_are_not_the_rowid_is_the_joined_reading(
    sessions: list[tuple[Any, ...]], rows: list[tuple[Any, ...]], mark: int
) -> None:
    """An ``id`` column that is not the table's rowid: ids in any order, repeated, of any type. The packed
    reading takes them only in the scan's order, each once, or falls back."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sessions.db"
        filled(path, ("TEXT", True, "TEXT"), sessions, rows, row_id="INTEGER")
        quick, (_, joined) = packed(path, mark), both(path, mark)
        if quick is not None:
            assert shown(quick) == shown(joined)


def test_goose_s_usual_store_takes_the_fast_path(tmp_path: Path) -> None:
    """Goose's own schema and values: no fall back (which would make the property above hold trivially), and
    the reading is the joined one."""
    path = tmp_path / "sessions.db"
    db = store(path, "TEXT", True, "TEXT NOT NULL")
    db.execute("INSERT INTO sessions VALUES ('s1', '/w/a', 'anthropic', '{\"model_name\": \"claude-opus-4-5\"}')")
    rows = [("s1", T0 + n, "claude-sonnet-4-5" if n % 2 else None, 100 + n, 10, 50, 5, None) for n in range(5)]
    rows.append(("s2", T0, "gpt-5", 7, 1, 0, None, 0.01))  # a session the store does not have
    db.executemany(LEDGER_VALUES, rows)
    db.commit()
    db.close()
    fast, joined = both(path, 0)
    assert fast is not None and shown(fast) == shown(joined)
    quick = packed(path, 0)
    assert quick is not None and shown(quick) == shown(joined)
    assert [(c.model, c.cwd, c.input_tokens) for c in fast.calls[:2]] == [
        ("claude-opus-4-5", "/w/a", 45),
        ("claude-sonnet-4-5", "/w/a", 46),
    ]
    assert fast.calls[-1].cwd is None and fast.calls[-1].cost_usd == 0.01


@pytest.mark.parametrize(
    ("models", "costs", "cache"),
    [
        (["claude-sonnet-4-5"] * 4, [None] * 4, 50),
        (["claude-sonnet-4-5"] * 4, [0.25, None, 0.0125, 999_999.5], None),
        (["gpt-5", "claude-sonnet-4-5", "gpt-5", "o3"], [0.25, 2, "0.1", -1.0], 50),
        ([None, "claude-sonnet-4-5", "", "claude-sonnet-4-5"], [None] * 4, None),
        ([None] * 4, [1e-9, 0.5, None, 3.0], 0),
    ],
    ids=["one-model", "costs-no-cache", "models-odd-costs", "some-without-model", "none-with-model"],
)
def test_goose_s_usual_shapes_take_the_packed_path(
    tmp_path: Path, models: list[str | None], costs: list[Any], cache: int | None
) -> None:
    """Goose's own schema with the values it writes, in each shape the packed reading treats apart (one model
    or several, rows without one, costs or none, NULL cache counts), an index on the ledger beside: read
    packed, and as the join reads them, from the start and from a position."""
    path = tmp_path / "sessions.db"
    db = store(path, "TEXT", True, "TEXT NOT NULL")
    db.execute("CREATE INDEX by_model ON usage_ledger (model, session_id)")  # an order the scans must not take
    db.execute("INSERT INTO sessions VALUES ('s1', '/w/a', 'anthropic', '{\"model_name\": \"claude-opus-4-5\"}')")
    db.execute("INSERT INTO sessions VALUES ('s2', '/w/b', NULL, '{}')")
    rows = [
        (sid, T0 + n, model, 1000 + n, 10, cache, cache, spent)
        for n, (sid, model, spent) in enumerate(zip(["s1", "s2", "s3", "s1"], models, costs, strict=True))
    ]
    db.executemany(LEDGER_VALUES, rows)
    db.commit()
    db.close()
    for mark in (0, 2, 4):
        quick, (_, joined) = packed(path, mark), both(path, mark)
        assert quick is not None and shown(quick) == shown(joined)
    assert shown(goose.Goose().read(path)) == shown(both(path, 0)[1])


def test_goose_s_packed_reading_falls_back_where_a_collation_is_declared(tmp_path: Path) -> None:
    """Session ids compared without case: SQLite's join pairs ``S1`` with ``s1``, Python's equality does not,
    so the packed reading leaves the store to the general paths, which read it as the join does."""
    path = tmp_path / "sessions.db"
    db = store(path, "TEXT COLLATE NOCASE", True, "TEXT")
    db.execute("INSERT INTO sessions VALUES ('s1', '/w/a', 'anthropic', NULL)")
    db.execute(
        "INSERT INTO usage_ledger (session_id, created_timestamp, model, input_tokens) VALUES ('S1', ?, 'm', 1)", (T0,)
    )
    db.commit()
    db.close()
    assert packed(path, 0) is None
    reading = goose.Goose().read(path)
    assert [c.cwd for c in reading.calls] == ["/w/a"] and shown(reading) == shown(both(path, 0)[1])


def test_goose_falls_back_where_distinct_merges_what_python_tells_apart(tmp_path: Path) -> None:
    """A session id column compared without case: ``DISTINCT`` keeps one of ``S1`` and ``s1``, the other has
    no pairing, and the joined reading is the one given."""
    path = tmp_path / "sessions.db"
    db = store(path, "TEXT", True, "TEXT COLLATE NOCASE")
    db.execute("INSERT INTO sessions VALUES ('s1', '/w/a', 'anthropic', NULL)")
    db.executemany(
        "INSERT INTO usage_ledger (session_id, created_timestamp, model, input_tokens) VALUES (?,?,?,?)",
        [("S1", T0, "m", 1), ("s1", T0, "m", 2)],
    )
    db.commit()
    db.close()
    fast, joined = both(path, 0)
    assert fast is None and [c.cwd for c in joined.calls] == [None, "/w/a"]
    assert shown(goose.Goose().read(path)) == shown(joined)


# -- Droid --------------------------------------------------------------------------------------------------------

LINES = [
    json.dumps({"type": "session_start", "id": "d1", "cwd": "/w/repo"}),
    json.dumps({"type": "message", "timestamp": iso(T0)}),
    json.dumps({"type": "message", "timestamp": iso(T0 + 60), "text": "a\nb"}),
    json.dumps({"type": "message", "timestamp": "not a time"}),
    json.dumps({"type": "message", "timestamp": 5}),
    json.dumps({"type": "message", "timestamp": T0 + 5}),
    '{"type": "message", "timestamp": "' + iso(T0 + 9) + '"',  # cut: not JSON
    '"timestamp"',
    '["timestamp", 1]',
    json.dumps({"text": 'a "timestamp" here', "timestamp": iso(T0 + 7)}),
    "",
    "   ",
]


def transcript_by_lines(path: Path) -> tuple[str | None, float | None]:
    """The transcript read as before: split into lines, the dated ones decoded from the last."""
    try:
        if os.path.getsize(path) > MAX_JSON:
            return None, None
        data = path.read_bytes()
    except OSError:
        return None, None
    lines = data.split(b"\n")
    first = loads(lines[0]) if lines else None
    cwd = text(first.get("cwd")) if isinstance(first, dict) else None
    for line in reversed(lines):
        entry = loads(line) if b'"timestamp"' in line else None
        when = epoch_of(entry.get("timestamp")) if isinstance(entry, dict) else None
        if when is not None:
            return cwd, when
    return cwd, None


@SETTINGS
@given(
    lines=st.lists(st.sampled_from(LINES) | st.text(max_size=12), max_size=8),
    end=st.sampled_from(["", "\n", "\n\n"]),
)
def test_droid_s_transcript_found_from_the_end_is_the_one_found_by_lines(lines: list[str], end: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d1.jsonl"
        path.write_text("\n".join(lines) + end, encoding="utf-8", errors="surrogatepass")
        assert droid._transcript(str(path)) == transcript_by_lines(path)
        assert droid._transcript(str(Path(folder) / "missing.jsonl")) == (None, None)


@SETTINGS
@given(
    session=st.text(max_size=8),
    totals=st.lists(st.integers(0, 10**12), min_size=5, max_size=5),
)
def test_droid_s_totals_key_is_key_of(session: str, totals: list[int]) -> None:
    assert droid.totals_key(session, totals) == key_of(droid.SOURCE, session, totals)


@SETTINGS
@given(data=st.binary(max_size=300), limit=st.integers(0, 300))
def test_read_file_reads_what_read_bytes_reads(data: bytes, limit: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f"
        path.write_bytes(data)
        assert read_file(str(path), limit) == (data if len(data) <= limit else None)
        assert read_file(folder, 1000) is None  # a folder: no bytes
        assert read_file(str(path) + "-missing", 1000) is None


# -- walk ---------------------------------------------------------------------------------------------------------

PARTS = st.sampled_from(["a", "a-b", "a.jsonl", "b", "a!", "A", "ab", "é", "a b"])


@SETTINGS
@given(names=st.lists(st.lists(PARTS, min_size=1, max_size=4), max_size=10), depth=st.integers(0, 3))
def test_walk_lists_files_sorted_by_their_parts(names: list[list[str]], depth: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        made: list[Path] = []
        for parts in names:
            path = root.joinpath(*parts[:-1], parts[-1] + ".jsonl")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("")
            except (FileExistsError, NotADirectoryError, IsADirectoryError):
                continue
            made.append(path)
        within = [path for path in set(made) if len(path.relative_to(root).parts) <= depth + 1]
        expected = sorted(within, key=lambda path: str(path).split(os.sep))
        assert walk(root, lambda name: name.endswith(".jsonl"), depth=depth) == expected

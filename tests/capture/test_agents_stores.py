"""The readers of rewritten JSON files (Droid, Amp) and of SQLite stores (Copilot CLI, OpenCode, Kilo, Goose):
exact tokens per kind, running totals turned into the growth between reads, copies counted once, only new
rows read again, and a store that cannot be read reported in one line."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from agentlogs import T0
from agentlogs_more import (
    amp_assistant,
    amp_thread,
    copilot_call,
    copilot_events,
    copilot_store,
    droid_session,
    droid_settings,
    droid_usage,
    goose_call,
    goose_session,
    goose_store,
    opencode_message,
    opencode_session,
    opencode_store,
    opencode_tokens,
)
from test_agents_jsonl import kinds, read_all

from gitokens.capture.agents import READERS


def touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


# -- Droid --------------------------------------------------------------------------------------------------------


def test_droid_turns_running_totals_into_growth_between_reads(tmp_path: Path) -> None:
    settings = droid_session(tmp_path, "/w/repo", "d1", T0, droid_usage(1000, 200, 5000, 300, 50), "claude-sonnet-4-5")
    reader = READERS["droid"]
    first = reader.read(settings)
    assert [(c.session, c.cwd, c.provider, c.epoch, kinds(c)) for c in first.calls] == [
        ("d1", "/w/repo", "anthropic", T0, (1000, 250, 5000, 300, 50))
    ]
    droid_settings(settings, droid_usage(1000, 200, 5000, 300, 50), "claude-opus-4-5")  # totals unchanged
    touch_later(settings)
    unchanged = reader.read(settings, first.position)
    assert unchanged.calls == []
    droid_session(tmp_path, "/w/repo", "d1", T0 + 600, droid_usage(1500, 260, 9000, 300, 50), "claude-sonnet-4-5")
    touch_later(settings)
    grown = reader.read(settings, unchanged.position)
    assert [(c.epoch, kinds(c)) for c in grown.calls] == [(T0 + 600, (500, 60, 4000, 0, 0))]


def test_droid_archive_copy_counts_once_and_no_transcript_means_no_cwd(tmp_path: Path) -> None:
    usage = droid_usage(10, 1)
    droid_session(tmp_path, "/w/repo", "d2", T0, usage, "gpt-5")
    droid_settings(tmp_path / ".factory" / "sessions" / "d2.settings.json", usage, "gpt-5")  # flat older layout
    calls, readings = read_all("droid", {"HOME": str(tmp_path)})
    assert len(calls) == 1 and sum(len(r.calls) for r in readings) == 2
    assert sorted(str(c.cwd) for r in readings for c in r.calls) == ["/w/repo", "None"]


# -- Amp ----------------------------------------------------------------------------------------------------------


def test_amp_reads_message_usage_and_older_ledger_events_once(tmp_path: Path) -> None:
    messages = [
        {"role": "user", "messageId": 0, "content": []},
        amp_assistant(1, T0 + 10, 10, 220, read=16371, write=6904),
        {"role": "assistant", "messageId": 3, "content": [], "usage": {"model": "claude-haiku-4-5", "inputTokens": 1}},
    ]
    ledger = {
        "events": [
            {
                "id": "evt-1",
                "timestamp": "2025-06-15T15:07:00.000Z",
                "model": "x",
                "tokens": {"input": 99, "output": 9},
                "toMessageId": 1,
            },
            {
                "id": "evt-2",
                "timestamp": "2025-06-15T15:08:00.000Z",
                "model": "claude-haiku-4-5",
                "tokens": {"input": 100, "output": 50},
                "toMessageId": 3,
            },
        ]
    }
    path = amp_thread(tmp_path, "T-1", "/w/repo", messages, usageLedger=ledger)
    first = READERS["amp"].read(path)
    assert sorted((c.model, c.branch, c.cwd, kinds(c)) for c in first.calls) == [
        ("claude-haiku-4-5", "main", "/w/repo", (100, 50, 0, 0, 0)),
        ("claude-opus-4-6", "main", "/w/repo", (10, 220, 16371, 6904, 0)),
    ]
    assert READERS["amp"].read(path, first.position).calls == []
    touch_later(path)
    assert sorted(c.key for c in READERS["amp"].read(path, first.position).calls) == sorted(c.key for c in first.calls)


def test_amp_thread_without_a_tree_has_no_directory(tmp_path: Path) -> None:
    path = amp_thread(tmp_path, "T-2", None, [amp_assistant(1, T0, 5, 5)])
    assert [(c.cwd, c.branch) for c in READERS["amp"].read(path).calls] == [(None, None)]
    assert "April 2026" in READERS["amp"].unknown


# -- Copilot CLI --------------------------------------------------------------------------------------------------


def test_copilot_reads_rows_after_the_watermark_with_the_events_directory(tmp_path: Path) -> None:
    home = tmp_path / ".copilot"
    db = copilot_store(home / "session-store.db")
    copilot_events(tmp_path, "c1", "/w/repo", "feature", T0)
    db.execute("INSERT INTO sessions (id, cwd, branch) VALUES ('c2', '/w/other', NULL)")
    copilot_call(db, "c1", T0 + 9, "claude-sonnet-4.5", 140, 812, 45120, 2950, reasoning=100)
    copilot_call(db, "c2", T0 + 19, "gpt-5", 10, 5, 0, 0)
    copilot_call(db, "c3", T0 + 29, "gpt-5", 1, 1, 0, 0)
    (path,) = READERS["copilot"].logs({"HOME": str(tmp_path)})
    first = READERS["copilot"].read(path)
    assert [(c.session, c.cwd, c.branch, kinds(c)) for c in first.calls] == [
        ("c1", "/w/repo", "feature", (140, 812, 45120, 2950, 100)),
        ("c2", "/w/other", None, (10, 5, 0, 0, 0)),
        ("c3", None, None, (1, 1, 0, 0, 0)),
    ]
    assert {(c.provider, round(c.cost_usd or 0, 6)) for c in first.calls} == {("github-copilot", 0.0312)}
    copilot_call(db, "c1", T0 + 39, "claude-sonnet-4.5", 7, 7, 0, 0)
    second = READERS["copilot"].read(path, first.position)
    assert [kinds(c) for c in second.calls] == [(7, 7, 0, 0, 0)]
    assert [c.key for c in READERS["copilot"].read(path).calls] == [c.key for c in first.calls + second.calls]


def test_a_store_without_the_table_or_locked_is_a_warning_not_a_traceback(tmp_path: Path) -> None:
    plain = tmp_path / "session-store.db"
    sqlite3.connect(plain).execute("CREATE TABLE sessions (id TEXT)").connection.commit()
    reading = READERS["copilot"].read(plain)
    assert reading.calls == [] and "no assistant_usage_events table" in reading.warnings[0]
    locked = goose_store(tmp_path / "goose.db")
    goose_session(locked, "g1", "/w/repo", T0)
    locked.execute("PRAGMA locking_mode = EXCLUSIVE")
    locked.execute("BEGIN EXCLUSIVE")
    reading = READERS["goose"].read(tmp_path / "goose.db")
    assert reading.calls == [] and "locked" in reading.warnings[0]
    locked.rollback()
    garbage = tmp_path / "opencode.db"
    garbage.write_bytes(b"not a database at all" * 100)
    assert "cannot read" in READERS["opencode"].read(garbage).warnings[0]


# -- OpenCode and Kilo --------------------------------------------------------------------------------------------


def test_opencode_counts_every_step_and_a_fork_once(tmp_path: Path) -> None:
    path = tmp_path / ".local" / "share" / "opencode" / "opencode.db"
    db = opencode_store(path)
    opencode_session(db, "ses_a", "/w/repo")
    two_steps = [
        {"cost": 0.04, "tokens": opencode_tokens(140, 812, reasoning=30, read=45120, write=2890)},
        {"cost": 0.0, "tokens": opencode_tokens(20, 100, read=48000)},
    ]
    opencode_message(db, "ses_a", "msg_1", T0, "/w/repo", two_steps)
    opencode_session(db, "ses_b", "/w/repo", title="fix (fork #1)")
    opencode_message(db, "ses_b", "msg_1b", T0, "/w/repo", two_steps)  # Session.fork: new ids, same data
    opencode_session(db, "ses_c", "/w/other")
    older = {"total": 1150, "input": 100, "output": 50, "reasoning": 20, "cache": {"read": 1000, "write": 0}}
    opencode_message(
        db, "ses_c", "msg_2", T0 + 60, "/w/other", [{"cost": 0.01, "tokens": older}], model="gpt-5", provider="openai"
    )
    calls, _ = read_all("opencode", {"HOME": str(tmp_path)})
    assert [(c.session, c.cwd, c.provider, c.cost_usd, kinds(c)) for c in calls] == [
        ("ses_a", "/w/repo", "anthropic", 0.04, (140, 842, 45120, 2890, 30)),
        ("ses_a", "/w/repo", "anthropic", None, (20, 100, 48000, 0, 0)),
        ("ses_c", "/w/other", "openai", 0.01, (100, 50, 1000, 0, 20)),  # reasoning already inside the output
    ]


def test_opencode_reads_only_new_parts_and_honours_its_variable(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.db"
    db = opencode_store(path)
    opencode_session(db, "ses_a", "/w/repo")
    opencode_message(db, "ses_a", "msg_1", T0, "/w/repo", [{"cost": 0.0, "tokens": opencode_tokens(1, 2)}])
    assert READERS["opencode"].logs({"HOME": str(tmp_path), "OPENCODE_DB": str(path)}) == [path]
    first = READERS["opencode"].read(path)
    opencode_message(db, "ses_a", "msg_2", T0 + 5, "/w/repo", [{"cost": 0.0, "tokens": opencode_tokens(3, 4)}])
    assert [kinds(c) for c in READERS["opencode"].read(path, first.position).calls] == [(3, 4, 0, 0, 0)]


def test_kilo_reads_its_own_store_in_opencode_shape(tmp_path: Path) -> None:
    db = opencode_store(tmp_path / ".local" / "share" / "kilo" / "kilo.db")
    opencode_session(db, "ses_k", "/w/repo")
    opencode_message(db, "ses_k", "msg_1", T0, "/w/repo", [{"cost": 0.5, "tokens": opencode_tokens(5, 6)}])
    calls, _ = read_all("kilo", {"HOME": str(tmp_path)})
    assert [(c.source, c.cwd, kinds(c)) for c in calls] == [("kilo", "/w/repo", (5, 6, 0, 0, 0))]


# -- Goose --------------------------------------------------------------------------------------------------------


def test_goose_reads_the_ledger_not_the_totals(tmp_path: Path) -> None:
    path = tmp_path / ".local" / "share" / "goose" / "sessions" / "sessions.db"
    db = goose_store(path)
    goose_session(db, "20260301_1", "/w/repo", T0)
    goose_session(db, "20260301_2", "/w/other", T0, provider="openai")
    goose_call(db, "20260301_1", T0 + 5, 200, 310, read=12000, write=800, cost=0.0123)
    goose_call(db, "20260301_2", T0 + 6, 50, 5, model=None, cost=None)
    reader = READERS["goose"]
    (found,) = reader.logs({"HOME": str(tmp_path)})
    first = reader.read(found)
    assert [(c.session, c.cwd, c.model, c.provider, c.cost_usd, kinds(c)) for c in first.calls] == [
        ("20260301_1", "/w/repo", "claude-sonnet-4-5", "anthropic", 0.0123, (200, 310, 12000, 800, 0)),
        ("20260301_2", "/w/other", "claude-sonnet-4-5", "openai", None, (50, 5, 0, 0, 0)),
    ]
    goose_call(db, "20260301_1", T0 + 9, 1, 1)
    assert [kinds(c) for c in reader.read(found, first.position).calls] == [(1, 1, 0, 0, 0)]


def test_goose_reads_a_row_whose_session_id_is_a_blob(tmp_path: Path) -> None:
    """SQLite keeps any type in any column: a ledger row whose session id is bytes is read (its key written
    from the bytes' hex digits, distinct from a text id's), never a traceback."""
    path = tmp_path / ".local" / "share" / "goose" / "sessions" / "sessions.db"
    db = goose_store(path)
    goose_session(db, "s1", "/w/repo", T0)
    goose_call(db, "s1", T0 + 5, 200, 310)
    db.execute(
        "INSERT INTO usage_ledger (session_id, created_timestamp, model, input_tokens, output_tokens) "
        "VALUES (?,?,?,?,?)",
        (b"s1", T0 + 6, "claude-sonnet-4-5", 7, 3),
    )
    db.commit()
    reader = READERS["goose"]
    (found,) = reader.logs({"HOME": str(tmp_path)})
    calls = reader.read(found).calls
    assert [(c.session, kinds(c)) for c in calls] == [("s1", (200, 310, 0, 0, 0)), (None, (7, 3, 0, 0, 0))]
    assert len({c.key for c in calls}) == 2


def test_goose_without_a_ledger_reads_the_growth_of_session_totals(tmp_path: Path) -> None:
    path = tmp_path / "root" / "data" / "sessions" / "sessions.db"
    db = goose_store(path, ledger=False)
    goose_session(db, "s1", "/w/repo", T0)
    goose_call(db, "s1", T0 + 5, 100, 10, ledger=False)
    goose_call(db, "s1", T0 + 6, 100, 10, ledger=False)
    env = {"HOME": str(tmp_path), "GOOSE_PATH_ROOT": str(tmp_path / "root")}
    (found,) = READERS["goose"].logs(env)
    first = READERS["goose"].read(found)
    assert [(c.cwd, c.epoch, kinds(c)) for c in first.calls] == [("/w/repo", T0 + 6, (200, 20, 0, 0, 0))]
    assert READERS["goose"].read(found, first.position).calls == []
    goose_call(db, "s1", T0 + 60, 7, 3, ledger=False)
    assert [kinds(c) for c in READERS["goose"].read(found, first.position).calls] == [(7, 3, 0, 0, 0)]

"""No reader raises on what it finds: random bytes, random JSON in the agents' shapes, real logs cut anywhere,
and stores holding values of any type are read as malformed lines or warnings, never a traceback."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from agentlogs import T0
from agentlogs_more import (
    amp_assistant,
    copilot_store,
    gemini_message,
    gemini_meta,
    gemini_tokens,
    goose_store,
    kimi_header,
    kimi_status,
    kimi_subagent,
    opencode_store,
    pi_assistant,
    pi_header,
    qwen_assistant,
    qwen_usage,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitokens.capture.agents import READERS, Reading

# Where each reader looks for a file of its own, relative to a home.
PLACES = {
    "gemini": ".gemini/tmp/repo/chats/session-2025-06-15T15-06-abcd.jsonl",
    "qwen": ".qwen/projects/-w/chats/s.jsonl",
    "kimi": ".kimi/sessions/0123/s1/wire.jsonl",
    "droid": ".factory/sessions/-w/d.settings.json",
    "amp": ".local/share/amp/threads/T-1.json",
    "opencode": ".local/share/opencode/opencode.db",
    "kilo": ".local/share/kilo/kilo.db",
    "goose": ".local/share/goose/sessions/sessions.db",
    "copilot": ".copilot/session-store.db",
    "pi": ".pi/agent/sessions/--w--/s.jsonl",
}
SAMPLES = {
    "gemini": [gemini_meta("s", T0), gemini_message("a", T0, gemini_tokens(10, 2, cached=3, thoughts=1))],
    "qwen": [qwen_assistant("u", "s", "/w", T0, qwen_usage(10, 2, cached=3))],
    "kimi": [kimi_header(), kimi_status(T0, "m", 1, 2, 3), kimi_subagent(T0, kimi_status(T0, "n", 1, 1))],
    "amp": [json.dumps({"id": "T-1", "messages": [amp_assistant(1, T0, 1, 2)]}, indent=2)],
    "pi": [pi_header("s", "/w", T0), pi_assistant("a", T0, 1, 2, 3, 4, 0.5)],
    "droid": [json.dumps({"model": "m", "tokenUsage": {"inputTokens": 5, "outputTokens": 1}}, indent=2)],
}
FILES = sorted(SAMPLES)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
KEYS = [
    "type",
    "tokens",
    "usage",
    "usageMetadata",
    "message",
    "payload",
    "token_usage",
    "messages",
    "timestamp",
    "id",
    "sessionId",
    "uuid",
    "cwd",
    "model",
    "tokenUsage",
    "env",
    "usageLedger",
    "events",
    "messageId",
]
shaped = st.recursive(
    st.none()
    | st.integers(-5, 10**13)
    | st.floats()
    | st.sampled_from(["gemini", "assistant", "StatusUpdate", "2025-06-15T15:06:40Z", ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=6),
    max_leaves=20,
)


def read_everything(agent: str, home: Path) -> list[Reading]:
    readings = []
    for path in READERS[agent].logs({"HOME": str(home)}):
        first = READERS[agent].read(path)
        readings += [first, READERS[agent].read(path, first.position)]
        for call in first.calls:
            assert call.tokens >= 0 and call.to_message().key == call.key
    return readings


def place(home: Path, agent: str, data: bytes) -> None:
    path = home / PLACES[agent]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(agent=st.sampled_from(sorted(PLACES)), data=st.binary(max_size=400))
def test_random_bytes_never_raise(agent: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as home:
        place(Path(home), agent, data)
        read_everything(agent, Path(home))


@FAST
@given(agent=st.sampled_from(FILES), values=st.lists(json_values | shaped, min_size=1, max_size=5))
def test_random_json_never_raises(agent: str, values: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as home:
        text = "\n".join(json.dumps(v) for v in values) if agent not in ("amp", "droid") else json.dumps(values[0])
        place(Path(home), agent, text.encode())
        read_everything(agent, Path(home))


@FAST
@given(agent=st.sampled_from(FILES), cut=st.integers(0, 2000), extra=st.binary(max_size=20))
def test_real_logs_cut_anywhere_never_raise(agent: str, cut: int, extra: bytes) -> None:
    whole = ("\n".join(SAMPLES[agent]) + "\n").encode()
    with tempfile.TemporaryDirectory() as home:
        place(Path(home), agent, whole[: cut % (len(whole) + 1)] + extra)
        read_everything(agent, Path(home))


def filled(value: Any) -> Any:
    """A value for a NOT NULL column."""
    return "" if value is None else value


# No NaN: SQLite stores it as NULL, which a NOT NULL column refuses.
cells = (
    st.none()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.binary(max_size=8)
)


@FAST
@given(
    agent=st.sampled_from(["opencode", "goose", "copilot"]),
    rows=st.lists(st.lists(cells, min_size=6, max_size=6), max_size=4),
)
def test_stores_with_values_of_any_type_never_raise(agent: str, rows: list[list[Any]]) -> None:
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / PLACES[agent]
        db: sqlite3.Connection
        if agent == "opencode":
            db = opencode_store(path)
            for n, row in enumerate(rows):
                db.execute(
                    "INSERT INTO session VALUES (?,?,?,?,?,?,?,?,?)",
                    (f"s{n}", "p", None, "s", filled(row[0]), "t", "1", 0, 0),
                )
                db.execute("INSERT INTO message VALUES (?,?,?,?,?)", (f"m{n}", f"s{n}", row[1], row[1], filled(row[2])))
                db.execute(
                    "INSERT INTO part VALUES (?,?,?,?,?,?)", (f"p{n}", f"m{n}", f"s{n}", row[3], row[4], filled(row[5]))
                )
                db.execute(
                    "INSERT INTO part VALUES (?,?,?,?,?,?)",
                    (
                        f"q{n}",
                        f"m{n}",
                        f"s{n}",
                        row[3],
                        row[4],
                        '{"type":"step-finish","tokens":' + json.dumps(str(row[5])) + "}",
                    ),
                )
        elif agent == "goose":
            db = goose_store(path)
            for n, row in enumerate(rows):
                db.execute(
                    "INSERT INTO sessions (id, working_dir, provider_name, model_config_json) VALUES (?,?,?,?)",
                    (f"s{n}", filled(row[0]), row[1], row[2]),
                )
                db.execute(
                    "INSERT INTO usage_ledger (session_id, created_timestamp, model, input_tokens, output_tokens, "
                    "cache_read_tokens) VALUES (?,?,?,?,?,?)",
                    (f"s{n}", filled(row[3]), *row[4:], row[0], row[1]),
                )
        else:
            db = copilot_store(path)
            for row in rows:
                db.execute(
                    "INSERT INTO assistant_usage_events (session_id, model, input_tokens, output_tokens, "
                    "cache_read_tokens, cache_write_tokens, created_at) VALUES (?,?,?,?,?,?,?)",
                    (str(row[0]), str(row[1]), *row[2:], row[0]),
                )
        db.commit()
        db.close()
        read_everything(agent, Path(home))


@FAST
@given(session=cells, counts=st.lists(cells, min_size=3, max_size=3))
def test_goose_rows_whose_session_id_is_of_any_type_are_read(session: Any, counts: list[Any]) -> None:
    """A column's declared type binds nothing in SQLite: a ledger row's session id may be a number or a
    BLOB. The row is read as a call, or counted as malformed, never a traceback."""
    with tempfile.TemporaryDirectory() as home:
        db = goose_store(Path(home) / PLACES["goose"])
        db.execute("INSERT INTO sessions (id, working_dir) VALUES (?, ?)", (filled(session), "/w/repo"))
        db.execute(
            "INSERT INTO usage_ledger (session_id, created_timestamp, model, input_tokens, output_tokens, "
            "cache_read_tokens) VALUES (?,?,?,?,?,?)",
            (filled(session), T0, "claude-sonnet-4-5", *counts),
        )
        db.commit()
        db.close()
        first, again = read_everything("goose", Path(home))
        assert len(first.calls) + len(first.malformed) == 1 and again.calls == []

"""Hermes Agent's ``state.db``, written as Hermes writes it: each session's running totals turned into their
growth between reads (field by field, as Hermes' own daily ledger counts the gateway's absolute updates),
auxiliary calls read from their route rows, the directory and branch of each session, profiles' stores, and
``git tokens capture`` end to end in a real repository."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from agentlogs import T0, commit_at, hermes_absolute, hermes_call, hermes_session, hermes_store
from conftest import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_agents_jsonl import kinds, read_all

from gitokens.capture.agents import AGENTS, READERS
from gitokens.git.repo import open_repo
from gitokens.ledger import store


def home_store(home: Path) -> Path:
    return home / ".hermes" / "state.db"


def test_hermes_turns_session_totals_into_their_growth_between_reads(tmp_path: Path) -> None:
    db = hermes_store(home_store(tmp_path))
    hermes_session(db, "20260301_a", "/w/repo", T0, branch="feature")
    hermes_session(db, "20260301_b", "/w/other", T0, model="gpt-5", provider="openai-codex")
    hermes_call(db, "20260301_a", T0 + 5, 200, 310, read=12000, write=800, estimated=0.0123)
    hermes_call(db, "20260301_a", T0 + 9, 20, 40, read=13000, reasoning=10, estimated=0.002)
    hermes_call(db, "20260301_b", T0 + 6, 50, 5, estimated=None, model="gpt-5", provider="openai-codex")
    reader = READERS["hermes"]
    (found,) = reader.logs({"HOME": str(tmp_path)})
    first = reader.read(found)
    assert [(c.session, c.cwd, c.branch, c.model, c.provider, c.epoch, kinds(c)) for c in first.calls] == [
        ("20260301_a", "/w/repo", "feature", "claude-sonnet-4-5", "anthropic", T0 + 9, (220, 350, 25000, 800, 10)),
        ("20260301_b", "/w/other", "main", "gpt-5", "openai-codex", T0 + 6, (50, 5, 0, 0, 0)),
    ]
    assert [c.cost_usd for c in first.calls] == [pytest.approx(0.0143), None]  # a subscription route: no cost
    assert reader.read(found, first.position).calls == []  # nothing grew
    hermes_call(db, "20260301_a", T0 + 60, 7, 3, read=500, estimated=0.001, actual=0.0011)
    (grown,) = reader.read(found, first.position).calls
    assert (grown.epoch, kinds(grown), grown.cost_usd) == (T0 + 60, (7, 3, 500, 0, 0), pytest.approx(0.0011))
    assert grown.key not in {c.key for c in first.calls}


def test_hermes_gateway_totals_that_drop_count_only_what_grows_again(tmp_path: Path) -> None:
    """The gateway sets the agent's cumulative counts; a restarted agent sets lower ones. Hermes' daily
    ledger counts each field's non-negative growth, and so does the reader."""
    db = hermes_store(home_store(tmp_path))
    hermes_session(db, "tg-1", "/w/repo", T0, source="telegram")
    hermes_absolute(db, "tg-1", 1000, 100, 5000)
    reader = READERS["hermes"]
    (found,) = reader.logs({"HOME": str(tmp_path)})
    first = reader.read(found)
    assert [kinds(c) for c in first.calls] == [(1000, 100, 5000, 0, 0)]
    hermes_absolute(db, "tg-1", 400, 150, 2000)  # input and cache reads dropped, output grew
    second = reader.read(found, first.position)
    assert [kinds(c) for c in second.calls] == [(0, 50, 0, 0, 0)]
    hermes_absolute(db, "tg-1", 900, 150, 2500)
    assert [kinds(c) for c in reader.read(found, second.position).calls] == [(500, 0, 500, 0, 0)]


def test_hermes_auxiliary_calls_count_from_their_route_rows_and_main_loop_rows_do_not(tmp_path: Path) -> None:
    db = hermes_store(home_store(tmp_path))
    hermes_session(db, "s1", "/w/repo", T0)
    hermes_call(db, "s1", T0 + 5, 100, 50)  # also grows the main loop's route row: not read (in the totals)
    hermes_call(db, "s1", T0 + 7, 3000, 200, model="gemini-3-flash", provider="openrouter", task="compression")
    hermes_call(db, "s1", T0 + 8, 900, 20, model="gemini-3-flash", provider="openrouter", task="title_generation")
    reader = READERS["hermes"]
    (found,) = reader.logs({"HOME": str(tmp_path)})
    first = reader.read(found)
    assert [(c.cwd, c.model, c.provider, c.epoch, kinds(c)) for c in first.calls] == [
        ("/w/repo", "claude-sonnet-4-5", "anthropic", T0 + 5, (100, 50, 0, 0, 0)),
        ("/w/repo", "gemini-3-flash", "openrouter", T0 + 7, (3000, 200, 0, 0, 0)),
        ("/w/repo", "gemini-3-flash", "openrouter", T0 + 8, (900, 20, 0, 0, 0)),
    ]
    hermes_call(db, "s1", T0 + 30, 1000, 100, model="gemini-3-flash", provider="openrouter", task="compression")
    assert [(c.epoch, kinds(c)) for c in reader.read(found, first.position).calls] == [(T0 + 30, (1000, 100, 0, 0, 0))]


def test_hermes_directory_of_continuations_and_chats_without_one(tmp_path: Path) -> None:
    db = hermes_store(home_store(tmp_path))
    hermes_session(db, "root", "/w/repo", T0, branch="main")
    hermes_call(db, "root", T0 + 1, 10, 1)
    hermes_session(db, "child", "/w/repo", T0 + 2, branch="main", parent="root")  # compression continuation
    hermes_call(db, "child", T0 + 3, 20, 2)
    hermes_session(db, "chat", None, T0, branch=None, source="discord")  # a messaging chat: no directory
    hermes_call(db, "chat", T0 + 4, 30, 3)
    hermes_session(db, "rooted", None, T0, branch=None, root="/w/repo")  # only the repository's root known
    hermes_call(db, "rooted", T0 + 5, 40, 4)
    calls, _ = read_all("hermes", {"HOME": str(tmp_path)})
    assert sorted((c.session, c.cwd, c.branch, kinds(c)[:2]) for c in calls) == [
        ("chat", None, None, (30, 3)),
        ("child", "/w/repo", "main", (20, 2)),
        ("root", "/w/repo", "main", (10, 1)),
        ("rooted", "/w/repo", None, (40, 4)),
    ]


def test_hermes_reads_each_profiles_store_and_honours_its_variable(tmp_path: Path) -> None:
    base = tmp_path / "hermes-home"
    for where, session in ((base, "d1"), (base / "profiles" / "work", "w1")):
        db = hermes_store(where / "state.db")
        hermes_session(db, session, "/w/repo", T0)
        hermes_call(db, session, T0 + 1, 10, 1)
        db.close()
    (base / "profiles" / "empty").mkdir()
    env = {"HOME": str(tmp_path), "HERMES_HOME": str(base)}
    assert READERS["hermes"].logs(env) == [base / "state.db", base / "profiles" / "work" / "state.db"]
    assert READERS["hermes"].roots(env) == [base]
    assert READERS["hermes"].logs({"HOME": str(tmp_path)}) == []
    calls, _ = read_all("hermes", env)
    assert sorted(c.session for c in calls) == ["d1", "w1"]


def test_hermes_read_from_the_start_keeps_what_was_counted(tmp_path: Path) -> None:
    db = hermes_store(home_store(tmp_path))
    hermes_session(db, "s1", "/w/repo", T0)
    hermes_call(db, "s1", T0 + 1, 10, 1)
    hermes_call(db, "s1", T0 + 2, 5, 1, task="vision")
    reader = READERS["hermes"]
    (found,) = reader.logs({"HOME": str(tmp_path)})
    first = reader.read(found)
    assert len(first.calls) == 2
    assert reader.read(found, reader.restart(first.position)).calls == []
    assert len(reader.read(found, reader.restart(None)).calls) == 2


def test_hermes_store_of_an_older_schema_and_stores_that_cannot_be_read(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    db = sqlite3.connect(old)
    db.execute(
        "CREATE TABLE sessions (id TEXT PRIMARY KEY, source TEXT, started_at REAL, input_tokens INTEGER, "
        "output_tokens INTEGER, model TEXT)"
    )  # before the cache, cost, directory and route columns
    db.execute("INSERT INTO sessions VALUES ('s1', 'cli', ?, 120, 30, 'hermes-3')", (T0,))
    db.commit()
    (call,) = READERS["hermes"].read(old).calls
    assert (call.cwd, call.model, call.epoch, kinds(call)) == (None, "hermes-3", T0, (120, 30, 0, 0, 0))
    plain = tmp_path / "plain.db"
    sqlite3.connect(plain).execute("CREATE TABLE notes (id TEXT)").connection.commit()
    reading = READERS["hermes"].read(plain)
    assert reading.calls == [] and "not a Hermes store" in reading.warnings[0]
    locked = hermes_store(tmp_path / "locked.db")
    hermes_session(locked, "s1", "/w/repo", T0)
    locked.execute("PRAGMA locking_mode = EXCLUSIVE")
    locked.execute("BEGIN EXCLUSIVE")
    reading = READERS["hermes"].read(tmp_path / "locked.db")
    assert reading.calls == [] and "locked" in reading.warnings[0]
    locked.rollback()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    assert "cannot read" in READERS["hermes"].read(garbage).warnings[0]


cells = (
    st.none()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.binary(max_size=8)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cells, min_size=8, max_size=8), max_size=4))
def test_hermes_store_with_values_of_any_type_never_raises(rows: list[list[Any]]) -> None:
    with tempfile.TemporaryDirectory() as home:
        db = hermes_store(home_store(Path(home)))
        for n, row in enumerate(rows):
            db.execute(
                "INSERT INTO sessions (id, source, started_at, input_tokens, output_tokens, cache_read_tokens, "
                "cwd, git_branch, model, last_activity_at, estimated_cost_usd) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (f"s{n}", "cli", 0.0 if row[0] is None else row[0], *row[1:7], row[7], row[2]),
            )
            db.execute(
                "INSERT INTO messages (session_id, role, timestamp) VALUES (?,?,?)",
                (f"s{n}", "assistant", 0.0 if row[7] is None else row[7]),
            )
            db.execute(
                "INSERT INTO session_model_usage (session_id, model, task, input_tokens, output_tokens, last_seen, "
                "estimated_cost_usd, actual_cost_usd) VALUES (?,?,?,?,?,?,?,?)",
                (f"s{n}", str(row[0]), "vision", *(0 if v is None else v for v in row[1:3]), row[3], 0, 0),
            )
            db.execute(  # the main loop's route row, of any values too
                "INSERT INTO session_model_usage (session_id, model, task, input_tokens, output_tokens, last_seen, "
                "estimated_cost_usd, actual_cost_usd) VALUES (?,?,?,?,?,?,?,?)",
                (f"s{n}", str(row[1]), "", *(0 if v is None else v for v in (*row[3:5], row[5], *row[6:8]))),
            )
        db.commit()
        db.close()
        for path in READERS["hermes"].logs({"HOME": home}):
            first = READERS["hermes"].read(path)
            READERS["hermes"].read(path, first.position)
            for call in first.calls:
                assert call.tokens >= 0 and call.to_message().key == call.key


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=400), cut=st.integers(0, 1 << 16))
def test_hermes_store_of_random_bytes_or_cut_short_never_raises(data: bytes, cut: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        path = home_store(Path(home))
        db = hermes_store(path)
        hermes_session(db, "s1", "/w/repo", T0)
        hermes_call(db, "s1", T0 + 1, 10, 1)
        db.close()
        whole = path.read_bytes()
        path.write_bytes(whole[: cut % (len(whole) + 1)] + data)
        for found in READERS["hermes"].logs({"HOME": home}):
            reading = READERS["hermes"].read(found)
            assert all(call.tokens >= 0 for call in reading.calls)


# -- end to end ---------------------------------------------------------------------------------------------------


def ledger_kinds(repo: Path) -> dict[str, tuple[int, ...]]:
    """Per commit: the tokens of its Hermes records by kind."""
    out: dict[str, tuple[int, ...]] = {}
    for entry in store.load(open_repo(repo)).entries.values():
        r = entry.record
        assert r.source == "hermes"
        row = (r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.reasoning_tokens)
        before = out.get(entry.attached, (0, 0, 0, 0, 0))
        out[entry.attached] = tuple(a + b for a, b in zip(before, row, strict=True))
    return out


def test_capture_takes_hermes_usage_to_its_commit_once_and_its_growth_later(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_at(repo, T0, "c1")
    commit_at(repo, T0 + 1000, "c2")
    c3 = commit_at(repo, T0 + 2000, "c3")
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.setenv("HERMES_HOME", str(tmp_path / "hermes"))
    path = tmp_path / "hermes" / "state.db"
    db = hermes_store(path)
    hermes_session(db, "h1", str(repo), T0 + 1400)
    hermes_session(db, "h2", str(other), T0 + 1400)
    hermes_session(db, "h3", None, T0 + 1400, branch=None, source="telegram")
    hermes_call(db, "h1", T0 + 1500, 100, 50, read=400, write=30, reasoning=5)
    hermes_call(db, "h2", T0 + 1500, 11, 22)
    hermes_call(db, "h3", T0 + 1500, 7, 7)
    first = run("capture")
    assert "hermes: 1 session, 1 new message" in first.output, first.output
    assert "1 from other directories" in first.output
    assert "not attributable: 1 call whose log does not say which directory it ran in" in first.output
    assert ledger_kinds(repo) == {c3: (100, 50, 400, 30, 5)}
    assert "wrote 0 records" in run("capture").output
    hermes_call(db, "h1", T0 + 2500, 20, 10)
    assert "1 waiting for the next commit" in run("capture").output
    c4 = commit_at(repo, T0 + 3000, "c4")
    assert "wrote 1 record" in run("capture").output
    assert ledger_kinds(repo) == {c3: (100, 50, 400, 30, 5), c4: (20, 10, 0, 0, 0)}
    assert "wrote 0 records" in run("capture", "--all-history").output
    assert ledger_kinds(repo) == {c3: (100, 50, 400, 30, 5), c4: (20, 10, 0, 0, 0)}
    db.close()


def test_list_agents_shows_where_hermes_looks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERMES_HOME", str(tmp_path / "h"))
    hermes_store(tmp_path / "h" / "state.db").close()
    hermes_store(tmp_path / "h" / "profiles" / "work" / "state.db").close()
    rows = {line.split()[0]: line for line in run("capture", "--list-agents").output.splitlines()[1:]}
    assert list(rows) == list(AGENTS) and "hermes" in rows
    assert rows["hermes"].split(None, 1)[1] == f"{'2 databases':<24} {tmp_path / 'h'} (HERMES_HOME set)"


# -- a session's models: the main loop's route rows ----------------------------------------------------------------


def by_model(calls: list[Any]) -> dict[str | None, tuple[int, ...]]:
    """Tokens by kind per model over ``calls``."""
    out: dict[str | None, tuple[int, ...]] = {}
    for call in calls:
        before = out.get(call.model, (0, 0, 0, 0, 0))
        out[call.model] = tuple(a + b for a, b in zip(before, kinds(call), strict=True))
    return out


def test_hermes_session_that_switched_model_is_split_by_its_route_rows(tmp_path: Path) -> None:
    """``/model`` mid-session leaves the session's model as it was; each call's route row names the model it
    ran on, so each model gets its own tokens, and what no route row holds (the gateway's absolute totals)
    stays with the session's model."""
    db = hermes_store(home_store(tmp_path))
    hermes_session(db, "s1", "/w/repo", T0)
    hermes_call(db, "s1", T0 + 5, 100, 50, read=1000, estimated=0.01)
    hermes_call(db, "s1", T0 + 9, 200, 20, write=300, reasoning=5, model="claude-opus-4-5", estimated=0.05)
    hermes_call(db, "s1", T0 + 12, 7, 3, model="claude-opus-4-5", estimated=0.002)
    reader = READERS["hermes"]
    (found,) = reader.logs({"HOME": str(tmp_path)})
    first = reader.read(found)
    assert [(c.model, c.provider, c.epoch, kinds(c)) for c in first.calls] == [
        ("claude-sonnet-4-5", "anthropic", T0 + 5, (100, 50, 1000, 0, 0)),
        ("claude-opus-4-5", "anthropic", T0 + 12, (207, 23, 0, 300, 5)),
    ]
    assert [c.cost_usd for c in first.calls] == [pytest.approx(0.01), pytest.approx(0.052)]
    assert reader.read(found, first.position).calls == []
    hermes_call(db, "s1", T0 + 20, 1, 1, estimated=0.001)  # back on the first model
    hermes_absolute(db, "s1", 400, 100, 1500, 300)  # then the gateway sets totals: 92 in, 26 out, 500 read more
    second = reader.read(found, first.position)
    assert by_model(second.calls) == {"claude-sonnet-4-5": (93, 27, 500, 0, 0)}
    assert [c.epoch for c in second.calls] == [T0 + 20, T0 + 20]
    assert len({c.key for c in first.calls + second.calls}) == 4


def test_hermes_voice_turns_count_once_and_auxiliary_calls_besides(tmp_path: Path) -> None:
    """A ``voice_chat`` turn is in the session's totals and in its own route row: counted once, under its
    model. An auxiliary call is in its route row only: counted besides."""
    db = hermes_store(home_store(tmp_path))
    hermes_session(db, "s1", "/w/repo", T0)
    hermes_call(db, "s1", T0 + 1, 100, 10)
    hermes_call(db, "s1", T0 + 2, 20, 2, model="gpt-realtime", provider="openai", task="voice_chat")
    hermes_call(db, "s1", T0 + 3, 60, 6, model="gemini-3-flash", provider="openrouter", task="vision")
    calls, _ = read_all("hermes", {"HOME": str(tmp_path)})
    assert by_model(calls) == {
        "claude-sonnet-4-5": (100, 10, 0, 0, 0),
        "gpt-realtime": (20, 2, 0, 0, 0),
        "gemini-3-flash": (60, 6, 0, 0, 0),
    }


def test_hermes_position_saved_before_route_rows_were_read_counts_nothing_twice(tmp_path: Path) -> None:
    """A position from a reader that did not read route rows holds the session's totals only: its route rows
    are taken as counted, the growth since goes to the session's model once, and the next read splits."""
    db = hermes_store(home_store(tmp_path))
    hermes_session(db, "s1", "/w/repo", T0)
    hermes_call(db, "s1", T0 + 1, 100, 10)
    reader = READERS["hermes"]
    (found,) = reader.logs({"HOME": str(tmp_path)})
    first = reader.read(found)
    older = {key: value for key, value in first.position.items() if key != "routes"}
    hermes_call(db, "s1", T0 + 2, 30, 3, model="claude-opus-4-5")
    second = reader.read(found, older)
    assert by_model(second.calls) == {"claude-sonnet-4-5": (30, 3, 0, 0, 0)}
    hermes_call(db, "s1", T0 + 3, 5, 1, model="claude-opus-4-5")
    third = reader.read(found, second.position)
    assert by_model(third.calls) == {"claude-opus-4-5": (5, 1, 0, 0, 0)}
    assert reader.read(found, reader.restart(third.position)).calls == []  # from the start: all counted


_MODELS = ("claude-sonnet-4-5", "claude-opus-4-5", "gpt-5")


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("call"), st.sampled_from(_MODELS), st.integers(0, 500), st.integers(0, 500)),
            st.tuples(st.just("read"), st.just(""), st.just(0), st.just(0)),
        ),
        max_size=12,
    )
)
def test_hermes_reads_between_calls_give_each_model_exactly_its_tokens(steps: list[tuple[str, str, int, int]]) -> None:
    """However reads fall between the main loop's calls and switches, every model's tokens are read exactly
    once, under that model."""
    with tempfile.TemporaryDirectory() as home:
        db = hermes_store(home_store(Path(home)))
        hermes_session(db, "s1", "/w/repo", T0)
        reader = READERS["hermes"]
        path, position, calls = home_store(Path(home)), None, []
        truth: dict[str | None, tuple[int, ...]] = {}
        for n, (step, model, inp, out) in enumerate(steps):
            if step == "read":
                reading = reader.read(path, position)
                calls += reading.calls
                position = reading.position
                continue
            hermes_call(db, "s1", T0 + n, inp, out, model=model)
            if inp or out:
                before = truth.get(model, (0, 0, 0, 0, 0))
                truth[model] = (before[0] + inp, before[1] + out, 0, 0, 0)
        calls += reader.read(path, position).calls
        db.close()
        assert by_model(calls) == truth

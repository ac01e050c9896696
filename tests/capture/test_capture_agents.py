"""`git tokens capture` on the other agents' logs (Gemini CLI, Copilot CLI, OpenCode, Kilo, Qwen Code, Goose,
Kimi CLI, Droid, Amp, pi), written in their real shapes in a private HOME, end to end through the CLI."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from agentlogs import T0, commit_at
from agentlogs_more import (
    amp_assistant,
    amp_thread,
    append,
    copilot_call,
    copilot_events,
    copilot_store,
    droid_session,
    droid_usage,
    gemini_chat,
    gemini_message,
    gemini_meta,
    gemini_tokens,
    gemini_user,
    goose_call,
    goose_session,
    goose_store,
    kimi_header,
    kimi_share,
    kimi_status,
    kimi_wire,
    opencode_message,
    opencode_session,
    opencode_store,
    opencode_tokens,
    pi_assistant,
    pi_file,
    pi_header,
    pi_user,
    qwen_assistant,
    qwen_file,
    qwen_usage,
)
from conftest import git, run

from gitokens.capture import AGENTS, scan
from gitokens.git.repo import open_repo
from gitokens.ledger import store

Kinds = tuple[int, int, int, int, int]  # input, output, cache read, cache write, reasoning
FIRST, MORE = T0 + 1500, T0 + 2500  # after HEAD's parent (the first capture's floor); after HEAD


@dataclass
class Logs:
    """Where an agent's logs go in a test: ``base`` (what its writer takes as HOME) and the environment that
    points the agent there."""

    base: Path
    env: dict[str, str]


class Agent:
    """One agent's fixture logs: a session in the repository and one in another directory (``first``), and
    usage appended to the first session later (``more``), with the tokens each should record."""

    name = ""
    source = ""
    first_kinds: Kinds = (0, 0, 0, 0, 0)
    more_kinds: Kinds = (0, 0, 0, 0, 0)

    def logs(self, home: Path, tmp: Path) -> Logs:
        return Logs(home, {})

    def first(self, base: Path, cwd: str, other: str) -> None:
        raise NotImplementedError

    def more(self, base: Path, cwd: str) -> None:
        raise NotImplementedError


class Gemini(Agent):
    name, source = "gemini", "gemini-cli"
    first_kinds = (707, 250, 300, 0, 50)  # input - cached + tool; output + thoughts
    more_kinds = (300, 60, 100, 0, 0)

    def logs(self, home: Path, tmp: Path) -> Logs:
        return Logs(tmp / "gemini-home", {"GEMINI_CLI_HOME": str(tmp / "gemini-home")})

    def first(self, base: Path, cwd: str, other: str) -> None:
        for slug, where, tokens in (("repo", cwd, gemini_tokens(1000, 200, 300, 50, 7)), ("other", other, None)):
            path = gemini_chat(base, slug, where, f"{slug}-session-0001", FIRST)
            call = gemini_message(f"{slug}-m1", FIRST, tokens or gemini_tokens(11, 22))
            append(path, [gemini_meta(f"{slug}-session-0001", FIRST), gemini_user(FIRST), call])

    def more(self, base: Path, cwd: str) -> None:
        path = gemini_chat(base, "repo", cwd, "repo-session-0001", FIRST)
        append(path, [gemini_message("repo-m2", MORE, gemini_tokens(400, 60, 100))])


class Qwen(Agent):
    name, source = "qwen", "qwen-code"
    first_kinds = (700, 200, 300, 0, 50)  # prompt - cached; total - prompt
    more_kinds = (500, 80, 0, 0, 0)

    def first(self, base: Path, cwd: str, other: str) -> None:
        append(qwen_file(base, cwd, "q1"), [qwen_assistant("u1", "q1", cwd, FIRST, qwen_usage(1000, 200, 300, 50))])
        append(qwen_file(base, other, "q2"), [qwen_assistant("u2", "q2", other, FIRST, qwen_usage(11, 22))])

    def more(self, base: Path, cwd: str) -> None:
        append(qwen_file(base, cwd, "q1"), [qwen_assistant("u3", "q1", cwd, MORE, qwen_usage(500, 80))])


class Kimi(Agent):
    name, source = "kimi", "kimi-cli"
    first_kinds = (100, 50, 400, 30, 0)
    more_kinds = (20, 10, 0, 0, 0)

    def logs(self, home: Path, tmp: Path) -> Logs:
        return Logs(tmp / "kimi", {"KIMI_SHARE_DIR": str(tmp / "kimi" / ".kimi")})

    def first(self, base: Path, cwd: str, other: str) -> None:
        share = kimi_share(base, [cwd, other])
        append(kimi_wire(share, cwd, "k1"), [kimi_header(), kimi_status(FIRST, "m1", 100, 50, 400, 30)])
        append(kimi_wire(share, other, "k2"), [kimi_header(), kimi_status(FIRST, "m9", 11, 22)])

    def more(self, base: Path, cwd: str) -> None:
        append(kimi_wire(base / ".kimi", cwd, "k1"), [kimi_status(MORE, "m2", 20, 10)])


class Pi(Agent):
    name, source = "pi", "pi"
    first_kinds = (100, 50, 400, 30, 0)
    more_kinds = (20, 10, 0, 0, 0)

    def logs(self, home: Path, tmp: Path) -> Logs:
        return Logs(tmp / "pi", {"PI_CODING_AGENT_DIR": str(tmp / "pi" / ".pi" / "agent")})

    def first(self, base: Path, cwd: str, other: str) -> None:
        for where, session, tokens in ((cwd, "p1", (100, 50, 400, 30)), (other, "p2", (11, 22, 0, 0))):
            lines = [pi_header(session, where, FIRST), pi_user("u1", FIRST), pi_assistant("a1", FIRST, *tokens)]
            append(pi_file(base, where, session, FIRST), lines)

    def more(self, base: Path, cwd: str) -> None:
        append(pi_file(base, cwd, "p1", FIRST), [pi_assistant("a2", MORE, 20, 10)])


class Droid(Agent):
    name, source = "droid", "droid"
    first_kinds = (100, 55, 400, 30, 5)  # thinking added to the output
    more_kinds = (50, 10, 0, 0, 0)  # the growth of the totals

    def first(self, base: Path, cwd: str, other: str) -> None:
        droid_session(base, cwd, "d1", FIRST, droid_usage(100, 50, 400, 30, 5), "claude-sonnet-4-5")
        droid_session(base, other, "d2", FIRST, droid_usage(11, 22), "claude-sonnet-4-5")

    def more(self, base: Path, cwd: str) -> None:
        droid_session(base, cwd, "d1", MORE, droid_usage(150, 60, 400, 30, 5), "claude-sonnet-4-5")


class Amp(Agent):
    name, source = "amp", "amp"
    first_kinds = (100, 50, 400, 30, 0)
    more_kinds = (20, 10, 0, 0, 0)

    def logs(self, home: Path, tmp: Path) -> Logs:
        return Logs(tmp / "amp", {"XDG_DATA_HOME": str(tmp / "amp" / ".local" / "share")})

    def first(self, base: Path, cwd: str, other: str) -> None:
        amp_thread(base, "T-1", cwd, [amp_assistant(1, FIRST, 100, 50, 400, 30)])
        amp_thread(base, "T-2", other, [amp_assistant(1, FIRST, 11, 22)])

    def more(self, base: Path, cwd: str) -> None:
        messages = [amp_assistant(1, FIRST, 100, 50, 400, 30), amp_assistant(2, MORE, 20, 10)]
        amp_thread(base, "T-1", cwd, messages)


class Copilot(Agent):
    name, source = "copilot", "copilot-cli"
    first_kinds = (100, 50, 400, 30, 5)  # input without the cache in it
    more_kinds = (20, 10, 0, 0, 0)

    def logs(self, home: Path, tmp: Path) -> Logs:
        return Logs(tmp / "copilot", {"COPILOT_HOME": str(tmp / "copilot" / ".copilot")})

    def first(self, base: Path, cwd: str, other: str) -> None:
        db = copilot_store(base / ".copilot" / "session-store.db")
        copilot_events(base, "c1", cwd, "main", FIRST)
        copilot_events(base, "c2", other, "main", FIRST)
        copilot_call(db, "c1", FIRST, "claude-sonnet-4.5", 100, 50, 400, 30, 5)
        copilot_call(db, "c2", FIRST, "claude-sonnet-4.5", 11, 22, 0, 0)
        db.close()

    def more(self, base: Path, cwd: str) -> None:
        db = sqlite3.connect(base / ".copilot" / "session-store.db")
        copilot_call(db, "c1", MORE, "claude-sonnet-4.5", 20, 10, 0, 0)
        db.close()


class OpenCode(Agent):
    name, source = "opencode", "opencode"
    first_kinds = (100, 55, 400, 30, 5)  # output without reasoning in current builds: added
    more_kinds = (20, 10, 0, 0, 0)
    folder = "opencode"

    def logs(self, home: Path, tmp: Path) -> Logs:
        return Logs(home, {"OPENCODE_DB": str(self.store(home))})

    def store(self, base: Path) -> Path:
        return base / ".local" / "share" / self.folder / f"{self.folder}.db"

    def first(self, base: Path, cwd: str, other: str) -> None:
        db = opencode_store(self.store(base))
        opencode_session(db, "s1", cwd)
        opencode_session(db, "s2", other)
        opencode_message(db, "s1", "m1", FIRST, cwd, [{"tokens": opencode_tokens(100, 50, 5, 400, 30), "cost": 0.01}])
        opencode_message(db, "s2", "m2", FIRST, other, [{"tokens": opencode_tokens(11, 22), "cost": 0.01}])
        db.close()

    def more(self, base: Path, cwd: str) -> None:
        db = sqlite3.connect(self.store(base))
        opencode_message(db, "s1", "m3", MORE, cwd, [{"tokens": opencode_tokens(20, 10), "cost": 0.002}])
        db.close()


class Kilo(OpenCode):
    name, source, folder = "kilo", "kilo", "kilo"

    def logs(self, home: Path, tmp: Path) -> Logs:
        return Logs(home, {})


class Goose(Agent):
    name, source = "goose", "goose"
    first_kinds = (100, 50, 400, 30, 0)  # input without the cache in it
    more_kinds = (20, 10, 0, 0, 0)

    def logs(self, home: Path, tmp: Path) -> Logs:
        return Logs(tmp / "goose", {"GOOSE_PATH_ROOT": str(tmp / "goose")})

    def store(self, base: Path) -> Path:
        return base / "data" / "sessions" / "sessions.db"

    def first(self, base: Path, cwd: str, other: str) -> None:
        db = goose_store(self.store(base))
        goose_session(db, "g1", cwd, FIRST)
        goose_session(db, "g2", other, FIRST)
        goose_call(db, "g1", FIRST, 100, 50, 400, 30)
        goose_call(db, "g2", FIRST, 11, 22)
        db.close()

    def more(self, base: Path, cwd: str) -> None:
        db = sqlite3.connect(self.store(base))
        goose_call(db, "g1", MORE, 20, 10)
        db.close()


SCENARIOS = [Gemini(), Qwen(), Kimi(), Pi(), Droid(), Amp(), Copilot(), OpenCode(), Kilo(), Goose()]


@dataclass
class World:
    repo: Path
    other: Path
    logs: Logs
    c3: str


@pytest.fixture
def world_of(repo: Path, hermetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[Agent], World]:
    """main: C1 (T0), C2 (T0+1000), C3 (T0+2000) at HEAD; an agent's logs with a session in the repository
    (at T0+1500, so it goes to C3) and one in another directory."""

    def make(agent: Agent) -> World:
        commit_at(repo, T0, "c1")
        commit_at(repo, T0 + 1000, "c2")
        c3 = commit_at(repo, T0 + 2000, "c3")
        other = tmp_path / "elsewhere"
        other.mkdir()
        logs = agent.logs(hermetic, tmp_path)
        for name, value in logs.env.items():
            monkeypatch.setenv(name, value)
        agent.first(logs.base, str(repo), str(other))
        return World(repo, other, logs, c3)

    return make


def kinds(repo: Path) -> dict[str, dict[str, Kinds]]:
    """Per commit, per source: the tokens of its records by kind."""
    out: dict[str, dict[str, Kinds]] = {}
    for entry in store.load(open_repo(repo)).entries.values():
        r = entry.record
        row = (r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.reasoning_tokens)
        before = out.setdefault(entry.attached, {}).get(r.source, (0, 0, 0, 0, 0))
        out[entry.attached][r.source] = tuple(a + b for a, b in zip(before, row, strict=True))  # type: ignore[assignment]
    return out


@pytest.mark.parametrize("agent", SCENARIOS, ids=lambda a: a.name)
def test_an_agents_usage_goes_to_its_commit_once_and_what_it_appends_later(
    world_of: Callable[[Agent], World], agent: Agent
) -> None:
    w = world_of(agent)
    first = run("capture")
    assert f"{agent.source}: 1 session, 1 new message" in first.output, first.output
    assert "1 from other directories" in first.output
    assert kinds(w.repo) == {w.c3: {agent.source: agent.first_kinds}}
    assert "wrote 0 records" in run("capture").output
    agent.more(w.logs.base, str(w.repo))
    waits = run("capture")
    assert "1 waiting for the next commit" in waits.output, waits.output
    c4 = commit_at(w.repo, T0 + 3000, "c4")
    assert "wrote 1 record" in run("capture").output
    assert kinds(w.repo) == {w.c3: {agent.source: agent.first_kinds}, c4: {agent.source: agent.more_kinds}}
    assert "wrote 0 records" in run("capture", "--all-history").output
    assert kinds(w.repo)[c4] == {agent.source: agent.more_kinds}


def test_agent_narrows_the_capture_to_the_agents_named(world_of: Callable[[Agent], World]) -> None:
    w = world_of(Pi())
    OpenCode().first(w.logs.base.parent / "home-of-opencode", str(w.repo), str(w.other))
    only_pi = run("capture", "--agent", "pi")
    assert only_pi.output.splitlines()[0].startswith("pi: 1 session")
    assert "claude-code" not in only_pi.output and "opencode" not in only_pi.output
    assert kinds(w.repo) == {w.c3: {"pi": Pi.first_kinds}}


def test_agent_names_are_repeatable_and_read_in_the_registrys_order(
    world_of: Callable[[Agent], World], hermetic: Path
) -> None:
    w = world_of(Pi())
    OpenCode().first(hermetic, str(w.repo), str(w.other))
    both = run("capture", "--agent", "pi", "--agent", "opencode")
    assert [line.split(":")[0] for line in both.output.splitlines() if not line.startswith(" ")] == [
        "opencode",
        "pi",
        "wrote 2 records",
    ]
    assert kinds(w.repo) == {w.c3: {"pi": Pi.first_kinds, "opencode": OpenCode.first_kinds}}


def test_an_unknown_agent_is_a_one_line_error_naming_the_agents(repo: Path) -> None:
    result = run("capture", "--agent", "pi", "--agent", "cursor")
    assert result.exit_code == 2
    error, hint = result.output.splitlines()
    assert error == f"error: unknown agent 'cursor' (known: {', '.join(AGENTS)}, all)"
    assert hint.startswith("hint: `git tokens capture --list-agents`")


def test_list_agents_shows_where_each_looks_and_what_it_found(
    world_of: Callable[[Agent], World], hermetic: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world_of(Pi())
    OpenCode().first(hermetic, str(w.repo), str(w.other))
    monkeypatch.setenv("HOME", str(hermetic))
    rows = {line.split()[0]: line for line in run("capture", "--list-agents").output.splitlines()[1:]}
    assert list(rows) == list(AGENTS)
    pi_dir = w.logs.base / ".pi" / "agent" / "sessions"
    assert rows["pi"].split(None, 1)[1] == f"{'2 log files':<24} {pi_dir} (PI_CODING_AGENT_DIR set)"
    assert rows["opencode"].split(None, 1)[1] == f"{'1 database':<24} ~/.local/share/opencode (OPENCODE_DB unset)"
    assert rows["gemini"].split(None, 1)[1] == f"{'none':<24} ~/.gemini/tmp (GEMINI_CLI_HOME unset)"
    assert rows["droid"].split(None, 1)[1] == f"{'none':<24} ~/.factory/sessions"
    assert not (w.repo / ".git" / "gitokens" / "capture").exists()  # listing captures nothing


def test_calls_whose_log_names_no_directory_are_reported_not_attributed(
    world_of: Callable[[Agent], World], hermetic: Path
) -> None:
    w = world_of(Amp())
    amp_thread(w.logs.base, "T-3", None, [amp_assistant(1, FIRST, 1000, 1), amp_assistant(2, FIRST, 2000, 2)])
    share = kimi_share(hermetic, [str(w.other)])  # the repository's group is not listed: no directory
    append(kimi_wire(share, str(w.repo), "k1"), [kimi_header(), kimi_status(FIRST, "m1", 100, 50)])
    result = run("capture")
    lines = result.output.splitlines()
    say = "whose log does not say which directory it ran in (not attributed to any repository)"
    assert lines[lines.index("  left out: 1 from other directories") + 1] == f"  not attributable: 2 calls {say}"
    assert lines[lines.index("kimi-cli: no new usage (1 log file read)") + 1] == f"  not attributable: 1 call {say}"
    assert kinds(w.repo) == {w.c3: {"amp": Amp.first_kinds}}


@pytest.mark.parametrize("again", [["--all-history"], ["--since", "2025-01-01"]], ids=["all-history", "since"])
@pytest.mark.parametrize("ledger", [True, False], ids=["goose-ledger", "goose-totals"])
def test_a_rescan_counts_running_totals_once(
    world_of: Callable[[Agent], World], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, again: list[str], ledger: bool
) -> None:
    """Droid's totals and an older Goose store's are snapshots kept in the position: reading those logs
    from the start again measures the growth from the snapshot, not the whole totals once more."""
    w = world_of(Droid())
    monkeypatch.setenv("GOOSE_PATH_ROOT", str(tmp_path / "goose"))
    db = goose_store(Goose().store(tmp_path / "goose"), ledger=ledger)
    goose_session(db, "g1", str(w.repo), FIRST)
    goose_call(db, "g1", FIRST, 100, 50, ledger=ledger)
    run("capture")
    Droid().more(w.logs.base, str(w.repo))
    goose_call(db, "g1", MORE, 20, 10, ledger=ledger)
    db.close()
    c4 = commit_at(w.repo, T0 + 3000, "c4")
    assert "wrote 2 records" in run("capture", *again).output
    expected = {
        w.c3: {"droid": Droid.first_kinds, "goose": (100, 50, 0, 0, 0)},
        c4: {"droid": Droid.more_kinds, "goose": (20, 10, 0, 0, 0)},
    }
    assert kinds(w.repo) == expected
    assert "wrote 0 records" in run("capture", *again).output
    assert kinds(w.repo) == expected


def test_a_recapture_leaves_the_other_agents_usage_as_it_was(world_of: Callable[[Agent], World]) -> None:
    w = world_of(Pi())
    run("capture")
    Pi().more(w.logs.base, str(w.repo))
    assert "1 waiting for the next commit" in run("capture").output
    assert "wrote 0 records" in run("capture", "--recapture").output
    c4 = commit_at(w.repo, T0 + 3000, "c4")
    assert "wrote 1 record" in run("capture").output
    assert kinds(w.repo) == {w.c3: {"pi": Pi.first_kinds}, c4: {"pi": Pi.more_kinds}}


def test_parsing_in_two_processes_gives_the_same_records(
    world_of: Callable[[Agent], World], hermetic: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentlogs import claude, claude_file, write

    from gitokens import capture

    w = world_of(Pi())
    OpenCode().first(hermetic, str(w.repo), str(w.other))
    Droid().first(hermetic, str(w.repo), str(w.other))
    line = claude(session="S1", cwd=w.repo, branch="main", at=FIRST, mid="m1", rid="r1", inp=7, out=8)
    write(claude_file(hermetic, "-repo", "S1"), [line])
    alone = run("capture", "--dry-run").output
    monkeypatch.setattr(scan, "PARALLEL_BYTES", 0)
    repo = open_repo(w.repo)
    with capture.start(repo.common_dir) as started:
        assert started.reading is not None and started.reading.worker is not None
        result = capture.run(repo, started=started)
    assert {r.source for r in result.records} == {"claude-code", "pi", "opencode", "droid"}
    assert capture.describe(result)[:-1] == alone.splitlines()[:-1]
    assert kinds(w.repo)[w.c3] == {
        "claude-code": (7, 8, 0, 0, 0),
        "pi": Pi.first_kinds,
        "opencode": OpenCode.first_kinds,
        "droid": Droid.first_kinds,
    }


def test_the_capture_hook_takes_another_agents_usage_and_skips_python_when_no_log_changed(
    repo: Path, hermetic: Path
) -> None:
    """A real `git commit` firing the installed shim: the other agents' folders are watched too."""
    git(repo, "commit", "-q", "--allow-empty", "-m", "root")
    run("install", "--no-prompt", "--capture")
    time.sleep(1.1)  # committer times are whole seconds: keep the commits and the calls apart
    cwd, now = str(repo), time.time()
    append(pi_file(hermetic, cwd, "p1", now), [pi_header("p1", cwd, now), pi_assistant("a1", now, 100, 50, 400, 30)])
    time.sleep(1.1)
    git(repo, "commit", "-q", "--allow-empty", "-m", "first with pi")
    head = git(repo, "rev-parse", "HEAD").strip()
    assert kinds(repo) == {head: {"pi": (100, 50, 400, 30, 0)}}
    state = repo / ".git" / "gitokens" / "capture"
    assert str(hermetic / ".pi" / "agent" / "sessions") in (state / "watch").read_text().splitlines()
    stamped = (state / "stamp").stat().st_mtime_ns
    git(repo, "commit", "-q", "--allow-empty", "-m", "nothing new")
    assert (state / "stamp").stat().st_mtime_ns == stamped  # the shim found no newer log: no Python
    time.sleep(1.1)
    append(pi_file(hermetic, cwd, "p1", now), [pi_assistant("a2", time.time(), 20, 10)])
    time.sleep(1.1)
    git(repo, "commit", "-q", "--allow-empty", "-m", "second with pi")
    second = git(repo, "rev-parse", "HEAD").strip()
    assert kinds(repo)[second] == {"pi": (20, 10, 0, 0, 0)}


def test_the_names_capture_knows_without_the_readers_are_the_registrys() -> None:
    from gitokens.capture import SOURCES
    from gitokens.capture.agents import AGENTS as REGISTRY

    assert {name: agent.source for name, agent in REGISTRY.items()} == SOURCES
    assert list(SOURCES) == list(REGISTRY)


@pytest.mark.parametrize("agent", SCENARIOS, ids=lambda a: a.name)
def test_the_variables_that_place_an_agents_logs_are_the_ones_a_quiet_check_compares(
    agent: Agent, tmp_path: Path
) -> None:
    from gitokens.capture.agents import AGENTS as REGISTRY
    from gitokens.capture.files import AGENT_VARIABLES

    reader = REGISTRY[agent.name]
    placing = {name: str(tmp_path / name.lower()) for name in AGENT_VARIABLES}
    assert reader.variable is None or reader.variable in AGENT_VARIABLES
    assert reader.roots(placing) == reader.roots({**placing, "SOME_OTHER_VARIABLE": "/elsewhere", "PATH": "/bin"})


_IDLE = """
import sys
from gitokens.cli import main
try:
    main(["capture"])
except SystemExit:
    print(sorted(m for m in ("gitokens.capture.agents", "gitokens.capture.scan", "sqlite3") if m in sys.modules))
"""


def test_nothing_new_in_any_agents_folder_is_told_without_loading_the_readers(
    world_of: Callable[[Agent], World], hermetic: Path, tmp_path: Path
) -> None:
    w = world_of(Pi())
    for path in [tmp_path, *tmp_path.rglob("*"), *hermetic.rglob("*")]:  # the logs were written a while ago
        os.utime(path, (T0, T0), follow_symlinks=False)
    run("capture")
    idle = subprocess.run([sys.executable, "-c", _IDLE], cwd=w.repo, capture_output=True, text=True, check=True)
    assert idle.stdout.splitlines()[-2:] == ["wrote 0 records", "[]"]
    OpenCode().first(hermetic, str(w.repo), str(w.other))  # a new agent's store appears: read
    busy = subprocess.run([sys.executable, "-c", _IDLE], cwd=w.repo, capture_output=True, text=True, check=True)
    assert "opencode: 1 session, 1 new message" in busy.stdout
    Pi().more(w.logs.base, str(w.repo))  # a log grows: read
    grown = subprocess.run([sys.executable, "-c", _IDLE], cwd=w.repo, capture_output=True, text=True, check=True)
    assert "pi: 1 session, 1 new message" in grown.stdout


def _idle(repo: Path) -> list[str]:
    """The last two lines of a capture in a new process: its summary, and which readers it loaded."""
    done = subprocess.run([sys.executable, "-c", _IDLE], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.splitlines()[-2:]


def test_a_change_beside_an_agents_stores_is_not_new_usage_but_a_store_and_a_new_profile_are(
    repo: Path, hermetic: Path
) -> None:
    """Hermes' folder holds its install, logs and caches, OpenCode's its old JSON tree and snapshots, Copilot's
    the CLI itself: a capture with nothing new looks at their stores (and the folders new stores appear in),
    not through all of that."""
    from agentlogs import hermes_call, hermes_session, hermes_store

    commit_at(repo, T0, "c1")
    hermes = hermetic / ".hermes"
    db = hermes_store(hermes / "state.db")
    hermes_session(db, "h1", str(repo), T0 + 10)
    hermes_call(db, "h1", T0 + 20, 100, 50)
    commit_at(repo, T0 + 100, "c2")
    besides = [
        hermes / "hermes-agent" / "venv" / "lib" / "site.json",
        hermes / "logs" / "agent.log",
        hermetic / ".local" / "share" / "opencode" / "storage" / "part" / "p1.json",
        hermetic / ".local" / "share" / "opencode" / "snapshot" / "objects.db",
        hermetic / ".copilot" / "pkg" / "package.json",
    ]
    for path in besides:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    for path in [*hermetic.rglob("*"), repo]:
        os.utime(path, (T0, T0), follow_symlinks=False)
    assert "hermes: 1 session, 1 new message" in run("capture").output
    watch = (repo / ".git" / "gitokens" / "capture" / "watch").read_text().splitlines()
    assert str(hermes / "state.db") in watch and str(hermes) not in watch
    assert str(hermetic / ".local" / "share" / "opencode") + "/" in watch  # a folder looked at by itself
    for path in besides:
        path.write_text('{"changed": true}')
    assert _idle(repo) == ["wrote 0 records", "[]"]
    profile = hermes_store(hermes / "profiles" / "work" / "state.db")  # a new profile's store
    hermes_session(profile, "w1", str(repo), T0 + 30)
    hermes_call(profile, "w1", T0 + 40, 7, 3)
    assert "hermes: 1 session, 1 new message" in run("capture").output
    for path in [hermes / "profiles", *(hermes / "profiles").rglob("*")]:  # written a while ago
        os.utime(path, (T0, T0), follow_symlinks=False)
    run("capture")
    assert _idle(repo) == ["wrote 0 records", "[]"]
    hermes_call(db, "h1", T0 + 50, 1, 1)  # the default store grows
    assert _idle(repo)[1] != "[]"


def test_the_capture_hook_looks_at_stores_not_through_an_agents_whole_folder(repo: Path, hermetic: Path) -> None:
    """A real `git commit` firing the installed shim: a file changed in Hermes' install starts no Python; a
    store appearing in a watched folder (a new OpenCode channel's) does."""
    from agentlogs import hermes_call, hermes_session, hermes_store

    git(repo, "commit", "-q", "--allow-empty", "-m", "root")
    run("install", "--no-prompt", "--capture")
    hermes = hermetic / ".hermes"
    db = hermes_store(hermes / "state.db")
    hermes_session(db, "h1", str(repo), time.time())
    (hermetic / ".local" / "share" / "opencode").mkdir(parents=True)
    time.sleep(1.1)
    hermes_call(db, "h1", time.time(), 100, 50)
    time.sleep(1.1)
    git(repo, "commit", "-q", "--allow-empty", "-m", "with hermes")
    state = repo / ".git" / "gitokens" / "capture"
    stamped = (state / "stamp").stat().st_mtime_ns
    assert str(hermetic / ".local" / "share" / "opencode") + "/" in (state / "watch").read_text().splitlines()
    time.sleep(1.1)
    installed = hermes / "hermes-agent" / "lib" / "cache.db"
    installed.parent.mkdir(parents=True)
    installed.write_text("not a store")
    git(repo, "commit", "-q", "--allow-empty", "-m", "nothing new")
    assert (state / "stamp").stat().st_mtime_ns == stamped  # no Python
    OpenCode().first(hermetic, str(repo), str(repo))  # its store appears in the folder looked at by itself
    git(repo, "commit", "-q", "--allow-empty", "-m", "opencode appeared")
    assert (state / "stamp").stat().st_mtime_ns != stamped

"""publish and report --database: three real repositories published into SQLite and into a real
PostgreSQL server, read back, published again, concurrently, and killed midway."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import commit, git, run
from pgserver import Server, pg_server  # noqa: F401  (the session's server fixture)

from gitokens.db import report as across
from gitokens.db.connection import connect
from gitokens.db.publish import publish
from gitokens.db.url import parse
from gitokens.git.repo import open_repo
from gitokens.ledger import store
from gitokens.ledger.record import Record
from gitokens.report import cache, pipeline

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
EXE = str(Path(sys.executable).parent / "git-tokens")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tokens.db'}"
    server: Server = request.getfixturevalue("pg_server")
    return server.url(server.create_database())


def tokens(path: Path, *args: str) -> str:
    with contextlib.chdir(path):
        result = run(*args)
    assert result.exit_code == 0, result.output
    return result.output


def new_repo(root: Path, name: str) -> Path:
    path = root / name
    git(root, "init", "-q", str(path))
    git(path, "remote", "add", "origin", f"https://token@github.com/acme/{name}.git")
    commit(path, "initial")
    return path


def squash_repo(root: Path) -> Path:
    """A feature branch with two records squash-merged as "Add search (#17)", its records carried."""
    path = new_repo(root, "search")
    git(path, "checkout", "-q", "-b", "feature/search")
    for step, n in enumerate((1200, 3400)):
        commit(path, f"search step {step}")
        tokens(path, "add", "--model", "claude-sonnet-4-5-20250929", "--input", str(n), "--output", "100")
    git(path, "checkout", "-q", "main")
    commit(path, "unrelated")
    tokens(path, "add", "500", "--model", "gpt-4o")
    git(path, "merge", "-q", "--squash", "feature/search")
    git(path, "commit", "-q", "-m", "Add search (#17)")
    tokens(path, "carry", "--squash-merged", "feature/search")
    git(path, "branch", "-q", "-D", "feature/search")
    return path


def tombstone_repo(root: Path) -> Path:
    """Three records, one removed with ``rm``."""
    path = new_repo(root, "billing")
    for n in (700, 800, 900):
        commit(path, f"billing {n}")
        git(path, "config", "user.email", f"dev{n}@example.com")
        tokens(path, "add", str(n), "--model", "gpt-4o")
    victim = store.load(open_repo(path)).usage()[1].record.id
    tokens(path, "rm", victim)
    return path


def merge_repo(root: Path) -> Path:
    """A pull request merged with a merge commit."""
    path = new_repo(root, "web")
    git(path, "checkout", "-q", "-b", "feature/ui")
    commit(path, "ui")
    tokens(path, "add", "--model", "claude-sonnet-4-5-20250929", "--input", "3000", "--output", "1000")
    git(path, "checkout", "-q", "main")
    commit(path, "main moves on")
    git(path, "merge", "-q", "--no-ff", "-m", "Merge pull request #5 from acme/feature/ui", "feature/ui")
    return path


@pytest.fixture
def three(tmp_path: Path) -> list[Path]:
    return [squash_repo(tmp_path), tombstone_repo(tmp_path), merge_repo(tmp_path)]


def own_report(path: Path) -> dict[str, Any]:
    repo = open_repo(path)
    return pipeline.make(repo, cache.load(repo), now=NOW, top=0, tz_name="UTC").to_dict()


def database_report(url: str, names: tuple[str, ...] = ()) -> dict[str, Any]:
    published = across.fetch(None, url, names)
    return pipeline.make(
        None, published.columns, across=across.Across(published), now=NOW, top=0, tz_name="UTC"
    ).to_dict()


def by(rows: list[dict[str, Any]], key: str) -> Counter[str]:
    return Counter({row[key]: row["total_tokens"] for row in rows})


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted, without the publish times."""
    with connect(parse(url), write=False) as db:
        tables = {
            "records": "SELECT * FROM records",
            "commits": "SELECT * FROM commits",
            "merges": "SELECT * FROM merges",
            "merge_records": "SELECT * FROM merge_records",
            "repositories": "SELECT name, url, notes_tip, branch_tip, records FROM repositories",
        }
        return {name: sorted(db.query(sql), key=repr) for name, sql in tables.items()}


def test_the_database_report_is_the_sum_of_the_repositories_reports(three: list[Path], db_url: str) -> None:
    for path in three:
        publish(open_repo(path), db_url, now=NOW)
    mine = [own_report(path) for path in three]
    theirs = database_report(db_url)
    for field in ("records", "sessions", "total_tokens", "input_tokens", "output_tokens", "cache_read_tokens"):
        assert theirs["totals"][field] == sum(r["totals"][field] for r in mine), field
    assert theirs["totals"]["cost_usd"] == pytest.approx(sum(r["totals"]["cost_usd"] for r in mine))
    for table, key in (("by_model", "model"), ("by_author", "author")):
        assert by(theirs[table], key) == sum((by(r[table], key) for r in mine), Counter()), table
    assert {(m["repository"], m["kind"], m["pr"], m["total_tokens"]) for m in theirs["by_merge"]} == {
        ("github.com/acme/search", "squash", 17, 4800),
        ("github.com/acme/web", "merge", 5, 4000),
    }
    assert {row["repository"]: row["records"] for row in theirs["by_repository"]} == {
        "github.com/acme/search": 3,
        "github.com/acme/billing": 2,
        "github.com/acme/web": 1,
    }
    only = database_report(db_url, ("github.com/acme/billing",))
    assert only["totals"] == mine[1]["totals"]


def test_publishing_twice_changes_nothing(three: list[Path], db_url: str) -> None:
    first = publish(open_repo(three[0]), db_url, now=NOW)
    before = dump(db_url)
    again = publish(open_repo(three[0]), db_url, now=NOW)
    assert (first.sent, first.commits, first.merges) == (3, 4, 1)  # the feature commits copies sat on, too
    assert (again.sent, again.removed, again.commits, again.merges) == (0, 0, 0, 0)
    assert dump(db_url) == before


def test_a_later_publish_sends_what_changed_and_matches_a_fresh_one(
    three: list[Path], db_url: str, tmp_path: Path
) -> None:
    path = three[1]
    publish(open_repo(path), db_url, now=NOW)
    commit(path, "more billing")
    tokens(path, "add", "1234", "--model", "gpt-4o")
    tokens(path, "rm", store.load(open_repo(path)).usage()[0].record.id)
    later = publish(open_repo(path), db_url, now=NOW)
    assert (later.sent, later.removed, later.compared) == (1, 1, False)
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    publish(open_repo(path), fresh, now=NOW)
    assert dump(db_url) == dump(fresh)
    assert database_report(db_url)["totals"] == own_report(path)["totals"]


def test_three_processes_publishing_at_once_all_land(three: list[Path], db_url: str) -> None:
    procs = [subprocess.Popen([EXE, "publish", db_url], cwd=path, stderr=subprocess.PIPE) for path in three]
    errors = [proc.communicate()[1].decode() for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], errors
    counts = {name: n for name, n in dump(db_url)["repositories"] and _records_per_repository(db_url)}
    assert counts == {"github.com/acme/search": 3, "github.com/acme/billing": 2, "github.com/acme/web": 1}


def _records_per_repository(url: str) -> list[tuple[str, int]]:
    with connect(parse(url), write=False) as db:
        return [(name, int(n)) for name, n in db.query("SELECT repository, COUNT(*) FROM records GROUP BY repository")]


def big_ledger(path: Path, count: int) -> None:
    """``count`` records on HEAD, written in one notes commit."""
    head = git(path, "rev-parse", "HEAD").strip()
    records = [
        Record(id=f"{n:032x}", ts="2026-11-01T10:00:00Z", source="api", model="gpt-4o", input_tokens=n, output_tokens=1)
        for n in range(count)
    ]
    store.append(open_repo(path), {head: records}, "bulk")


def test_a_publish_killed_in_its_transaction_leaves_the_previous_state(tmp_path: Path, db_url: str) -> None:
    path = new_repo(tmp_path, "big")
    tokens(path, "add", "100", "--model", "gpt-4o")
    publish(open_repo(path), db_url, now=NOW)
    before = dump(db_url)
    commit(path, "bulk")
    big_ledger(path, 60_000)
    proc = subprocess.Popen([EXE, "publish", db_url], cwd=path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for_transaction(db_url, proc), "the publish ended before it was seen writing"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert dump(db_url) == before
    assert publish(open_repo(path), db_url, now=NOW).sent == 60_000  # and the next publish completes it


def _wait_for_transaction(url: str, proc: subprocess.Popen[bytes]) -> bool:
    """Wait until ``proc`` holds a write transaction on the database (SQLite: its rollback journal exists;
    PostgreSQL: its session has written); False if it ended first."""
    target = parse(url)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if target.kind == "sqlite":
            assert target.path is not None
            if Path(f"{target.path}-journal").exists():
                return True
        else:
            import psycopg

            with psycopg.connect(target.conninfo or "", autocommit=True) as admin:
                writing = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gitokens' "
                    "AND backend_xid IS NOT NULL"
                ).fetchone()
            if writing and writing[0]:
                return True
        time.sleep(0.005)
    return False


def test_a_schema_newer_than_this_gitokens_is_refused_and_left_alone(three: list[Path], db_url: str) -> None:
    publish(open_repo(three[0]), db_url, now=NOW)
    with connect(parse(db_url), write=True) as db, db.transaction():
        db.execute("INSERT INTO gitokens_schema (version) VALUES (99)")
    before = dump(db_url)
    for args, cwd in ((["publish", db_url], three[1]), (["report", "--database", db_url], three[1])):
        done = subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True)
        assert done.returncode == 1
        assert done.stderr.startswith("error: ") and "schema version 99, newer" in done.stderr
        assert "Traceback" not in done.stderr
    assert dump(db_url) == before


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/tokens", "unsupported database URL scheme 'mysql'"),
        ("tokens.db", "not a database URL"),
        ("sqlite:///no/such/folder/t.db", "the folder"),
        ("postgresql://127.0.0.1:1/tokens", "connection"),
    ],
    ids=["scheme", "not-a-url", "sqlite-folder", "unreachable"],
)
def test_bad_urls_and_unreachable_servers_are_one_line_errors(three: list[Path], url: str, message: str) -> None:
    done = subprocess.run([EXE, "publish", url], cwd=three[0], capture_output=True, text=True)
    assert done.returncode != 0
    lines = done.stderr.splitlines()
    assert lines[0].startswith("error: ") and message in lines[0], done.stderr
    assert [line for line in lines[1:] if not line.startswith("hint: ")] == []


_WITHOUT_PSYCOPG = """
import sys
from gitokens.cli import main


class NoPsycopg:  # as on a machine where gitokens was installed without its [postgres] extra
    def find_spec(self, name, path=None, target=None):
        if name == "psycopg" or name.startswith("psycopg."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None


sys.meta_path.insert(0, NoPsycopg())
main(["publish", "postgresql://127.0.0.1:1/tokens"])
"""


def test_postgresql_without_psycopg_is_one_line_with_the_install_hint(three: list[Path]) -> None:
    done = subprocess.run([sys.executable, "-c", _WITHOUT_PSYCOPG], cwd=three[0], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: PostgreSQL needs psycopg 3, which is not installed",
        "hint: pip install 'gitokens[postgres]' (or: pip install 'psycopg[binary]>=3.1')",
    ]


def test_a_wrong_password_is_one_line_and_never_shown(three: list[Path], pg_server: Server) -> None:  # noqa: F811
    url = pg_server.tcp_url(pg_server.create_database(), password="not-the-password")
    done = subprocess.run([EXE, "publish", url], cwd=three[0], capture_output=True, text=True)
    assert done.returncode == 1
    assert "password authentication failed" in done.stderr.splitlines()[0]
    assert "not-the-password" not in done.stderr
    right = pg_server.tcp_url(url.rsplit("/", 1)[1])
    assert subprocess.run([EXE, "publish", right], cwd=three[0], capture_output=True).returncode == 0


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json", "csv"])
def test_the_database_report_renders_in_every_format(three: list[Path], tmp_path: Path, fmt: str) -> None:
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    for path in three:
        publish(open_repo(path), url, now=NOW)
    out = tokens(tmp_path, "report", "--database", url, "--format", fmt, "--timezone", "UTC")
    if fmt == "json":
        assert next(r["repository"] for r in json.loads(out)["by_repository"]) == "github.com/acme/search"
    elif fmt == "csv":
        assert len(out.strip().splitlines()) == 1 + 6
    else:
        assert "Repositories" in out and "github.com/acme/billing" in out


def test_a_sqlite_file_that_is_not_a_database_is_refused(three: list[Path], tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database\n" * 100)
    done = subprocess.run([EXE, "publish", f"sqlite:///{bogus}"], cwd=three[0], capture_output=True, text=True)
    assert done.returncode == 1 and "not a database" in done.stderr.splitlines()[0]
    assert bogus.read_text() == "not a database\n" * 100
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(bogus).execute("SELECT 1 FROM sqlite_master").fetchall()


# -- a publish after notes changed and the default branch did not move --------------------------------


def _same_as_fresh(path: Path, url: str, tmp_path: Path) -> None:
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    publish(open_repo(path), fresh, now=NOW)
    assert dump(url) == dump(fresh)


def test_new_records_on_a_published_commit_send_only_theirs(three: list[Path], db_url: str, tmp_path: Path) -> None:
    path = three[2]  # web: a merged pull request
    publish(open_repo(path), db_url, now=NOW)
    tokens(path, "add", "777", "--model", "gpt-4o", "--commit", "main^1")  # on main, in no merge; main stays
    git(path, "checkout", "-q", "-b", "wip")
    commit(path, "work in progress")
    tokens(path, "add", "555", "--model", "gpt-4o")  # on another new commit
    git(path, "checkout", "-q", "main")
    later = publish(open_repo(path), db_url, now=NOW)
    assert (later.sent, later.removed, later.commits, later.merges, later.compared) == (2, 0, 2, 0, False)
    _same_as_fresh(path, db_url, tmp_path)


def test_a_record_added_to_a_merged_commit_changes_its_merge(three: list[Path], db_url: str, tmp_path: Path) -> None:
    path = three[2]
    publish(open_repo(path), db_url, now=NOW)
    feature = git(path, "rev-parse", "main^2").strip()
    tokens(path, "add", "900", "--model", "gpt-4o", "--commit", feature)
    later = publish(open_repo(path), db_url, now=NOW)
    assert (later.sent, later.merges) == (2, 1)  # the note held one record already: both are sent
    _same_as_fresh(path, db_url, tmp_path)
    assert {m["pr"]: m["total_tokens"] for m in database_report(db_url)["by_merge"]} == {5: 4900}


def test_a_carry_after_a_published_squash_merge_brings_the_merge_in(tmp_path: Path, db_url: str) -> None:
    path = new_repo(tmp_path, "late")
    git(path, "checkout", "-q", "-b", "feature/late")
    commit(path, "late step")
    tokens(path, "add", "2500", "--model", "gpt-4o")
    git(path, "checkout", "-q", "main")
    git(path, "merge", "-q", "--squash", "feature/late")
    git(path, "commit", "-q", "-m", "Late feature (#9)")
    publish(open_repo(path), db_url, now=NOW)
    assert database_report(db_url)["by_merge"] == []
    tokens(path, "carry", "--squash-merged", "feature/late")  # notes only: main's tip stays
    later = publish(open_repo(path), db_url, now=NOW)
    assert later.merges == 1
    _same_as_fresh(path, db_url, tmp_path)
    assert [(m["pr"], m["total_tokens"]) for m in database_report(db_url)["by_merge"]] == [(9, 2500)]


# -- what the report over published repositories says about them -----------------------------------------


@pytest.fixture
def published(three: list[Path], tmp_path: Path) -> str:
    """The three repositories published into SQLite, billing's default branch called trunk."""
    git(three[1], "branch", "-m", "main", "trunk")
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    for path in three:
        publish(open_repo(path), url, now=NOW)
    return url


def _report(where: Path, url: str, fmt: str, *args: str) -> str:
    return tokens(where, "report", "--database", url, "--format", fmt, "--timezone", "UTC", *args)


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_the_header_and_the_merges_say_which_repositories(
    published: str, tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # text fits its width: wide enough for whole names
    out = _report(tmp_path, published, fmt)
    names = "github.com/acme/billing, github.com/acme/search, github.com/acme/web"
    assert f"report over 3 repositories: {names}" in out
    assert "detached" not in out
    into = (
        "into the default branches \\(main, trunk\\)"
        if fmt == "markdown"
        else "into the default branches (main, trunk)"
    )
    assert f"Merges and pull requests {into}" in out
    lines = out.splitlines()
    if fmt == "html":
        assert re.search(r"<th[^>]*>Repository</th><th[^>]*>Merged</th>", out)
        pr5 = next(line for line in lines if "#5</td>" in line)
        pr17 = next(line for line in lines if "#17</td>" in line)
    else:
        pr5 = next(line for line in lines if "#5 " in line and "feature/ui" in line)
        pr17 = next(line for line in lines if "#17 " in line and "feature/search" in line)
    assert "github.com/acme/web" in pr5 and "github.com/acme/search" not in pr5
    assert "github.com/acme/search" in pr17 and "github.com/acme/web" not in pr17


def test_a_report_over_one_published_repository_names_it_and_no_repository_column(
    published: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    out = _report(tmp_path, published, "text", "--repository", "github.com/acme/web")
    assert "report over 1 repository: github.com/acme/web · merges into main" in out
    header = next(line for line in out.splitlines() if "Merged" in line)
    assert header.split()[:2] == ["Merged", "PR"]


def test_the_csv_of_published_records_ends_with_their_repository(published: str, tmp_path: Path) -> None:
    from gitokens.report.render import CSV_COLUMNS, csv_unquote

    rows = list(csv.reader(io.StringIO(_report(tmp_path, published, "csv"))))
    assert tuple(rows[0]) == (*CSV_COLUMNS, "repository")
    found = Counter(csv_unquote(row[-1]) for row in rows[1:])
    assert found == {"github.com/acme/search": 3, "github.com/acme/billing": 2, "github.com/acme/web": 1}
    with connect(parse(published), write=False) as db:
        ids = dict(db.query("SELECT id, repository FROM records"))
    assert all(ids[row[CSV_COLUMNS.index("id")]] == row[-1] for row in rows[1:])


def test_removing_a_merged_record_updates_its_merge_and_commits(three: list[Path], db_url: str, tmp_path: Path) -> None:
    path = three[2]
    commit(path, "after the merge")
    publish(open_repo(path), db_url, now=NOW)
    tokens(path, "rm", store.load(open_repo(path)).usage()[0].record.id)  # the tombstone: on main's tip, no merge
    later = publish(open_repo(path), db_url, now=NOW)
    assert (later.removed, later.merges) == (1, 1)
    _same_as_fresh(path, db_url, tmp_path)
    assert dump(db_url)["merges"] == []


def test_removing_an_amended_record_drops_the_commit_its_copy_sat_on(db_url: str, tmp_path: Path) -> None:
    path = new_repo(tmp_path, "amended")
    git(path, "config", "notes.rewriteRef", "refs/notes/tokens")  # what `git tokens install` sets
    commit(path, "first try")
    tokens(path, "add", "300", "--model", "gpt-4o")
    git(path, "commit", "-q", "--amend", "-m", "second try")  # the note is copied onto the new commit
    publish(open_repo(path), db_url, now=NOW)
    assert len(dump(db_url)["commits"]) == 2
    tokens(path, "rm", store.load(open_repo(path)).usage()[0].record.id)  # the tombstone: on the new commit only
    assert publish(open_repo(path), db_url, now=NOW).removed == 1
    _same_as_fresh(path, db_url, tmp_path)
    assert dump(db_url)["commits"] == []

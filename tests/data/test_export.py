"""git tokens export: the report's filters, clean CSV, and export -> import reproducing the report."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import commit, git, run

from gitokens.cli import cli
from gitokens.git.repo import open_repo
from gitokens.ledger import store
from gitokens.ledger.record import Record

NOTES = ['=HYPERLINK("http://evil","x")', "+1+1", "-2", "@SUM(A1)", "\tTab", "plain, with a comma"]


@pytest.fixture
def source(repo: Path) -> Path:
    """A repository with records of every kind: split and total-only, a reported cost, a removed record,
    1-hour cache writes and a count of requests, notes a spreadsheet would run, two branches, two authors,
    three models, several days."""
    commit(repo, "start")
    run("add", "--input", "1200", "--output", "300", "--cache-read", "9000", "--model", "claude-sonnet-4-5",
        "--at", "2025-09-01T09:00:00Z", "--note", NOTES[0])  # fmt: skip
    run("add", "54161", NOTES[1], "--model", "gpt-4o", "--at", "2025-09-02T10:00:00Z")
    run("add", "--input", "500", "--output", "100", "--cache-write", "4000", "--cache-write-1h", "1500",
        "--requests", "3", "--model", "claude-sonnet-4-5", "--at", "2025-09-02T10:30:00Z")  # fmt: skip
    gone = json.loads(run("add", "999", "--at", "2025-09-02T11:00:00Z", "--json").output)["id"]
    run("rm", gone)
    git(repo, "switch", "-q", "-c", "feature")
    commit(repo, "feature work")
    for day, note in zip((3, 4, 5, 6), NOTES[2:], strict=True):
        run("add", "--input", str(100 * day), "--output", "50", "--reasoning", "20", "--model", "o4-mini",
            "--endpoint", "review", "--at", f"2025-09-0{day}T12:00:00Z", "--note", note)  # fmt: skip
    reported = Record.from_dict(
        {
            "ts": "2025-09-07T08:00:00Z",
            "input_tokens": 10,
            "output_tokens": 5,
            "model": "gpt-4o",
            "cost_usd": 0.125,
            "author": "carol@example.com",
            "branch": "feature",
            "source": "ci",
            "provider": "openai",
        }
    )
    head = git(repo, "rev-parse", "HEAD").strip()
    store.append(open_repo(repo), {head: [reported.replace(commit=head)]}, "test")
    git(repo, "switch", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
    return repo


def report(path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(path)
    data: dict[str, Any] = json.loads(run("report", "--format", "json", "--timezone", "UTC").output)
    for volatile in ("generated_at", "repository", "windows", "projection", "insights", "recent"):
        data.pop(volatile, None)
    return data


def export(path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.chdir(path)
    return run("export", *args).output


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_export_then_import_into_a_clone_gives_the_same_report(
    source: Path, tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = tmp_path / f"tokens.{fmt}"
    export(source, monkeypatch, str(dump))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(source), str(clone))  # a clone carries no notes
    git(clone, "switch", "-q", "feature")
    git(clone, "switch", "-q", "main")
    monkeypatch.chdir(clone)
    result = run("import", str(dump))
    assert "imported 8 records" in result.output and "8 on the commit they name" in result.output
    assert report(clone, monkeypatch) == report(source, monkeypatch)
    before = {e.record.to_line() for e in store.load(open_repo(source)).usage()}
    assert {e.record.to_line() for e in store.load(open_repo(clone)).usage()} == before


def test_import_into_an_unrelated_repository_keeps_the_totals(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = tmp_path / "tokens.csv"
    export(source, monkeypatch, str(dump))
    other = tmp_path / "other"
    git(tmp_path, "init", "-q", str(other))
    commit(other, "elsewhere")
    monkeypatch.chdir(other)
    output = run("import", str(dump), "--commit", "HEAD").output
    assert "imported 8 records (71,276 tokens) onto 1 commit" in output
    assert "3 on their branch's tip at their time" in output and "5 on --commit" in output  # no feature branch
    mine, theirs = report(other, monkeypatch), report(source, monkeypatch)
    for key in ("totals", "by_branch", "by_model", "by_provider", "by_endpoint", "by_author", "by_source", "daily"):
        assert mine[key] == theirs[key], key
    assert "imported 0 records" in run("import", str(dump), "--commit", "HEAD").output


def test_csv_opens_cleanly_and_quotes_formulas(source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = list(csv.DictReader(io.StringIO(export(source, monkeypatch, "--format", "csv"), newline="")))
    notes = {row["note"] for row in rows}
    assert notes == {"'" + NOTES[0], "'+1+1", "'-2", "'@SUM(A1)", "'\tTab", "plain, with a comma", ""}
    total_only = next(row for row in rows if row["total_tokens"] == "54161")  # no thousands separator
    assert (total_only["estimated"], total_only["input_tokens"], total_only["cost_usd"]) == ("true", "", "")
    assert all(row["ts"].endswith("Z") and row["ts"][10] == "T" for row in rows)
    assert next(row for row in rows if row["author"] == "carol@example.com")["cost_usd"] == "0.125"
    assert len(rows) == 8 and all(len(row["commit"]) == 40 for row in rows)


@pytest.mark.parametrize(
    "filters",
    [
        pytest.param([], id="all"),
        pytest.param(["--since", "2025-09-03"], id="since"),
        pytest.param(["--until", "2025-09-02"], id="until"),
        pytest.param(["--since", "2025-09-02", "--until", "2025-09-04"], id="window"),
        pytest.param(["--branch", "feature"], id="branch"),
        pytest.param(["--author", "CAROL"], id="author"),
        pytest.param(["--model", "gpt"], id="model"),
        pytest.param(["--branch", "main", "--model", "nothing"], id="none"),
    ],
)
def test_filters_pick_the_records_the_report_picks(
    source: Path, monkeypatch: pytest.MonkeyPatch, filters: list[str]
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    exported = [
        json.loads(line)["id"] for line in export(source, monkeypatch, "--format", "jsonl", *filters).splitlines()
    ]
    reported = [row["id"] for row in csv.DictReader(io.StringIO(run("report", "--format", "csv", *filters).output))]
    assert sorted(exported) == sorted(reported)
    assert len(set(exported)) == len(exported)


def test_format_follows_the_file_name_and_json_is_one_document(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export(source, monkeypatch, str(tmp_path / "a.jsonl"))
    export(source, monkeypatch, str(tmp_path / "b.json"))
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    document = json.loads((tmp_path / "b.json").read_text())
    assert len(lines) == 8 and document["gitokens_export"] == 1
    assert [json.loads(line) for line in lines] == document["records"]
    assert all(len(r["attached_to"]) == 40 for r in document["records"])
    assert json.loads(export(source, monkeypatch, "-"))["records"] == document["records"]


def test_the_installed_command_exports_and_imports(source: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    dump = tmp_path / "tokens.csv"
    done = subprocess.run(["git", "tokens", "export", str(dump)], cwd=source, env=env, capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (0, f"wrote 8 record(s) to {dump}\n")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(source), str(clone))
    args = ["git", "tokens", "import", str(dump)]
    done = subprocess.run(args, cwd=clone, env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "imported 8 records" in done.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(dump.read_text().replace(",54161,", ",54x61,"))
    done = subprocess.run(["git", "tokens", "import", str(bad)], cwd=clone, env=env, capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("error: bad.csv line 3: total_tokens")


def test_a_report_csv_imports_with_the_same_tokens(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(source)
    dump = tmp_path / "report.csv"
    run("report", "--format", "csv", "-o", str(dump))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(source), str(clone))
    monkeypatch.chdir(clone)
    assert "imported 8 records" in run("import", str(dump)).output
    mine, theirs = report(clone, monkeypatch)["totals"], report(source, monkeypatch)["totals"]
    assert {k: v for k, v in mine.items() if k != "cost_usd"} == {k: v for k, v in theirs.items() if k != "cost_usd"}
    assert mine["cost_usd"] == pytest.approx(theirs["cost_usd"], abs=1e-5)  # computed costs, kept as reported


def test_every_format_carries_the_1_hour_cache_writes_and_requests(
    source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [json.loads(line) for line in export(source, monkeypatch, "--format", "jsonl").splitlines()]
    [stated] = [r for r in lines if "requests" in r]
    assert (stated["cache_write_tokens"], stated["cache_write_1h_tokens"], stated["requests"]) == (4000, 1500, 3)
    rows = list(csv.DictReader(io.StringIO(export(source, monkeypatch, "--format", "csv"))))
    [row] = [r for r in rows if r["requests"]]
    assert (row["cache_write_1h_tokens"], row["requests"]) == ("1500", "3")
    assert {r["cache_write_1h_tokens"] for r in rows if r is not row} <= {"", "0"}


ROUND_TRIP = ["=x", "'=x", "''=x", "+1", "-1", "@a", "'plain", "'", "''", "plain text", "\t=x", "'\r", "a\r\nb\u2028c"]


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_every_note_survives_export_and_import_exactly(repo: Path, tmp_path: Path, fmt: str) -> None:
    commit(repo)
    for note in ROUND_TRIP:
        run("add", "5", "--note", note, "--model", note if note.strip() else "m")
    dump = tmp_path / f"tokens.{fmt}"
    run("export", str(dump))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    os.chdir(clone)
    run("import", str(dump))
    mine = {e.record.id: e.record for e in store.load(open_repo(clone)).usage()}
    theirs = {e.record.id: e.record for e in store.load(open_repo(repo)).usage()}
    assert mine == theirs and sorted(r.note or "" for r in mine.values()) == sorted(ROUND_TRIP)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["out.xlsx"], "error: export: cannot tell a format from the extension of 'out.xlsx'"),
        (["out.CSV.bak"], "error: export: cannot tell a format from the extension of 'out.CSV.bak'"),
    ],
    ids=["xlsx", "bak"],
)
def test_an_unknown_extension_needs_format(repo: Path, args: list[str], message: str) -> None:
    commit(repo)
    run("add", "5")
    result = CliRunner().invoke(cli, ["export", *args])
    assert result.exit_code == 2 and message in result.output
    assert "hint: name the file .json, .jsonl, .csv, or give --format" in result.output
    assert not (repo / args[0]).exists()
    assert run("export", *args, "--format", "csv").exit_code == 0
    assert (repo / args[0]).read_text().startswith("ts,commit,")

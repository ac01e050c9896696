from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import commit, git, run

import gitokens.cli as package
from gitokens.cli import cli
from gitokens.git.repo import open_repo
from gitokens.ledger import pending, store
from gitokens.ledger.record import Record


def fail(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_add_total_with_note_prints_commit_branch_and_running_total(repo: Path) -> None:
    head = commit(repo)
    out = run("add", "54161", "OAuth2 integration").output
    assert f"recorded 54,161 tokens (split unknown) on {head[:7]} (main)" in out
    assert "main total: 54,161 tokens in 1 session" in out
    out = run("add", "--input", "36000", "--output", "9230", "--model", "claude-sonnet-4-5-20250929").output
    assert "main total: 99,391 tokens in 2 sessions" in out
    records = sorted(e.record.tokens for e in store.load(open_repo()).entries.values())
    assert records == [45230, 54161]


def test_add_json_prints_the_stored_record(repo: Path) -> None:
    head = commit(repo)
    args = ["add", "--json", "--input", "1,200", "--output", "300", "--cache-read", "5000", "--reasoning", "100"]
    data = json.loads(run(*args, "--model", "gpt-4o", "--endpoint", "chat", "--at", "2025-09-29T14:03:00Z").output)
    assert data["commit"] == head and data["branch"] == "main" and data["author"] == "test@example.com"
    assert (data["input_tokens"], data["cache_read_tokens"], data["ts"]) == (1200, 5000, "2025-09-29T14:03:00Z")
    stored = store.load(open_repo()).entries[data["id"]].record
    assert stored.to_dict() == data


def test_add_on_an_unborn_head_queues_the_record(repo: Path) -> None:
    out = run("add", "500", "before the first commit").output
    assert "queued 500 tokens (split unknown) for the next commit (HEAD has no commits yet)" in out
    records, problems = pending.list_pending(open_repo())
    assert [r.tokens for r in records] == [500] and not problems
    assert store.load(open_repo()).tip is None


def test_add_commit_rev_attaches_to_that_commit(repo: Path) -> None:
    first = commit(repo)
    commit(repo)
    run("add", "10", "--commit", "HEAD~1")
    assert [e.attached for e in store.load(open_repo()).entries.values()] == [first]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add"], "error: no tokens given"),
        (["add", "10", "--input", "5"], "error: give either TOTAL or the split"),
        (["add", "--input", "-5"], "error: input_tokens: token counts cannot be negative"),
        (["add", "--input", "1.5"], "expected a whole number of tokens, got '1.5'"),
        (["add", "2000000000000"], "error: total_tokens: 2000000000000 tokens is more than 10^12"),
        (["add", "10", "--model", ""], "error: model: cannot be empty"),
        (["add", "10", "--at", "last tuesday"], "error: --at: 'last tuesday' is not a date or time"),
        (["add", "10", "--commit", "nope"], "error: unknown revision 'nope'"),
        (["add", "10", "x", "--note", "y"], "error: give the note once"),
        (["log", "--since", "2025-13-01"], "error: --since: '2025-13-01' is not a date"),
        (["rm", "ffff"], "error: no record with id 'ffff'"),
        (["rm", "ab"], "error: record id 'ab' is too short"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_bad_input_is_one_line_error_with_hint_and_nonzero_exit(repo: Path, args: list[str], message: str) -> None:
    commit(repo)
    code, output = fail(*args)
    assert code != 0
    assert message in output
    assert "Traceback" not in output
    assert store.load(open_repo()).entries == {}


def test_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = fail("show")
    assert code == 128 and "error: not a git repository" in output and "hint:" in output


def test_show_branch_summary_and_commit(repo: Path) -> None:
    first = commit(repo)
    run("add", "--input", "1000", "--output", "200", "--cache-read", "50", "--model", "m1", "--at", "2025-01-01")
    second = commit(repo)
    for n in range(6):
        run("add", str(100 + n), f"session {n}", "--at", f"2025-01-0{n + 2}T10:00:00Z")
    out = run("show").output
    assert "Branch: main" in out and "Total tokens:    1,865" in out and "Sessions:        7" in out
    assert "cache read:    50" in out and "  split unknown: 615" in out and "Last 5 record(s):" in out
    assert "session 5" in out and "session 0" not in out  # the last five only
    assert "First use:       2025-01-01 00:00" in out
    summary = out.split("\n\n")[0].splitlines()[1:]
    assert len(summary) == 9 and {len(re.match(r"[^:]+:\s+", line)[0]) for line in summary} == {17}  # one column
    assert out.rstrip().splitlines()[-1].startswith("* split unknown: only the total was recorded")
    data = json.loads(run("show", "--json").output)
    assert (data["sessions"], data["total_tokens"], len(data["recent"])) == (7, 1865, 5)
    on_first = json.loads(run("show", first[:8], "--json").output)
    assert [r["input_tokens"] for r in on_first] == [1000]
    assert "6 record(s) on" in run("show", second).output


def test_the_split_marker_is_explained_only_where_it_appears(repo: Path) -> None:
    head = commit(repo)
    run("add", "--input", "10", "--output", "2", "--model", "m1")
    for args in (["show"], ["show", head], ["log"]):
        assert "*" not in run(*args).output
    run("add", "500")
    for args in (["show"], ["show", head], ["log"]):
        lines = run(*args).output.rstrip().splitlines()
        assert any("500*" in line for line in lines[:-1])
        assert lines[-1].startswith("* split unknown: only the total was recorded")


def test_show_on_a_branch_without_records(repo: Path) -> None:
    commit(repo)
    assert "No token records on main yet." in run("show").output


def test_log_filters_and_order(repo: Path) -> None:
    commit(repo)
    run("add", "10", "--model", "claude-opus-4", "--at", "2025-01-01T12:00:00Z")
    git(repo, "switch", "-q", "-c", "feature/x")
    commit(repo)
    run("add", "20", "--model", "gpt-4o", "--at", "2025-02-01T12:00:00Z")
    run("add", "30", "--model", "gpt-4o", "--at", "2025-03-01T12:00:00Z")

    def tokens(*args: str) -> list[int]:
        return [r["tokens"] for r in json.loads(run("log", "--json", *args).output)]

    assert tokens() == [30, 20, 10]
    assert tokens("--branch", "feature/x") == [30, 20]
    assert tokens("--model", "opus") == [10]
    assert tokens("--since", "20250201", "--until", "2025-02-01") == [20]
    assert tokens("-n", "1") == [30]
    assert tokens("--author", "TEST@example") == [30, 20, 10]
    assert "feature/x" in run("log").output


def test_rm_writes_a_tombstone_and_keeps_the_line(repo: Path) -> None:
    head = commit(repo)
    record_id = json.loads(run("add", "777", "oops", "--json").output)["id"]
    run("add", "5")
    assert f"removed {record_id[:8]}: 777 tokens on {head[:7]}" in run("rm", record_id[:8]).output
    assert [r["tokens"] for r in json.loads(run("log", "--json").output)] == [5]
    assert "was already removed" in run("rm", record_id).output
    assert "oops" in git(repo, "notes", "--ref", "tokens", "show", head)
    assert "main total: 10 tokens in 2 sessions" in run("add", "5").output


def test_corrupt_line_warns_but_commands_work(repo: Path) -> None:
    head = commit(repo)
    run("add", "5")
    git(repo, "notes", "--ref", "tokens", "append", "-m", "garbage here", head)
    result = CliRunner().invoke(cli, ["log"])
    assert result.exit_code == 0
    assert "warning: skipped 1 ledger line(s)" in result.stderr and f"{head[:12]} line" in result.stderr
    assert "garbage here" in git(repo, "notes", "--ref", "tokens", "show", head)


def test_interactive_add_prompts_with_defaults(repo: Path) -> None:
    commit(repo)
    answers = "3000\n400\n\n\nclaude-sonnet-4-5\nchat\nrefactor\n"
    out = run("add", "-i", "--output", "400", input=answers).output
    assert "Output tokens [400]" in out
    rec = next(iter(store.load(open_repo()).entries.values())).record
    assert (rec.input_tokens, rec.output_tokens, rec.model, rec.endpoint, rec.note) == (
        3000,
        400,
        "claude-sonnet-4-5",
        "chat",
        "refactor",
    )


def test_help_and_version() -> None:
    assert "Example:" in run("add", "-h").output
    assert run("--version").output.startswith("git-tokens, version ")
    assert "hook-run" not in run("-h").output


def test_prices_lists_ledger_models_with_their_source(repo: Path) -> None:
    (repo / ".gitokens.yml").write_text(
        "prices:\n  in-house-model: {input: 2, output: 8}\naliases:\n  proxy-sonnet: claude-sonnet-4-5\n"
    )
    commit(repo)
    for model in ("in-house-model", "proxy-sonnet", "no-such-model-xyz"):
        run("add", "10", "--model", model)
    out = run("prices", "--wide").output
    lines = {line.split()[0]: line for line in out.splitlines()[3:]}
    assert "$2" in lines["in-house-model"] and "override" in lines["in-house-model"]
    assert "alias -> claude-sonnet-4-5" in lines["proxy-sonnet"]
    assert "no price" in lines["no-such-model-xyz"]
    data = {row["model"]: row for row in json.loads(run("prices", "gpt-4o", "--json").output)}
    assert data["gpt-4o"]["source"] == "genai-prices" and data["gpt-4o"]["input"] > 0


def test_prices_with_a_typo_in_the_config(repo: Path) -> None:
    (repo / ".gitokens.yml").write_text("prices:\n  m: {input: 1, outptu: 2}\n")
    commit(repo)
    code, output = fail("prices", "m")
    assert code == 2 and ".gitokens.yml:2" in output and "outptu" in output and "hint:" in output


def test_every_command_module_is_mapped_and_loads_only_when_asked_for() -> None:
    for module in set(package._MODULES.values()):
        __import__(f"gitokens.cli.{module}")
    assert set(cli.commands) == set(package._MODULES)  # a new command must be added to the map
    probe = "import sys, gitokens.cli; print(sorted(m for m in sys.modules if m.startswith('gitokens.')))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "gitokens.cli.entries" not in loaded and "gitokens.ledger.store" not in loaded


@pytest.mark.parametrize("args", [["add", "5"], ["log"], ["doctor"], ["install", "--no-prompt"]], ids=" ".join)
def test_a_sha256_repository_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    git(tmp_path, "init", "-q", "--object-format=sha256", "sha")
    git(tmp_path / "sha", "commit", "-q", "--allow-empty", "-m", "one")
    monkeypatch.chdir(tmp_path / "sha")
    code, output = fail(*args)
    assert code == 1 and output.splitlines() == [
        f"error: {tmp_path / 'sha' / '.git'}/ uses SHA-256 object ids, which gitokens does not support",
        "hint: gitokens works in SHA-1 repositories (git's default); nothing was read or written",
    ]
    assert not (tmp_path / "sha" / ".git" / "hooks" / "post-commit").exists()


def test_add_1_hour_cache_writes_and_requests_shown_by_show_and_log(repo: Path) -> None:
    commit(repo)
    args = ["--input", "900", "--output", "100", "--cache-write", "4,000", "--cache-write-1h", "1500"]
    data = json.loads(run("add", "--json", *args, "--requests", "3", "--model", "claude-sonnet-4-5").output)
    assert (data["cache_write_tokens"], data["cache_write_1h_tokens"], data["requests"]) == (4000, 1500, 3)
    assert "cache write: 4,000 (1-hour 1,500)" in run("show").output
    assert "1h cache" in run("log", "--wide").output and "1,500" in run("log", "--wide").output
    one = run("show", data["id"][:8]).output
    assert "requests:" in one and "    1-hour:" in one and "1,500" in one


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "5", "--cache-write", "10", "--cache-write-1h", "11"], "cache_write_1h_tokens: 11 is more than"),
        (["500", "--cache-write-1h", "10"], "give either TOTAL or the split"),
        (["--input", "5", "--requests", "0"], "requests: expected a whole number of API calls"),
    ],
    ids=["1h above the writes", "1h with a total", "no requests"],
)
def test_bad_1_hour_writes_and_requests_are_refused(repo: Path, args: list[str], message: str) -> None:
    commit(repo)
    code, output = fail("add", *args)
    assert code != 0 and message in output and store.load(open_repo()).tip is None


def test_interactive_add_asks_for_the_1_hour_part_of_cache_writes(repo: Path) -> None:
    commit(repo)
    run("add", "-i", input="3000\n400\n0\n2000\n500\nclaude-sonnet-4-5\n\n\n")
    rec = next(iter(store.load(open_repo()).entries.values())).record
    assert (rec.cache_write_tokens, rec.cache_write_1h_tokens) == (2000, 500)


def captured(repo: Path, hexes: list[str]) -> list[str]:
    """Records with captured ids (``claude-code:<hex>``) on HEAD; returns their ids."""
    head = git(repo, "rev-parse", "HEAD").strip()
    records = [
        Record.from_dict({"id": f"claude-code:{h}", "ts": "2025-01-01T00:00:00Z", "source": "claude-code",
                          "input_tokens": 10 + n, "session": "s-1", "commit": head, "branch": "main"})
        for n, h in enumerate(hexes)
    ]  # fmt: skip
    store.append(open_repo(), {head: records}, "test")
    return [r.id for r in records]


def test_captured_ids_are_shown_by_their_distinguishing_part_and_typed_back(repo: Path) -> None:
    commit(repo)
    first, second, third = captured(repo, ["3fa9c1e2" + "0" * 24, "3fa9c1e2" + "1" * 24, "77aa" + "2" * 28])
    shown = [line.split()[0] for line in run("log").output.splitlines()[1:]]
    assert sorted(shown) == ["3fa9c1e20", "3fa9c1e21", "77aa2222"]
    assert "removed 77aa2222: 12 tokens" in run("rm", "77aa2222").output
    assert "removed 3fa9c1e21" in run("rm", "claude-code:3fa9c1e21").output
    code, output = fail("rm", "3fa9c1e2")
    assert code != 0 and "ambiguous among 2 records: 3fa9c1e20" in output
    assert f"record {first}" in run("show", "3fa9c1e20").output
    assert [e["id"] for e in json.loads(run("log", "--json").output)] == [first]
    assert second not in store.load(open_repo()).entries and third not in store.load(open_repo()).entries


def test_show_of_neither_a_commit_nor_a_record(repo: Path) -> None:
    commit(repo)
    code, output = fail("show", "zzzzzzzz")
    assert code != 0 and "neither a commit nor a record id" in output


def test_the_running_total_counts_sessions_not_records(repo: Path) -> None:
    commit(repo)
    captured(repo, ["a" * 32, "b" * 32, "c" * 32])  # one session (33 tokens) in three records
    assert "main total: 35 tokens in 2 sessions" in run("add", "2").output  # and a manual record, one of its own
    run("rm", "c" * 8)
    assert "main total: 26 tokens in 3 sessions" in run("add", "3").output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "-o", "/nonexistent/x.html"], "error: cannot write /nonexistent/x.html: No such file"),
        (["report", "-o", "/dev/full"], "error: cannot write /dev/full: No space left on device"),
        (["export", "somedir"], "error: cannot write somedir: Is a directory"),
        (["export", "/nonexistent/out.csv"], "error: cannot write /nonexistent/out.csv"),
        (["add", "5", "--note", "\udcff"], "error: note: '\\udcff' is not UTF-8 text"),
        (["add", "5", "--model", "gpt\udcff"], "error: model: 'gpt\\udcff' is not UTF-8 text"),
        (["add", "--pending", "5", "\udcff"], "error: note: '\\udcff' is not UTF-8 text"),
    ],
    ids=["report-no-folder", "report-disk-full", "export-to-a-folder", "export-no-folder", "note", "model", "pending"],
)
def test_unusable_options_are_one_line_errors(repo: Path, args: list[str], message: str) -> None:
    commit(repo)
    run("add", "5")
    (repo / "somedir").mkdir()
    before = git(repo, "rev-parse", "refs/notes/tokens")
    code, output = fail(*args)
    assert code == 2 and message in output and "hint:" in output and "Traceback" not in output
    assert git(repo, "rev-parse", "refs/notes/tokens") == before
    assert pending.list_pending(open_repo()) == ([], [])


@pytest.mark.parametrize(
    ("typed", "tokens"),
    [
        ("54161", 54161),
        ("54,161", 54161),
        ("54_161", 54161),
        ("1,000,000", 1000000),
        (" 7 ", 7),
        ("1,2,3", None),
        ("1,23", None),
        ("12,3456", None),
        ("1_000,000", None),
        ("1__000", None),
        ("٥", None),
        ("１２", None),
        ("9" * 5000, None),
    ],
    ids=[
        *("plain", "comma", "underscore", "millions", "spaces", "1,2,3", "1,23", "12,3456", "mixed", "double"),
        *("arabic", "wide", "huge"),
    ],
)
def test_counts_take_thousands_separators_in_groups_of_three(repo: Path, typed: str, tokens: int | None) -> None:
    commit(repo)
    code, output = fail("add", "--json", typed)
    if tokens is None:
        assert code == 2 and "error: invalid value for '[TOTAL]': expected a whole number of tokens" in output
        assert len(output) < 300 and "add -h`" in output.splitlines()[1]
        assert store.load(open_repo()).entries == {}
    else:
        assert code == 0 and json.loads(output)["total_tokens"] == tokens


def test_log_takes_the_windows_report_takes(repo: Path) -> None:
    commit(repo)
    run("add", "5", "--at", (datetime.now(UTC) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    run("add", "7")
    assert [e["tokens"] for e in json.loads(run("log", "--since", "7d", "--json").output)] == [7]
    assert [e["tokens"] for e in json.loads(run("log", "--until", "8d", "--json").output)] == [5]


@pytest.mark.parametrize(
    ("rev", "expected"),
    [("main", "main"), ("HEAD~1", "feature/oauth"), ("other", "other"), ("HEAD", "feature/oauth")],
    ids=["a-branch", "in-the-history-of-head", "only-on-another-branch", "head"],
)
def test_add_commit_records_the_branch_of_that_commit(repo: Path, rev: str, expected: str) -> None:
    commit(repo)
    git(repo, "branch", "other")
    git(repo, "checkout", "-q", "other")
    commit(repo)
    git(repo, "checkout", "-q", "-b", "feature/oauth", "main")
    commit(repo)
    commit(repo)
    target = git(repo, "rev-parse", "other" if rev == "other" else rev).strip()
    if rev == "other":
        git(repo, "branch", "-f", "scratch", target)  # another name, not the rev typed: found by history
        rev = target
        expected = "other"
    data = json.loads(run("add", "3", "--commit", rev, "--json").output)
    assert (data["commit"], data["branch"]) == (target, expected)


def test_a_pending_add_says_why_it_waits(repo: Path) -> None:
    commit(repo)
    out = run("add", "--pending", "5").output
    assert out.startswith("queued 5 tokens (split unknown) for the next commit (--pending); id ")


def test_top_level_help_gives_each_commands_summary_whole() -> None:
    out = run("--help").output
    listed = out[out.index("Commands:") :]
    assert "..." not in listed and "(squash, rebase merge, cherry-pick)." in listed


def test_prices_shows_the_long_context_and_1_hour_rates(repo: Path) -> None:
    commit(repo)
    lines = run("prices", "--wide", "claude-sonnet-4-5").output.splitlines()
    assert lines[2].split()[-2:] == ["write", "source"]
    assert lines[3].split()[1:] == ["$3.00", "$15.00", "$0.30", "$3.75", "$6.00", "genai-prices"]
    assert lines[4].split()[-5:] == ["$7.50", "$12.00", "the", "whole", "request"]


def test_main_gives_back_the_garbage_collector_as_it_found_it(repo: Path) -> None:
    """A command runs without cyclic collections (start-up speed); a script that calls ``main`` and goes on
    gets the collector back enabled."""
    script = (
        "import gc, sys\nfrom gitokens.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\nprint(gc.isenabled())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=repo, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "True"


LONG_BRANCH = "feature/a-very-long-branch-name-for-the-oauth2-integration-and-the-session-store"


@pytest.mark.parametrize("columns", [50, 80, 132])
def test_log_show_and_prices_fit_the_terminal_and_keep_what_matters(
    repo: Path, monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    """Every line of their tables fits ``COLUMNS``; the id, the model and the tokens (the rates) are always
    shown, names are shortened in the middle; ``--wide`` keeps every column whole."""
    commit(repo)
    git(repo, "checkout", "-q", "-b", LONG_BRANCH)
    note = "OAuth2 integration with the token refresh, the session store and the audit log"
    for model in ("claude-sonnet-4-5-20250929", "gpt-5"):
        split = ["--input", "1200", "--output", "300", "--cache-write", "400", "--cache-write-1h", "100"]
        run("add", *split, "--model", model, "--note", note)
    monkeypatch.setenv("COLUMNS", str(columns))
    ids = [row["id"][:8] for row in json.loads(run("log", "--json").output)]
    for args in (["log"], ["show"], ["show", "HEAD"], ["prices"]):
        shown = run(*args).output.splitlines()  # the branch's name in full on its own line; a legend wraps
        lines = [line for line in shown if not line.startswith(("* ", "Branch: "))]
        assert max(map(len, lines)) <= columns, (args, lines)
        table = "\n".join(lines)
        if args[0] != "prices":
            assert all(short in table for short in ids) and table.count("1,900") >= 2
            assert "claude-sonnet-4-5" in table or ("claude" in table and "…" in table)
        else:
            assert "$3.00" in table and "$15.00" in table
    wide = run("log", "--wide").output
    assert LONG_BRANCH[:24] in wide and note[:39] in wide and "1h cache" in wide
    assert max(map(len, run("prices", "--wide").output.splitlines())) > 80

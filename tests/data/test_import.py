"""git tokens import: every accepted format, where records go, idempotence, all or nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import commit, git, run

from gitokens.cli import cli
from gitokens.data import imports
from gitokens.errors import InvalidRecord, UsageError
from gitokens.git.repo import open_repo
from gitokens.ledger import store


def when(repo: Path, rev: str, shift: int = 0) -> str:
    """An ISO time ``shift`` seconds after ``rev`` was committed."""
    stamp = int(git(repo, "log", "-1", "--format=%ct", rev)) + shift
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def records(repo: Path) -> dict[str, list[tuple[int, str, str | None]]]:
    """Commit -> (tokens, source, note) of the records on it."""
    out: dict[str, list[tuple[int, str, str | None]]] = {}
    for entry in store.load(open_repo(repo)).usage():
        out.setdefault(entry.attached, []).append((entry.record.tokens, entry.record.source, entry.record.note))
    return out


@pytest.fixture
def history(repo: Path) -> dict[str, str]:
    """main: a -> b -> c; topic (from b): t1."""
    ids = {"a": commit(repo, "a"), "b": commit(repo, "b")}
    git(repo, "switch", "-q", "-c", "topic")
    ids["t1"] = commit(repo, "t1")
    git(repo, "switch", "-q", "main")
    ids["c"] = commit(repo, "c")
    return ids


def fixtures(repo: Path, ids: dict[str, str]) -> dict[str, tuple[str, str]]:
    """One file in each format the older scripts wrote: file name -> (content, format we expect)."""
    branch_file = {
        "branch": "main",
        "total_tokens": 1500,
        "sessions": [
            {"timestamp": when(repo, ids["b"], 10), "tokens": 1000, "notes": "between b and c"},
            {"timestamp": when(repo, ids["c"], 10), "input_tokens": 400, "output_tokens": 100, "notes": "after c"},
        ],
        "import_history": [{"imported_at": "2025-01-01T00:00:00", "file": "old.json"}],
    }
    session = {
        "timestamp": when(repo, ids["a"], 5),
        "git_branch": "main",
        "commit_sha": ids["a"],
        "model_name": "claude-sonnet-4-5",
        "endpoint": "messages",
        "prompt_tokens": 700,
        "completion_tokens": 300,
        "total_tokens": 1000,
        "source": "claude_local",
        "notes": "named commit",
    }
    portable = {
        "export_metadata": {"exported_at": "2025-01-01T00:00:00Z", "exported_by": "bob", "source_machine": "m1"},
        "token_data": {"branch": "topic", "sessions": [{"timestamp": when(repo, ids["t1"], 1), "tokens": 2000}]},
        "git_context": {"branch": "topic", "commit": ids["t1"]},
    }
    csv_text = (
        "timestamp,branch,tokens,estimated_cost,notes\n"
        f"{when(repo, ids['b'], 20)},main,3000,0.45,csv row\n"
        f"{when(repo, ids['t1'], 20)},topic,4000,,\n"
    )
    return {
        "tokens_main.json": (json.dumps(branch_file, indent=2), "per-branch tracking file"),
        "claude_local_1.json": (json.dumps(session, indent=2), "single session"),
        "token_usage_2.json": (
            json.dumps({**session, "commit_sha": ids["c"][:10], "notes": "short sha"}),
            "single session",
        ),
        "portable.json": (json.dumps(portable, indent=2), "portable export"),
        "history.csv": (csv_text, "tracking CSV"),
    }


def write(folder: Path, files: dict[str, tuple[str, str]]) -> list[Path]:
    paths = []
    for name, (text, _) in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def test_every_older_format_is_read_and_placed(repo: Path, history: dict[str, str], tmp_path: Path) -> None:
    files = fixtures(repo, history)
    paths = write(tmp_path, files)
    planned = imports.plan(open_repo(repo), paths)
    assert [(name, kind) for name, kind, _ in planned.files] == [(n, k) for n, (_, k) in files.items()]
    imports.apply(open_repo(repo), planned)
    placed = records(repo)
    assert sorted(placed[history["a"]]) == [(1000, "import", "named commit")]
    assert sorted(placed[history["b"]]) == [(1000, "import", "between b and c"), (3000, "import", "csv row")]
    assert sorted(placed[history["c"]]) == [(500, "import", "after c"), (1000, "import", "short sha")]
    assert sorted(placed[history["t1"]]) == [(2000, "import", None), (4000, "import", None)]
    assert planned.placed == {imports.OWN_COMMIT: 2, imports.BRANCH_TIP: 5}


def test_fields_of_the_older_formats_are_kept(repo: Path, history: dict[str, str], tmp_path: Path) -> None:
    imports.apply(open_repo(repo), imports.plan(open_repo(repo), write(tmp_path, fixtures(repo, history))))
    by_note = {e.record.note: e.record for e in store.load(open_repo(repo)).usage()}
    named = by_note["named commit"]
    assert (named.model, named.endpoint, named.input_tokens, named.output_tokens) == (
        "claude-sonnet-4-5",
        "messages",
        700,
        300,
    )
    assert (named.branch, named.author, named.commit) == ("main", "test@example.com", history["a"])
    assert by_note["csv row"].cost_usd == 0.45 and by_note["csv row"].total_tokens == 3000
    portable = next(e.record for e in store.load(open_repo(repo)).usage() if e.record.tokens == 2000)
    assert (portable.author, portable.branch) == ("bob", "topic")


def test_importing_twice_adds_nothing(repo: Path, history: dict[str, str], tmp_path: Path) -> None:
    paths = [str(p) for p in write(tmp_path, fixtures(repo, history))]
    first = run("import", *paths)
    assert "imported 7 records (12,500 tokens) onto 4 commits" in first.output
    tip = git(repo, "rev-parse", "refs/notes/tokens")
    again = run("import", *paths)
    assert "imported 0 records" in again.output and "skipped 7 already in the ledger" in again.output
    assert git(repo, "rev-parse", "refs/notes/tokens") == tip


def test_the_same_session_in_two_files_counts_once(repo: Path, history: dict[str, str], tmp_path: Path) -> None:
    session = {"timestamp": when(repo, history["c"], 1), "git_branch": "main", "total_tokens": 9}
    (tmp_path / "one.json").write_text(json.dumps(session))
    (tmp_path / "list.json").write_text(json.dumps([session, session]))  # two sessions, alike: both kept
    planned = imports.plan(open_repo(repo), [tmp_path / "one.json", tmp_path / "list.json"])
    assert (len(planned.records), planned.repeated) == (2, 1)


def test_records_before_any_commit_need_commit_rev(repo: Path, history: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "tokens_gone.json"
    path.write_text(json.dumps({"sessions": [{"timestamp": "2001-01-01T00:00:00Z", "tokens": 5}]}))
    with pytest.raises(UsageError, match=r"1 record\(s\) name no commit .*first: tokens_gone.json line 1"):
        imports.plan(open_repo(repo), [path])
    result = run("import", str(path), "--commit", "HEAD~1")
    assert f"1 on --commit {history['b'][:7]}" in result.output
    assert records(repo)[history["b"]] == [(5, "import", None)]


def test_dry_run_writes_nothing(repo: Path, history: dict[str, str], tmp_path: Path) -> None:
    paths = [str(p) for p in write(tmp_path, fixtures(repo, history))]
    result = run("import", "--dry-run", *paths)
    assert "would import 7 records" in result.output and "nothing written (--dry-run)" in result.output
    assert git(repo, "rev-parse", "-q", "--verify", "refs/notes/tokens", check=False) == ""


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        pytest.param(
            "bad.csv",
            "timestamp,branch,tokens,estimated_cost,notes\n2025-01-01T00:00:00,main,10,,ok\n"
            "2025-01-01T00:00:00,main,ten,,bad\n",
            "bad.csv line 3: tokens: expected a whole number",
            id="csv-count",
        ),
        pytest.param(
            "tokens_main.json",
            '{\n  "sessions": [\n    {"timestamp": "2025-01-01T00:00:00", "tokens": 1},\n'
            '    {"timestamp": "yesterday", "tokens": 2}\n  ]\n}\n',
            "tokens_main.json line 4: timestamp: 'yesterday' is not",
            id="json-timestamp",
        ),
        pytest.param(
            "export.jsonl",
            '{"id":"r1","ts":"2025-01-01T00:00:00Z","total_tokens":3}\n{"id":"r2","ts":"2025-01-01T00:00:00Z",'
            '"input_tokens":-4}\n',
            "export.jsonl line 2: input_tokens",
            id="jsonl-negative",
        ),
        pytest.param(
            "export.json",
            '{"records": [\n{"id": "r1", "ts": "2025-01-01T00:00:00Z", "total_tokens": 3},\n'
            '{"id": "r2", "ts": "2025-01-01T00:00:00Z", "model": ""}\n]}\n',
            "export.json line 3: model: cannot be empty",
            id="json-record",
        ),
        pytest.param(
            "s.json", '{"timestamp": "2025-01-01T00:00:00", "notes": "x"}', "s.json line 1: no token", id="none"
        ),
        pytest.param(
            "n.json",
            '{"timestamp": "2025-01-01T00:00:00", "tokens": 3, "notes": {"a": 1}}',
            "n.json line 1: notes: expected text, got {'a': 1}",
            id="note-object",
        ),
        pytest.param(
            "n.json",
            '{"sessions": [{"timestamp": "2025-01-01T00:00:00", "tokens": 3, "model_name": ["m"]}]}',
            "n.json line 1: model: expected text, got ['m']",
            id="model-list",
        ),
        pytest.param(
            "n.csv",
            'timestamp,branch,tokens,estimated_cost,notes\n2025-01-01T00:00:00,main,"1,2,3",,x\n',
            "n.csv line 2: tokens: expected a whole number of tokens, got '1,2,3'",
            id="csv-count-groups",
        ),
        pytest.param(
            "s.jsonl",
            '{"id":"r1","ts":"2025-01-01T00:00:00Z","total_tokens":3,"note":"\\ud800"}\n',
            "s.jsonl line 1: note: '\\ud800' is not UTF-8 text",
            id="lone-surrogate-export",
        ),
        pytest.param(
            "s.json",
            '{"timestamp": "2025-01-01T00:00:00", "tokens": 3, "notes": "a\\udfffb"}',
            "s.json line 1: note: 'a\\udfffb' is not UTF-8 text",
            id="lone-surrogate-legacy",
        ),
    ],
)
def test_one_bad_row_names_file_and_line_and_writes_nothing(
    repo: Path, history: dict[str, str], tmp_path: Path, name: str, text: str, message: str
) -> None:
    good = write(tmp_path, fixtures(repo, history))
    bad = tmp_path / name
    bad.write_text(text)
    with pytest.raises(InvalidRecord) as caught:
        imports.plan(open_repo(repo), [*good, bad])
    assert caught.value.message.startswith(message)
    result = CliRunner().invoke(cli, ["import", *map(str, good), str(bad), "--commit", "HEAD"])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {message}")
    assert git(repo, "rev-parse", "-q", "--verify", "refs/notes/tokens", check=False) == ""


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("", "the file is empty", id="empty"),
        pytest.param("a,b\n1,2\n", "not a format import reads", id="csv-header"),
        pytest.param('{"hello": 1}', "not a format import reads (a JSON object with hello)", id="json-object"),
        pytest.param("[1, 2]", "expected token data as an object", id="json-list"),
    ],
)
def test_files_of_no_known_format_are_refused(
    repo: Path, history: dict[str, str], tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "mystery.txt"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["import", str(path)])
    assert result.exit_code == 2 and words in result.output and "hint:" in result.output


def test_exported_records_keep_their_id_source_and_first_commit(
    repo: Path, history: dict[str, str], tmp_path: Path
) -> None:
    line = {"id": "claude:msg_1:req_1", "ts": "2025-09-01T00:00:00Z", "source": "claude-code", "input_tokens": 3,
            "commit": history["a"], "attached_to": history["t1"], "branch": "topic"}  # fmt: skip
    (tmp_path / "carried.jsonl").write_text(json.dumps(line) + "\n")
    imports.apply(open_repo(repo), imports.plan(open_repo(repo), [tmp_path / "carried.jsonl"]))
    [entry] = store.load(open_repo(repo)).usage()
    assert (entry.attached, entry.record.commit, entry.record.id) == (history["t1"], history["a"], line["id"])
    assert (entry.record.source, entry.record.author) == ("claude-code", None)


def test_broken_json_is_named_by_its_line(repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "tokens_main.json"
    path.write_text('{\n  "sessions": [\n    {"timestamp": "2025-01-01T00:00:00", "tokens": 1},,\n  ]\n}\n')
    with pytest.raises(InvalidRecord, match=r"^tokens_main.json line 3: not JSON"):
        imports.plan(open_repo(repo), [path])


def test_ledger_lines_with_a_tombstone_remove_their_target(repo: Path, history: dict[str, str], tmp_path: Path) -> None:
    kept = {"id": "keep-1", "ts": "2025-09-01T00:00:00Z", "total_tokens": 40, "commit": history["c"], "branch": "main"}
    gone = {"id": "gone-1", "ts": "2025-09-01T00:00:00Z", "total_tokens": 60, "commit": history["c"], "branch": "main"}
    tomb = {
        "id": "tomb-1",
        "ts": "2025-09-02T00:00:00Z",
        "kind": "tombstone",
        "target": "gone-1",
        "commit": history["c"],
    }
    (tmp_path / "lines.jsonl").write_text("".join(json.dumps(d) + "\n" for d in (kept, gone, tomb)))
    run("add", "1")  # builds the per-branch totals cache, which the import must not leave wrong
    assert "3 on the commit they name" in run("import", str(tmp_path / "lines.jsonl")).output
    assert sorted(records(repo)[history["c"]]) == [(1, "manual", None), (40, "manual", None)]
    assert "main total: 46 tokens in 3 sessions" in run("add", "5").output


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (
            "token_usage_1.json",
            '{"timestamp": "2025-01-01T10:00:00Z", "model_name": "claude-sonnet-4-5", "prompt_tokens": 900, '
            '"completion_tokens": 100, "cache_write_tokens": 4000, "cache_write_1h_tokens": 1500, "requests": 3}',
        ),
        (
            "records.csv",
            "ts,id,input_tokens,output_tokens,cache_write_tokens,cache_write_1h_tokens,requests,model\n"
            "2025-01-01T10:00:00Z,0123456789abcdef0123456789abcdef,900,100,4000,1500,3,claude-sonnet-4-5\n",
        ),
    ],
    ids=["older JSON", "export CSV"],
)
def test_1_hour_cache_writes_and_requests_are_imported(repo: Path, tmp_path: Path, name: str, content: str) -> None:
    commit(repo)
    (tmp_path / name).write_text(content)
    assert "imported 1 record" in run("import", "--commit", "HEAD", str(tmp_path / name)).output
    [entry] = store.load(open_repo(repo)).usage()
    assert (entry.record.cache_write_tokens, entry.record.cache_write_1h_tokens, entry.record.requests) == (
        4000,
        1500,
        3,
    )


def test_a_1_hour_part_larger_than_the_cache_writes_is_refused(repo: Path, tmp_path: Path) -> None:
    commit(repo)
    (tmp_path / "one.json").write_text(
        '{"timestamp": "2025-01-01T10:00:00Z", "input_tokens": 5, "cache_write_tokens": 10, '
        '"cache_write_1h_tokens": 11}'
    )
    result = CliRunner().invoke(cli, ["import", "--commit", "HEAD", str(tmp_path / "one.json")])
    assert result.exit_code != 0 and "cache_write_1h_tokens: 11 is more than cache_write_tokens" in result.output
    assert store.load(open_repo(repo)).tip is None


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        pytest.param(
            "big.json", '{"timestamp": "2025-01-01T00:00:00", "tokens": ' + "9" * 5000 + "}", "more than", id="int"
        ),
        pytest.param("deep.json", "[" * 5000 + "]" * 5000, "deep.json: nested too deeply to read", id="deep"),
        pytest.param("wide.csv", "timestamp,tokens,notes\n2025-01-01T00:00:00,3," + "x" * 200_000, "field", id="cell"),
    ],
)
def test_files_beyond_the_parsers_limits_are_refused(
    repo: Path, tmp_path: Path, name: str, text: str, words: str
) -> None:
    commit(repo)
    (tmp_path / name).write_text(text)
    result = CliRunner().invoke(cli, ["import", str(tmp_path / name), "--commit", "HEAD"])
    assert result.exit_code == 2 and result.exception is not None and isinstance(result.exception, SystemExit)
    assert result.output.startswith(f"error: {name}") and words in result.output and "hint:" in result.output
    assert git(repo, "rev-parse", "-q", "--verify", "refs/notes/tokens", check=False) == ""

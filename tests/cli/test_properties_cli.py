"""Hostile command lines and import rows, generated: every run ends in a result or in one ``error:`` line with
a non-zero exit, never a traceback; and a run that fails leaves the ledger ref and the pending queue as they were."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import commit, git
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitokens.cli import cli

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)

# What a shell can hand over: any text but NUL, invalid bytes arriving as surrogate escapes.
ARG_TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=30) | st.sampled_from(
    ["\udcff", "a\udc80b", "", " ", "-", "--", "-1", "0", "\u202e", "\x1b]0;x\x07"]
)
NUMBER = st.integers(min_value=-(10**40), max_value=10**40).map(str) | st.sampled_from(
    ["1,2,3", "54,161", "54_161", "1e9", "0x10", "١٢", "nan", "inf", "9" * 400]
)
WHEN = st.sampled_from(
    ["2025-01-01", "20250101", "2025-09-29T14:03", "2025-09-29T14:03:00Z", "9999-12-31T23:59:59-01:00",
     "0001-01-01T00:00:00+01:00", "0999-06-01", "7d", "2w", "0d", "999999w", "99999999999d", "2025-02-30"]
) | ARG_TEXT  # fmt: skip
VALUE = ARG_TEXT | NUMBER | WHEN


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One repository for the whole module: two commits on main, a branch, a few records."""
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text("[user]\n\tname = Props\n\temail = props@example.com\n")
    path = home.parent / "repo"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"HOME": home, "GIT_CONFIG_GLOBAL": home / ".gitconfig", "GIT_CONFIG_NOSYSTEM": 1}.items():
            patch.setenv(name, str(value))
        git(home.parent, "init", "-q", "-b", "main", str(path))
        commit(path, "one")
        commit(path, "two")
        git(path, "branch", "feature")
        patch.chdir(path)
        for args in (
            ["add", "100", "--at", "2025-01-01"],
            ["add", "--input", "5", "--output", "7", "--model", "gpt-4o"],
        ):
            assert CliRunner().invoke(cli, args).exit_code == 0
    yield path


def state(repo: Path) -> tuple[str, dict[str, str]]:
    """The ledger ref's target and the pending queue's files with a digest of each."""
    tip = git(repo, "rev-parse", "-q", "--verify", "refs/notes/tokens", check=False).strip()
    queue = repo / ".git" / "gitokens" / "pending"
    files = sorted(queue.iterdir()) if queue.is_dir() else []
    return tip, {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def check_run(repo: Path, args: list[str], results: tuple[int, ...] = (0,)) -> None:
    """Run the CLI; it must give a result (an exit code in ``results`` and no error) or one error line."""
    before = state(repo)
    result = CliRunner().invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    if result.exit_code in results and not errors:
        return
    assert result.exit_code != 0 and len(errors) == 1, (args, result.output)
    stray = [line for line in result.stderr.splitlines() if not line.startswith(("error:", "hint:", "warning:"))]
    assert not stray, (args, result.stderr)
    assert state(repo) == before, args


def options(names: list[str], values: st.SearchStrategy[str] = VALUE) -> st.SearchStrategy[list[str]]:
    """Some of the options ``names``, each with a drawn value, in a drawn order."""
    pairs = st.lists(st.tuples(st.sampled_from(names), values), max_size=5)
    return pairs.map(lambda chosen: [part for name, value in chosen for part in (name, value)])


ADD = ["--input", "--output", "--cache-read", "--cache-write", "--reasoning", "--model", "--provider"]
ADD += ["--endpoint", "--source", "--note", "--at", "--commit"]


@SETTINGS
@given(
    total=st.none() | NUMBER,
    note=st.none() | ARG_TEXT,
    chosen=options(ADD),
    pending=st.booleans(),
)
def test_add(
    shared: Path, monkeypatch: pytest.MonkeyPatch, total: str | None, note: str | None, chosen: list[str], pending: bool
) -> None:
    monkeypatch.chdir(shared)
    positional = [p for p in (total, note) if p is not None]
    check_run(shared, ["add", *chosen, *(["--pending"] if pending else []), "--", *positional])


@SETTINGS
@given(chosen=options(["--branch", "--author", "--model", "--since", "--until", "-n"]), as_json=st.booleans())
def test_log(shared: Path, monkeypatch: pytest.MonkeyPatch, chosen: list[str], as_json: bool) -> None:
    monkeypatch.chdir(shared)
    check_run(shared, ["log", *chosen, *(["--json"] if as_json else [])])


REPORT = ["--since", "--until", "--days", "--branch", "--author", "--model", "--top", "--by", "--sections"]
REPORT += ["--timezone", "--cost-mode", "--format"]


@settings(SETTINGS, max_examples=40)
@given(chosen=options(REPORT, VALUE | st.sampled_from(["UTC", "Pacific/Kiritimati", "../etc", "csv", "json"])))
def test_report(shared: Path, monkeypatch: pytest.MonkeyPatch, chosen: list[str]) -> None:
    monkeypatch.chdir(shared)
    check_run(shared, ["report", *chosen])


@SETTINGS
@given(
    name=st.none() | st.just("-") | ARG_TEXT.map(lambda t: t.replace("/", "_").replace("\\", "_")),
    chosen=options(["--format", "--since", "--until", "--branch", "--author", "--model"]),
)
def test_export(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str | None, chosen: list[str]
) -> None:
    monkeypatch.chdir(shared)
    target = [] if name is None else ["-" if name == "-" else str(tmp_path / f"out{name}")]
    check_run(shared, ["export", *chosen, *target])


@SETTINGS
@given(chosen=options(["--budget-usd", "--budget-tokens", "--branch", "--since"]))
def test_check(shared: Path, monkeypatch: pytest.MonkeyPatch, chosen: list[str]) -> None:
    monkeypatch.chdir(shared)
    check_run(shared, ["check", *chosen], results=(0, 1))


RAW = {'"@big@"': "9" * 5000, '"@deep@"': "[" * 3000 + "]" * 3000, '"@nan@"': "NaN"}  # what json.dumps cannot write
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["@big@", "@deep@", "@nan@"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
FIELDS = ["id", "ts", "timestamp", "total_tokens", "tokens", "input_tokens", "prompt_tokens", "output_tokens",
          "cache_read_tokens", "reasoning_tokens", "note", "notes", "model", "model_name", "branch", "git_branch",
          "commit", "commit_sha", "attached_to", "author", "source", "kind", "target", "v", "cost_usd",
          "estimated_cost", "session", "endpoint"]  # fmt: skip
GOOD: dict[str, Any] = {"ts": "2025-03-01T10:00:00Z", "timestamp": "2025-03-01T10:00:00", "total_tokens": 10}


@settings(SETTINGS, max_examples=100)
@given(
    row=st.dictionaries(st.sampled_from(FIELDS), JSON | st.sampled_from(list(GOOD.values())), max_size=8),
    keep=st.lists(st.sampled_from(sorted(GOOD)), unique=True),
    shape=st.sampled_from(["jsonl", "list", "sessions", "single", "csv"]),
    dry_run=st.booleans(),
)
def test_import_rows(
    shared: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    row: dict[str, Any],
    keep: list[str],
    shape: str,
    dry_run: bool,
) -> None:
    monkeypatch.chdir(shared)
    row = {**{key: GOOD[key] for key in keep}, **row}
    text = {
        "jsonl": json.dumps(row) + "\n",
        "list": json.dumps([row]),
        "sessions": json.dumps({"branch": "main", "sessions": [row]}),
        "single": json.dumps(row),
        "csv": ",".join(row) + "\n" + ",".join(json.dumps(json.dumps(v)) for v in row.values()) + "\n",
    }[shape]
    for placeholder, raw in RAW.items():
        text = text.replace(placeholder, raw)
    path = tmp_path / f"rows.{shape}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    check_run(shared, ["import", str(path), "--commit", "HEAD", *(["--dry-run"] if dry_run else [])])

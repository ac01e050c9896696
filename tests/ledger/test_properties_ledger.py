"""Property tests: whatever a note holds, every reading command ends in a result, and valid records beside
the bad lines still count; doctor --fix moves exactly the bad lines aside and loses none."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import commit, git
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitokens.cli import cli
from gitokens.ledger.record import Record, new_id

COMMANDS = (["log"], ["report", "--format", "json"], ["export"], ["doctor"], ["show"], ["show", "HEAD"])
FIELDS = [
    "v", "id", "ts", "source", "kind", "commit", "branch", "author", "model", "provider", "input_tokens",
    "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "total_tokens", "endpoint",
    "session", "note", "cost_usd", "target",
]  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def write_note(repo: Path, target: str, content: bytes) -> None:
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input=content, capture_output=True)
    git(repo, "notes", "--ref=tokens", "add", "-f", "-C", blob.stdout.decode().strip(), target)


def valid_line(target: str) -> tuple[str, bytes]:
    record = Record.from_dict({"id": new_id(), "ts": "2025-09-29T14:03:00Z", "total_tokens": 42, "commit": target})
    return record.id, record.to_line().encode()


def run_all(valid_id: str) -> None:
    for args in COMMANDS:
        result = CliRunner().invoke(cli, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
        assert result.exit_code in (0, 1), (args, result.output)
    assert valid_id in CliRunner().invoke(cli, ["export", "--format", "json"]).stdout


@pytest.fixture
def target(repo: Path) -> str:
    return commit(repo)


@PROPERTY
@given(noise=st.binary(max_size=3000))
def test_any_bytes_beside_a_record(repo: Path, target: str, noise: bytes) -> None:
    valid_id, line = valid_line(target)
    write_note(repo, target, noise + b"\n" + line + b"\n" + noise)
    run_all(valid_id)
    before = {raw for raw in (noise + b"\n" + line).split(b"\n") if raw.strip()}
    fixed = CliRunner().invoke(cli, ["doctor", "--fix"])
    assert fixed.exception is None or isinstance(fixed.exception, SystemExit), fixed.exception
    kept = subprocess.run(["git", "notes", "--ref=tokens", "show", target], cwd=repo, capture_output=True).stdout
    moved = subprocess.run(["git", "notes", "--ref=tokens-quarantine", "show", target], cwd=repo, capture_output=True)
    after = {raw for raw in (kept + b"\n" + moved.stdout).split(b"\n") if raw.strip()}
    assert after == before and line in kept.split(b"\n")
    assert "warning" not in CliRunner().invoke(cli, ["log"]).stderr
    git(repo, "update-ref", "-d", "refs/notes/tokens-quarantine")


@PROPERTY
@given(values=st.dictionaries(st.sampled_from(FIELDS), JSON, min_size=1, max_size=6), ascii_only=st.booleans())
def test_any_json_in_any_field(repo: Path, target: str, values: dict[str, object], ascii_only: bool) -> None:
    valid_id, line = valid_line(target)
    hostile = {"ts": "2025-09-29T14:03:00Z", "total_tokens": 1, **values}
    text = json.dumps(hostile, ensure_ascii=ascii_only, allow_nan=True)
    write_note(repo, target, line + b"\n" + text.encode("utf-8", "surrogatepass") + b"\n")
    run_all(valid_id)

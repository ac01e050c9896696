"""The terminal guard: ledger text reaches a terminal escaped, a file or a pipe exactly."""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import commit, git, run
from hypothesis import given
from hypothesis import strategies as st

from gitokens import fmt

HOSTILE = "gpt\x1b]0;PWNED\x07\u202e"


@pytest.mark.parametrize(
    ("text", "colour", "shown"),
    [
        ("a\x1b]0;PWNED\x07b", False, "a\\u001b]0;PWNED\\u0007b"),
        ("line\r\nnext\ttab\n", False, "line\nnext\ttab\n"),
        ("over\rwrite\b", False, "over\\u000dwrite\\u0008"),
        ("\u202eevil \udcff \U000e0001", False, "\\u202eevil \\udcff \\U000e0001"),
        ("\x1b[1mbold\x1b[0m \x1b]0;t\x07", True, "\x1b[1mbold\x1b[0m \\u001b]0;t\\u0007"),
        ("\x1b[1mbold\x1b[0m", False, "\\u001b[1mbold\\u001b[0m"),
        ("plain ünïcode ✓", False, "plain ünïcode ✓"),
    ],
    ids=["osc-title", "crlf-and-tab", "carriage-return", "invisible", "colour-kept", "colour-refused", "plain"],
)
def test_terminal_escapes_what_could_drive_a_terminal(text: str, colour: bool, shown: str) -> None:
    assert fmt.terminal(text, colour=colour) == shown


def on_a_terminal(
    repo: Path, *args: str, width: int | None = None, env: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """Run ``git-tokens ARGS`` with its stdout and stderr on a pseudo-terminal; its exit code and output. The
    terminal is ``width`` columns wide (and COLUMNS unset) when given, else COLUMNS says 200."""
    main, child = pty.openpty()
    env = {**os.environ, **(env or {}), "COLUMNS": "200"}
    if width is not None:
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, width, 0, 0))
        del env["COLUMNS"]
    done = subprocess.Popen([sys.executable, "-m", "gitokens", *args], cwd=repo, stdout=child, stderr=child, env=env)
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError as exc:  # EIO: the terminal's other end is closed
            assert exc.errno == errno.EIO
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    return done.wait(), b"".join(chunks)


@pytest.mark.parametrize(
    "args",
    [
        ["prices"],
        ["log"],
        ["show"],
        ["show", "HEAD"],
        ["report"],
        ["report", "--format", "csv"],
        ["report", "--format", "markdown"],
        ["export", "--format", "csv"],
        ["doctor"],
        ["check", "--budget-tokens", "1"],
        ["rm", "\x1b]0;PWNED\x07"],
    ],
    ids=lambda args: "-".join(a for a in args if a.isprintable()),
)
def test_ledger_text_reaches_a_terminal_escaped(repo: Path, args: list[str]) -> None:
    head = commit(repo)
    run("add", "5", "--model", HOSTILE, "--note", "note\x1b[2J\x07")
    run("add", "5", "--model", "m" * 5000)
    git(repo, "notes", "--ref", "tokens", "append", "-m", '{"id":"\x1b]0;x\x07"}', head)
    _, output = on_a_terminal(repo, *args)
    assert b"\x07" not in output and b"\x1b]" not in output and b"\x1b[2J" not in output, output
    assert b"Traceback" not in output
    assert all(len(line) < 400 for line in output.splitlines()) or args[0] in ("export", "report"), output


@pytest.mark.parametrize(
    ("piped", "to_file"),
    [(["report", "--format", "csv"], ["-o", "OUT"]), (["export", "--format", "csv"], ["OUT"])],
    ids=["report", "export"],
)
def test_csv_to_a_file_or_pipe_is_exact(repo: Path, tmp_path: Path, piped: list[str], to_file: list[str]) -> None:
    commit(repo)
    run("add", "5", "--model", HOSTILE)
    data = run(*piped).stdout_bytes
    run(*piped, *(str(tmp_path / "out.csv") if a == "OUT" else a for a in to_file))
    assert HOSTILE.encode() in data
    assert (tmp_path / "out.csv").read_bytes() == data


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.6554499999, "$0.6555"),  # what a report keeps (to the millionth) rounds the same way
        (0.65545, "$0.6555"),
        (0.01075, "$0.0108"),
        (0.99996, "$1.00"),
        (1234.5, "$1,234.50"),
        (12.345, "$12.35"),
        (0.0, "$0.0000"),
        (999999999999999916113920.0, "$1,000,000,000,000,000,000,000,000.00"),  # past decimal's 28 digits
        (-2.5, "-$2.50"),
    ],
    ids=["raw", "kept", "half-up", "to-a-dollar", "thousands", "cents", "zero", "huge", "negative"],
)
def test_one_rule_for_money(value: float, shown: str) -> None:
    assert fmt.usd(value) == shown


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_amount_is_shown_to_the_cent_or_closer(value: float) -> None:
    shown = fmt.usd(value)
    assert re.fullmatch(r"-?\$\d{1,3}(,\d{3})*\.(\d{2}|\d{4})", shown), shown
    kept = Decimal(repr(round(value, 6)))
    assert abs(Decimal(shown.replace("$", "").replace(",", "")) - kept) <= Decimal("0.005")


@pytest.mark.parametrize(
    ("value", "shown"), [(1.5, "$1.50"), (3, "$3.00"), (0.075, "$0.075"), (None, "=input")], ids=str
)
def test_one_rule_for_rates(value: float | None, shown: str) -> None:
    assert fmt.rate(value, missing="=input") == shown

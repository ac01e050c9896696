"""The ``git tokens`` command line: parse, call one core function, echo. This package is the only code
importing click: the group and what every command shares in ``app``, the commands in one module per concern.

The top of the layers: may import every other package, and nothing imports it (but ``__main__``).

``main`` loads click only after it has started a capture's reading (``capture`` with plain options): a large
capture's worker then parses while this process loads pygit2 and opens the repository. Such a capture runs to
its end without click when nothing asks for what click adds (a progress bar on a terminal, text to escape or
re-encode, an error to show). The package's other names are ``app``'s, loaded on first use.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from gitokens.capture import Start
    from gitokens.cli.app import COUNT as COUNT
    from gitokens.cli.app import WIDE_HELP as WIDE_HELP
    from gitokens.cli.app import cli as cli
    from gitokens.cli.app import complete_branches as complete_branches
    from gitokens.cli.app import complete_revs as complete_revs
    from gitokens.cli.app import current_repo as current_repo
    from gitokens.cli.app import dump_json as dump_json
    from gitokens.cli.app import echo as echo
    from gitokens.cli.app import echo_outcome as echo_outcome
    from gitokens.cli.app import load_ledger as load_ledger
    from gitokens.cli.app import terminal_width as terminal_width
    from gitokens.cli.app import warn_invalid as warn_invalid
    from gitokens.cli.app import write_file as write_file
    from gitokens.errors import GitTokensError

COMPLETE_VAR = "_GIT_TOKENS_COMPLETE"  # set by a shell asking for completions (click's protocol)
PROGRESS_BYTES = 64 << 20  # a capture reading less than this shows no progress bar
_started: Start | GitTokensError | None = None  # the capture ``main`` started (or its error), until taken


def main(argv: list[str] | None = None, prog_name: str = "git tokens") -> NoReturn:
    """The console script ``git-tokens`` (run by git as ``git tokens``)."""
    global _started
    # No cyclic collections in a command's process: they would scan the objects its imports make (a small
    # report: ~90 collections, 5-10% of its time) and find ~1,000 cycles to free; what is large (parsing a
    # ledger, capturing logs) already runs without them, and the objects a command keeps are freed by
    # reference counting, or when the process ends.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _started = _start_capture(sys.argv[1:] if argv is None else argv)
        if _started is not None and not isinstance(_started, BaseException) and not _shows_progress(_started):
            _finish_capture(take_started(), end_process=argv is None)
        import gitokens.cli.app

        gitokens.cli.app.run(argv, prog_name)
    finally:
        started, _started = _started, None
        if started is not None and not isinstance(started, BaseException):  # not taken: the command did not run
            started.close()
        gc.freeze()  # the process ends here: its objects need no last collection (a large capture: ~40 ms)
        if collecting:
            gc.enable()  # as it was, for a caller that goes on (a script calling main)


def take_started() -> Start | None:
    """The capture ``main`` started before click was loaded, if any: handed over once (its error raised)."""
    global _started
    started, _started = _started, None
    if isinstance(started, BaseException):
        raise started
    return started


def _start_capture(args: list[str]) -> Start | GitTokensError | None:
    """``capture``'s start (``capture.start``), when ``args`` are ``capture`` and options that click is sure
    to read as they are read here (``--agent`` with known names, ``--dry-run``, ``--all-history``,
    ``--recapture``), in a repository; None for anything else, which the command then does as ever."""
    if args[:1] != ["capture"] or COMPLETE_VAR in os.environ:
        return None
    flags = {"--dry-run": False, "--all-history": False, "--recapture": False}
    named: list[str] = []
    rest = iter(args[1:])
    for arg in rest:
        if arg in flags:
            flags[arg] = True
        elif arg == "--agent" or arg.startswith("--agent="):
            name = next(rest, None) if arg == "--agent" else arg[len("--agent=") :]
            if name is None:
                return None
            named.append(name)
        else:
            return None
    from pathlib import Path

    from gitokens.git import command

    asked = command.asking_common_dir(Path.cwd())  # git answers while the capture's modules load
    from gitokens import capture
    from gitokens.errors import GitTokensError

    common_dir = asked()
    if common_dir is None or any(name not in capture.AGENTS and name != "all" for name in named):
        return None
    agents = capture.AGENTS if not named or "all" in named else tuple(a for a in capture.AGENTS if a in named)
    options = capture.Options(agents, flags["--dry-run"], flags["--all-history"], None, flags["--recapture"])
    try:
        return capture.start(common_dir, options)
    except GitTokensError as exc:  # for the command to raise, as click shows errors
        return exc


def _shows_progress(started: Start) -> bool:
    """Whether ``capture`` would show a progress bar (on a terminal, for a large read): click draws it."""
    reading = started.reading
    return reading is not None and reading.total >= PROGRESS_BYTES and sys.stderr.isatty()


def _finish_capture(started: Start | None, *, end_process: bool) -> NoReturn:
    """``capture``'s work and output, as the command gives them, for the capture ``main`` started; click is
    loaded only to show an error, or lines that are not plain printable ASCII (``app.echo`` escapes them on a
    terminal, strips colour codes off one and encodes for the stream), or when there is no standard output.

    ``end_process`` (the console script, not a caller of ``main``): once the output is written, the process
    ends without the interpreter's finalization (freeing every module and the capture's objects one by one:
    ~5-8 ms after a large capture); the state and the ledger are on disk and the lock released by then."""
    from gitokens import capture
    from gitokens.errors import GitTokensError

    assert started is not None
    try:
        with started:
            if started.idle:  # nothing to read or place: the repository stays unopened
                result = capture.nothing_new(started)
            else:
                from gitokens.git.repo import open_repo

                result = capture.run(open_repo(), started.options, started=started)
        lines = capture.describe(result)
    except GitTokensError as exc:
        from gitokens.cli import app

        app.fail(exc)
    except (EOFError, KeyboardInterrupt):
        sys.stderr.write("\nAborted!\n")  # as click ends a command interrupted
        sys.exit(1)
    try:
        if sys.stdout is not None and all(line.isascii() and line.isprintable() for line in lines):
            sys.stdout.write("".join(f"{line}\n" for line in lines))
            sys.stdout.flush()
        else:
            from gitokens.cli import app

            for line in lines:
                app.echo(line)
    except BrokenPipeError:  # a reader that went away: nothing more to say, as click ends then
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    if end_process:
        sys.stderr.flush()
        os._exit(0)
    sys.exit(0)


def __getattr__(name: str) -> Any:
    """The group and the commands' shared helpers, from ``app`` (which loads click) on first use."""
    import importlib

    try:
        return getattr(importlib.import_module("gitokens.cli.app"), name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None

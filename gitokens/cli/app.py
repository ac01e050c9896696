"""The click group and what every command shares (loaded with click: see the package's ``main``)."""

from __future__ import annotations

import errno
import importlib
import json
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click

from gitokens import __version__, fmt
from gitokens.cli import COMPLETE_VAR
from gitokens.errors import GitTokensError, UsageError

if TYPE_CHECKING:
    from gitokens.git.repo import Repo
    from gitokens.ledger import store
    from gitokens.share import install

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Failure(click.ClickException):
    """A GitTokensError on its way out: ``error:`` and ``hint:`` lines, and the error's exit code."""

    def __init__(self, error: GitTokensError) -> None:
        super().__init__(error.message)
        self.exit_code = error.exit_code  # type: ignore[misc]  # click declares it a ClassVar; per-error here
        self.hint = error.hint

    def show(self, file: Any = None) -> None:
        echo(f"error: {self.message}", err=True)
        if self.hint:
            echo(f"hint: {self.hint}", err=True)


# Which module defines each command: a command's module (and what it imports) loads only when the command
# runs or help lists it, so `git tokens capture` in a post-commit hook does not import the reporting.
_MODULES = {
    "add": "entries",
    "show": "entries",
    "log": "entries",
    "rm": "entries",
    "report": "reports",
    "prices": "reports",
    "demo": "reports",
    "capture": "capture",
    "install": "hooks",
    "uninstall": "hooks",
    "hook-run": "hooks",
    "sync": "sharing",
    "carry": "sharing",
    "doctor": "sharing",
    "hook-pre-push": "sharing",
    "import": "data",
    "export": "data",
    "publish": "database",
    "ci": "budgets",
    "check": "budgets",
}


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(_MODULES))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command with its whole first sentence, wrapped (click cuts it with "..." to fit one line)."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _MODULES:
            importlib.import_module(f"gitokens.cli.{_MODULES[cmd_name]}")  # its commands register themselves
        return super().get_command(ctx, cmd_name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise _Failure(_usage_error(exc)) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GitTokensError as exc:
            raise _Failure(exc) from None
        except click.UsageError as exc:
            raise _Failure(_usage_error(exc)) from None


def fail(error: GitTokensError) -> NoReturn:
    """Show ``error`` as a command's error is shown, and exit with its code (for code that runs outside click)."""
    failure = _Failure(error)
    failure.show()
    sys.exit(failure.exit_code)


def _usage_error(exc: click.UsageError) -> UsageError:
    """click's complaint about the command line in our words: one ``error:`` line and a ``hint:``."""
    message = exc.format_message().rstrip(".")
    path = exc.ctx.command_path if exc.ctx is not None else "git tokens"
    return UsageError(message[:1].lower() + message[1:], hint=f"see `{path} -h`")


class _Count(click.ParamType):  # type: ignore[type-arg]
    """A token count: ASCII digits, with optional thousands separators (54,161 or 54_161)."""

    name = "N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return fmt.parse_tokens(str(value))
        except ValueError:
            got = f"{value!r:.60}"
            self.fail(f"expected a whole number of tokens, got {got} (write 54161, 54,161 or 54_161)", param, ctx)


COUNT = _Count()


def _ref_completions(incomplete: str, *, tags: bool) -> list[Any]:
    """Branch (and tag) names starting with ``incomplete``; after ``A..`` the part after it. Nothing outside
    a repository, or in one that cannot be read: completion must never print a traceback into a shell."""
    from click.shell_completion import CompletionItem  # only when completing

    head, dots, tail = incomplete.rpartition("..")
    try:
        names = current_repo().ref_names(tags=tags)
    except Exception:
        return []
    return [CompletionItem(head + dots + n) for n in names if n.startswith(tail)]


def complete_branches(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion for a branch option: the repository's branch names."""
    return _ref_completions(incomplete, tags=False)


def complete_revs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion for a revision (REV, COMMIT, A..B): branch and tag names."""
    return _ref_completions(incomplete, tags=True)


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="git-tokens")
def cli() -> None:
    """Keep a ledger of LLM token usage in git notes (refs/notes/tokens).

    Each record says who spent how many tokens on which model, and is attached to the commit the
    work went into. Share the ledger with `git tokens sync`.

    \b
    Example:
        git tokens add 54161 "OAuth2 integration"
        git tokens show
    """


def current_repo() -> Repo:
    from gitokens.git.repo import open_repo  # loads pygit2: not before a command needs it

    return open_repo()


def load_ledger(repo: Repo) -> store.Ledger:
    from gitokens.ledger import store

    loaded = store.load(repo)
    warn_invalid(loaded.invalid)
    return loaded


def warn_invalid(invalid: list[store.InvalidLine]) -> None:
    if invalid:
        echo(
            f"warning: skipped {len(invalid)} ledger line(s) that are not valid records "
            f"(first: {invalid[0].describe()}); they stay in the ledger",
            err=True,
        )


def echo(text: str = "", *, err: bool = False, nl: bool = True, colour: bool = False) -> None:
    """``click.echo`` through the terminal guard: on a terminal, characters that could drive it are shown
    escaped (``fmt.terminal``; ``colour`` keeps the report's own colours); to a file or pipe, the text as it is."""
    if (sys.stderr if err else sys.stdout).isatty():
        text = fmt.terminal(text, colour=colour)
    click.echo(text, err=err, nl=nl, color=colour or None)  # click strips colour off a terminal unless told


def write_file(path: str, text: str, *, newline: str | None = None) -> None:
    """Write ``text`` (UTF-8) to the file ``path``; one that cannot be written is an error naming it."""
    try:
        with open(path, "w", encoding="utf-8", newline=newline) as handle:
            handle.write(text)
    except OSError as exc:
        hint = "give a file in a folder that exists and that you can write to"
        if exc.errno == errno.EISDIR:
            hint = "give a file name, not a folder"
        elif exc.errno == errno.ENOSPC:
            hint = "free some space, or write elsewhere"
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}", hint=hint) from None


WIDE_HELP = "Text: keep every column whole, however wide (default: fit COLUMNS, else the terminal, else 80)."


def terminal_width() -> int:
    """The width text is fitted to: ``COLUMNS``, else the terminal's, else 80 (a pipe, a file)."""
    import shutil

    return max(shutil.get_terminal_size((80, 24)).columns, 20)


def dump_json(data: Any) -> None:
    # Indented for a person; compact for a pipe (json's indenting encoder is the slow pure-Python one).
    indent = 2 if sys.stdout.isatty() else None
    echo(json.dumps(data, indent=indent, ensure_ascii=False, sort_keys=True))


def echo_outcome(outcome: install.Outcome) -> None:
    for line in outcome.done:
        echo(line)
    for line in outcome.warnings:
        echo(f"warning: {line}", err=True)


def run(argv: list[str] | None, prog_name: str) -> NoReturn:
    """The command line ``argv`` (``sys.argv``'s when None), parsed and run; exits with its code."""
    if COMPLETE_VAR in os.environ:
        prog_name = "git-tokens"  # completion registers for an executable name; "git tokens" would hijack git's
    sys.exit(cli.main(args=argv, prog_name=prog_name, complete_var=COMPLETE_VAR))

"""The one family of errors a user can see: a message saying what happened and a hint saying what to do.

Core modules raise these; only the ``cli`` package turns them into a line on stderr and an exit code.
"""

from __future__ import annotations


class GitTokensError(Exception):
    """An expected failure: printed as ``error: MESSAGE`` and ``hint: HINT``, never as a traceback."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(GitTokensError):
    """The command line or an input value is wrong."""

    exit_code = 2


class InvalidRecord(UsageError):
    """A record field has a value the ledger cannot hold; the message names the field."""


class InvalidUsage(UsageError):
    """An LLM usage payload that cannot be read: not a known response shape, or counts that are not numbers."""


class NotARepository(GitTokensError):
    """Not inside a git repository."""

    exit_code = 128


class UnsupportedRepository(GitTokensError):
    """A repository gitokens cannot work in (SHA-256 object ids)."""


class UnknownRevision(UsageError):
    """A revision, commit or record id that does not resolve."""


class LedgerRefBroken(GitTokensError):
    """A notes ref that does not name a readable notes commit (a missing object, a blob, a tree)."""


class LedgerBusy(GitTokensError):
    """The ledger ref stayed locked or kept moving through every retry."""


class InstallError(GitTokensError):
    """The hook cannot be installed or removed as asked."""

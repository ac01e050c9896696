"""Database URLs: ``sqlite:///relative.db``, ``sqlite:////absolute.db`` and ``postgresql://user:pass@host/db``.

Parsed once into a ``Target`` that knows how to connect and how to be shown: a password never appears in
a message, a log line or the database itself."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, urlsplit, urlunsplit

from gitokens.errors import UsageError

ENV_VAR = "GITOKENS_DATABASE_URL"
_HINT = "give sqlite:///path/to/tokens.db (a file) or postgresql://user@host:5432/dbname"


@dataclass(frozen=True)
class Target:
    """Where a database is: ``kind`` "sqlite" (``path``) or "postgresql" (``conninfo``, a URL psycopg takes)."""

    kind: str
    shown: str  # the URL without its password, for messages
    path: Path | None = None
    conninfo: str | None = None


def parse(text: str, base: Path | None = None) -> Target:
    """The target ``text`` names; a relative SQLite path is taken from ``base`` (default: the current folder)."""
    text = text.strip()
    scheme, sep, rest = text.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise UsageError(f"not a database URL: {_shown_raw(text)!r}", hint=_HINT)
    if scheme == "sqlite":
        return _sqlite(rest, base)
    if scheme in ("postgresql", "postgres"):
        return _postgres(text)
    raise UsageError(f"unsupported database URL scheme {scheme!r}", hint=_HINT)


def _sqlite(rest: str, base: Path | None) -> Target:
    # sqlite:///tokens.db is relative, sqlite:////srv/tokens.db absolute (the convention SQLAlchemy set).
    if not rest.startswith("/") or rest in ("/", ""):
        raise UsageError(f"a SQLite URL names a file after three slashes: got sqlite://{rest}", hint=_HINT)
    name = rest[1:].split("?", 1)[0]
    if not name:
        raise UsageError("a SQLite URL needs a file name", hint=_HINT)
    path = Path(name) if name.startswith("/") else (base or Path.cwd()) / name
    return Target(kind="sqlite", shown=f"sqlite:///{path}", path=path)


def _postgres(text: str) -> Target:
    try:
        parts = urlsplit(text)
        port = parts.port  # raises on a port that is not a number
    except ValueError as exc:
        raise UsageError(f"not a valid PostgreSQL URL: {exc}", hint=_HINT) from None
    if not parts.hostname and "host=" not in parts.query:
        raise UsageError("a PostgreSQL URL needs a host (or ?host=/socket/folder)", hint=_HINT)
    if not parts.path.strip("/"):
        raise UsageError("a PostgreSQL URL needs a database name: postgresql://host/DBNAME", hint=_HINT)
    del port
    return Target(kind="postgresql", shown=redact(parts), conninfo=text)


def redact(parts: SplitResult) -> str:
    """The URL with its password (and any password= parameter) left out."""
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = "&".join(p for p in parts.query.split("&") if p and not p.lower().startswith("password="))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _shown_raw(text: str) -> str:
    """Something a user typed that is not a URL: shown short, and never with what could be a password."""
    return text.split("@", 1)[-1][:80]


def resolve(given: str | None, configured: str | None, root: Path | None) -> Target:
    """The database a command uses: given on the command line, else ``$GITOKENS_DATABASE_URL``, else the
    config's ``database.url`` (a relative SQLite path there is relative to the work tree's root)."""
    if given:
        return parse(given)
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return parse(from_env)
    if configured:
        return parse(configured, root)
    raise UsageError(
        "no database given",
        hint=f"pass a URL (git tokens publish sqlite:///tokens.db), set {ENV_VAR}, or set database.url "
        "in .gitokens.yml",
    )

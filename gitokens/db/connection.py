"""One small interface over the two databases: SQLite (the standard library's ``sqlite3``) and PostgreSQL
(psycopg 3, installed with ``pip install 'gitokens[postgres]'``).

Everything above speaks through ``Connection``: statements written once with ``?`` placeholders, a
transaction that is committed whole or rolled back, and a lock that serialises what must not interleave
(migrations; two publishes of one repository). Every driver error becomes one ``DatabaseError`` line
naming the database without its password: a bad URL, an unreachable server and a wrong password all end
the command with a message, never a traceback, and inside a transaction nothing is left half-written.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from gitokens.db.url import Target
from gitokens.errors import GitTokensError

Row = tuple[Any, ...]
_COPY_FROM = 2000  # rows from which PostgreSQL gets them through COPY
_BUSY_SECONDS = 120.0  # how long a SQLite writer waits for another one (a large first publish takes seconds)


class DatabaseError(GitTokensError):
    """The database cannot be reached, refused us, or holds something this gitokens cannot use."""


class Connection(abc.ABC):
    """An open database. Use ``transaction()`` for anything that writes."""

    kind = ""

    def __init__(self, target: Target) -> None:
        self.target = target

    @abc.abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    @abc.abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    @abc.abstractmethod
    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` into ``table``, replacing the row with the same ``key`` columns."""
        if rows:
            self.execute_many(_upsert_sql(table, columns, key, table), rows)

    def delete(self, table: str, key: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Delete the rows of ``table`` whose ``key`` columns have these values."""
        if rows:
            where = " AND ".join(f"{name} = ?" for name in key)
            self.execute_many(f"DELETE FROM {table} WHERE {where}", rows)

    @abc.abstractmethod
    def lock(self, name: str) -> None:
        """Hold ``name`` until the transaction ends: another transaction locking it waits."""
        ...

    @abc.abstractmethod
    def table_exists(self, name: str) -> bool: ...

    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[Connection]:
        """Commit what the block did, or (on any exception, or the process killed) none of it."""

    @abc.abstractmethod
    def close(self) -> None: ...


class SQLite(Connection):
    kind = "sqlite"

    def __init__(self, target: Target, *, write: bool) -> None:
        super().__init__(target)
        assert target.path is not None
        path = target.path
        if write:
            if not path.parent.is_dir():
                raise DatabaseError(
                    f"cannot create {target.shown}: the folder {path.parent} does not exist",
                    hint="create the folder first, or give another path",
                )
            self.db = sqlite3.connect(str(path), timeout=_BUSY_SECONDS, isolation_level=None)
        else:
            if not path.is_file():
                raise DatabaseError(f"no database at {target.shown}", hint="publish into it first: git tokens publish")
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=_BUSY_SECONDS, isolation_level=None)
        self.db.execute("PRAGMA foreign_keys = ON")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.db.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.db.execute(sql, params).fetchall()

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.db.executemany(sql, rows)

    def lock(self, name: str) -> None:
        """A SQLite writer holds the whole database (``BEGIN IMMEDIATE``): nothing more to lock."""

    def table_exists(self, name: str) -> bool:
        return bool(self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        self.db.execute("BEGIN IMMEDIATE")  # the write lock now, not at the first write: no deadlock later
        try:
            yield self
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()


class Postgres(Connection):
    kind = "postgresql"

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        try:
            import psycopg
        except ImportError:
            raise DatabaseError(
                "PostgreSQL needs psycopg 3, which is not installed",
                hint="pip install 'gitokens[postgres]' (or: pip install 'psycopg[binary]>=3.1')",
            ) from None
        self.db = psycopg.connect(target.conninfo or "", connect_timeout=15, application_name="gitokens")
        self._staged = 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.db.execute(_pg(sql), params)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.db.execute(_pg(sql), params).fetchall()

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.db.cursor() as cursor:
            cursor.executemany(_pg(sql), rows)

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Many rows go through COPY into a staging table, then one INSERT ... ON CONFLICT: several times
        faster than a statement per row."""
        if len(rows) < _COPY_FROM:
            super().upsert(table, columns, key, rows)
            return
        stage = self._stage(table, columns, rows)
        self.execute(_upsert_sql(table, columns, key, stage, select=True))

    def delete(self, table: str, key: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if len(rows) < _COPY_FROM:
            super().delete(table, key, rows)
            return
        stage = self._stage(table, key, rows)
        where = " AND ".join(f"t.{name} = s.{name}" for name in key)
        self.execute(f"DELETE FROM {table} t USING {stage} s WHERE {where}")

    def _stage(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
        """A temporary table shaped like ``table``'s ``columns``, holding ``rows``, gone at the commit."""
        self._staged += 1
        stage = f"gitokens_stage_{self._staged}"
        names = ", ".join(columns)
        self.execute(f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS SELECT {names} FROM {table} WHERE false")
        with self.db.cursor() as cursor, cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return stage

    def lock(self, name: str) -> None:
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
        self.execute("SELECT pg_advisory_xact_lock(?)", (key,))

    def table_exists(self, name: str) -> bool:
        return bool(self.query("SELECT to_regclass(?) IS NOT NULL", (name,))[0][0])

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.db.transaction():
            yield self

    def close(self) -> None:
        self.db.close()


def _upsert_sql(table: str, columns: Sequence[str], key: Sequence[str], source: str, *, select: bool = False) -> str:
    names = ", ".join(columns)
    rest = [name for name in columns if name not in key]
    action = "DO UPDATE SET " + ", ".join(f"{name} = excluded.{name}" for name in rest) if rest else "DO NOTHING"
    rows = f"SELECT {names} FROM {source}" if select else "VALUES (" + ", ".join("?" * len(columns)) + ")"
    return f"INSERT INTO {table} ({names}) {rows} ON CONFLICT ({', '.join(key)}) {action}"


def _pg(sql: str) -> str:
    """Our ``?`` placeholders as psycopg's ``%s`` (our statements hold no other ``?`` or ``%``)."""
    return sql.replace("?", "%s")


@contextlib.contextmanager
def connect(target: Target, *, write: bool) -> Iterator[Connection]:
    """An open connection to ``target`` for the block; any driver error in it becomes a ``DatabaseError``."""
    with errors(target):
        connection: Connection = SQLite(target, write=write) if target.kind == "sqlite" else Postgres(target)
        try:
            yield connection
        finally:
            connection.close()


@contextlib.contextmanager
def errors(target: Target) -> Iterator[None]:
    """Driver errors as one line naming ``target`` (never its password), with a hint."""
    try:
        yield
    except sqlite3.Error as exc:
        raise DatabaseError(f"{target.shown}: {_first_line(exc)}", hint=_hint(str(exc))) from None
    except Exception as exc:
        if type(exc).__module__.split(".")[0] != "psycopg":
            raise
        raise DatabaseError(f"{target.shown}: {_first_line(exc)}", hint=_hint(str(exc))) from None


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:300]


def _hint(message: str) -> str:
    lowered = message.lower()
    if "password" in lowered or "authentication" in lowered:
        return "check the user and password in the URL (or in PGPASSWORD / ~/.pgpass)"
    if "connect" in lowered or "could not translate host" in lowered or "refused" in lowered:
        return "check the host, port and database name, and that the server is running and reachable"
    if "not a database" in lowered:
        return "the file is not a SQLite database: give another path"
    if "readonly" in lowered or "read-only" in lowered or "permission" in lowered:
        return "the database cannot be written with these permissions"
    return "nothing was changed in the database"

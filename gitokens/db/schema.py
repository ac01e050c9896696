"""The database's tables and views, versioned, and the migrations that bring a database up to date.

``publish`` applies the migrations a database lacks, inside its own transaction and under a lock, so two
publishers meeting an empty database create the tables once; nobody runs a migration by hand. A database
whose schema is newer than this gitokens knows is refused before anything is written, by publish and by
report alike. docs/database.md documents every table, column and view; the statements here run unchanged
on SQLite and PostgreSQL.
"""

from __future__ import annotations

from gitokens.db.connection import Connection, DatabaseError

_COUNTS = """
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cache_read_tokens BIGINT NOT NULL,
    cache_write_tokens BIGINT NOT NULL,
    cache_write_1h_tokens BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    total_tokens BIGINT NOT NULL"""

_SUMS = """
    COUNT(*) AS records,
    SUM(r.input_tokens) AS input_tokens,
    SUM(r.output_tokens) AS output_tokens,
    SUM(r.cache_read_tokens) AS cache_read_tokens,
    SUM(r.cache_write_tokens) AS cache_write_tokens,
    SUM(r.total_tokens) AS total_tokens,
    SUM(r.cost_usd) AS cost_usd,
    SUM(CASE WHEN r.cost_usd IS NULL THEN 1 ELSE 0 END) AS unpriced_records"""

# Version n is MIGRATIONS[n - 1]: the statements that take a database from version n - 1 to n.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE repositories (
            name TEXT PRIMARY KEY,
            url TEXT,
            team TEXT,
            default_branch TEXT,
            notes_tip TEXT,
            branch_tip TEXT,
            records BIGINT NOT NULL DEFAULT 0,
            published_at TEXT,
            gitokens_version TEXT
        )""",
        f"""CREATE TABLE records (
            repository TEXT NOT NULL REFERENCES repositories (name),
            id TEXT NOT NULL,
            ts TEXT NOT NULL,
            day TEXT NOT NULL,
            month TEXT NOT NULL,
            commit_sha TEXT,
            first_commit TEXT,
            branch TEXT,
            author TEXT,
            model TEXT,
            provider TEXT,
            endpoint TEXT,
            source TEXT NOT NULL,
            session TEXT,
            note TEXT,{_COUNTS},
            estimated INTEGER NOT NULL,
            requests BIGINT,
            reported_cost_usd DOUBLE PRECISION,
            cost_usd DOUBLE PRECISION,
            digest TEXT NOT NULL,
            PRIMARY KEY (repository, id)
        )""",
        "CREATE INDEX records_by_day ON records (day, repository)",
        "CREATE INDEX records_by_commit ON records (repository, commit_sha)",
        """CREATE TABLE commits (
            repository TEXT NOT NULL REFERENCES repositories (name),
            sha TEXT NOT NULL,
            author_email TEXT,
            authored_at TEXT,
            committed_at TEXT,
            summary TEXT,
            on_default INTEGER NOT NULL,
            PRIMARY KEY (repository, sha)
        )""",
        """CREATE TABLE merges (
            repository TEXT NOT NULL REFERENCES repositories (name),
            sha TEXT NOT NULL,
            kind TEXT NOT NULL,
            pr INTEGER,
            source_branch TEXT,
            title TEXT,
            merged_at TEXT NOT NULL,
            digest TEXT NOT NULL,
            PRIMARY KEY (repository, sha)
        )""",
        """CREATE TABLE merge_records (
            repository TEXT NOT NULL,
            merge_sha TEXT NOT NULL,
            record_id TEXT NOT NULL,
            PRIMARY KEY (repository, merge_sha, record_id),
            FOREIGN KEY (repository, merge_sha) REFERENCES merges (repository, sha) ON DELETE CASCADE
        )""",
        f"""CREATE VIEW usage_by_day AS
            SELECT r.repository, p.team, r.day, r.month, r.model,{_SUMS}
            FROM records r JOIN repositories p ON p.name = r.repository
            GROUP BY r.repository, p.team, r.day, r.month, r.model""",
        f"""CREATE VIEW usage_by_author AS
            SELECT r.repository, r.month, r.author,{_SUMS}
            FROM records r
            GROUP BY r.repository, r.month, r.author""",
        f"""CREATE VIEW usage_by_pr AS
            SELECT m.repository, m.sha AS merge_sha, m.kind, m.pr, m.source_branch, m.title, m.merged_at,{_SUMS}
            FROM merges m
            JOIN merge_records x ON x.repository = m.repository AND x.merge_sha = m.sha
            JOIN records r ON r.repository = x.repository AND r.id = x.record_id
            GROUP BY m.repository, m.sha, m.kind, m.pr, m.source_branch, m.title, m.merged_at""",
    ),
)
LATEST = len(MIGRATIONS)
_LOCK = "gitokens:schema"


def version(db: Connection) -> int:
    """The schema version of the database: 0 when gitokens never published into it."""
    if not db.table_exists("gitokens_schema"):
        return 0
    found = db.query("SELECT MAX(version) FROM gitokens_schema")
    return int(found[0][0] or 0)


def migrate(db: Connection) -> int:
    """Bring the database to ``LATEST`` inside the caller's transaction; refuse a newer one. The version
    it had."""
    db.lock(_LOCK)
    before = version(db)
    refuse_newer(db, before)
    if before == 0:
        db.execute("CREATE TABLE gitokens_schema (version INTEGER NOT NULL)")
    for number in range(before + 1, LATEST + 1):
        for statement in MIGRATIONS[number - 1]:
            db.execute(statement)
        db.execute("INSERT INTO gitokens_schema (version) VALUES (?)", (number,))
    return before


def readable(db: Connection) -> None:
    """Refuse a database a report cannot read: never published into, older or newer than this gitokens."""
    found = version(db)
    refuse_newer(db, found)
    if found == 0:
        raise DatabaseError(
            f"{db.target.shown} holds no gitokens data", hint="publish a repository into it: git tokens publish URL"
        )
    if found < LATEST:
        raise DatabaseError(
            f"{db.target.shown} has schema version {found}, older than this gitokens's {LATEST}",
            hint="publish any repository into it with this gitokens once: publish migrates it",
        )


def refuse_newer(db: Connection, found: int) -> None:
    if found > LATEST:
        raise DatabaseError(
            f"{db.target.shown} has schema version {found}, newer than this gitokens knows ({LATEST})",
            hint="upgrade gitokens (pip install -U gitokens); nothing was changed in the database",
        )

"""Every example query in docs/database.md runs on SQLite and on PostgreSQL, over published repositories,
and answers from their records."""

from __future__ import annotations

import re
from pathlib import Path

from pgserver import pg_server  # noqa: F401  (the session's server fixture)
from test_publish import NOW, db_url, merge_repo, tombstone_repo  # noqa: F401  (db_url: a fixture)

from gitokens.db.connection import connect
from gitokens.db.publish import publish
from gitokens.db.url import parse
from gitokens.git.repo import open_repo

DOC = Path(__file__).resolve().parents[2] / "docs" / "database.md"
QUERIES = re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_doc_has_queries() -> None:
    assert len(QUERIES) >= 8


def test_every_example_query_runs(tmp_path: Path, db_url: str) -> None:  # noqa: F811
    for path in (tombstone_repo(tmp_path), merge_repo(tmp_path)):
        publish(open_repo(path), db_url, now=NOW)
    with connect(parse(db_url), write=False) as db:
        answers = [db.query(query.replace("'2026-12'", "(SELECT MAX(month) FROM records)")) for query in QUERIES]
    assert all(answers), [q.split("\n")[0] for q, a in zip(QUERIES, answers, strict=True) if not a]
    assert sum(row[1] for row in answers[2]) == 3  # records per model: 2 billing records left, 1 web record

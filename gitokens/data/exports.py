"""``git tokens export``: the records in effect, filtered like the report, as JSON, JSONL or CSV.

Every format carries each record whole (its id, its own reported cost if any, the commit it was first
attached to) and the commit that holds it now, so ``git tokens import`` in another repository rebuilds the
same records. CSV has the report's CSV columns (``commit`` is where the record is attached, ``first_commit``
its provenance, ``cost_usd`` only a cost the source reported), ISO timestamps, plain integers, and text a
spreadsheet would take for a formula quoted.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

from gitokens import dates
from gitokens.config import load_config
from gitokens.errors import UsageError
from gitokens.git.repo import Repo
from gitokens.ledger.record import format_timestamp
from gitokens.ledger.store import Entry, Ledger

FORMATS = ("json", "jsonl", "csv")


def select(
    repo: Repo,
    loaded: Ledger,
    *,
    since: str | None = None,
    until: str | None = None,
    branch: str | None = None,
    author: str | None = None,
    model: str | None = None,
    now: datetime | None = None,
) -> list[Entry]:
    """The records in effect that pass the report's filters, oldest first.

    As in the report: days are in the configured time zone (else local), ``branch`` is the record's branch
    exactly, ``author`` and ``model`` match any part, case-insensitively; a record without an author is
    matched on the author of the commit that holds it.
    """
    from gitokens.report.pipeline import resolve_timezone

    tz = resolve_timezone(None, load_config(repo.workdir))
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    first = dates.parse_since(since, "--since", today) if since else None
    last = dates.parse_since(until, "--until", today) if until else None
    chosen = []
    for entry in loaded.usage():
        record = entry.record
        if branch is not None and record.branch != branch:
            continue
        if model and model.lower() not in (record.model or "").lower():
            continue
        if author and author.lower() not in (_author(repo, entry) or "").lower():
            continue
        if first or last:
            day = dates.in_zone(record.when, tz).date()
            if (first and day < first) or (last and day > last):
                continue
        chosen.append(entry)
    return chosen


def render(entries: list[Entry], fmt: str, *, now: datetime | None = None) -> str:
    """The entries in ``fmt``: json (one object with ``records``), jsonl (one record a line) or csv."""
    if fmt == "jsonl":
        return "".join(_line(_full(e)) + "\n" for e in entries)
    if fmt == "json":
        # One record a line inside the document: readable, and written by the fast compact encoder.
        head = _line({"gitokens_export": 1, "exported_at": format_timestamp(now or datetime.now(UTC))})
        body = ",\n".join(_line(_full(e)) for e in entries)
        return f'{head[:-1]},"records":[\n{body}\n]}}\n'
    if fmt == "csv":
        return _csv(entries)
    raise UsageError(f"--format: unknown format {fmt!r}", hint=f"choose from {', '.join(FORMATS)}")


def format_for(path: str | None, fmt: str | None) -> str:
    """--format, else the file's extension (one of FORMATS), else JSON for stdout or a name without one."""
    if fmt:
        return fmt
    suffix = PurePath(path).suffix if path and path != "-" else ""
    if not suffix:
        return "json"
    if suffix[1:].lower() not in FORMATS:
        raise UsageError(
            f"export: cannot tell a format from the extension of {path!r}",
            hint=f"name the file .{', .'.join(FORMATS)}, or give --format ({', '.join(FORMATS)})",
        )
    return suffix[1:].lower()


def _full(entry: Entry) -> dict[str, Any]:
    return {**entry.record.to_dict(), "attached_to": entry.attached}


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _csv(entries: list[Entry]) -> str:
    from gitokens.report.render import CSV_COLUMNS, _csv_cell  # one guard against formula injection, shared

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        record = entry.record
        row: dict[str, Any] = {
            **record.to_dict(),
            "commit": entry.attached,
            "first_commit": record.commit,
            "total_tokens": record.tokens,
            "estimated": not record.split_known,
        }
        writer.writerow([_csv_cell(row.get(column)) for column in CSV_COLUMNS])
    return out.getvalue()


def _author(repo: Repo, entry: Entry) -> str | None:
    if entry.record.author:
        return entry.record.author
    info = repo.commit_info(entry.attached)
    return info.author_email if info else None

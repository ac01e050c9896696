"""Reading the files ``git tokens import`` accepts, told apart by their content, into rows of record fields.

Formats:

- per-branch tracking files of the older scripts (``tokens_<branch>.json``): ``branch``, ``sessions``
  (``timestamp``, ``tokens`` or ``input_tokens``/``output_tokens``/``total_tokens``, ``notes``), and an
  ``import_history`` that is bookkeeping, not usage;
- their single-session files (``claude_local_*.json``, ``token_usage_*.json``): ``timestamp``,
  ``git_branch``, ``commit_sha``, ``model_name``, ``endpoint``, ``prompt_tokens``, ``completion_tokens``,
  ``total_tokens``, ``notes``;
- their portable exports: ``export_metadata``, ``token_data`` (either of the above), ``git_context``;
- CSV: the older ``timestamp,branch,tokens,estimated_cost,notes``, and our own export's columns;
- in the older formats' rows too: ``cache_read_tokens``, ``cache_write_tokens``, ``reasoning_tokens``,
  ``cache_write_1h_tokens`` (a part of the cache writes) and ``requests`` (API calls), when present;
- our own export: JSON (``{"records": [...]}`` or a list) and JSONL, or ledger lines.

Each row says where it came from (file and line), so one bad row can be named; nothing here touches
the repository.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import json.decoder
import json.scanner
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitokens.dates import check_recordable
from gitokens.errors import InvalidRecord, UsageError
from gitokens.fmt import parse_tokens
from gitokens.ledger.record import SPLIT_FIELDS, format_timestamp
from gitokens.report.render import csv_unquote

_OTHER_COUNTS = ("cache_write_1h_tokens", "requests")  # counts beside the split, in our own CSV
_BRANCH_FILE = re.compile(r"^tokens_(.+)\.json$")
_OWN_MARKERS = ("ts", "id")
_LEGACY_MARKERS = ("prompt_tokens", "completion_tokens", "model_name", "git_branch", "commit_sha", "timestamp")


@dataclass(frozen=True)
class Row:
    """One record to be: its fields, where it was read, and the commits it names (most specific first)."""

    where: str
    fields: dict[str, Any]
    commits: tuple[str, ...] = ()
    own: bool = False  # from our own export: keeps its id, source and author
    context_commit: str | None = None  # a portable export's git_context commit: the last resort before --commit


class RowError(InvalidRecord):
    """A row that cannot become a record; the message starts with the file and line."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint or "fix or remove that row and import again; nothing was written")


def read(path: Path, *, locate: bool = False) -> tuple[str, list[Row]]:
    """The format's name and the rows of one file.

    A JSON document is parsed by the fast parser, which knows no lines: rows then say line 1. ``locate``
    parses it again with a slower one whose objects know their lines, to name the line of a bad row.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:  # a CR inside a CSV cell is data
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read {path}: {exc}", hint="give files written by the token scripts or by export"
        ) from None
    try:
        return _read(path.name, text, path, locate)
    except RecursionError:
        raise RowError(f"{path.name}: nested too deeply to read") from None
    except csv.Error as exc:
        raise RowError(f"{path.name}: not CSV import can read: {exc}") from None


def _read(name: str, text: str, path: Path, locate: bool) -> tuple[str, list[Row]]:
    stripped = text.lstrip()
    if not stripped:
        raise UsageError(f"{name}: the file is empty", hint="give a JSON, JSONL or CSV file with token usage")
    if stripped[0] in "[{":
        try:
            data = _load_json(text) if locate else json.loads(text)
        except json.JSONDecodeError as exc:
            if _json_object(stripped.split("\n", 1)[0]):  # one object a line
                return "JSONL", list(_jsonl(name, text))
            raise RowError(f"{name} line {exc.lineno}: not JSON: {exc.msg}") from None
        except ValueError:  # an integer of more digits than Python converts
            raise RowError(f"{name}: a number in it has more than {sys.get_int_max_str_digits():,} digits") from None
        try:
            return _json(name, data)
        except RowError:
            if locate:
                raise
            return read(path, locate=True)  # raises again, naming the line
    return _csv(name, text)


def where(path: Path, index: int) -> str:
    """The file and line of row ``index`` of ``path``."""
    return read(path, locate=True)[1][index].where


# -- JSON ------------------------------------------------------------------------------------------


class _Located(dict[str, Any]):
    """A JSON object that knows the line it starts on."""

    line = 0


def _load_json(text: str) -> Any:
    """``json.loads`` whose objects know their line (the pure-Python scanner, with a hook on objects)."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    decoder = json.JSONDecoder()
    parse: Any = json.decoder.JSONObject  # type: ignore[attr-defined]

    def located(s_and_end: tuple[str, int], *args: Any) -> tuple[_Located, int]:
        pairs, end = parse(s_and_end, *args)
        obj = _Located(pairs)
        obj.line = bisect.bisect_right(starts, s_and_end[1] - 1)
        return obj, end

    decoder.parse_object = located  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder.decode(text)


def _json(name: str, data: Any) -> tuple[str, list[Row]]:
    if isinstance(data, list):
        if all(isinstance(item, dict) and _is_own(item) for item in data):
            return "export (JSON)", [_own_row(name, item) for item in data]
        return "sessions (JSON list)", [row for item in data for row in _legacy_any(name, item, {})]
    if not isinstance(data, dict):
        raise RowError(f"{name} line 1: expected a JSON object or list, got {type(data).__name__}")
    records = data.get("records")
    if isinstance(records, list):
        return "export (JSON)", [_own_row(name, _object(name, item)) for item in records]
    if "export_metadata" in data or "token_data" in data:
        return "portable export", _portable(name, data)
    if "sessions" in data:
        return "per-branch tracking file", _branch_file(name, data, {})
    if _is_own(data):
        return "record (JSON)", [_own_row(name, data)]
    if any(key in data for key in _LEGACY_MARKERS):
        return "single session", [_legacy_row(name, data, {})]
    raise UsageError(
        f"{name}: not a format import reads (a JSON object with {', '.join(sorted(data)[:6]) or 'no keys'})",
        hint="import reads the token scripts' JSON and CSV files and export's JSON, JSONL and CSV",
    )


def _portable(name: str, data: Mapping[str, Any]) -> list[Row]:
    meta = data.get("export_metadata") or {}
    context = data.get("git_context") or {}
    if not isinstance(meta, dict) or not isinstance(context, dict):
        raise RowError(f"{name} line {_line(data)}: export_metadata and git_context should be objects")
    defaults: dict[str, Any] = {"branch": context.get("branch"), "author": meta.get("exported_by")}
    rows = _legacy_any(name, data.get("token_data"), defaults)
    fallback = context.get("commit")
    if isinstance(fallback, str) and fallback:
        rows = [Row(r.where, r.fields, r.commits, r.own, fallback) for r in rows]
    return rows


def _legacy_any(name: str, data: Any, defaults: dict[str, Any]) -> list[Row]:
    """token_data and list items: a tracking file, a single session, or a list of either."""
    if isinstance(data, list):
        return [row for item in data for row in _legacy_any(name, item, defaults)]
    if isinstance(data, dict) and "sessions" in data:
        return _branch_file(name, data, defaults)
    if isinstance(data, dict):
        return [_legacy_row(name, data, defaults)]
    raise RowError(f"{name}: expected token data as an object or a list, got {type(data).__name__}")


def _branch_file(name: str, data: Mapping[str, Any], defaults: dict[str, Any]) -> list[Row]:
    sessions = data.get("sessions")
    if not isinstance(sessions, list):
        raise RowError(f"{name} line {_line(data)}: sessions should be a list")
    from_name = _BRANCH_FILE.match(name)
    branch = data.get("branch") or defaults.get("branch") or (from_name[1] if from_name else None)
    inherited = {**defaults, "branch": branch}
    return [_legacy_row(name, _object(name, item), inherited) for item in sessions]


def _jsonl(name: str, text: str) -> Iterator[Row]:
    # JSON strings may hold U+2028 and other characters splitlines() breaks at: only LF ends a line.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RowError(f"{name} line {number}: not JSON: {exc.msg}") from None
        except ValueError:
            digits = sys.get_int_max_str_digits()
            raise RowError(f"{name} line {number}: a number has more than {digits:,} digits") from None
        if not isinstance(data, dict):
            raise RowError(f"{name} line {number}: expected a JSON object")
        located = _Located(data)
        located.line = number
        yield _own_row(name, located) if _is_own(data) else _legacy_row(name, located, {})


def _json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def _is_own(data: Mapping[str, Any]) -> bool:
    return all(key in data for key in _OWN_MARKERS)


def _object(name: str, item: Any) -> Mapping[str, Any]:
    if not isinstance(item, dict):
        raise RowError(f"{name}: expected an object for each session or record, got {item!r:.40}")
    return item


def _line(data: Any) -> int:
    return getattr(data, "line", 0) or 1


def _own_row(name: str, data: Mapping[str, Any]) -> Row:
    fields = {k: v for k, v in data.items() if k not in ("attached_to", "tokens")}
    commits = tuple(c for c in (data.get("attached_to"), data.get("commit")) if isinstance(c, str) and c)
    return Row(f"{name} line {_line(data)}", fields, commits, own=True)


# -- the older scripts' sessions ---------------------------------------------------------------------


def _legacy_row(name: str, data: Mapping[str, Any], defaults: Mapping[str, Any]) -> Row:
    where = f"{name} line {_line(data)}"
    try:
        fields, commits = _legacy_fields(data, defaults)
    except InvalidRecord as exc:
        raise RowError(f"{where}: {exc.message}", hint=exc.hint) from None
    return Row(where, fields, commits)


def _legacy_fields(data: Mapping[str, Any], defaults: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    fields: dict[str, Any] = {"ts": _moment(_first(data, "timestamp", "ts", "date"))}
    for field, keys in (
        ("branch", ("branch", "git_branch")),
        ("model", ("model", "model_name")),
        ("note", ("notes", "note")),
        ("endpoint", ("endpoint",)),
        ("author", ("author",)),
    ):
        value = _first(data, *keys)
        if value is None:
            value = defaults.get(field)
        if value is not None and value != "":
            if not isinstance(value, str):
                raise InvalidRecord(f"{keys[0]}: expected text, got {value!r:.60}", hint="give it as a JSON string")
            fields[field] = value
    counts = {
        "input_tokens": _count(_first(data, "input_tokens", "prompt_tokens"), "input_tokens"),
        "output_tokens": _count(_first(data, "output_tokens", "completion_tokens"), "output_tokens"),
        **{f: _count(data.get(f), f) for f in SPLIT_FIELDS[2:]},
    }
    total = _count(_first(data, "total_tokens", "tokens"), "tokens")
    requests = _first(data, "requests")
    if requests is not None:
        fields["requests"] = _count(requests, "requests")
    if any(counts.values()):
        fields.update(counts)
        one_hour = _count(data.get("cache_write_1h_tokens"), "cache_write_1h_tokens")
        if one_hour:
            fields["cache_write_1h_tokens"] = one_hour
    elif total:
        fields["total_tokens"] = total
    else:
        raise InvalidRecord("no token counts (tokens, total_tokens, or input_tokens/output_tokens)")
    cost = _money(_first(data, "cost_usd", "estimated_cost", "cost"))
    if cost is not None:
        fields["cost_usd"] = cost
    commit = _first(data, "commit_sha", "commit")
    return fields, (str(commit),) if commit else ()


def _first(data: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = data.get(key)
        if value is not None and value != "":
            return value
    return None


def _moment(value: Any) -> str:
    """A timestamp of the older scripts: ISO-8601; without an offset it is this machine's local time."""
    if not isinstance(value, str):
        raise InvalidRecord(f"timestamp: expected an ISO-8601 date and time, got {value!r}")
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
    except ValueError:
        raise InvalidRecord(
            f"timestamp: {value!r} is not an ISO-8601 date and time", hint="write it like 2025-09-29T14:03:00"
        ) from None
    try:
        utc: datetime | None = (moment.astimezone() if moment.tzinfo is None else moment).astimezone(UTC)
    except (OverflowError, ValueError, OSError):
        utc = None
    return format_timestamp(check_recordable(utc, "timestamp", value))


def _count(value: Any, field: str) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0
        try:
            value = float(text) if re.fullmatch(r"\d+\.0*", text, re.ASCII) else parse_tokens(text)
        except ValueError:
            raise InvalidRecord(f"{field}: expected a whole number of tokens, got {value!r:.60}") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRecord(f"{field}: expected a whole number of tokens, got {value!r}")
    return value


def _money(value: Any) -> float | None:
    if value is None:
        return None
    try:
        amount = float(str(value).strip().lstrip("$").replace(",", "")) if isinstance(value, str) else value
    except ValueError:
        raise InvalidRecord(f"cost: expected a number of dollars, got {value!r}") from None
    if isinstance(amount, bool) or not isinstance(amount, (int, float)):
        raise InvalidRecord(f"cost: expected a number of dollars, got {value!r}")
    return float(amount)


# -- CSV ---------------------------------------------------------------------------------------------


def _csv(name: str, text: str) -> tuple[str, list[Row]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or ()]
    reader.fieldnames = header
    if "ts" in header and "id" in header:
        kind, convert = "export (CSV)", _own_csv
    elif "timestamp" in header and ("tokens" in header or "total_tokens" in header or "input_tokens" in header):
        kind, convert = "tracking CSV", _legacy_csv
    else:
        raise UsageError(
            f"{name}: not a format import reads (first line: {','.join(header)[:80]!r})",
            hint="CSV files need a header: timestamp,branch,tokens,estimated_cost,notes or export's columns",
        )
    rows = []
    line = 1
    for cells in reader:
        start, line = line + 1, reader.line_num
        if not any((v or "").strip() for k, v in cells.items() if k is not None):
            continue
        if None in cells:
            raise RowError(f"{name} line {start}: more cells than the header has columns")
        rows.append(convert(name, start, cells))
    return kind, rows


def _legacy_csv(name: str, line: int, cells: dict[str, str]) -> Row:
    located = _Located({k: v for k, v in cells.items() if v is not None and v.strip() != ""})
    located.line = line
    return _legacy_row(name, located, {})


def _own_csv(name: str, line: int, cells: dict[str, str]) -> Row:
    where = f"{name} line {line}"
    data: dict[str, Any] = {}
    try:
        for key, raw in cells.items():
            value = csv_unquote(raw or "")
            if value == "" or key in ("estimated", "total_tokens"):
                continue
            if key in SPLIT_FIELDS or key in _OTHER_COUNTS:
                data[key] = _count(value, key)
            elif key == "cost_usd":
                data[key] = _money(value)
            elif key == "first_commit":
                data["commit"] = value
            elif key == "commit":
                data["attached_to"] = value
            else:
                data[key] = value
        if (cells.get("estimated") or "").strip().lower() == "true" or not any(data.get(f) for f in SPLIT_FIELDS):
            data = {k: v for k, v in data.items() if k not in SPLIT_FIELDS and k != "cache_write_1h_tokens"}
            data["total_tokens"] = _count(cells.get("total_tokens"), "total_tokens")
    except InvalidRecord as exc:
        raise RowError(f"{where}: {exc.message}", hint=exc.hint) from None
    located = _Located(data)
    located.line = line
    return _own_row(name, located)

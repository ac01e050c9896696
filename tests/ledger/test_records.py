from __future__ import annotations

import json

import pytest

from gitokens.errors import InvalidRecord
from gitokens.ledger.record import Record, content_id, line_values

BASE = {"id": "abc123", "ts": "2025-09-29T14:03:00Z", "model": "gpt-4o", "input_tokens": 10, "output_tokens": 5}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"input_tokens": -1}, "input_tokens"),
        ({"output_tokens": 1.5}, "output_tokens"),
        ({"cache_read_tokens": "12"}, "cache_read_tokens"),
        ({"cache_write_tokens": True}, "cache_write_tokens"),
        ({"input_tokens": 10**12 + 1}, "input_tokens"),
        ({"total_tokens": -3, "input_tokens": 0, "output_tokens": 0}, "total_tokens"),
        ({"model": ""}, "model"),
        ({"model": "   "}, "model"),
        ({"ts": "yesterday"}, "ts"),
        ({"ts": None}, "ts"),
        ({"id": "has space"}, "id"),
        ({"cost_usd": -0.5}, "cost_usd"),
        ({"source": "Not A Source!"}, "source"),
        ({"commit": "abc"}, "commit"),
        ({"kind": "tombstone"}, "target"),
        ({"reasoning_tokens": 9}, "reasoning_tokens"),
        ({"v": 2}, "v"),
    ],
    ids=lambda v: str(v),
)
def test_bad_values_name_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        Record.from_dict({**BASE, **changes})
    assert str(caught.value).startswith(f"{field}:")
    assert "\n" not in str(caught.value)


def test_canonical_line_round_trips_and_is_sorted_compact_json() -> None:
    record = Record.from_dict({**BASE, "note": "naïve café", "cache_read_tokens": 7})
    line = record.to_line()
    assert line == json.dumps(json.loads(line), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "naïve café" in line
    assert Record.from_line(line) == record
    assert record.tokens == 10 + 5 + 7


def test_total_only_record_keeps_total_and_no_split() -> None:
    record = Record.from_dict({"id": "x1", "ts": "2025-01-01T00:00:00Z", "total_tokens": 54161})
    assert record.tokens == 54161
    assert not record.split_known
    data = json.loads(record.to_line())
    assert data["total_tokens"] == 54161 and "input_tokens" not in data


@pytest.mark.parametrize(
    ("ts", "canonical"),
    [
        ("2025-09-29T14:03:00Z", "2025-09-29T14:03:00Z"),
        ("2025-09-29T16:03:00+02:00", "2025-09-29T14:03:00Z"),
        ("2025-09-29T14:03:00.123456Z", "2025-09-29T14:03:00.123Z"),
        ("2025-09-29T14:03:00", "2025-09-29T14:03:00Z"),
    ],
)
def test_timestamps_are_normalised_to_utc(ts: str, canonical: str) -> None:
    assert Record.from_dict({**BASE, "ts": ts}).ts == canonical


def test_line_without_id_gets_a_deterministic_one() -> None:
    data = {"ts": "2025-01-01T00:00:00Z", "total_tokens": 5}
    first, second = Record.from_dict(dict(data)), Record.from_dict(dict(data))
    assert first.id == second.id == content_id(data)


def test_not_json_is_an_invalid_record() -> None:
    with pytest.raises(InvalidRecord, match="not JSON"):
        Record.from_line("{oops")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"ts":"9999-12-31T23:00:00-05:00","total_tokens":5}', "out of range"),
        ('{"ts":"9001-01-01T00:00:00Z","total_tokens":5}', "outside the years 1970-9000"),
        ('{"ts":"1969-12-31T23:59:59Z","total_tokens":5}', "outside the years"),
        ("[" * 1100 + "]" * 1100, "nested deeper"),
        ('{"ts":"2025-01-01T00:00:00Z","note":' + "[" * 999 + "]" * 999 + "}", "nested deeper"),
        ('{"ts":"2025-01-01T00:00:00Z","total_tokens":1' + "0" * 5000 + "}", "not a record"),
        ('{"ts":"2025-01-01T00:00:00Z","total_tokens":5,"cost_usd":1' + "0" * 400 + "}", "out of range"),
        ('{"ts":"2025-01-01T00:00:00Z","total_tokens":5,"source":[]}', "is not a source name"),
        ('{"ts":"2025-01-01T00:00:00Z","note":"' + "x" * 70_000 + '"}', "more than the 65,536"),
        (b"\xff\xfe{}", "not JSON"),
    ],
    ids=[
        "overflowing-ts",
        "after-window",
        "before-window",
        "deep-array",
        "deep-field",
        "huge-int",
        "huge-cost",
        "unhashable",
        "too-long",
        "not-utf8",
    ],
)
def test_hostile_lines_are_invalid_records_and_nothing_else(line: str | bytes, message: str) -> None:
    with pytest.raises(InvalidRecord, match=message) as caught:
        line_values(line)
    assert len(str(caught.value)) <= 300 and "\n" not in str(caught.value)


@pytest.mark.parametrize("field", ["note", "model", "branch", "session"])
def test_lone_surrogates_become_replacement_characters(field: str) -> None:
    line = '{"ts":"2025-01-01T00:00:00Z","total_tokens":5,"%s":"a\\ud800b"}' % field  # noqa: UP031
    record = Record.from_line(line)
    assert getattr(record, field) == "a\ufffdb"
    record.to_line().encode("utf-8")


@pytest.mark.parametrize("field", ["source", "commit"])
@pytest.mark.parametrize("value", [[], {}, ["x"]], ids=["list", "dict", "list-of-text"])
def test_a_field_of_the_wrong_kind_is_an_invalid_record(field: str, value: object) -> None:
    with pytest.raises(InvalidRecord, match=field):
        Record.from_dict({"id": "r1", "ts": "2025-01-01T00:00:00Z", "total_tokens": 1, field: value})

"""The fast line reader against the full validation: whatever a line holds, reading it gives the same values
or the same refusal as validating it field by field."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gitokens.errors import InvalidRecord
from gitokens.ledger import canonical, record, store
from gitokens.ledger.record import Record, line_values

PROPERTY = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HEX = "0123456789abcdef"
COMMIT = st.text(HEX, min_size=40, max_size=40) | st.text(HEX, min_size=64, max_size=64)
ID = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=200)
TS = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9000, 12, 31, 23, 59, 59)).map(
    lambda moment: record.format_timestamp(moment.replace(tzinfo=UTC))
)
COUNT = st.integers(0, 5000) | st.integers(0, record.MAX_TOKENS)
TEXT = st.text(max_size=12)
SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
JSON_VALUE = st.recursive(
    SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=6
)
# Number literals whose reading differs between parsers or types: exponents, signed zero, beyond 64 bits.
NUMERALS = st.sampled_from(
    ["1e2", "1E0", "-0", "-0.0", "1.0", "0.1", "2.5e-3", "1e400", "-1e-400", "NaN", "Infinity", "-Infinity"]
) | st.integers(2**53, 2**80).map(str)
ODD = st.sampled_from(
    [
        "2025-02-30T00:00:00Z", "2025-01-01T24:00:00Z", "2025-01-01T00:00:00+01:00", "2025-01-01T00:00:00Z\n",
        "\u0662\u0660\u0662\u0665-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9001-01-01T00:00:00Z", "abc\n",
        " ", "\u00a0", "\u2003x", "", "a\ud800b", "\U0001f600", "usage", "tombstone", "manual", "a" * 201,
    ]
)  # fmt: skip
VALID = {
    "v": st.just(1),
    "id": ID,
    "ts": TS,
    "source": st.sampled_from(record.SOURCES) | st.from_regex(r"\A[a-z0-9][a-z0-9._-]{0,39}\Z") | st.just("a" * 40),
    "kind": st.just("usage"),
    "commit": COMMIT | st.none(),
    "branch": TEXT | st.none(),
    "author": TEXT | st.none(),
    "model": TEXT | st.none(),
    "provider": TEXT | st.none(),
    "endpoint": TEXT | st.none(),
    "session": TEXT | st.none(),
    "note": TEXT | st.none(),
    "input_tokens": COUNT,
    "output_tokens": COUNT,
    "cache_read_tokens": COUNT,
    "cache_write_tokens": COUNT,
    "reasoning_tokens": st.integers(0, 100),
    "cache_write_1h_tokens": st.integers(0, 100),
    "requests": st.integers(1, 10) | st.none(),
    "total_tokens": COUNT | st.none(),
    "cost_usd": st.floats(0, 1e6) | st.integers(0, 2**70) | st.none(),
    "target": ID | st.none(),
}
OPTIONAL = {name: values for name, values in VALID.items() if name not in ("id", "ts", "kind", "target")}
# Values next to the valid ones: any year, impossible dates, blank names, a source's name as a commit.
ANY_TS = st.datetimes().map(lambda moment: record.format_timestamp(moment.replace(tzinfo=UTC)))
SHAPED_TS = st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z")
BLANK = st.text(" \t\n\u00a0\u2003\u3000", max_size=3)
NEAR = {
    **OPTIONAL,
    "commit": COMMIT | st.none() | st.sampled_from(record.SOURCES),
    "author": VALID["author"] | BLANK,
    "model": VALID["model"] | BLANK,
    "provider": VALID["provider"] | BLANK,
}
FIELDS = [field.name for field in dataclasses.fields(Record)]


def raw(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@st.composite
def lines(draw: st.DrawFn) -> str:
    """A JSON object line: a valid record's fields, some of them then left out, replaced by odd values or
    numerals, repeated, or joined by unknown ones; sometimes cut short."""
    required = {"id": ID, "ts": TS | ANY_TS | SHAPED_TS, "commit": NEAR["commit"]}
    data = draw(st.fixed_dictionaries(required, optional={k: v for k, v in NEAR.items() if k not in required}))
    if draw(st.integers(0, 4)) == 0:
        data.update(kind="tombstone", target=draw(ID))
    elif draw(st.integers(0, 9)) == 0:
        data.update(target=draw(ID))
    pairs = [(name, raw(value)) for name, value in data.items()]
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(pairs)))
        change = draw(st.sampled_from(["drop", "replace", "insert"]))
        name = draw(st.sampled_from(FIELDS) | TEXT)
        value = draw(NUMERALS | ODD.map(raw) | SCALAR.map(raw) | JSON_VALUE.map(raw))
        if change == "insert" or not pairs:
            pairs.insert(at, (name, value))
        elif change == "drop":
            del pairs[at % len(pairs)]
        else:
            pairs[at % len(pairs)] = (pairs[at % len(pairs)][0], value)
    text = "{" + ",".join(f"{raw(name)}:{value}" for name, value in pairs) + "}"
    if draw(st.integers(0, 19)) == 0:
        text = text[: draw(st.integers(1, len(text)))]
    return text


def full_validation(line: str, commit: str | None) -> tuple[str, Any]:
    """What reading ``line`` gave before the fast reader: the values, or the refusal's message."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(canonical, "values", lambda _text: None)
        try:
            return "values", repr(line_values(line, commit))
        except InvalidRecord as exc:
            return "refused", str(exc)


@PROPERTY
@given(lines(), COMMIT | st.none())
@example('{"v":1,"id":"r","ts":"2025-01-01T00:00:00Z","commit":null,"source":"aaaa","cost_usd":1e30}', None)
@example('{"id":"r","ts":"2025-01-01T00:00:00Z","commit":null,"kind":"tombstone","target":"x\\n"}', None)
def test_the_fast_reader_agrees_with_the_full_validation(line: str, commit: str | None) -> None:
    expected = full_validation(line, commit)
    try:
        assert ("values", repr(line_values(line, commit))) == expected
    except InvalidRecord as exc:
        assert ("refused", str(exc)) == expected
    fast = canonical.values(line)
    assert fast is None or ("values", repr(fast)) == expected


@PROPERTY
@given(st.fixed_dictionaries({}, optional=OPTIONAL), ID, TS, COMMIT | st.none())
def test_every_canonical_line_takes_the_fast_path(data: dict[str, Any], id_: str, ts: str, commit: str | None) -> None:
    data.update(id=id_, ts=ts, commit=commit)
    try:
        written = Record.from_dict(data)
    except InvalidRecord:
        return  # fields that are each valid but not together (reasoning over output, ...)
    assert canonical.values(written.to_line()) == written.values()


def test_the_fast_reader_keeps_the_records_field_order() -> None:
    assert tuple(FIELDS) == canonical.FIELD_NAMES


@pytest.mark.parametrize(
    "line",
    [
        '{"id":"r","ts":"2025-01-01T00:00:00Z","total_tokens":5}',
        '{"id":"r","ts":"2025-01-01T00:00:00Z","commit":null,"total_tokens":5,"extra":1}',
        '{"id":"r","ts":"2025-01-01T00:00:00Z","commit":null,"total_tokens":5,"note":"a\\ud800b"}',
        '{"id":"r","ts":"2025-01-01T00:00:00Z","commit":null,"input_tokens":null}',
        '{"id":"r","ts":"2025-01-01T00:00:00+00:00","commit":null,"total_tokens":5}',
    ],
    ids=["commit-from-the-note", "unknown-field", "surrogate", "null-count", "offset-ts"],
)
def test_lines_the_fast_reader_leaves_to_the_full_validation(line: str) -> None:
    assert canonical.values(line) is None
    assert line_values(line, "a" * 40) == Record.from_dict(json.loads(line), commit="a" * 40).values()


class _Notes:
    """What ``store._parse_group`` reads a subtree through: these notes."""

    def __init__(self, notes: list[tuple[str, bytes]]):
        self.notes = notes

    def read_notes_group(self, group: object) -> list[tuple[str, bytes]]:
        return self.notes


def line_by_line(notes: list[tuple[str, bytes]]) -> Any:
    """The subtree's parse with every line read on its own, as before notes were read whole."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "_columns_of", lambda _notes: None)
        return store._parse_group(_Notes(notes), (None, ""))  # type: ignore[arg-type]


def written(data: dict[str, Any]) -> str | None:
    try:
        return Record.from_dict(data).to_line()
    except InvalidRecord:
        return None


CANONICAL_LINE = st.builds(
    lambda data, id_, ts, commit: written({**data, "id": id_, "ts": ts, "commit": commit}),
    st.fixed_dictionaries({}, optional=OPTIONAL),
    ID,
    TS,
    COMMIT | st.none(),
).filter(lambda line: line is not None)
WHOLE_NOTES = settings(PROPERTY, max_examples=700)
ENDING = st.sampled_from(["\n", "", "\n\n", "\r\n", " \n"])


@WHOLE_NOTES
@given(st.lists(st.tuples(COMMIT, st.lists(CANONICAL_LINE | lines(), min_size=1, max_size=4), ENDING), max_size=4))
@example(
    [("a" * 40, ['{"id":"r","ts":"2025-01-01T00:00:00Z","commit":null} {"id":"s","ts":"2025-01-01T00:00:00Z"}'], "\n")]
)
@example([("a" * 40, ['{"id":"r","ts":"2025-01-01T00:00:00Z","commit":null,', '"v":1}'], "\n")])
@example([("a" * 40, ['{"id":"r","ts":"2024-02-30T00:00:00Z","commit":null}'], "\n")])
def test_notes_read_whole_give_what_each_line_gives(notes: list[tuple[str, list[str], str]]) -> None:
    blobs = [(commit, ("\n".join(text) + ending).encode("utf-8", "surrogatepass")) for commit, text, ending in notes]
    expected = line_by_line(blobs)
    fast = canonical.columns_of(blobs)
    if fast is not None:
        assert (*fast, []) == expected
        assert len(fast[0]) == sum(len(text) for _, text, _ in notes)  # one record per line, none skipped


@WHOLE_NOTES
@given(st.lists(st.tuples(COMMIT, st.lists(CANONICAL_LINE, min_size=1, max_size=4)), min_size=1))
def test_notes_of_canonical_lines_are_read_whole(notes: list[tuple[str, list[str]]]) -> None:
    """Notes as gitokens writes them (a line per record, each ending in a newline) take the fast path."""
    blobs = [(commit, "".join(line + "\n" for line in text).encode()) for commit, text in notes]
    fast = canonical.columns_of(blobs)
    assert fast is not None and (*fast, []) == line_by_line(blobs)


def test_a_day_past_the_end_of_its_month_is_left_to_the_line_by_line_reading() -> None:
    for day in ("2023-02-29", "2024-02-30", "2025-04-31", "2100-02-29"):
        line = f'{{"id":"r","ts":"{day}T00:00:00Z","commit":null}}\n'.encode()
        assert canonical.columns_of([("a" * 40, line)]) is None
        assert line_by_line([("a" * 40, line)])[2][0][3].startswith("ts")
    for day in ("2024-02-29", "2000-02-29", "2025-01-31", "2025-04-30", "2025-12-31"):
        fine = canonical.columns_of([("a" * 40, f'{{"id":"r","ts":"{day}T00:00:00Z","commit":null}}\n'.encode())])
        assert fine is not None and fine[1][1] == [f"{day}T00:00:00Z"]

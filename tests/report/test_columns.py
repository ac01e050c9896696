"""The report's columnar path: columns from the ledger, their cache, costs priced per column, local days."""

from __future__ import annotations

import math
import multiprocessing
import os
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from conftest import commit, git, run

from gitokens.config import Config, load_config
from gitokens.git.repo import open_repo
from gitokens.ledger import store
from gitokens.ledger.record import Record, new_id
from gitokens.pricing import Pricer
from gitokens.report import cache as columncache
from gitokens.report import columns, pipeline
from gitokens.report.costs import costs
from gitokens.report.localdays import local_days

# Models priced every way: long-context tiers, a price change (2026-03-13), off-peak hours (per record),
# extra units (calc_price), an override, an alias, no price at all, and no model.
MODELS = [
    ("claude-sonnet-4-5", None),
    ("claude-sonnet-4-6", "anthropic"),
    ("gemini-2.5-pro", None),
    ("gpt-4o", "openai"),
    ("gpt-4o", "azure"),
    ("deepseek-chat", "deepseek"),
    ("o3", None),
    ("house-model", None),
    ("house-alias", None),
    ("no-such-model", None),
    (None, None),
]
CONFIG = "prices:\n  house-model: {input: 1.1, output: 4.4, cache_read: 0.11}\naliases:\n  house-alias: gpt-4o\n"


def random_records(count: int, seed: int) -> list[Record]:
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    out = []
    for _ in range(count):
        model, provider = rng.choice(MODELS)
        data: dict[str, Any] = {
            "id": new_id(),
            "ts": (start + timedelta(seconds=rng.randrange(40 * 86400))).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "model": model,
            "provider": provider,
            "branch": rng.choice(["main", "feature/x", None]),
        }
        if rng.random() < 0.15:
            data["total_tokens"] = rng.randrange(1, 500_000)
        else:
            output = rng.randrange(0, 20_000)
            data.update(
                input_tokens=rng.choice([rng.randrange(0, 5_000), rng.randrange(150_000, 400_000)]),
                output_tokens=output,
                cache_read_tokens=rng.choice([0, rng.randrange(0, 300_000)]),
                cache_write_tokens=rng.choice([0, rng.randrange(0, 50_000)]),
                reasoning_tokens=rng.randrange(0, output + 1),
            )
            data["cache_write_1h_tokens"] = rng.choice([0, data["cache_write_tokens"] // 3])
            if rng.random() < 0.5:
                data["requests"] = rng.choice([1, 2, 7])
        if rng.random() < 0.2:
            data["cost_usd"] = round(rng.random() * 3, 6)
        out.append(Record.from_dict(data))
    return out


def as_columns(records: list[Record]) -> columns.Columns:
    entries = [store.Entry(r, "a" * 40, ("a" * 40,)) for r in records]
    return columns.from_entries(None, entries, [])


@pytest.mark.parametrize("mode", ["auto", "calculate", "reported"])
def test_column_costs_are_the_per_record_costs_exactly(tmp_path: Path, mode: Any) -> None:
    (tmp_path / ".gitokens.yml").write_text(CONFIG)
    config = load_config(tmp_path)
    records = random_records(3_000, seed=11)
    by_columns, by_record = Pricer(config, mode), Pricer(config, mode)
    got = costs(by_columns, as_columns(records), np.arange(len(records)))
    expected = [by_record.cost(r).usd for r in records]
    mismatched = [
        (r.model, r.provider, r.ts, g, e)
        for r, g, e in zip(records, got.tolist(), expected, strict=True)
        if not (math.isnan(g) if e is None else g == e)
    ]
    assert mismatched == []
    assert by_columns.unpriced == by_record.unpriced
    assert by_columns.unpriced >= ({"no-such-model"} if mode == "calculate" else set())


def test_an_overflowing_sum_is_priced_exactly() -> None:
    huge = Record.from_dict({"id": "x", "ts": "2026-03-01T00:00:00Z", "model": "gpt-4o", "input_tokens": 10**12})
    got = costs(Pricer(Config(), "calculate"), as_columns([huge]), np.arange(1))
    assert got.tolist() == [Pricer(Config(), "calculate").cost(huge).usd]


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Paris", "America/St_Johns", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham"]
)
def test_local_days_match_a_conversion_per_timestamp(zone: str) -> None:
    tz = ZoneInfo(zone)
    rng = random.Random(zone)
    moments = [datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(366 * 24 * 60)) for _ in range(4000)]
    # Every minute around each of the zone's offset changes in the year, where a per-hour shortcut would fail.
    for hour in range(366 * 24):
        at = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=hour)
        if at.astimezone(tz).utcoffset() != (at + timedelta(hours=1)).astimezone(tz).utcoffset():
            moments += [at + timedelta(minutes=m) for m in range(-30, 91)]
    ms = np.array([int(m.timestamp() * 1000) for m in moments], dtype=np.int64)
    expected = [(m.astimezone(tz).date() - datetime(1970, 1, 1).date()).days for m in moments]
    assert local_days(ms, tz).tolist() == expected


def put(repo: Path, commit_id: str, **fields: Any) -> Record:
    data = {"id": new_id(), "ts": "2025-10-01T10:00:00Z", "model": "gpt-4o", "input_tokens": 10, **fields}
    record = Record.from_dict({"commit": commit_id, "branch": "main", **data})
    store.append(open_repo(repo), {commit_id: [record]}, "test")
    return record


def rows(c: columns.Columns) -> list[tuple[Any, ...]]:
    """Every row as plain values, in id order (an advanced cache holds new rows last)."""
    out = []
    for i in range(len(c)):
        texts = tuple(c.text(name, i) for name in columns.TEXTS)
        cost = float(c.cost_usd[i])
        out.append((*texts, int(c.ts[i]), *c.counts[i].tolist(), None if math.isnan(cost) else cost))
    return sorted(out, key=lambda row: str(row[0]))


def placements(c: columns.Columns) -> set[tuple[str | None, str]]:
    attached = c.texts["attached"]
    pairs = zip(c.placed_rows.tolist(), c.placed_commits.tolist(), strict=True)
    return {(c.text("id", row), attached.labels[code]) for row, code in pairs}


def same(a: columns.Columns, b: columns.Columns) -> None:
    assert (a.tip, a.invalid, a.removed) == (b.tip, b.invalid, b.removed)
    assert rows(a) == rows(b)
    assert placements(a) == placements(b)


def rebuilt(repo: Path) -> columns.Columns:
    return columns.from_ledger(store.load(open_repo(repo), use_cache=False))


def test_the_cache_is_the_ledger_until_the_ledger_moves(repo: Path) -> None:
    first = commit(repo, "one")
    put(repo, first, note="café ☕", cost_usd=0.25, author="ann@example.com")
    copied = put(repo, first, total_tokens=900, branch=None)
    second = commit(repo, "two")
    store.append(open_repo(repo), {second: [copied]}, "a copy, as amend or carry makes")
    git(repo, "notes", "--ref", "tokens", "append", "-m", "{not json", second)
    opened = open_repo(repo)
    built = columncache.load(opened)
    cache_file = opened.state_dir() / "cache" / columncache._FILE
    assert cache_file.is_file() and built.tip == opened.notes_tip()
    same(built, rebuilt(repo))
    assert len(built) == 2 and len(built.invalid) == 1 and len(built.placed_rows) == 2
    same(columncache.load(opened), built)  # read back from the file

    put(repo, second, session="s-1")
    moved = columncache.load(open_repo(repo))
    assert len(moved) == 3 and moved.tip == open_repo(repo).notes_tip()

    cache_file.write_bytes(b"not a zip file")
    same(columncache.load(open_repo(repo)), moved)  # a broken cache is rebuilt, never trusted


def test_reports_from_columns_and_from_the_ledger_are_identical(repo: Path) -> None:
    base = commit(repo, "base")
    for record in random_records(300, seed=5):
        store.append(open_repo(repo), {base: [record]}, "test")
    now = datetime(2026, 4, 5, tzinfo=UTC)
    opened = open_repo(repo)
    from_ledger = pipeline.make(opened, store.load(opened), now=now, tz_name="Europe/Paris", with_records=True)
    from_cache = pipeline.make(opened, columncache.load(opened), now=now, tz_name="Europe/Paris", with_records=True)
    assert columncache.load(opened).tip is not None
    assert from_cache.to_dict() == from_ledger.to_dict()
    assert from_cache.records is not None and from_ledger.records is not None
    assert list(from_cache.records) == list(from_ledger.records)
    assert from_cache.totals.sessions == 300


def test_the_cache_follows_additions_and_removals_without_reading_the_ledger(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = commit(repo, "one")
    kept = put(repo, first, author="ann@example.com", note="same words", session="s")
    gone = put(repo, first, model="o3", note="same words", session="s")
    columncache.load(open_repo(repo))
    second = commit(repo, "two")
    put(repo, second, note="same words", total_tokens=1234, branch="feature/new")
    put(repo, first, note="new, beside the others", session="s")
    assert run("rm", gone.id).exit_code == 0
    expected = rebuilt(repo)
    assert expected.removed == {gone.id} and len(expected) == 3

    def no_ledger(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the ledger was read")

    monkeypatch.setattr(columncache, "load_table", no_ledger)
    advanced = columncache.load(open_repo(repo))
    same(advanced, expected)
    assert kept.id in [advanced.text("id", i) for i in range(len(advanced))]
    assert advanced.carried == 3 and columncache._read(open_repo(repo)).tip != expected.tip  # not worth a rewrite yet
    same(columncache.load(open_repo(repo)), expected)
    monkeypatch.setattr(columncache, "_REWRITE", 2)
    columncache.load(open_repo(repo))
    same(columncache._read(open_repo(repo)), expected)  # past the threshold, written back


@pytest.mark.parametrize("change", ["bad-line", "edited-note", "removed-note", "re-added-after-rm", "changed-copy"])
def test_the_cache_is_rebuilt_when_the_ledger_changed_otherwise(repo: Path, change: str) -> None:
    first = commit(repo, "one")
    record = put(repo, first)
    columncache.load(open_repo(repo))
    second = commit(repo, "two")
    if change == "changed-copy":  # the same id with other content: the ledger flags it, the cache rebuilds
        store.append(open_repo(repo), {second: [record.replace(note="not the same")]}, "a different copy")
    elif change == "bad-line":
        git(repo, "notes", "--ref", "tokens", "append", "-m", "not a record", second)
    elif change == "edited-note":
        git(repo, "notes", "--ref", "tokens", "add", "-f", "-m", record.replace(note="edited").to_line(), first)
    elif change == "removed-note":
        git(repo, "notes", "--ref", "tokens", "remove", first)
    else:
        assert run("rm", record.id).exit_code == 0
        columncache.load(open_repo(repo))
        store.append(open_repo(repo), {second: [record]}, "the removed record again")
    assert (
        columncache._advance(open_repo(repo), columncache._read(open_repo(repo)), open_repo(repo).notes_tip()) is None
    )
    same(columncache.load(open_repo(repo)), rebuilt(repo))


def test_copies_from_amend_and_carry_are_carried_forward(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("install", "--no-prompt").exit_code == 0
    first = commit(repo, "one")
    kept = put(repo, first)
    other = put(repo, first, model="o3")
    columncache.load(open_repo(repo))
    stamp = {"GIT_COMMITTER_DATE": "1600000000 +0000"}  # older than every other commit here
    git(repo, "commit", "-q", "--amend", "-m", "one, amended", env=stamp)  # notes.rewriteRef copies the note
    amended = git(repo, "rev-parse", "HEAD").strip()
    branch = commit(repo, "two")
    store.append(open_repo(repo), {branch: [other]}, "carry")  # a second copy of the same record
    expected = rebuilt(repo)
    assert placements(expected) == {
        (kept.id, first),
        (kept.id, amended),
        (other.id, first),
        (other.id, amended),
        (other.id, branch),
    }

    def no_ledger(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the ledger was read")

    monkeypatch.setattr(columncache, "load_table", no_ledger)
    advanced = columncache.load(open_repo(repo))
    same(advanced, expected)  # the same placements, and each record attached to its newest commit
    assert advanced.carried == 3
    attached = {advanced.text("id", i): advanced.text("attached", i) for i in range(len(advanced))}
    assert attached == {kept.id: first, other.id: branch}  # the amend is dated before both


def clone_with_ledger(origin: Path, path: Path) -> Path:
    """A fresh clone of ``origin`` with its ledger fetched, as a CI runner makes one."""
    git(origin.parent, "clone", "-q", str(origin), str(path))
    git(path, "fetch", "-q", "origin", "refs/notes/tokens:refs/notes/tokens")
    return path


def test_a_cache_kept_from_an_older_clone_is_carried_forward(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the Action's cache step relies on: a fresh clone given the cache directory of a clone of an
    older ledger parses only the notes subtrees that changed, and carries the columns forward."""
    for n in range(30):
        put(repo, commit(repo, f"c{n}"), session=f"s{n % 3}", cost_usd=n / 8)
    older = clone_with_ledger(repo, tmp_path / "older")
    columncache.load(open_repo(older))  # what the older workflow run left in .git/gitokens/cache
    kept_tip = open_repo(older).notes_tip()
    newest = commit(repo, "newest")
    put(repo, newest, model="o3")
    put(repo, newest, total_tokens=77)
    fresh = clone_with_ledger(repo, tmp_path / "fresh")
    expected = rebuilt(fresh)
    shutil.copytree(older / ".git" / "gitokens" / "cache", fresh / ".git" / "gitokens" / "cache")

    parsed: list[str | None] = []
    parse_group = store._parse_group
    monkeypatch.setattr(store, "_parse_group", lambda repo, group: parsed.append(group[0]) or parse_group(repo, group))
    rows = store.load_rows(open_repo(fresh))
    changed = {group[0] for group in open_repo(fresh).notes_groups()} - {g[0] for g in open_repo(older).notes_groups()}
    assert parsed == list(changed) and len(changed) == 1  # one of the 20-odd subtrees: the newest commit's

    def no_ledger(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the ledger was read")

    monkeypatch.setattr(columncache, "load_table", no_ledger)
    carried = columncache.load(open_repo(fresh), rows=rows)
    same(carried, expected)
    assert carried.carried == 2 and columncache._read(open_repo(fresh)).tip == kept_tip  # extended, not rebuilt


@pytest.mark.parametrize(
    "labels",
    [[], [""], ["a", "", "b"], ["r-1", "café ☕", "\U0001f600x"], ["two\nlines", "x"], ["\n"], ["a", "a\n", ""]],
)
def test_packed_labels_are_each_label_in_utf8_and_read_back(labels: list[str]) -> None:
    blob, ends = columns.Text(np.zeros(len(labels), dtype=np.int32), list(labels)).pack()
    assert blob == "".join(labels).encode("utf-8")
    assert ends.dtype == np.int64 and ends.tolist() == list(np.cumsum([len(s.encode("utf-8")) for s in labels]))
    assert columns.Text(np.zeros(0), packed=(blob, [0, *ends.tolist()])).labels == labels


def identical(a: columns.Columns, b: columns.Columns) -> None:
    """The same columns to the array: codes, labels in their order, placements (what the cache file holds)."""
    same(a, b)
    for name in ("ts", "counts", "placed_rows", "placed_commits"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert np.array_equal(a.cost_usd, b.cost_usd, equal_nan=True)
    for name in columns.TEXTS:
        x, y = a.texts[name], b.texts[name]
        assert x.labels == y.labels and x.codes.dtype == y.codes.dtype and np.array_equal(x.codes, y.codes), name


def a_varied_ledger(repo: Path) -> store.Rows:
    """Records on several commits sharing sessions, branches, models; a copy on two commits (amend, carry);
    a tombstone; a bad line; a record without model, branch or session."""
    commits = [commit(repo, f"c{n}") for n in range(6)]
    copied = None
    for n, commit_id in enumerate(commits):
        for k in range(5):
            record = put(
                repo,
                commit_id,
                session=f"s{(n + k) % 4}" if k != 3 else None,
                branch=["main", "feature/x", None][k % 3],
                model=[None, "gpt-4o", "o3"][(n * k) % 3],
                note=f"note {k}" if k % 2 else None,
                total_tokens=k * 100 if k == 4 else None,
                author=f"dev{n % 2}@example.com",
            )
            copied = copied or record
    assert copied is not None
    store.append(open_repo(repo), {commits[-1]: [copied]}, "a copy of the first record on the last commit")
    gone = put(repo, commits[2], model="o3")
    tomb = Record.from_dict({"id": new_id(), "ts": "2025-10-02T10:00:00Z", "kind": "tombstone", "target": gone.id})
    store.append(open_repo(repo), {commits[3]: [tomb]}, "rm")
    git(repo, "notes", "--ref", "tokens", "append", "-m", "{not json", commits[1])
    return store.load_rows(open_repo(repo))


@pytest.mark.parametrize("share", [0.02, 0.3, 0.55, 0.97])
def test_columns_built_in_two_processes_are_those_of_one_pass(
    repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, share: float
) -> None:
    loaded = a_varied_ledger(repo)
    one_pass = columns.from_rows(loaded)  # under the size worth a second process
    assert len(one_pass) == 30 and len(one_pass.placed_rows) == 2 and len(one_pass.invalid) == 1
    monkeypatch.setattr(columns, "_SPLIT_FROM", 1)
    monkeypatch.setattr(columns, "_cores", lambda: 2)
    monkeypatch.setattr(columns, "_SHARE_BESIDE", share)
    ran = tmp_path / "beside"
    split = columns.from_rows(loaded, beside=lambda rows: ran.write_text(f"{os.getpid()} {len(rows.usage)}"))
    identical(split, one_pass)
    assert ran.read_text() == f"{ran.read_text().split()[0]} 30" and int(ran.read_text().split()[0]) != os.getpid()


def test_columns_are_built_whatever_runs_beside_them(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = a_varied_ledger(repo)
    one_pass = columns.from_rows(loaded)
    monkeypatch.setattr(columns, "_SPLIT_FROM", 1)
    monkeypatch.setattr(columns, "_cores", lambda: 2)

    def fails(rows: store.Rows) -> None:
        raise OSError("no room for the price cache")

    identical(columns.from_rows(loaded, beside=fails), one_pass)

    def dies(rows: store.Rows) -> None:
        os._exit(3)  # the forked process gone without its part: this one builds it

    identical(columns.from_rows(loaded, beside=dies), one_pass)


def test_a_large_ledger_cache_written_in_a_thread_is_read_back(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a_varied_ledger(repo)
    monkeypatch.setattr(columncache, "_WRITE_BESIDE_FROM", 1)
    built = columncache.load(open_repo(repo))
    columncache.written()
    read = columncache._read(open_repo(repo))
    assert read is not None and read.tip == built.tip
    identical(read, built)


def test_prices_and_templates_made_beside_the_columns_are_the_report_s(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_varied_ledger(repo)
    (repo / ".gitokens.yml").write_text("default_model: claude-sonnet-4-5\n")
    monkeypatch.setattr(columns, "_SPLIT_FROM", 1)
    monkeypatch.setattr(columns, "_cores", lambda: 2)
    opened = open_repo(repo)
    ahead = pipeline.ahead(opened, formats=("json", "markdown", "html"))
    assert ahead is not None
    built = columncache.load(opened, beside=ahead)
    kept, templates = pipeline.prices_cache(opened).file, opened.state_dir() / "cache" / "templates"
    assert kept is not None and kept.is_file() and len(list(templates.iterdir())) == 2
    looked_up = kept.read_text()
    assert "claude-sonnet-4-5" in looked_up and "gpt-4o" in looked_up and '"o3' in looked_up
    assert pipeline.ahead(open_repo(repo), formats=("markdown",)) is None  # both are kept now
    kept.rename(kept.with_suffix(".away"))
    assert pipeline.ahead(open_repo(repo), "reported", ("json",)) is None  # no price is looked up
    assert pipeline.ahead(open_repo(repo), "calculate", ("json",)) is not None
    kept.with_suffix(".away").rename(kept)
    now = datetime(2025, 10, 5, tzinfo=UTC)
    reports = [pipeline.run(opened, built, fmt=fmt, now=now, tz_name="UTC") for fmt in ("json", "markdown", "html")]
    assert kept.read_text() == looked_up  # the report found every price it needed there
    shutil.rmtree(opened.state_dir())
    loaded = store.load(open_repo(repo))
    assert [
        pipeline.run(opened, loaded, fmt=fmt, now=now, tz_name="UTC") for fmt in ("json", "markdown", "html")
    ] == reports


def test_columns_built_in_a_daemonic_process_are_built_there(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = a_varied_ledger(repo)
    one_pass = columns.from_rows(loaded)
    monkeypatch.setattr(columns, "_SPLIT_FROM", 1)
    monkeypatch.setattr(columns, "_cores", lambda: 2)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    # A daemonic process may not start another: the columns are built in it, in one pass.
    process = context.Process(target=lambda: sender.send(columns.from_rows(loaded)), daemon=True)
    process.start()
    built = receiver.recv()
    process.join()
    assert process.exitcode == 0
    identical(built, one_pass)


def a_ledger_of_copies_and_tombstones(repo: Path) -> None:
    """``a_varied_ledger`` and the cases resolving copies and tombstones by column must meet: a copy whose
    content differs, a tombstone of a copied record, a tombstone copied onto two commits, a tombstone of a
    tombstone, two tombstones of one record, one of a record no note holds, an id twice in one note."""
    a_varied_ledger(repo)
    first, second, third = (commit(repo, f"late{n}") for n in range(3))
    copied = put(repo, first, session="copied")
    store.append(open_repo(repo), {second: [copied], third: [copied]}, "carried twice")
    differs = put(repo, first, input_tokens=5)
    store.append(open_repo(repo), {third: [Record.from_dict({**differs.to_dict(), "input_tokens": 6})]}, "edited")
    doubled = put(repo, second, note="twice in one note")
    store.append(open_repo(repo), {second: [doubled]}, "the same line again")

    def tombstone(target: str) -> Record:
        return Record.from_dict({"id": new_id(), "ts": "2025-10-02T10:00:00Z", "kind": "tombstone", "target": target})

    gone, twice = put(repo, first, model="o3"), put(repo, second)
    copied_tomb = tombstone(gone.id)
    store.append(open_repo(repo), {second: [copied_tomb], third: [copied_tomb]}, "rm, carried")
    store.append(open_repo(repo), {first: [tombstone(copied.id), tombstone(twice.id)]}, "rm")
    store.append(open_repo(repo), {third: [tombstone(twice.id), tombstone(copied_tomb.id), tombstone(new_id())]}, "rm")


@pytest.mark.parametrize("share", [None, 0.02, 0.5, 0.97])
def test_columns_from_the_table_are_those_of_the_rows(
    repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, share: float | None
) -> None:
    a_ledger_of_copies_and_tombstones(repo)
    expected = columns.from_rows(store.load_rows(open_repo(repo)))
    assert len(expected.placed_rows) >= 4 and len(expected.removed) == 6 and len(expected.invalid) == 1
    if share is not None:
        monkeypatch.setattr(columns, "_SPLIT_FROM", 1)
        monkeypatch.setattr(columns, "_cores", lambda: 2)
        monkeypatch.setattr(columns, "_SHARE_BESIDE", share)
    ran = tmp_path / "beside"
    table = store.load_table(open_repo(repo))
    built = columns.from_table(table, beside=lambda ledger: ran.write_text(f"{os.getpid()} {len(ledger.attached)}"))
    identical(built, expected)
    if share is None:  # too small to share: nothing runs beside
        assert not ran.exists()
    else:
        pid, count = ran.read_text().split()
        assert int(pid) != os.getpid() and int(count) == len(expected)
    assert sorted(table.removed) == sorted(expected.removed)


def test_a_cold_report_reads_the_table_and_caches_what_the_rows_give(repo: Path) -> None:
    a_ledger_of_copies_and_tombstones(repo)
    cold = columncache.load(open_repo(repo))
    identical(cold, columns.from_rows(store.load_rows(open_repo(repo))))
    read = columncache._read(open_repo(repo))
    assert read is not None
    identical(read, cold)

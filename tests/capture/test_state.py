"""The capture state's marks files: sorted once large, searched in place, and old files still read."""

from __future__ import annotations

import json
import random
from array import array
from pathlib import Path

import pytest

from gitokens.capture import state


def _old_state(folder: Path, marks: list[int]) -> None:
    """A state as versions before sorted marks left it: appended marks, no count in files.json."""
    folder.mkdir(parents=True)
    (folder / "seen.bin").write_bytes(array("Q", marks).tobytes())
    (folder / "files.json").write_text(json.dumps({"files": {}, "last_capture": 1.0, "rules": 2}))


def _save(current: state.State) -> state.State:
    state.save(current, 2.0)
    return state.load_from(current.folder)


@pytest.mark.parametrize("count", [10, 50_000], ids=["small", "past-the-merge"])
def test_an_old_seen_file_keeps_every_mark_after_the_upgrade(tmp_path: Path, count: int) -> None:
    rng = random.Random(count)
    marks = [rng.getrandbits(64) for _ in range(count)]
    _old_state(tmp_path / "capture", marks)
    current = _save(state.load_from(tmp_path / "capture"))
    assert all(mark in current.seen for mark in marks)
    assert not any(rng.getrandbits(64) in current.seen for _ in range(1000))
    assert current.ordered.get("seen", 0) == (count if count >= state.MERGE_AT else 0)


def test_marks_appended_after_sorted_ones_are_found_with_them(tmp_path: Path) -> None:
    rng = random.Random(3)
    old = [rng.getrandbits(64) for _ in range(state.MERGE_AT)]
    _old_state(tmp_path / "capture", old)
    current = _save(state.load_from(tmp_path / "capture"))
    new = [rng.getrandbits(64) for _ in range(100)]
    for mark in new:
        current.mark_seen(mark)
    current = _save(current)
    assert current.ordered["seen"] == len(old)
    assert all(mark in current.seen for mark in old + new)
    stored = array("Q", (tmp_path / "capture" / "seen.bin").read_bytes())
    assert list(stored[: len(old)]) == sorted(old)


def test_marks_sorted_in_again_join_the_sorted_ones_without_repeats(tmp_path: Path) -> None:
    rng = random.Random(4)
    old = [rng.getrandbits(64) for _ in range(state.MERGE_AT)]
    _old_state(tmp_path / "capture", old)
    current = _save(state.load_from(tmp_path / "capture"))
    new = [rng.getrandbits(64) for _ in range(state.MERGE_AT)] + old[:10]
    current.new_seen.extend(new)  # with repeats of sorted marks, as an older version could append them
    current = _save(current)
    stored = list(array("Q", (tmp_path / "capture" / "seen.bin").read_bytes()))
    assert stored == sorted(set(old + new)) and current.ordered["seen"] == len(stored)
    assert all(mark in current.seen for mark in old + new)


def test_a_count_the_file_cannot_hold_is_not_trusted(tmp_path: Path) -> None:
    marks = [5, 3, 9]
    _old_state(tmp_path / "capture", marks)
    meta = json.loads((tmp_path / "capture" / "files.json").read_text())
    (tmp_path / "capture" / "files.json").write_text(json.dumps({**meta, "sorted": {"seen": 1000}}))
    current = state.load_from(tmp_path / "capture")
    assert [mark in current.seen for mark in (3, 5, 9, 4)] == [True, True, True, False]
    assert "seen" not in _save(current).ordered

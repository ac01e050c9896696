"""Files written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitokens import atomic


def test_replace_writes_the_whole_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_bytes(b"old")
    atomic.replace(target, b"new content")
    assert target.read_bytes() == b"new content" and [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_failed_replace_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        atomic.replace(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_keep_makes_the_folder_and_reports_a_failure(tmp_path: Path) -> None:
    assert atomic.keep(tmp_path / "cache" / "deep" / "c.json", b"{}")
    assert (tmp_path / "cache" / "deep" / "c.json").read_bytes() == b"{}"
    (tmp_path / "file").write_bytes(b"")
    assert not atomic.keep(tmp_path / "file" / "c.json", b"{}")  # a file where the folder should be

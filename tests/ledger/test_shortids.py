"""Short record ids: the distinguishing part of captured ids, cut where it stops being unique."""

from __future__ import annotations

import pytest

from gitokens.ledger.shortids import Shortener, distinguishing, matches

A = "claude-code:3fa9c1e2" + "0" * 24
B = "claude-code:3fa9c1e2" + "1" * 24
PLAIN = "3fa9c1e2" + "9" * 24
OTHER = "codex:" + "7" * 32


@pytest.mark.parametrize(
    ("record_id", "part"),
    [(A, "3fa9c1e2" + "0" * 24), (PLAIN, PLAIN), ("rec-01", "rec-01"), ("odd:", "odd:")],
    ids=["captured", "plain", "imported", "empty tail"],
)
def test_distinguishing_part(record_id: str, part: str) -> None:
    assert distinguishing(record_id) == part


def test_shortest_unique_prefix_at_least_8() -> None:
    short = Shortener([A, B, PLAIN, OTHER])
    assert [short(A), short(B), short(PLAIN), short(OTHER)] == ["3fa9c1e20", "3fa9c1e21", "3fa9c1e29", "77777777"]
    assert Shortener([OTHER])(OTHER) == "77777777" and Shortener(["rec-01"])("rec-01") == "rec-01"


def test_an_id_that_no_prefix_makes_unique_is_shown_whole() -> None:
    inner = "codex:" + "3fa9c1e2" + "0" * 24  # the same distinguishing part as A
    assert Shortener([A, inner])(A) == A


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("3fa9c1e20", True), ("claude-code:3fa9", True), ("claude", True), ("c1e2", False), ("3fa9c1e21", False)],
    ids=["hex prefix", "with source", "source only", "middle", "another"],
)
def test_what_a_typed_prefix_names(typed: str, expected: bool) -> None:
    assert matches(A, typed) is expected

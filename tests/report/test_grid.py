"""The text tables' fitting to a terminal's width (``report.grid``)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gitokens.report.grid import Column, display_width, elide, lay_out, wrap

COLUMNS = [
    Column("Branch", shrink=12, cap=40),
    Column("Sessions", right=True, drop=2),
    Column("Tokens", right=True),
    Column("Share", right=True, drop=1),
    Column("Cost", right=True),
    Column("", gap=0),
]
ROWS = [
    ["feature/a-very-long-branch-name-for-oauth", "12", "1,234,567", "13.0%", "$1.23", "†"],
    ["main", "3", "99", "1.0%", "$0.0012", ""],
]


def test_a_wide_terminal_shows_every_column_and_cell_whole() -> None:
    lines = lay_out(COLUMNS, ROWS, 120)
    assert lines[0].split() == ["Branch", "Sessions", "Tokens", "Share", "Cost"]
    assert max(display_width(line) for line in lines) <= 120
    assert lines[1].startswith("  feature/a-very-long-…anch-name-for-oauth")  # capped at 40 columns
    assert lines[1].endswith("$1.23†") and lines[2].endswith("$0.0012")
    assert len({len(line.rstrip("†")) for line in lines[:2]}) == 1  # numbers aligned right, the mark hangs


def test_wide_keeps_everything_uncapped() -> None:
    lines = lay_out(COLUMNS, ROWS, None)
    assert "feature/a-very-long-branch-name-for-oauth" in lines[1]
    assert lines[0].split() == ["Branch", "Sessions", "Tokens", "Share", "Cost"]


def test_a_narrow_terminal_shortens_names_then_drops_the_least_needed_columns() -> None:
    at_50 = lay_out(COLUMNS, ROWS, 50)
    assert at_50[0].split() == ["Branch", "Tokens", "Share", "Cost"]  # Sessions (drop=2) goes first
    assert max(display_width(line) for line in at_50) <= 50
    at_40 = lay_out(COLUMNS, ROWS, 40)
    assert at_40[0].split() == ["Branch", "Tokens", "Cost"]
    assert at_40[1].split()[0].startswith("feature/") and at_40[1].split()[0].endswith("oauth")
    assert "…" in at_40[1] and "1,234,567" in at_40[1] and "$1.23†" in at_40[1]


def test_too_narrow_for_what_cannot_go_overflows_rather_than_cutting_numbers() -> None:
    lines = lay_out(COLUMNS, ROWS, 10)
    assert lines[0].split() == ["Branch", "Tokens", "Cost"]
    assert "1,234,567" in lines[1] and "$0.0012" in lines[2]


def test_display_width_counts_wide_characters_twice_and_colour_not_at_all() -> None:
    assert display_width("\x1b[1mabc\x1b[0m") == 3
    assert display_width("機能") == 4
    assert display_width("e\u0301") == 1


@given(
    st.text(
        st.sampled_from("ab \x1f·…†機\u0301\u200bé\U0001f600") | st.characters(blacklist_characters="\x1b"), max_size=30
    )
)
def test_display_width_is_the_sum_of_the_characters_widths(text: str) -> None:
    one = [display_width(ch) for ch in text]  # a lone character: measured the slow way (it is not ASCII) or 1
    assert display_width(text) == sum(one)
    assert all(width == 1 for ch, width in zip(text, one, strict=True) if ch.isascii())


def test_elide_keeps_both_ends() -> None:
    cut = elide("feature/payments-refactor", 12)
    assert display_width(cut) == 12 and cut.startswith("featur") and cut.endswith("actor") and "…" in cut
    assert elide("short", 12) == "short"
    assert display_width(elide("機能機能機能機能", 7)) <= 7


cells = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=50)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(cells, min_size=6, max_size=6), max_size=6),
    width=st.integers(min_value=0, max_value=200),
)
def test_fitting_never_loses_a_kept_number_and_fits_when_it_can(rows: list[list[str]], width: int) -> None:
    lines = lay_out(COLUMNS, rows, width)
    assert len(lines) == len(rows) + 1
    header = lines[0].split()
    # Tokens and Cost (never dropped, never shortened) are always there, whole.
    assert "Tokens" in header and "Cost" in header
    for line, row in zip(lines[1:], rows, strict=True):
        assert row[2].strip() in line and row[4].strip() in line
    # What can go: if the table still overflows, every droppable column is gone and names are at their least.
    if any(display_width(line) > width for line in lines):
        assert "Sessions" not in header and "Share" not in header


def test_prose_breaks_after_a_dot_separator_and_keeps_aligned_labels() -> None:
    text = "Sessions      10   average 33,186 tokens · largest 176,000 · smallest 1,000"
    lines = wrap(text, 60, indent=2, hang=6).splitlines()
    assert lines == ["  Sessions      10   average 33,186 tokens · largest 176,000 ·", "      smallest 1,000"]
    assert wrap(text, None) == "  " + text and wrap(text, 200) == "  " + text
    words = wrap("hint: " + "word " * 30, 40, indent=0, hang=6).splitlines()
    assert all(display_width(line) <= 40 for line in words) and words[1].startswith("      word")

"""The HTML dashboard in a real headless Chromium (Debian's ``chromium``, driven by the ``playwright`` package).

The page must render from the file alone: every request other than the file itself is refused and fails the
test. Skipped only when Chromium or playwright is missing outside CI; under CI (``CI`` set) that is a failure.
A screenshot goes to the test's tmp_path and to /tmp/dashboard.png for a human to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_render import HOSTILE, demo_report

from gitokens import fmt
from gitokens.report import render

CHROMIUM = Path("/usr/bin/chromium")
UNDER_CI = bool(os.environ.get("CI"))  # read at import: the hermetic fixture removes CI from each test's environment
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require(what: str) -> None:
    if UNDER_CI:
        pytest.fail(f"{what}: the dashboard must be tested in CI (.ci/run installs chromium and playwright)")
    pytest.skip(f"{what}: install Debian's chromium and `pip install playwright` to test the dashboard")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        _require(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require("the playwright package is not installed")
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield chromium
        chromium.close()


@dataclass
class Page:
    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def open_page(browser: Any, html: str, tmp_path: Path) -> Page:
    """Load ``html`` from a file with every other request refused and recorded, console errors collected."""
    path = tmp_path / "dashboard.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen = Page(page)
    page.on("console", lambda msg: seen.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
    page.on("requestfailed", lambda req: seen.requests.append(f"failed: {req.url}"))

    def route(r: Any) -> None:
        if r.request.url == path.as_uri():
            r.continue_()
        else:
            seen.requests.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri(), wait_until="load")
    return seen


@pytest.fixture(scope="module")
def dashboard(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    tmp = tmp_path_factory.mktemp("dashboard")
    seen = open_page(browser, render.render(demo_report(tmp), "html"), tmp)
    seen.page.screenshot(path=str(tmp / "dashboard.png"), full_page=True)
    shutil.copy(tmp / "dashboard.png", "/tmp/dashboard.png")
    yield seen
    seen.page.close()


def test_renders_with_title_and_cards(dashboard: Page) -> None:
    page = dashboard.page
    assert page.title() == "Token usage · demo-repo"
    cards = page.locator("#cards .card")
    assert cards.count() == 4
    assert page.locator("#card-tokens .value").inner_text() == "331,861"
    assert page.locator("#card-cost .value").inner_text() == "$1.25†+"


def test_no_console_errors_and_no_network(dashboard: Page) -> None:
    assert dashboard.errors == []
    assert dashboard.requests == [], "the dashboard must not fetch anything"


@pytest.mark.parametrize(("chart", "bars"), [("tokens", 10), ("cost", 9)], ids=["tokens", "cost"])
def test_charts_have_bars(dashboard: Page, chart: str, bars: int) -> None:
    svg = dashboard.page.locator(f"svg#chart-{chart}")
    assert svg.is_visible()
    assert svg.locator("rect.bar").count() == bars
    box = svg.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100


@pytest.mark.parametrize("table", ["branches", "models", "authors", "merges", "recent", "costs"])
def test_breakdowns_are_present(dashboard: Page, table: str) -> None:
    assert dashboard.page.locator(f"#{table} table tbody tr").count() >= 2


def test_the_network_trap_works(browser: Any, tmp_path: Path) -> None:
    seen = open_page(browser, '<!doctype html><title>t</title><img src="http://example.invalid/x.png">', tmp_path)
    assert "http://example.invalid/x.png" in seen.requests, "a fetch by the page is seen and refused"
    seen.page.close()


def test_hostile_text_stays_text(dashboard: Page) -> None:
    page = dashboard.page
    assert page.locator("script").count() == 0
    assert page.locator("a").count() == 0 and page.locator("img").count() == 0
    assert HOSTILE in page.locator("#recent").inner_text()


def test_empty_ledger_page(browser: Any, repo: Path, tmp_path: Path) -> None:
    from gitokens.git.repo import open_repo
    from gitokens.ledger import store
    from gitokens.report import pipeline

    opened = open_repo(repo)
    html = pipeline.run(opened, store.load(opened), fmt="html", tz_name="UTC")
    seen = open_page(browser, html, tmp_path)
    assert "No token records yet" in seen.page.locator("#empty").inner_text()
    assert seen.errors == [] and seen.requests == []
    seen.page.close()


def test_hours_heat_strip_and_sessions(dashboard: Page) -> None:
    page = dashboard.page
    assert page.locator("#hours .heat .cell").count() == 24
    # rec-02, rec-03 and rec-11 at 10:xx UTC, at the golden report's override prices (USD per million):
    cost = (
        (2000 * 3 + 4000 * 15 + 150_000 * 0.3 + 15_000 * 3.75 + 5000 * 6)
        + (8000 * 2.5 + 1200 * 10)
        + (3000 * 3 + 900 * 15)
    )
    title = f"10:00: {176_000 + 9200 + 3900:,} tokens · {fmt.usd(cost / 1e6)} · 3 session(s)"
    assert page.locator("#hours .heat .cell").nth(10).get_attribute("title") == title
    assert "Most tokens between 10:00 and 11:00" in page.locator("#hours").inner_text()
    rows = page.locator("#sessions table tbody tr")
    assert rows.count() == 10
    assert rows.first.locator("td").nth(2).inner_text() == "main, feature-y"


def test_breakdown_stacks_the_daily_charts_by_model(browser: Any, tmp_path: Path) -> None:
    from test_render import demo_repo, make

    report = make(demo_repo(tmp_path / "demo-repo"), breakdown=True)
    seen = open_page(browser, render.render(report, "html"), tmp_path)
    page = seen.page
    assert page.locator("#charts").count() == 0
    legend = page.locator("#model-charts figure").first.locator(".legend li")
    assert [legend.nth(i).inner_text() for i in range(legend.count())] == [
        "claude-sonnet-4-5",
        "gpt-4o",
        "acme-llm-9000",
    ]
    # Ten days with records; 2025-09-03 holds both a claude-sonnet-4-5 and a gpt-4o record: two parts.
    assert page.locator("svg#stacked-tokens rect.part").count() == 11
    assert page.locator("#trends tr.model").count() == 11
    assert seen.errors == [] and seen.requests == []
    seen.page.close()


# -- narrow screens: a phone at 420 px, a desktop at 1280 px, light and dark ---------------------------

SCREENS = [(420, "light"), (420, "dark"), (1280, "light"), (1280, "dark")]
LONG_TITLE = "Add OAuth2 integration with refresh tokens, PKCE and the device flow for the mobile clients"
# Branch -> (tokens, model) of its records; shares 60%, 26%, 13% and 1%.
BRANCHES = {
    "feature/oauth2-integration": (60_000, "claude-sonnet-4-5"),
    "search": (26_000, "gpt-4o"),
    "docs": (13_000, "claude-opus-4-1"),
    "fix-typo": (1_000, "gemini-2.5-pro"),
}


@pytest.fixture
def busy_html(repo: Path) -> str:
    """The dashboard of a repository with long names: a merge of four models' records with a long title,
    branches of unequal shares, and records over 20 days (the last one on 2025-09-20)."""
    from conftest import commit, git, run

    from gitokens.git.repo import open_repo
    from gitokens.ledger import store
    from gitokens.report import pipeline

    commit(repo, "initial")
    for n, (branch, (tokens, model)) in enumerate(BRANCHES.items()):
        git(repo, "switch", "-q", "-c", branch, "main")
        commit(repo, f"work on {branch}")
        for model_used in ("claude-sonnet-4-5", "gpt-4o", "claude-opus-4-1", model) if n == 0 else (model,):
            day = 20 - n * 6 if model_used == model else 1 + n
            run("add", str(tokens // (4 if n == 0 else 1)), "--model", model_used, "--at", f"2025-09-{day:02d}T10:00")
    git(repo, "switch", "-q", "main")
    oauth = next(iter(BRANCHES))
    git(repo, "merge", "-q", "--no-ff", oauth, "-m", f"Merge pull request #17 from acme/{oauth}\n\n{LONG_TITLE}")
    opened = open_repo(repo)
    now = datetime(2025, 9, 20, 18, tzinfo=UTC)
    return pipeline.run(opened, store.load(opened), fmt="html", tz_name="UTC", now=now)


def open_screen(browser: Any, html: str, tmp_path: Path, width: int, scheme: str) -> Any:
    """The page at ``width`` in ``scheme``, with a full-page screenshot in tmp_path to look at."""
    path = tmp_path / "dashboard.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page.goto(path.as_uri(), wait_until="load")
    page.screenshot(path=str(tmp_path / f"dashboard-{width}-{scheme}.png"), full_page=True)
    return page


@pytest.mark.parametrize(("width", "scheme"), SCREENS, ids=[f"{w}-{s}" for w, s in SCREENS])
def test_every_table_fits_its_card_and_shows_its_cost(
    browser: Any, busy_html: str, tmp_path: Path, width: int, scheme: str
) -> None:
    page = open_screen(browser, busy_html, tmp_path, width, scheme)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == ("rgb(13, 17, 23)" if scheme == "dark" else "rgb(246, 247, 249)")
    tables = page.evaluate("""() => [...document.querySelectorAll('.panel table')].map(t => {
        const card = t.closest('.panel'), c = card.getBoundingClientRect(), b = t.getBoundingClientRect();
        return [card.id, b.right <= c.right - 1, card.scrollWidth <= card.clientWidth]; })""")
    assert len(tables) >= 8 and [t for t in tables if not (t[1] and t[2])] == []
    for panel in ("branches", "models", "merges", "sessions", "recent", "costs", "authors", "trends"):
        [cost] = [h for h in page.locator(f"#{panel} thead th").all() if h.inner_text() == "Cost"]
        box = cost.bounding_box()
        assert cost.is_visible() and box is not None and box["x"] + box["width"] <= width, panel
    page.close()


@pytest.mark.parametrize("width", [420, 1280])
def test_a_merge_row_is_as_tall_as_its_text_and_breaks_no_word(
    browser: Any, busy_html: str, tmp_path: Path, width: int
) -> None:
    page = open_screen(browser, busy_html, tmp_path, width, "light")
    row = page.locator("#merges tbody tr").first
    title = row.locator("td.title")
    assert LONG_TITLE in title.inner_text()
    box, cell = row.bounding_box(), title.evaluate("td => td.getBoundingClientRect().height")
    assert box is not None and box["height"] <= cell + 1 and box["height"] < 200  # no blank space under the text
    # The title's column is wider than its longest word, so the browser breaks it between words only.
    longest = title.evaluate("""td => { const probe = document.createElement('span');
        probe.style.whiteSpace = 'nowrap'; td.appendChild(probe);
        const widths = td.firstChild.textContent.split(' ')
            .map(word => { probe.textContent = word; return probe.offsetWidth; });
        probe.remove(); return Math.max(...widths); }""")
    assert title.evaluate("td => td.clientWidth") > longest
    page.close()


@pytest.mark.parametrize("width", [420, 1280])
def test_share_bars_are_proportional_to_the_shares(browser: Any, busy_html: str, tmp_path: Path, width: int) -> None:
    page = open_screen(browser, busy_html, tmp_path, width, "light")
    visible = page.evaluate("""() => [...document.querySelectorAll('#branches tbody .fill')]
        .filter(fill => fill.closest('.fold, .opt').checkVisibility())
        .map(fill => fill.getBoundingClientRect().width)""")
    assert len(visible) == len(BRANCHES)  # one bar per branch: in the Share column, or under the name
    shares = [tokens for tokens, _ in BRANCHES.values()]
    assert visible == sorted(visible, reverse=True) and visible[0] >= 90
    assert visible[2] == pytest.approx(visible[0] * shares[2] / shares[0], abs=1.5)  # 13% is 13/60 of 60%
    page.close()


@pytest.mark.parametrize("width", [420, 1280])
def test_the_last_date_is_labelled_inside_the_chart(browser: Any, busy_html: str, tmp_path: Path, width: int) -> None:
    page = open_screen(browser, busy_html, tmp_path, width, "dark")
    for chart in ("tokens", "cost"):
        svg = page.locator(f"svg#chart-{chart}")
        labels = svg.locator("text.xlabel").all()
        assert labels[-1].text_content() == "Sep 20" and 3 <= len(labels) <= 7
        last, frame = labels[-1].bounding_box(), svg.bounding_box()
        assert last is not None and frame is not None and last["x"] + last["width"] <= frame["x"] + frame["width"]
        assert last["height"] >= 8  # readable, not shrunk with the chart
    page.close()

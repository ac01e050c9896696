"""``git tokens demo``: a throwaway repository with two months of a small team's history and token ledger.

Five people on three continents work on ``acme/portal``: feature branches become pull requests merged
the way GitHub merges them (a merge commit "Merge pull request #12 from acme/feature/oauth", one squash
merge "Add search (#17)" whose records are carried onto the squash commit, then the branches deleted),
two pull requests are still open, and a few commits land on ``main`` directly. Their agents and tools
leave records: Claude Code sessions with prompt-cache reads and writes, Codex sessions with reasoning
tokens, totals typed in by hand (``git tokens add 54161 "OAuth2 integration"``), the post-commit hook,
and a CI job that reviews each push. Everything is derived from ``seed`` and ``now``: two demos built
with the same pair are the same repository, commit for commit.

Commits are written as objects (no work-tree churn) and the ledger in one notes commit per day, so the
whole build takes a fraction of a second. At the end ``main`` is checked out and the work tree is clean.
"""

from __future__ import annotations

import math
import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from gitokens.errors import UsageError
from gitokens.git.build import Identity, checkout_branch, create_commit, exclude, init_repo, set_branch, tree_writer
from gitokens.git.repo import Repo
from gitokens.ledger import store as ledger_mod
from gitokens.ledger.record import Record, format_timestamp
from gitokens.share.carry import carry

DASHBOARD = "tokens-dashboard.html"
DAYS = 60
ORG = "acme"
GITHUB = ("GitHub", "noreply@github.com")
CI_AUTHOR = "ci-bot@acme.dev"


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    offset: int  # minutes east of UTC: where their working day is
    habits: tuple[tuple[str, float], ...]  # how they spend tokens: (kind, weight)


PEOPLE = {
    "maya": Person("Maya Chen", "maya.chen@acme.dev", -420, (("claude", 9), ("manual", 1))),
    "jonas": Person("Jonas Weber", "jonas.weber@acme.dev", 60, (("codex", 8), ("manual", 2))),
    "priya": Person("Priya Raman", "priya.raman@acme.dev", 330, (("manual", 6), ("claude", 4))),
    "sam": Person("Sam Okafor", "sam.okafor@acme.dev", -300, (("hook", 5), ("claude", 5))),
    "lucia": Person("Lucía Ortega", "lucia.ortega@acme.dev", 60, (("codex", 5), ("manual", 3), ("claude", 2))),
}


@dataclass(frozen=True)
class Pull:
    """A pull request: its branch's commits (messages, in order) on days ``start`` to ``end`` (None: open)."""

    number: int
    branch: str
    title: str
    author: str
    start: int
    end: int | None
    commits: tuple[str, ...]
    files: tuple[str, ...]
    squash: bool = False


# fmt: off
PULLS = (
    Pull(12, "feature/oauth", "Add OAuth2 login", "maya", 1, 10,
         ("Add OAuth2 provider settings", "Exchange the authorization code", "Refresh expired tokens",
          "Log in with Google and GitHub", "Review fixes"),
         ("src/portal/auth/oauth.py", "tests/test_oauth.py")),
    Pull(14, "fix/session-timeout", "Fix session timeout on idle tabs", "jonas", 6, 9,
         ("Reproduce the idle-tab logout", "Renew the session on visibility change", "Test the renewal"),
         ("src/portal/auth/session.py", "tests/test_session.py")),
    Pull(15, "feature/billing-export", "Export invoices as CSV", "priya", 10, 22,
         ("Invoice export endpoint", "Stream large exports", "Localise amounts and dates",
          "Export from the billing page", "Address review comments", "Fix rounding of VAT lines"),
         ("src/portal/billing/export.py", "tests/test_export.py")),
    Pull(17, "feature/search", "Add search", "sam", 15, 27,
         ("Index projects and tickets", "Search endpoint with ranking", "Search box in the header",
          "Highlight matches", "Debounce keystrokes"),
         ("src/portal/search/index.py", "src/portal/search/api.py", "tests/test_search.py"), squash=True),
    Pull(19, "refactor/api-client", "Split the API client into modules", "lucia", 22, 33,
         ("Move HTTP plumbing to client/base.py", "One module per resource", "Typed responses",
          "Retry with backoff", "Remove the old client"),
         ("src/portal/client/base.py", "src/portal/client/resources.py", "tests/test_client.py")),
    Pull(21, "feature/notifications", "Email and Slack notifications", "maya", 29, 44,
         ("Notification preferences model", "Send email through the queue", "Slack webhook delivery",
          "Digest mode", "Unsubscribe links", "Review fixes"),
         ("src/portal/notify/email.py", "src/portal/notify/slack.py", "tests/test_notify.py")),
    Pull(23, "chore/ci-cache", "Cache dependencies in CI", "jonas", 37, 40,
         ("Cache pip downloads", "Cache the node modules too"),
         (".github/workflows/cache.yml",)),
    Pull(26, "feature/usage-dashboard", "Usage dashboard for admins", "priya", 41, 54,
         ("Usage aggregation queries", "Dashboard page", "Charts per tenant", "CSV download",
          "Review fixes"),
         ("src/portal/admin/usage.py", "tests/test_usage.py")),
    Pull(28, "feature/rate-limits", "Per-tenant rate limits", "lucia", 46, 57,
         ("Token bucket limiter", "Limits per tenant plan", "429 responses with Retry-After",
          "Load test the limiter"),
         ("src/portal/limits.py", "tests/test_limits.py")),
    Pull(30, "feature/dark-mode", "Dark mode", "sam", 52, None,
         ("Theme tokens", "Dark palette", "Respect prefers-color-scheme", "Toggle in settings"),
         ("src/portal/ui/theme.py",)),
    Pull(31, "experiment/ticket-summaries", "Summarise support tickets", "jonas", 55, None,
         ("Prompt for ticket summaries", "Batch summaries overnight", "Compare models on 50 tickets"),
         ("src/portal/support/summaries.py",)),
)
# fmt: on
BY_BRANCH = {pull.branch: pull for pull in PULLS}
MAIN_COMMITS = (
    (3, "jonas", "Add CI workflow", ".github/workflows/ci.yml"),
    (5, "priya", "Describe the local setup in the README", "README.md"),
    (13, "lucia", "Bump dependencies", "pyproject.toml"),
    (18, "maya", "Fix flaky login test", "tests/test_app.py"),
    (24, "sam", "Release 0.3.0", "CHANGELOG.md"),
    (29, "jonas", "Escape HTML in invoice notes", "src/portal/app.py"),
    (35, "priya", "Document the deployment", "README.md"),
    (42, "maya", "Release 0.4.0", "CHANGELOG.md"),
    (47, "lucia", "Bump dependencies", "pyproject.toml"),
    (50, "sam", "Fix typo on the settings page", "src/portal/settings.py"),
    (53, "jonas", "Release 0.5.0", "CHANGELOG.md"),
    (58, "maya", "Tune the connection pool", "src/portal/settings.py"),
)
INITIAL_FILES = {
    "README.md": "# portal\n\nThe Acme customer portal.\n",
    "CHANGELOG.md": "# Changelog\n",
    "pyproject.toml": '[project]\nname = "acme-portal"\nversion = "0.2.0"\n',
    ".gitignore": "__pycache__/\n.venv/\n",
    "src/portal/__init__.py": '"""The Acme customer portal."""\n',
    "src/portal/app.py": '"""The web application."""\n',
    "src/portal/settings.py": '"""Settings read from the environment."""\n',
    "tests/test_app.py": '"""Smoke tests."""\n',
}
# Models by kind of session, with weights; some people prefer another mix.
MODELS = {
    "claude": (("claude-sonnet-4-5-20250929", 85), ("claude-opus-4-1-20250805", 15)),
    "codex": (("gpt-5", 75), ("o3", 25)),
    "manual": (("gpt-4o", 50), ("claude-opus-4-1-20250805", 30), ("claude-sonnet-4-5-20250929", 20)),
}
PREFERRED = {
    ("priya", "claude"): (("claude-opus-4-1-20250805", 70), ("claude-sonnet-4-5-20250929", 30)),
    ("lucia", "codex"): (("o3", 60), ("gpt-5", 40)),
}


@dataclass(frozen=True)
class Demo:
    """What was built: the repository, opened."""

    path: Path
    repo: Repo
    now: datetime  # where the history ends
    open_branches: tuple[str, ...]


def create(path: str | Path | None = None, *, seed: int = 2025, now: datetime | None = None) -> Demo:
    """Build the demo repository at ``path`` (default: a new temporary directory), history ending at ``now``."""
    target = _prepare(None if path is None else Path(path))
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    builder = _Builder(init_repo(target), random.Random(seed), moment)
    builder.build()
    return Demo(target, builder.repo, moment, tuple(p.branch for p in PULLS if p.end is None))


def _prepare(path: Path | None) -> Path:
    if path is None:
        return Path(tempfile.mkdtemp(prefix="gitokens-demo-")).resolve()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UsageError(
            f"{path} already exists and is not an empty directory",
            hint="give a new (or empty) directory, or leave PATH out for a temporary one",
        )
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


@dataclass
class _Branch:
    pull: Pull
    tip: str
    time: int  # of its latest commit (the fork point's before the first)
    files: dict[str, bytes]
    made: list[str] = field(default_factory=list)  # commit messages so far
    sources: list[str] = field(default_factory=list)  # squash-merged: its commits ...
    squashed_as: str = ""  # ... and the squash commit that landed them


class _Builder:
    """Replays the planned events in time order: commits as objects, records batched per day."""

    def __init__(self, repo: Repo, rng: random.Random, now: datetime) -> None:
        self.repo, self.rng = repo, rng
        self.first_day = (now - timedelta(days=DAYS - 1)).date()
        self.latest = int(now.timestamp()) - 600  # nothing in the future, not even this morning's stand-up
        self.main = ""
        self.main_files = {name: text.encode() for name, text in INITIAL_FILES.items()}
        self.branches: dict[str, _Branch] = {}
        self.notes: dict[date, dict[str, list[Record]]] = {}
        self.trees = tree_writer(repo)

    def build(self) -> None:
        start = self._at("maya", 0, 9 * 60 + 30)
        self.main = self._commit(self.main_files, [], "Initial commit", self._who("maya", start))
        for when, kind, subject in sorted(self._plan(), key=lambda event: event[:2]):
            if kind == "0main":
                self._main_commit(when, *subject)
            elif kind == "1branch":
                self._branch_commit(when, BY_BRANCH[subject])
            else:
                self._merge(when, BY_BRANCH[subject])
        for day in sorted(self.notes):
            ledger_mod.append(self.repo, self.notes[day], f"Notes added by 'git tokens demo' ({day.isoformat()})")
        for branch in [b for b in self.branches.values() if b.pull.squash]:
            carry(self.repo, ledger_mod.load(self.repo), branch.sources, branch.squashed_as)
        set_branch(self.repo, "main", self.main)
        for branch in self.branches.values():
            if branch.pull.end is None:  # merged branches are gone, as GitHub deletes them after a merge
                set_branch(self.repo, branch.pull.branch, branch.tip)
        checkout_branch(self.repo, "main")
        exclude(self.repo, DASHBOARD)

    # -- planning ------------------------------------------------------------------------------------

    def _plan(self) -> Iterator[tuple[int, str, Any]]:
        """(time, kind, what) of every commit after the first; the kinds sort main, branch, merge at a tie."""
        for day, who, message, path in MAIN_COMMITS:
            yield self._at(who, day, self._minute()), "0main", (who, message, path)
        for pull in PULLS:
            last_day = DAYS - 1 if pull.end is None else pull.end - 1
            days = sorted(self.rng.choice(self._workdays(pull.start, last_day)) for _ in pull.commits)
            if pull.end is None:
                days[-1] = last_day  # work in progress: pushed to today
            times = sorted(self._at(pull.author, day, self._minute()) for day in days)
            for when in times:
                yield when, "1branch", pull.branch
            if pull.end is not None:
                yield max(self._at(_merger(pull), pull.end, self._minute()), times[-1] + 1800), "2merge", pull.branch

    def _workdays(self, first: int, last: int) -> list[int]:
        days = [d for d in range(first, last + 1) if (self.first_day + timedelta(days=d)).weekday() < 5]
        return days or [last]

    def _minute(self) -> int:
        return self.rng.randint(9 * 60, 18 * 60 + 30)

    def _at(self, who: str, day: int, minute: int) -> int:
        """Seconds since the epoch of ``minute`` past local midnight on ``day`` where ``who`` works."""
        local = datetime.combine(self.first_day + timedelta(days=day), datetime.min.time(), UTC)
        when = int(local.timestamp()) + 60 * (minute - PEOPLE[who].offset)
        if when > self.latest:
            when = self.latest - 60 * self.rng.randint(5, 240)
        return when

    # -- commits -------------------------------------------------------------------------------------

    def _who(self, who: str, when: int) -> Identity:
        person = PEOPLE[who]
        return Identity(person.name, person.email, when, person.offset)

    def _commit(
        self, files: dict[str, bytes], parents: list[str], message: str, author: Identity, by: Identity | None = None
    ) -> str:
        return create_commit(self.repo, self.trees.write(files), parents, message + "\n", author, by)

    def _main_commit(self, when: int, who: str, message: str, path: str) -> None:
        previous = max(self.repo.commit_time(self.main) or when, when - 6 * 3600)  # small fixes: a morning's work
        self.main_files[path] = _edit(self.main_files.get(path, b""), path, message)
        self.main = self._commit(self.main_files, [self.main], message, self._who(who, when))
        if not message.startswith("Release"):
            self._sessions(who, self.main, "main", previous, when)

    def _branch_commit(self, when: int, pull: Pull) -> None:
        branch = self.branches.get(pull.branch)
        if branch is None:
            fork_time = self.repo.commit_time(self.main) or when
            branch = self.branches[pull.branch] = _Branch(pull, self.main, fork_time, dict(self.main_files))
        message = pull.commits[len(branch.made)]
        path = pull.files[len(branch.made) % len(pull.files)]
        branch.files[path] = _edit(branch.files.get(path, b""), path, message)
        commit = self._commit(branch.files, [branch.tip], message, self._who(pull.author, when))
        self._sessions(pull.author, commit, pull.branch, branch.time, when)
        if self.rng.random() < 0.6:  # the CI job reviews the push
            self._record(commit, when, self._ci(commit, pull.branch, when))
        branch.tip, branch.time = commit, when
        branch.made.append(message)

    def _merge(self, when: int, pull: Pull) -> None:
        branch = self.branches[pull.branch]
        for path in pull.files:
            self.main_files[path] = branch.files[path]
        github = Identity(*GITHUB, when, 0)
        if pull.squash:
            body = "\n".join(f"* {message}" for message in branch.made)
            message = f"{pull.title} (#{pull.number})\n\n{body}"
            merged = self._commit(self.main_files, [self.main], message, self._who(pull.author, when), github)
            branch.squashed_as, branch.sources = merged, self.repo.commits_between(self.main, branch.tip)
        else:
            message = f"Merge pull request #{pull.number} from {ORG}/{pull.branch}\n\n{pull.title}"
            merged = self._commit(
                self.main_files, [self.main, branch.tip], message, self._who(_merger(pull), when), github
            )
            self._record(merged, when, self._ci(merged, "main", when, endpoint="release-notes"))
        self.main = merged

    # -- records -------------------------------------------------------------------------------------

    def _record(self, commit: str, when: int, record: Record) -> None:
        """Queue ``record`` for the notes commit of the day ``commit`` was made (at ``when``)."""
        day = datetime.fromtimestamp(when, UTC).date()
        self.notes.setdefault(day, {}).setdefault(commit, []).append(record)

    def _sessions(self, who: str, commit: str, branch: str, since: int, until: int) -> None:
        """Sessions spent between the previous commit and this one, in working hours where possible."""
        hours = (until - since) / 3600
        count = 1 + min(3, int(hours // 20)) + self.rng.choice((0, 0, 1))
        person = PEOPLE[who]
        for _ in range(count):
            moment = self._session_time(person, since, until)
            kind = self.rng.choices([k for k, _ in person.habits], [w for _, w in person.habits])[0]
            self._record(commit, until, self._usage(kind, who, commit, branch, moment))

    def _session_time(self, person: Person, since: int, until: int) -> int:
        low, high = since + 60, until - 60
        if high <= low:
            return high
        for _ in range(12):
            when = self.rng.randint(low, high)
            local = datetime.fromtimestamp(when + 60 * person.offset, UTC)
            if 8 <= local.hour < 20 and local.weekday() < 5:
                return when
        return max(low, high - self.rng.randint(60, 1800))

    def _usage(self, kind: str, who: str, commit: str, branch: str, when: int) -> Record:
        rng = self.rng
        data: dict[str, Any] = {
            "ts": format_timestamp(datetime.fromtimestamp(when, UTC)),
            "commit": commit,
            "branch": branch,
            "author": PEOPLE[who].email,
        }
        if kind == "claude":
            data["model"] = self._model(who, kind)
            cache_read = _tokens(rng, 20_000, 150_000)
            data.update(
                id=f"claude:msg_01{_hex(rng, 88)}:req_011C{_hex(rng, 80)}",
                source="claude-code",
                provider="anthropic",
                endpoint="/v1/messages",
                session=_uuid(rng),
                input_tokens=_tokens(rng, 800, 12_000),
                output_tokens=_tokens(rng, 2_000, 30_000),
                cache_read_tokens=cache_read,
                cache_write_tokens=_tokens(rng, 3_000, min(40_000, 190_000 - cache_read)),
            )
        elif kind == "codex":
            model = self._model(who, kind)
            output = _tokens(rng, 1_500, 25_000)
            data.update(
                id=f"codex:{_uuid(rng)}:{rng.randint(3, 120)}",
                source="codex",
                provider="openai",
                endpoint="/v1/responses",
                model=model,
                session=_uuid(rng),
                input_tokens=_tokens(rng, 6_000, 90_000),
                cache_read_tokens=_tokens(rng, 10_000, 160_000) if rng.random() < 0.7 else 0,
                output_tokens=output,
                reasoning_tokens=int(output * rng.uniform(0.3, 0.8)),
            )
        elif kind == "hook":  # the post-commit hook asks for input, output and model
            data.update(
                id=_hex(rng, 128),
                source="hook",
                model="claude-sonnet-4-5-20250929",
                input_tokens=_tokens(rng, 5_000, 60_000),
                output_tokens=_tokens(rng, 1_000, 15_000),
            )
        else:  # typed in afterwards: only the total is known (git tokens add 54161 "OAuth2 integration")
            data.update(id=_hex(rng, 128), source="manual", model=self._model(who, kind))
            data.update(total_tokens=_tokens(rng, 8_000, 160_000), note=self._note(branch))
        return Record.from_dict(data)

    def _ci(self, commit: str, branch: str, when: int, endpoint: str = "pr-review") -> Record:
        rng = self.rng
        moment = min(when + rng.randint(90, 600), self.latest)
        return Record.from_dict(
            {
                "id": _hex(rng, 128),
                "ts": format_timestamp(datetime.fromtimestamp(moment, UTC)),
                "commit": commit,
                "branch": branch,
                "author": CI_AUTHOR,
                "source": "ci",
                "model": "gpt-4o",
                "provider": "openai",
                "endpoint": endpoint,
                "input_tokens": _tokens(rng, 4_000, 45_000),
                "output_tokens": _tokens(rng, 300, 2_500),
                "cache_read_tokens": _tokens(rng, 1_000, 8_000) if rng.random() < 0.4 else 0,
            }
        )

    def _model(self, who: str, kind: str) -> str:
        weighted = PREFERRED.get((who, kind), MODELS[kind])
        return self.rng.choices([name for name, _ in weighted], [w for _, w in weighted])[0]

    def _note(self, branch: str) -> str:
        pull = BY_BRANCH.get(branch)
        if pull is None:
            return self.rng.choice(("hotfix investigation", "dependency upgrade notes", "flaky test hunt"))
        return self.rng.choice((pull.title, *pull.commits))


def _merger(pull: Pull) -> str:
    """Who presses the merge button: Maya, the lead, except on her own pull requests."""
    return "jonas" if pull.author == "maya" else "maya"


def _edit(content: bytes, path: str, message: str) -> bytes:
    """The file after a commit that did ``message``: a line (or, in Python, a function) more."""
    text = content.decode()
    if path.endswith(".py"):
        name = "_".join("".join(c if c.isalnum() else " " for c in message.lower()).split())[:40]
        text += f"\n\ndef {name or 'change'}() -> None:\n    ...\n"
    elif path.endswith(".md"):
        text += f"\n- {message}\n"
    else:
        text += f"# {message}\n"
    return text.encode()


def _tokens(rng: random.Random, low: int, high: int) -> int:
    """Log-uniform between ``low`` and ``high``: most sessions are small, a few are large."""
    return int(math.exp(rng.uniform(math.log(low), math.log(max(high, low + 1)))))


def _hex(rng: random.Random, bits: int) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def _uuid(rng: random.Random) -> str:
    h = _hex(rng, 128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}"

"""The GitHub Action end to end: action.yml's steps run with bash against a checkout and a local bare remote.

The installed package is built once per session into a venv under a shared RUNNER_TEMP (offline, as
test_packaging builds its wheel); each test gets its own RUNNER_TEMP that links to it, so the Action's
install step finds it there and only prints its version, as on a second use in one job.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from actionharness import ACTION, ActionRun, run_action
from conftest import commit, git
from test_packaging import NOT_SOURCES, ROOT, SCRIPTS, clean_env, dependency_dirs, run, system_path

from gitokens.db.connection import connect
from gitokens.db.identity import normalise
from gitokens.db.url import parse
from gitokens.git.repo import open_repo
from gitokens.ledger import edits
from gitokens.report import cache as columncache

SUBJECT = "Search <img src=x onerror=alert(1)> for @admin [win](https://evil.example) | done"
BRANCH = "feature/search"


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """gitokens from a wheel of this tree, in a venv that borrows its dependencies from this interpreter."""
    work = tmp_path_factory.mktemp("action-venv")
    shutil.copytree(ROOT, work / "src", ignore=NOT_SOURCES)
    env = clean_env([SCRIPTS, *system_path()], PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q"]
    run([*pip, "-w", str(work / "dist"), str(work / "src")], work, env)
    [wheel] = (work / "dist").glob("gitokens-*.whl")
    path = work / "gitokens-venv"
    run([sys.executable, "-m", "venv", str(path)], work, env)
    run([str(path / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], work, env)
    purelib = run(
        [str(path / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], work, env
    )
    Path(purelib.stdout.strip(), "gitokens-test-deps.pth").write_text("\n".join(dependency_dirs()) + "\n")
    return path


@dataclass
class Project:
    root: Path
    origin: Path
    dev: Path
    workspace: Path
    runner: Path
    base: str
    feature: list[str]

    def act(self, event: str, payload: dict[str, Any], inputs: dict[str, str] | None = None, **env: str) -> ActionRun:
        return run_action(self.workspace, self.runner, event, payload, inputs or {}, **env)

    def remote_notes(self) -> dict[str, list[dict[str, Any]]]:
        listed = git(self.root, "--git-dir", str(self.origin), "notes", "--ref=tokens", "list", check=False)
        notes = {}
        for line in listed.splitlines():
            _, target = line.split()
            text = git(self.root, "--git-dir", str(self.origin), "notes", "--ref=tokens", "show", target)
            notes[target] = [json.loads(row) for row in text.splitlines() if row]
        return notes


def add_record(path: Path, tokens: int, **fields: Any) -> None:
    repo = open_repo(path)
    counts = {"input_tokens": tokens, "output_tokens": tokens // 4}
    edits.add(repo, edits.build(repo, counts=counts, model="gpt-4o", **fields))


@pytest.fixture
def project(tmp_path: Path, venv: Path) -> Project:
    """origin (bare) with main and a pull request #17 from feature/search: two commits, a record on each,
    the ledger pushed; and the workspace: a fresh clone, as actions/checkout leaves it (no notes)."""
    origin, dev = tmp_path / "origin.git", tmp_path / "dev"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(tmp_path, "clone", "-q", str(origin), str(dev))
    base = commit(dev, "initial", {"README.md": "hello\n"})
    add_record(dev, 1000, note="setup on main")
    git(dev, "push", "-q", "origin", "main")
    git(dev, "checkout", "-q", "-b", BRANCH)
    feature = [commit(dev, "search index", {"search.py": "index\n"})]
    add_record(dev, 12_000)
    feature.append(commit(dev, SUBJECT, {"search.py": "index\nquery\n"}))
    add_record(dev, 40_000, note="<script>alert(1)</script> @team")
    git(dev, "push", "-q", "origin", BRANCH, f"{BRANCH}:refs/pull/17/head", "refs/notes/tokens")
    workspace = tmp_path / "workspace"
    git(tmp_path, "clone", "-q", str(origin), str(workspace))
    runner = tmp_path / "runner"
    runner.mkdir()
    (runner / "gitokens-venv").symlink_to(venv)
    return Project(tmp_path, origin, dev, workspace, runner, base, feature)


def pr_payload(project: Project, *, fork: bool = False, **extra: Any) -> dict[str, Any]:
    head_repo = "someone/project" if fork else "octo/project"
    pr = {
        "number": 17,
        "merged": False,
        "head": {"sha": project.feature[-1], "ref": BRANCH, "repo": {"full_name": head_repo}},
        "base": {"sha": project.base, "ref": "main", "repo": {"full_name": "octo/project"}},
        **extra,
    }
    return {"action": "synchronize", "number": 17, "pull_request": pr}


def check_out_pr(project: Project) -> dict[str, str]:
    """What actions/checkout does for a pull_request event: the test merge of head into base, detached."""
    ws = project.workspace
    git(ws, "fetch", "-q", "origin", "refs/pull/17/head")
    git(ws, "checkout", "-q", "--detach", "origin/main")
    git(ws, "merge", "-q", "--no-ff", "-m", "Merge test", "FETCH_HEAD")
    sha = git(ws, "rev-parse", "HEAD").strip()
    return {"GITHUB_REF": "refs/pull/17/merge", "GITHUB_SHA": sha, "GITHUB_HEAD_REF": BRANCH, "GITHUB_BASE_REF": "main"}


def step(result: ActionRun, name: str) -> str:
    return next(s.stdout + s.stderr for s in result.steps if s.name == name)


# -- the YAML itself -------------------------------------------------------------------------------


def test_no_expression_inside_run_scripts() -> None:
    runs = [s["run"] for s in ACTION["runs"]["steps"] if "run" in s]
    assert runs, "action.yml has no run steps"
    for script in runs:
        assert "${{ inputs." not in script and "${{ github.event." not in script
        assert "${{" not in script, f"expressions belong in env:, not in run:\n{script}"


def test_inputs_reach_the_command_only_through_env() -> None:
    env = {k: v for s in ACTION["runs"]["steps"] for k, v in (s.get("env") or {}).items()}
    for name in ACTION["inputs"]:
        if name in ("python-version", "working-directory"):
            continue
        assert any(f"inputs.{name} }}" in str(v) for v in env.values()), f"input {name} is not passed through env"


# -- runs --------------------------------------------------------------------------------------------


def test_pull_request_report_and_outputs(project: Project) -> None:
    before = project.remote_notes()
    inputs = {"budget-usd": "5", "sections": "overall,models"}
    result = project.act("pull_request", pr_payload(project), inputs, **check_out_pr(project))
    assert not result.failed, result.stdout + result.stderr
    assert "### Models" in result.summary and "### Branches" not in result.summary
    assert "ledger fetched from origin: 3 record(s) received" in step(result, "Token report")
    assert result.outputs["total-tokens"] == str(int((1000 + 12_000 + 40_000) * 1.25))
    assert float(result.outputs["total-cost-usd"]) > 0 and result.outputs["over-budget"] == "false"
    assert Path(result.outputs["report-path"]).read_text().startswith("## Token usage in")
    assert Path(result.outputs["dashboard-path"]).read_text().startswith("<!doctype html>")
    assert "| ✅ within | budget given (USD) | `pull request #17 (feature/search)` |" in result.summary
    assert "### Overall" in result.summary
    assert "on feature/search" in result.summary  # the pull request's branch, not checkout's detached HEAD
    assert project.remote_notes() == before  # push defaults to false


def test_over_budget_fails_last_and_says_why(project: Project) -> None:
    (project.workspace / ".gitokens.yml").write_text("budgets:\n  month:\n    tokens: 1_000_000\n")
    result = project.act("pull_request", pr_payload(project), {"budget-tokens": "20,000"}, **check_out_pr(project))
    assert result.failed and [s.name for s in result.steps if "cache" not in s.name][-1] == "Token report"
    assert result.outputs["over-budget"] == "true" and Path(result.outputs["report-path"]).exists()
    out = step(result, "Token report")
    assert "::error title=Token budget exceeded::over budget: pull request #17 (feature/search) (budget given): " in out
    assert "65,000 of 20,000 tokens (over by 45,000, 225%)" in out
    assert "within budget: month " in out  # the month budget of .gitokens.yml holds
    summary = result.summary
    assert "**Over budget: `pull request #17 (feature/search)`**" in summary
    costliest = summary.split("Costliest commits:")[1]
    assert costliest.index(project.feature[1][:10]) < costliest.index(project.feature[0][:10])
    assert "| gpt-4o | 65,000 |" in summary


def test_hostile_ledger_text_stays_inert_in_the_summary(project: Project) -> None:
    result = project.act("pull_request", pr_payload(project), {"budget-tokens": "1"}, **check_out_pr(project))
    summary = result.summary
    for raw in ("<img", "<script", "@admin", "@team", "](https://evil", "| done"):
        assert raw not in summary, raw
    assert (
        "Search &lt;img src=x onerror=alert\\(1\\)&gt; for @\u200dadmin \\[win\\]\\(https:\u200d//evil.examp" in summary
    )


def test_push_after_squash_merge_carries_and_pushes(project: Project) -> None:
    dev = project.dev
    git(dev, "checkout", "-q", "main")
    before = git(dev, "rev-parse", "HEAD").strip()
    git(dev, "merge", "-q", "--squash", BRANCH)
    git(dev, "commit", "-q", "-m", "Add search (#17)")
    squash = git(dev, "rev-parse", "HEAD").strip()
    git(dev, "push", "-q", "origin", "main", f":{BRANCH}")  # merged, and the branch deleted
    git(project.workspace, "pull", "-q", "origin", "main")
    payload = {"ref": "refs/heads/main", "before": before, "after": squash}
    env = {"GITHUB_REF": "refs/heads/main", "GITHUB_SHA": squash}
    result = project.act("push", payload, {"push": "true", "budget-usd": "10"}, **env)
    assert not result.failed, result.stdout + result.stderr
    assert "carry: #17 was squash-merged as" in step(result, "Token report")
    carried = project.remote_notes()[squash]
    assert sorted(r["input_tokens"] for r in carried) == [12_000, 40_000]
    assert {r["commit"] for r in carried} == set(project.feature)
    assert f"Carried 2 record(s) of #17 (squash-merged as {squash[:10]}) onto `{squash[:10]}`." in result.summary
    assert "push to main" in result.summary  # the landed pull request is the pushed commits' budget scope
    again = project.act("push", payload, {"push": "true"}, **env)
    assert "2 record(s) carried" not in step(again, "Token report") and "0 record(s) carried" in step(
        again, "Token report"
    )


def test_merged_pull_request_event_carries_a_rebase_merge(project: Project) -> None:
    dev = project.dev
    git(dev, "checkout", "-q", "main")
    commit(dev, "unrelated work", {"other.txt": "x\n"})
    git(dev, "checkout", "-q", "-b", "rebased", BRANCH)
    git(dev, "rebase", "-q", "main")
    landed = git(dev, "rev-parse", "HEAD").strip()
    git(dev, "checkout", "-q", "main")
    git(dev, "reset", "-q", "--hard", landed)
    git(dev, "push", "-q", "origin", "main")
    git(project.workspace, "pull", "-q", "--ff-only", "origin", "main")
    payload = pr_payload(project, merged=True, merge_commit_sha=landed)
    payload["action"] = "closed"
    result = project.act("pull_request", payload, {"push": "true"}, GITHUB_REF="refs/pull/17/merge", GITHUB_SHA=landed)
    assert not result.failed, result.stdout + result.stderr
    assert f"rebase-merged (2 commit(s) up to {landed[:10]}): 2 record(s) carried" in step(result, "Token report")
    notes = project.remote_notes()
    copies = [
        c for c in notes if c not in project.feature and any(r.get("commit") in project.feature for r in notes[c])
    ]
    assert len(copies) == 2 and landed in copies


def test_fork_pull_request_never_pushes(project: Project) -> None:
    hook = project.origin / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ntouch {project.root / 'push-attempted'}\nexit 1\n")
    hook.chmod(0o755)
    result = project.act("pull_request", pr_payload(project, fork=True), {"push": "true"}, **check_out_pr(project))
    assert not result.failed, result.stdout + result.stderr
    assert "a pull request from a fork gets a read-only token" in step(result, "Token report")
    assert not (project.root / "push-attempted").exists()


def test_shallow_checkout_is_refused_with_a_hint(project: Project) -> None:
    shallow = project.root / "shallow"
    git(project.root, "clone", "-q", "--depth", "1", f"file://{project.origin}", str(shallow))
    result = run_action(shallow, project.runner, "push", {}, {}, GITHUB_REF="refs/heads/main")
    assert result.failed
    assert "error: this clone is shallow" in result.stderr and "fetch-depth: 0" in result.stderr


RECORD_SHAPES = {
    "openai-chat": (
        {
            "model": "gpt-4o",
            "usage": {"prompt_tokens": 1500, "completion_tokens": 300, "prompt_tokens_details": {"cached_tokens": 500}},
        },
        {"input_tokens": 1000, "output_tokens": 300, "cache_read_tokens": 500, "model": "gpt-4o"},
    ),
    "openai-responses": (
        {
            "object": "response",
            "model": "gpt-4o-mini",
            "usage": {"input_tokens": 900, "output_tokens": 90, "output_tokens_details": {"reasoning_tokens": 40}},
        },
        {"input_tokens": 900, "output_tokens": 90, "reasoning_tokens": 40, "model": "gpt-4o-mini"},
    ),
    "anthropic": (
        {
            "type": "message",
            "model": "claude-sonnet-4-5",
            "usage": {
                "input_tokens": 20,
                "output_tokens": 700,
                "cache_read_input_tokens": 9000,
                "cache_creation_input_tokens": 300,
            },
        },
        {"input_tokens": 20, "output_tokens": 700, "cache_read_tokens": 9000, "cache_write_tokens": 300},
    ),
    "bare-usage-list": (
        [
            {"prompt_tokens": 10, "completion_tokens": 5},
            {"input_tokens": 7, "output_tokens": 3, "cache_read_input_tokens": 1},
        ],
        {"input_tokens": 10, "output_tokens": 5},
    ),
    "record": (
        {
            "v": 1,
            "id": "review-bot-1",
            "ts": "2025-09-29T14:03:00Z",
            "input_tokens": 4000,
            "output_tokens": 800,
            "model": "gpt-4o",
            "note": "review",
        },
        {"id": "review-bot-1", "ts": "2025-09-29T14:03:00Z", "input_tokens": 4000, "note": "review"},
    ),
}


@pytest.mark.parametrize("shape", list(RECORD_SHAPES), ids=list(RECORD_SHAPES))
def test_record_file_in_each_shape(project: Project, shape: str) -> None:
    content, expected = RECORD_SHAPES[shape]
    (project.workspace / "usage.json").write_text(json.dumps(content))
    env = check_out_pr(project)
    result = project.act("pull_request", pr_payload(project), {"record": "usage.json"}, **env)
    assert not result.failed, result.stdout + result.stderr
    on_head = git(project.workspace, "notes", "--ref=tokens", "show", project.feature[-1]).splitlines()
    mine = [json.loads(line) for line in on_head if json.loads(line)["source"] == "ci"]
    assert len(mine) == (len(content) if isinstance(content, list) else 1)
    first = min(mine, key=lambda r: r.get("input_tokens", 0) != expected["input_tokens"])
    assert {k: first.get(k) for k in expected} == expected
    assert first["branch"] == BRANCH and first["commit"] == project.feature[-1]
    again = project.act("pull_request", pr_payload(project), {"record": "usage.json"}, **env)
    assert f"record: 0 of {len(mine)} usage record(s) written" in step(again, "Token report")  # a re-run adds nothing


def test_record_file_that_is_not_usage_fails_clearly(project: Project) -> None:
    (project.workspace / "usage.json").write_text(json.dumps({"tokens": "lots"}))
    result = project.act("pull_request", pr_payload(project), {"record": "usage.json"}, **check_out_pr(project))
    assert result.failed
    assert re.search(r"error: record: usage.json item 1: usage: no token counts found", result.stderr)


# -- the sticky comment, against a local stand-in for GitHub's REST API -----------------------------------


@pytest.fixture
def api() -> Iterator[tuple[str, list[tuple[str, str, dict[str, Any] | None, str]]]]:
    calls: list[tuple[str, str, dict[str, Any] | None, str]] = []
    comments: list[dict[str, Any]] = [{"id": 1, "body": "looks good"}]

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, code: int, data: Any) -> None:
            body = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> dict[str, Any]:
            return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

        def do_GET(self) -> None:
            calls.append(("GET", self.path, None, self.headers["Authorization"]))
            self._answer(200, comments if "page=1" in self.path else [])

        def do_POST(self) -> None:
            body = self._body()
            calls.append(("POST", self.path, body, self.headers["Authorization"]))
            comments.append({"id": 2, "body": body["body"]})
            self._answer(201, comments[-1])

        def do_PATCH(self) -> None:
            body = self._body()
            calls.append(("PATCH", self.path, body, self.headers["Authorization"]))
            self._answer(200, {"id": 2, **body})

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", calls
    server.shutdown()
    server.server_close()


def test_comment_is_posted_once_then_edited(project: Project, api: tuple[str, list[Any]]) -> None:
    url, calls = api
    env = {**check_out_pr(project), "GITHUB_API_URL": url, "no_proxy": "127.0.0.1"}
    inputs = {"comment": "true", "budget-tokens": "1", "fail-on-budget": "false"}
    first = project.act("pull_request", pr_payload(project), inputs, **env)
    assert not first.failed, first.stdout + first.stderr
    assert "::warning title=Token budget exceeded::over budget: pull request #17" in step(first, "Token report")
    second = project.act("pull_request", pr_payload(project), inputs, **env)
    assert "comment updated on #17" in step(second, "Token report")
    assert [(method, path.split("?")[0]) for method, path, _, _ in calls] == [
        ("GET", "/repos/octo/project/issues/17/comments"),
        ("POST", "/repos/octo/project/issues/17/comments"),
        ("GET", "/repos/octo/project/issues/17/comments"),
        ("PATCH", "/repos/octo/project/issues/comments/2"),
    ]
    body = calls[1][2]["body"]
    assert body.startswith("<!-- gitokens:token-report -->") and "65,000 tokens" in body
    assert "**Over budget: `pull request #17 (feature/search)`**" in body and "<img" not in body
    assert {auth for _, _, _, auth in calls} == {"Bearer test-token"}


def test_comment_refused_is_a_warning_not_a_failure(project: Project) -> None:
    env = {**check_out_pr(project), "GITHUB_API_URL": "http://127.0.0.1:9", "no_proxy": "127.0.0.1"}
    result = project.act("pull_request", pr_payload(project), {"comment": "true"}, **env)
    assert not result.failed
    assert "::warning title=gitokens::the pull request comment was not posted" in step(result, "Token report")


def test_install_step_uses_the_venv_under_runner_temp(project: Project) -> None:
    result = project.act("push", {}, {"format": "none"}, GITHUB_REF="refs/heads/main")
    assert re.match(r"git-tokens, version \S+", step(result, "Install gitokens"))
    assert not result.failed and "### Overall" not in result.summary


def test_harness_runs_setup_python_only_when_asked(project: Project) -> None:
    with pytest.raises(AssertionError, match="cannot run `uses: actions/setup-python"):
        project.act("push", {}, {"python-version": "3.12"}, GITHUB_REF="refs/heads/main")


def test_git_tokens_check_outside_actions(project: Project) -> None:
    done = subprocess.run(
        [str(project.runner / "gitokens-venv" / "bin" / "git-tokens"), "check", "--budget-tokens", "50000"],
        cwd=project.dev,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert (
        done.stdout
        == "over budget: branch feature/search (budget given): 65,000 of 50,000 tokens (over by 15,000, 30%)\n"
    )


def test_a_remote_without_a_ledger_is_an_empty_one(project: Project) -> None:
    git(project.root, "--git-dir", str(project.origin), "update-ref", "-d", "refs/notes/tokens")
    result = project.act("push", {}, {"budget-tokens": "10"}, GITHUB_REF="refs/heads/main")
    assert not result.failed, result.stdout + result.stderr
    assert "ledger fetched from origin: 0 record(s) received" in step(result, "Token report")
    assert "No token records yet." in result.summary and result.outputs["total-tokens"] == "0"


def test_this_repositorys_workflow_tests_and_uses_the_action() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["tokens"]["steps"]
    uses = [s.get("uses") for s in steps]
    assert uses.index("./") > uses.index("actions/checkout@v4")
    assert steps[uses.index("actions/checkout@v4")]["with"]["fetch-depth"] == 0
    ci_run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash .ci/run" in workflow["jobs"]["test"]["steps"][-1]["run"]
    assert "pip install -q '.[test]' && pytest" in ci_run


def test_a_refused_push_fails_the_step_after_the_summary(project: Project) -> None:
    hook = project.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'permission denied' >&2\nexit 1\n")
    hook.chmod(0o755)
    (project.workspace / "usage.json").write_text(json.dumps({"input_tokens": 5, "output_tokens": 1}))
    inputs = {"push": "true", "record": "usage.json"}
    result = project.act("pull_request", pr_payload(project), inputs, **check_out_pr(project))
    assert result.failed and result.outputs["over-budget"] == "false"
    out = step(result, "Token report")
    assert "::error title=gitokens::the ledger was not pushed: 'origin' rejected the ledger push 6 times" in out
    assert "permissions: contents: write" in out and "### Overall" in result.summary


# -- publishing to the organisation's database -----------------------------------------------------------


def _published(url: str) -> list[tuple[str, int]]:
    with connect(parse(url), write=False) as db:
        return [(name, int(n)) for name, n in db.query("SELECT name, records FROM repositories")]


def test_a_push_to_the_default_branch_publishes_and_a_pull_request_does_not(project: Project) -> None:
    url = f"sqlite:///{project.root / 'org.db'}"
    inputs = {"database-url": url}
    pr = project.act("pull_request", pr_payload(project), inputs, **check_out_pr(project))
    assert not pr.failed, pr.stdout + pr.stderr
    assert "Publish to the database" not in [s.name for s in pr.steps]
    assert not (project.root / "org.db").exists()

    git(project.workspace, "checkout", "-q", "main")
    head = git(project.workspace, "rev-parse", "HEAD").strip()
    other = {"ref": "refs/heads/feature/search", "after": head, "repository": {"default_branch": "main"}}
    elsewhere = project.act("push", other, inputs, GITHUB_REF="refs/heads/feature/search", GITHUB_SHA=head)
    assert "Publish to the database" not in [s.name for s in elsewhere.steps]
    assert not (project.root / "org.db").exists()

    payload = {"ref": "refs/heads/main", "after": head, "repository": {"default_branch": "main"}}
    push = project.act("push", payload, inputs, GITHUB_REF="refs/heads/main", GITHUB_SHA=head)
    assert not push.failed, push.stdout + push.stderr
    origin = git(project.workspace, "remote", "get-url", "origin").strip()
    name = normalise(origin)
    assert f"{name}: published to sqlite:///" in step(push, "Publish to the database")
    assert _published(url) == [(name, 3)]  # the ledger as `git tokens ci` fetched it: all three records


def test_the_publish_step_runs_only_with_a_database_url(project: Project) -> None:
    git(project.workspace, "checkout", "-q", "main")
    head = git(project.workspace, "rev-parse", "HEAD").strip()
    payload = {"ref": "refs/heads/main", "after": head, "repository": {"default_branch": "main"}}
    push = project.act("push", payload, {}, GITHUB_REF="refs/heads/main", GITHUB_SHA=head)
    assert not push.failed, push.stdout + push.stderr
    assert [s.name for s in push.steps if "cache" not in s.name][-1] == "Token report"


def test_a_push_over_budget_fails_and_still_publishes(project: Project) -> None:
    url = f"sqlite:///{project.root / 'org.db'}"
    git(project.workspace, "checkout", "-q", "main")
    head = git(project.workspace, "rev-parse", "HEAD").strip()
    payload = {"ref": "refs/heads/main", "after": head, "repository": {"default_branch": "main"}}
    inputs = {"database-url": url, "budget-tokens": "1"}
    push = project.act("push", payload, inputs, GITHUB_REF="refs/heads/main", GITHUB_SHA=head)
    assert [(s.name, s.returncode != 0) for s in push.steps if "cache" not in s.name][-2:] == [
        ("Token report", True),
        ("Publish to the database", False),
    ]
    assert [n for _, n in _published(url)] == [3]


def test_a_fresh_clone_carries_the_cache_of_an_earlier_run_forward(project: Project, tmp_path: Path) -> None:
    def push_run(workspace: Path, inputs: dict[str, str]) -> ActionRun:
        head = git(workspace, "rev-parse", "HEAD").strip()
        payload = {"ref": "refs/heads/main", "after": head, "repository": {"default_branch": "main"}}
        done = run_action(
            workspace, project.runner, "push", payload, inputs, GITHUB_REF="refs/heads/main", GITHUB_SHA=head
        )
        assert not done.failed, done.stdout + done.stderr
        return done

    git(project.workspace, "checkout", "-q", "main")
    first = push_run(project.workspace, {})
    earlier_tip = open_repo(project.workspace).notes_tip()
    git(project.dev, "checkout", "-q", "main")
    commit(project.dev, "later work", {"later.py": "x\n"})
    add_record(project.dev, 5_000, note="after the first run")
    git(project.dev, "push", "-q", "origin", "main", "refs/notes/tokens")

    fresh, uncached = tmp_path / "fresh" / "project", tmp_path / "uncached" / "project"
    for clone in (fresh, uncached):
        git(tmp_path, "clone", "-q", str(project.origin), str(clone))
    second = push_run(fresh, {})
    restored = json.loads(step(second, "Restore the gitokens cache"))
    assert "Save the gitokens cache" in [s.name for s in first.steps]
    assert restored["cache-matched-key"] == f"gitokens-Linux-{earlier_tip}"
    assert columncache._read(open_repo(fresh)).tip == earlier_tip  # carried forward, not rebuilt
    without = push_run(uncached, {"cache": "false"})
    assert "Restore the gitokens cache" not in [s.name for s in without.steps]
    assert (
        second.outputs == without.outputs
        and int(second.outputs["total-tokens"]) == int(first.outputs["total-tokens"]) + 6_250
    )
    assert undated(second.summary) == undated(without.summary)


def undated(summary: str) -> list[str]:
    """The last run's part of a runner's summary, without its header line, which says when it was made."""
    last = summary[summary.rindex("## Token usage") :]
    return [line for line in last.splitlines() if "default branch" not in line]

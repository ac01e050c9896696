"""A repository's name in the database: every clone of one repository publishes under one name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import commit, git
from pgserver import pg_server  # noqa: F401  (the session's server fixture)
from test_publish import NOW, _records_per_repository, db_url, tokens  # noqa: F401  (db_url: a fixture)

from gitokens.db.identity import normalise
from gitokens.db.publish import publish
from gitokens.git.repo import open_repo


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://github.com/Acme/Web.git", "github.com/acme/web"),
        ("git@GitHub.com:ACME/web.GIT", "github.com/acme/web"),
        ("ssh://git@ssh.github.com:443/Acme/Web.git", "github.com/acme/web"),
        ("https://x-access-token:ghs_secret@github.com/Acme/Web", "github.com/acme/web"),
        ("https://gitlab.com/Group/Sub/Project.git", "gitlab.com/group/sub/project"),
        ("git@altssh.gitlab.com:Group/Project.git", "gitlab.com/group/project"),
        ("https://Someone@bitbucket.org/Team/Repo.git", "bitbucket.org/team/repo"),
        ("https://Git.Example.com/Team/Repo.git", "git.example.com/Team/Repo"),
        ("git@git.example.com:Team/Repo.git", "git.example.com/Team/Repo"),
        ("/srv/git/Repo.git", "srv/git/Repo"),
    ],
)
def test_names_are_compared_as_the_host_compares_them(url: str, name: str) -> None:
    assert normalise(url) == name


def test_two_clones_differing_in_case_publish_as_one_repository(tmp_path: Path, db_url: str) -> None:  # noqa: F811
    first = tmp_path / "first"
    git(tmp_path, "init", "-q", str(first))
    git(first, "remote", "add", "origin", "https://github.com/Acme/Web.git")
    commit(first, "work")
    tokens(first, "add", "100", "--model", "gpt-4o")
    second = tmp_path / "second"
    shutil.copytree(first, second)  # the same repository, its ledger included, with origin spelled otherwise
    git(second, "remote", "set-url", "origin", "git@github.com:acme/web.git")
    assert publish(open_repo(first), db_url, now=NOW).sent == 1
    again = publish(open_repo(second), db_url, now=NOW)
    assert (again.repository, again.sent, again.removed) == ("github.com/acme/web", 0, 0)
    assert _records_per_repository(db_url) == [("github.com/acme/web", 1)]


def test_a_configured_name_is_kept_as_given(tmp_path: Path, db_url: str) -> None:  # noqa: F811
    path = tmp_path / "named"
    git(tmp_path, "init", "-q", str(path))
    git(path, "remote", "add", "origin", "https://github.com/Acme/Web.git")
    (path / ".gitokens.yml").write_text("database:\n  repository: Acme/Web\n")
    commit(path, "configured")
    tokens(path, "add", "100", "--model", "gpt-4o")
    assert publish(open_repo(path), db_url, now=NOW).repository == "Acme/Web"
    assert _records_per_repository(db_url) == [("Acme/Web", 1)]

"""A repository's name in the database: ``database.repository`` from ``.gitokens.yml``, else its ``origin``
URL normalised, so that every clone and every CI job of one repository publishes under one name.

The https, ssh and scp-like forms of one remote give the same name (``github.com/owner/repo``): scheme,
user, password or token, port and the ``.git`` suffix are dropped and the host is lowercased. Nothing
that authenticates survives into the name.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from gitokens.config import Config
from gitokens.errors import UsageError
from gitokens.git.repo import Repo

_SCP = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")  # git@github.com:owner/repo.git
_HINT = "set database.repository in .gitokens.yml, or add an origin remote (git remote add origin URL)"


def repository_name(repo: Repo, config: Config) -> str:
    """The configured name, else the normalised ``origin`` URL."""
    if config.database.repository:
        return config.database.repository
    url = repo.config_get("remote.origin.url")
    if not url:
        raise UsageError("this repository has no name to publish under: no origin remote", hint=_HINT)
    return normalise(url)


def normalise(url: str) -> str:
    """``host/path`` of a remote URL; a local path stays a path (``/srv/git/repo``)."""
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme == "file" or not parts.hostname:
            return _path(parts.path) or url
        host = parts.hostname.lower()
        path = parts.path
    elif match := _SCP.match(url):
        host, path = match["host"].lower(), match["path"]
    else:
        return _path(url) or url
    path = _path(path)
    if not path:
        raise UsageError(f"cannot name the repository from its origin URL (no path): {host}", hint=_HINT)
    return f"{host}/{path}"


def _path(path: str) -> str:
    path = path.strip().strip("/")
    path = path.removesuffix(".git").rstrip("/")
    return path

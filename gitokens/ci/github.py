"""The one sticky pull-request comment, through GitHub's REST API (``$GITHUB_API_URL``, a token with
``pull-requests: write``).

The comment is found again by a marker line (an HTML comment, invisible once rendered): the first run
posts it, later runs edit it, so a pull request carries one up-to-date token report, not one per push.
The token goes only to the API's origin: a redirect elsewhere is followed without it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from http.client import HTTPMessage
from typing import IO, Any

from gitokens.errors import GitTokensError

MARKER = "<!-- gitokens:token-report -->"
COMMENT_LIMIT = 65_536  # characters GitHub accepts in one comment
_PAGES = 20  # 2,000 comments looked through for ours


class CommentFailed(GitTokensError):
    """The comment could not be read, posted or edited."""


def upsert_comment(api_url: str, repository: str, number: int, token: str, body: str) -> str:
    """Post ``body`` on pull request ``number`` or edit the comment that has the marker; "posted" or "updated"."""
    base = f"{api_url.rstrip('/')}/repos/{repository}"
    text = body if MARKER in body else f"{MARKER}\n{body}"
    for page in range(1, _PAGES + 1):
        comments = _call("GET", f"{base}/issues/{number}/comments?per_page=100&page={page}", token)
        if not isinstance(comments, list):
            raise CommentFailed(f"unexpected answer listing the comments of #{number}")
        for comment in comments:
            if isinstance(comment, dict) and MARKER in str(comment.get("body") or ""):
                _call("PATCH", f"{base}/issues/comments/{comment['id']}", token, {"body": text})
                return "updated"
        if len(comments) < 100:
            break
    _call("POST", f"{base}/issues/{number}/comments", token, {"body": text})
    return "posted"


class _KeepTokenHome(urllib.request.HTTPRedirectHandler):
    """Follows redirects as urllib does, dropping ``Authorization`` once one leaves the first request's
    origin (scheme, host and port), as requests and httpx do."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage, newurl: str
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(new.full_url) != _origin(req.full_url):
            new.remove_header("Authorization")
        return new


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


def _call(method: str, url: str, token: str, payload: dict[str, Any] | None = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/vnd.github+json")
    request.add_header("X-GitHub-Api-Version", "2022-11-28")
    request.add_header("User-Agent", "gitokens")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.build_opener(_KeepTokenHome).open(request, timeout=30) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        hint = "give the workflow `permissions: pull-requests: write` (a fork's pull request gets a read-only token)"
        raise CommentFailed(f"{method} {url}: HTTP {exc.code} {exc.reason}", hint=hint) from None
    except (urllib.error.URLError, OSError) as exc:
        raise CommentFailed(f"{method} {url}: {exc}", hint="check GITHUB_API_URL") from None
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise CommentFailed(f"{method} {url}: the answer is not JSON") from None

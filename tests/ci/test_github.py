"""The sticky comment's API calls, against real HTTP servers on 127.0.0.1: the token stays with the API's origin."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gitokens.ci import github


class Server:
    """A server that answers GET with ``[]`` (or a redirect), records every request's method, path and token."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []
        self.redirect_to: str | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def answer(self) -> None:
                outer.seen.append((self.command, self.path, self.headers.get("Authorization")))
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.command == "GET" and outer.redirect_to is not None and not self.path.startswith("/moved"):
                    self.send_response(302)
                    self.send_header("Location", outer.redirect_to + "/moved" + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps([] if self.command == "GET" else {"id": 1}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = answer

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server]]:
    pair = (Server(), Server())
    yield pair
    for server in pair:
        server.http.shutdown()
        server.http.server_close()


@pytest.mark.parametrize(
    ("target", "kept"),
    [("elsewhere", False), ("api", True), ("api-as-localhost", False)],
    ids=["other-port", "same-origin", "other-host-name"],
)
def test_the_token_does_not_follow_a_redirect_to_another_origin(
    servers: tuple[Server, Server], target: str, kept: bool
) -> None:
    api, elsewhere = servers
    api.redirect_to = {
        "elsewhere": elsewhere.url,
        "api": api.url,
        "api-as-localhost": api.url.replace("127.0.0.1", "localhost"),
    }[target]
    assert github.upsert_comment(api.url, "o/r", 7, "secret", "report") == "posted"
    first, *_, last = api.seen
    assert first == ("GET", "/repos/o/r/issues/7/comments?per_page=100&page=1", "Bearer secret")
    assert last == ("POST", "/repos/o/r/issues/7/comments", "Bearer secret")
    followed = [seen for seen in api.seen + elsewhere.seen if seen[1].startswith("/moved/")]
    assert followed == [("GET", "/moved" + first[1], "Bearer secret" if kept else None)]

"""pygit2, as the git layer imports it: without libgit2 reading the system's certificate bundle.

Importing pygit2 points libgit2 at the CA certificates Python's ``ssl`` would use, and libgit2 parses the
whole bundle file there and then (~150 certificates: ~10 ms of every command that opens a repository).
gitokens never uses libgit2's network (fetches and pushes run the git CLI), so the bundle file is hidden
from that lookup while pygit2 is imported, when the certificate folder is there to stand in for it (OpenSSL
reads a folder's certificates one by one, only when a connection asks): pygit2 still gets a location, as
its import requires. ``SSL_CERT_FILE`` is as it was once the import is done.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

_BUNDLE = "SSL_CERT_FILE"


@contextmanager
def _bundle_hidden() -> Iterator[None]:
    """``SSL_CERT_FILE`` names no file for the duration, when ``ssl`` finds a certificate folder; else
    nothing changes (pygit2's import fails when given no location at all)."""
    if ssl.get_default_verify_paths().capath is None:
        yield
        return
    saved = os.environ.get(_BUNDLE)
    os.environ[_BUNDLE] = os.devnull  # not a file: ``ssl`` then reports no bundle
    try:
        yield
    finally:
        if saved is None:
            del os.environ[_BUNDLE]
        else:
            os.environ[_BUNDLE] = saved


with _bundle_hidden():
    import pygit2 as pygit2
    from pygit2.enums import ObjectType as ObjectType
    from pygit2.enums import RepositoryState as RepositoryState

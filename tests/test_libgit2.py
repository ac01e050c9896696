"""The git layer's pygit2: imported without libgit2 loading the certificate bundle, the environment as it was."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = (
    "import json, os, ssl\n"
    "before = os.environ.get('SSL_CERT_FILE')\n"
    "import gitokens.git.repo\n"
    "import pygit2\n"
    "print(json.dumps({'before': before, 'after': os.environ.get('SSL_CERT_FILE'),\n"
    "    'file': pygit2.settings.ssl_cert_file, 'dir': pygit2.settings.ssl_cert_dir,\n"
    "    'capath': ssl.get_default_verify_paths().capath}))\n"
)


def probe(**env: str | None) -> dict[str, str | None]:
    """Import the git layer in a fresh interpreter with ``env`` (None: unset) and say what pygit2 was given."""
    run_env = {k: v for k, v in os.environ.items() if k not in env}
    run_env.update({k: v for k, v in env.items() if v is not None})
    done = subprocess.run([sys.executable, "-c", PROBE], env=run_env, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


needs_folder = pytest.mark.skipif(
    ssl.get_default_verify_paths().capath is None, reason="this system's ssl has no certificate folder"
)


@needs_folder
@pytest.mark.parametrize("bundle", [None, "/etc/ssl/certs/ca-certificates.crt", "relative/bundle.pem"])
def test_pygit2_gets_the_folder_not_the_bundle_and_the_variable_stays(bundle: str | None) -> None:
    seen = probe(SSL_CERT_FILE=bundle, SSL_CERT_DIR=None)
    assert seen["before"] == seen["after"] == bundle
    assert seen["file"] is None
    assert seen["dir"] == seen["capath"] is not None


def test_without_a_certificate_folder_pygit2_gets_what_ssl_finds(tmp_path: Path) -> None:
    system = ssl.get_default_verify_paths().openssl_cafile
    if not Path(system).is_file():
        pytest.skip("this system's ssl has no certificate bundle")
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(Path(system).read_bytes())
    seen = probe(SSL_CERT_FILE=str(bundle), SSL_CERT_DIR=str(tmp_path / "no-such-folder"))
    assert seen["before"] == seen["after"] == str(bundle)
    assert seen["capath"] is None
    assert seen["file"] == str(bundle)  # unchanged: hiding it would leave pygit2 no location, and its import fails

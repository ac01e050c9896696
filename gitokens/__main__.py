"""``python -m gitokens``: the same as the ``git-tokens`` command."""

from __future__ import annotations

from gitokens.cli import main

if __name__ == "__main__":
    main()

"""Kilo CLI's SQLite store: ``${XDG_DATA_HOME:-~/.local/share}/kilo/kilo.db``.

Kilo CLI is a fork of OpenCode that keeps OpenCode's store schema under its own name (``kilo.db`` in the
``kilo`` data folder; ccusage ``adapter/kilo/{paths,loader}.rs`` @5816e640 reads the same ``message`` table
there as in OpenCode's store). The schema is taken to be OpenCode's, unverified in Kilo's own source
(confidence low): the reader is OpenCode's (see ``opencode``) under Kilo's folder and name. No environment
variable of Kilo's own moves the folder besides ``XDG_DATA_HOME``.
"""

from __future__ import annotations

from gitokens.capture.agents.opencode import OpenCode

SOURCE = "kilo"


class Kilo(OpenCode):
    name = "kilo"
    source = SOURCE
    variable = None
    default = "~/.local/share/kilo/kilo.db (XDG_DATA_HOME moves the folder)"
    reads = "each step-finish part (one per model call), as in OpenCode's store"
    unknown = "branch; whether Kilo's schema still matches OpenCode's (not verified in its source)"

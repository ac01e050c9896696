"""The record and ``refs/notes/tokens``: the record and its canonical line (``record``), reading and writing
the ledger (``store``), the parsed-notes cache (``cache``), the queue of records waiting for a commit
(``pending``), recording and removing records (``edits``), per-branch running totals (``totals``), what
``show`` and ``log`` display (``views``), short ids (``shortids``) and the quarantine of bad lines
(``quarantine``).

May import ``git``, ``errors`` and the shared top-level modules (``config``, ``dates``, ``fmt``). Only
``Record`` and ``RecordId`` are imported here: the rest loads pygit2, which ``capture`` must not.
"""

from gitokens.ledger.record import Record, RecordId

__all__ = ["Record", "RecordId"]

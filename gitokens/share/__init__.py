"""The ledger across clones, hooks and rewrites: ``sync`` (fetch, union-merge, push), ``carry`` (records
onto squash and rebase merges), ``doctor`` (what keeps the ledger safe, and the safe fixes), ``install``
(the hooks and git's notes settings) and ``hook`` (what the installed hooks run).

May import ``capture``, ``ledger``, ``git`` and the shared top-level modules, never ``report``, ``data``,
``ci`` or ``cli``.
"""

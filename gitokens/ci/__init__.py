"""The GitHub Action's side: ``job`` (``git tokens ci``: everything a workflow run does), ``budget``
(``check`` and budget tallies), ``workflow`` (the runner's event and files), ``github`` (the sticky pull
request comment) and ``landing`` (where a pull request landed).

The top of the core: may import ``data``, ``report``, ``share``, ``capture``, ``ledger``, ``git`` and the
shared top-level modules; only ``cli`` imports it.
"""

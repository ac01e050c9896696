"""Ledger columns + commit graph + prices -> the report model -> renderings.

``columns`` turns the records in effect into numpy columns and ``cache`` keeps them between reports;
``aggregate``, ``costs``, ``merges`` and ``localdays`` compute on them; ``build`` assembles the model
(``model``), with ``listing`` for its per-record rows; ``render`` (with the templates' ``filters``) turns
it into text, Markdown, HTML, JSON and CSV; ``pipeline`` runs ``git tokens report`` end to end.

May import ``ledger``, ``git``, ``pricing`` and the shared top-level modules, never ``cli``, ``ci`` or
``data``. Imports nothing itself: numpy and Jinja2 load only with the modules that need them.
"""

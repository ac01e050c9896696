"""Data in and out: ``imports`` and ``formats`` (``git tokens import`` and the files it reads), ``exports``
(``git tokens export``), ``usage`` (token counts from an LLM API's usage payload) and ``api`` (recording
from code: ``gitokens.record``, ``track``, ``tracked``).

May import ``report``, ``share``, ``ledger``, ``git`` and the shared top-level modules, never ``ci`` or ``cli``.
"""

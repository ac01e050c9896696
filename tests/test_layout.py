"""The layout's rules, read from the source: imports point down the layers, only ``cli`` imports click, only
``git`` imports pygit2, and every package says what it owns."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gitokens"
# From the bottom up: a unit (a package, or a module at the top) imports only units of lower levels.
LEVELS = (
    ("errors", "atomic", "pricedata"),
    ("dates", "config", "git"),
    ("fmt",),
    ("ledger",),
    ("pricing",),
    ("capture", "share"),
    ("report",),
    ("data", "demo", "db"),
    ("ci",),
    ("cli",),
    ("__main__", "__init__"),
)
LEVEL = {unit: n for n, units in enumerate(LEVELS) for unit in units}
ONLY = {"click": "cli", "pygit2": "git"}


def unit_of(path: Path) -> str:
    return path.relative_to(PACKAGE).with_suffix("").parts[0]


def imports(path: Path) -> list[tuple[str, int]]:
    """Every module ``path`` imports, at any depth of the file (lazy imports included), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "gitokens":
                found += [(f"gitokens.{alias.name}", node.lineno) for alias in node.names]
            else:
                found.append((node.module, node.lineno))
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def violations(path: Path, unit: str) -> list[str]:
    """What in ``path`` (a module of ``unit``) breaks the rules."""
    found = []
    for module, line in imports(path):
        parts = module.split(".")
        inside = parts[0] == "gitokens" and len(parts) > 1 and parts[1] not in ("__version__", unit)
        if inside and LEVEL.get(parts[1], len(LEVELS)) >= LEVEL[unit]:
            found.append(f"{path.name}:{line}: {unit} imports {parts[1]}, which is not below it")
        owner = ONLY.get(parts[0])
        if owner is not None and owner != unit:
            found.append(f"{path.name}:{line}: only {owner}/ imports {parts[0]}")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_layers(path: Path) -> None:
    unit = unit_of(path)
    assert unit in LEVEL, f"{unit} has no place in LEVELS: add it where its imports put it"
    assert violations(path, unit) == []


@pytest.mark.parametrize("folder", sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()), ids=str)
def test_every_package_says_what_it_owns(folder: Path) -> None:
    docstring = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8")))
    assert docstring and len(docstring) > 80, f"{folder.name}/__init__.py: say what the package owns"


def test_the_rules_catch_an_upward_import_and_a_stray_click(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from gitokens.report import render\n\ndef later():\n    import click\n")
    assert violations(bad, "ledger") == [
        "bad.py:1: ledger imports report, which is not below it",
        "bad.py:4: only cli/ imports click",
    ]

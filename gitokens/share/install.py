"""``git tokens install`` / ``uninstall``: the post-commit hook shim and the notes config.

The shim is a small shell script with a marker line. Install recognises its own shim (and updates
it), moves a foreign hook aside to ``post-commit.pre-gitokens`` and chains it, and records every
config value it changed in ``<git-common-dir>/gitokens/install.json`` so that uninstall removes
exactly what install added and restores what it replaced. ``install --sync`` adds a ``pre-push`` shim
the same way (chaining a foreign ``pre-push``), which syncs the ledger when a branch is pushed.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from gitokens.errors import InstallError
from gitokens.git.repo import NOTES_REF, Repo

HOOK = "post-commit"
SYNC_HOOK = "pre-push"  # `install --sync`: syncs the ledger when a branch is pushed
MARKER = "gitokens-managed-hook"
CHAINED_SUFFIX = ".pre-gitokens"
# (key, value, multi-valued): what `install` makes true in the repository's config.
CONFIG = (
    ("notes.rewriteRef", NOTES_REF, True),
    ("notes.rewriteMode", "cat_sort_uniq", False),
    ("notes.tokens.mergeStrategy", "cat_sort_uniq", False),
)


@dataclass
class Outcome:
    """What install or uninstall did, line by line, and warnings worth a user's attention."""

    done: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def hooks_dir(repo: Repo) -> Path:
    """Where git looks for hooks: ``core.hooksPath`` if set, else the common git dir's ``hooks``."""
    configured = repo.config_get("core.hooksPath")
    if not configured:
        return repo.common_dir / "hooks"
    path = Path(os.path.expanduser(configured))
    if not path.is_absolute():
        # git resolves a relative hooksPath against the work tree root (the git dir when bare)
        path = (repo.workdir or repo.common_dir) / path
    return path


def shim_text(prompt: bool, python: str | None = None, capture: bool = False, hook: str = HOOK) -> str:
    template = resources.files("gitokens.hooks").joinpath(hook).read_text(encoding="utf-8")
    quoted = (python or sys.executable).replace("'", "'\"'\"'")
    filled = template.replace("@PYTHON@", quoted).replace("@PROMPT@", "yes" if prompt else "no")
    filled = filled.replace("@CAPTURE@", "yes" if capture else "no")
    args = ([] if prompt else ["--no-prompt"]) + (["--capture"] if capture else [])
    return filled.replace("@ARGS@", " ".join(args))


def is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def install(repo: Repo, *, prompt: bool = True, capture: bool = False, sync: bool = False) -> Outcome:
    outcome = Outcome()
    folder = hooks_dir(repo)
    if repo.config_get("core.hooksPath"):
        outcome.warnings.append(f"core.hooksPath is set: installing into {folder}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _place_hook(folder, HOOK, shim_text(prompt, capture=capture), outcome)
    except OSError as exc:
        hint = "make it a folder you can write to"
        if repo.config_get("core.hooksPath"):
            hint = "point core.hooksPath at a folder you can write to, or unset it: git config --unset core.hooksPath"
        raise InstallError(f"cannot install the hook into {folder}: {exc.strerror or exc}", hint=hint) from None
    if capture:
        outcome.done.append(
            "the hook also captures the coding agents' usage after each commit (every agent `capture` reads)"
        )
    outcome.done.extend(ensure_config(repo))
    if sync:
        _place_hook(folder, SYNC_HOOK, shim_text(prompt, hook=SYNC_HOOK), outcome)
        state = _load_state(repo)
        state["hooks"] = sorted({*state.get("hooks", []), SYNC_HOOK})
        _save_state(repo, state)
    outcome.warnings.extend(forced_notes_refspecs(repo))
    return outcome


def ensure_config(repo: Repo) -> list[str]:
    """Set the notes config ``install`` sets (recorded for ``uninstall``); returns what was changed."""
    state = _load_state(repo)
    changed = []
    for key, value, multi in CONFIG:
        change = _ensure(repo, key, value, multi)
        if change is not None:
            changed.append(f"set {key} = {value}")
            if not any(c["key"] == key for c in state["config"]):
                state["config"].append(change)
    _save_state(repo, state)
    return changed


def uninstall(repo: Repo) -> Outcome:
    outcome = Outcome()
    folder = hooks_dir(repo)
    hook = folder / HOOK
    if hook.exists() and not is_ours(hook):
        outcome.warnings.append(f"{hook} is not gitokens' hook; left it alone")
    _remove_hook(folder, HOOK, outcome)
    _remove_hook(folder, SYNC_HOOK, outcome)
    state = _load_state(repo)
    for change in state["config"]:
        done = _revert(repo, change)
        if done:
            outcome.done.append(done)
    for section in ("notes.tokens", "notes"):
        repo.config_drop_empty_section(section)
    _state_path(repo).unlink(missing_ok=True)
    if not outcome.done:
        outcome.done.append("nothing to remove: gitokens was not installed here")
    return outcome


def forced_notes_refspecs(repo: Repo) -> list[str]:
    """Warnings for fetch refspecs that force-overwrite our notes ref (unpushed records would vanish)."""
    warnings = []
    for remote, spec in repo.fetch_refspecs():
        if not spec.startswith("+"):
            continue
        _, _, dst = spec[1:].partition(":")
        if dst in (NOTES_REF, "refs/notes/*"):
            warnings.append(
                f"remote {remote!r} fetches {spec!r}: a forced fetch into {dst} silently destroys unpushed "
                f"token records. hint: {safe_refspec_command(remote, spec)} "
                "(the notes then land beside yours), and merge them with `git tokens sync`"
            )
    return warnings


def safe_refspec(remote: str, spec: str) -> str:
    """The refspec that fetches the same notes beside ours (``refs/notes/remotes/REMOTE/...``) instead of over them."""
    src, _, dst = spec.lstrip("+").partition(":")
    return f"+{src}:refs/notes/remotes/{remote}/{dst.removeprefix('refs/notes/')}"


def safe_refspec_command(remote: str, spec: str) -> str:
    """The exact ``git config`` command that replaces a forced notes refspec with the safe one."""
    return f"git config --replace-all remote.{remote}.fetch '{safe_refspec(remote, spec)}' '{_regex(spec)}'"


def _place_hook(folder: Path, name: str, text: str, outcome: Outcome) -> None:
    """Write our shim as hook ``name``, moving a foreign hook aside to be chained."""
    hook, chained = folder / name, folder / (name + CHAINED_SUFFIX)
    if hook.exists() and not is_ours(hook):
        if chained.exists():
            raise InstallError(
                f"both {hook} and {chained} exist and neither is ours",
                hint=f"merge them by hand into {chained}, remove {hook}, then run `git tokens install` again",
            )
        os.replace(hook, chained)
        outcome.done.append(f"moved your existing {name} hook to {chained.name}; ours runs it first")
    verb = "updated" if hook.exists() else "installed"
    _write_executable(hook, text)
    outcome.done.append(f"{verb} the {name} hook: {hook}")


def _remove_hook(folder: Path, name: str, outcome: Outcome) -> None:
    hook, chained = folder / name, folder / (name + CHAINED_SUFFIX)
    if not is_ours(hook):
        return
    hook.unlink()
    outcome.done.append(f"removed the {name} hook: {hook}")
    if chained.exists():
        os.replace(chained, hook)
        outcome.done.append(f"restored your previous {name} hook")


def _regex(spec: str) -> str:
    return "^" + spec.replace("+", "\\+").replace("*", "\\*") + "$"


def _ensure(repo: Repo, key: str, value: str, multi: bool) -> dict[str, Any] | None:
    if multi:
        if value in repo.config_get_all(key, local=True):
            return None
        repo.config_add(key, value)
        return {"key": key, "op": "add", "value": value}
    previous = repo.config_get_all(key, local=True)
    if previous == [value]:
        return None
    repo.config_set(key, value)
    return {"key": key, "op": "set", "value": value, "previous": previous[-1] if previous else None}


def _revert(repo: Repo, change: dict[str, Any]) -> str | None:
    """Undo one config change ``install`` made; what was done, or None when there was nothing to undo."""
    key, value = change["key"], change["value"]
    current = repo.config_get_all(key, local=True)
    if change["op"] == "add":
        if value not in current:
            return None
        repo.config_unset(key, value)
        return f"removed {value} from {key}"
    if current != [value]:
        return None  # changed since install: the user's value wins
    if change.get("previous") is None:
        repo.config_unset(key)
        return f"unset {key}"
    repo.config_set(key, change["previous"])
    return f"restored {key} to {change['previous']}"


def _write_executable(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    mode = tmp.stat().st_mode
    tmp.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.replace(tmp, path)


def _state_path(repo: Repo) -> Path:
    return repo.state_dir() / "install.json"


def _load_state(repo: Repo) -> dict[str, Any]:
    try:
        state = json.loads(_state_path(repo).read_text(encoding="utf-8"))
        if isinstance(state, dict) and isinstance(state.get("config"), list):
            return state
    except (OSError, ValueError):
        pass
    return {"config": []}


def _save_state(repo: Repo, state: dict[str, Any]) -> None:
    path = _state_path(repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")

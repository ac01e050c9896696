"""``git tokens doctor``: what keeps the ledger safe in this clone, what is wrong, and the safe fixes.

Each check gives a finding: ``ok``, ``info`` (worth knowing, nothing to do), ``warn`` (records can be
lost or miscounted until it is fixed) with a hint, and, where the fix cannot lose anything, a fix that
``--fix`` applies. Nothing here edits a record line: a line that does not parse stays in the ledger.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

from gitokens.errors import LedgerBusy
from gitokens.git import notes
from gitokens.git.repo import NOTES_REF, Repo, join_note_lines
from gitokens.ledger import pending, quarantine, store
from gitokens.ledger.record import Record
from gitokens.ledger.store import Ledger
from gitokens.share import install

Level = Literal["ok", "info", "warn", "fixed"]
STALE_LOCK_SECONDS = 600.0
_SHOWN = 3


@dataclass
class Finding:
    level: Level
    message: str
    hint: str | None = None
    fix: Callable[[], str] | None = None

    def lines(self) -> list[str]:
        lines = [f"{self.level:<6}{self.message}"]
        if self.hint:
            lines.append(f"      hint: {self.hint}")
        return lines


def examine(repo: Repo) -> list[Finding]:
    """Every check, in the order they are shown; the ledger's own checks only when its ref is readable."""
    found = [*_hooks(repo), *_queue(repo), *_config(repo), *_refspecs(repo), *_leftovers(repo)]
    broken = _ledger_ref(repo)
    if broken is not None:
        return [*found, broken]
    return [*found, *_ledger(repo, store.load(repo))]


def apply_fixes(findings: list[Finding]) -> list[Finding]:
    """Run the fix of every finding that has one; a fixed finding says what was done."""
    done = []
    for finding in findings:
        if finding.fix is None or finding.level not in ("warn", "info"):
            done.append(finding)
        else:
            done.append(Finding("fixed", finding.fix()))
    return done


def _hooks(repo: Repo) -> list[Finding]:
    folder = install.hooks_dir(repo)
    found = []
    for name, needed in ((install.HOOK, True), (install.SYNC_HOOK, False)):
        hook = folder / name
        if not install.is_ours(hook):
            if needed:
                found.append(
                    Finding(
                        "warn",
                        f"the {name} hook is not installed: records queued for the next commit (`add --pending`, "
                        "the Python API, captured usage) are never attached",
                        "git tokens install; the hook attaches the queue at your next commit",
                    )
                )
            else:
                found.append(
                    Finding(
                        "info",
                        f"no {name} hook: sync the ledger yourself (`git tokens sync`)",
                        "git tokens install --sync syncs it whenever you push a branch",
                    )
                )
            continue
        text = hook.read_text(encoding="utf-8", errors="replace")
        python = next(
            (line.split("=", 1)[1].strip("'") for line in text.splitlines() if line.startswith("GITOKENS_PYTHON=")), ""
        )
        if Path(python).is_file() or shutil.which("git-tokens"):
            found.append(Finding("ok", f"{name} hook installed: {hook}"))
            continue
        prompt = '"yes" = no' in text
        found.append(
            Finding(
                "warn",
                f"the {name} hook cannot find gitokens (it runs {python}, which is gone)",
                "git tokens doctor --fix points it at this gitokens",
                fix=partial(_rewrite_shim, hook, name, prompt),
            )
        )
    return found


def _rewrite_shim(hook: Path, name: str, prompt: bool) -> str:
    install._write_executable(hook, install.shim_text(prompt, hook=name))
    return f"pointed the {name} hook at this gitokens"


def _queue(repo: Repo) -> list[Finding]:
    records, problems = pending.list_pending(repo)
    folder = pending.queue_dir(repo)
    found = []
    if records:
        hooked = install.is_ours(install.hooks_dir(repo) / install.HOOK)
        found.append(
            Finding(
                "info" if hooked else "warn",
                f"{len(records)} record(s) wait in {folder} for the next commit",
                "the post-commit hook attaches them when you commit"
                if hooked
                else "git tokens install, then commit: only the post-commit hook attaches them",
            )
        )
    if problems:
        found.append(
            Finding(
                "warn",
                f"{len(problems)} queued file(s) cannot be read and are never attached: {'; '.join(problems[:_SHOWN])}",
                f"they stay in {folder}: repair or delete them by hand",
            )
        )
    return found


def _config(repo: Repo) -> list[Finding]:
    missing = []
    for key, value, multi in install.CONFIG:
        values = repo.config_get_all(key)
        if (value not in values) if multi else (values[-1:] != [value]):
            missing.append(f"{key} = {value}")
    found = []
    for action in ("amend", "rebase"):
        if (repo.config_get(f"notes.rewrite.{action}") or "").lower() in ("false", "no", "off", "0"):
            found.append(
                Finding(
                    "warn",
                    f"notes.rewrite.{action} is false: `git {action}` drops token records",
                    f"git config --unset notes.rewrite.{action}",
                )
            )
    if missing:
        found.append(
            Finding(
                "warn",
                f"notes config missing: {', '.join(missing)} (amend and rebase drop records, merges conflict)",
                "git tokens doctor --fix (or git tokens install) sets it",
                fix=lambda: "; ".join(install.ensure_config(repo)) or "notes config already set",
            )
        )
    else:
        found.append(Finding("ok", "notes config: rewriteRef, rewriteMode and mergeStrategy set for the ledger"))
    return found


def _refspecs(repo: Repo) -> list[Finding]:
    found = []
    for remote, spec in repo.fetch_refspecs():
        dst = spec.lstrip("+").partition(":")[2]
        if spec.startswith("+") and dst in (NOTES_REF, "refs/notes/*"):
            safe = install.safe_refspec(remote, spec)
            found.append(
                Finding(
                    "warn",
                    f"remote {remote!r} fetches {spec!r}: a fetch overwrites records you have not pushed",
                    install.safe_refspec_command(remote, spec),
                    fix=partial(_replace_refspec, repo, remote, spec, safe),
                )
            )
    for remote, spec in notes.push_refspecs(repo):
        if spec.startswith("+") and "refs/notes/" in spec:
            found.append(
                Finding(
                    "warn",
                    f"remote {remote!r} pushes {spec!r} with force: a push can erase the team's records",
                    f"git config --unset remote.{remote}.push '{install._regex(spec)}' and use `git tokens sync`",
                )
            )
    if not found:
        found.append(Finding("ok", "refspecs: no forced fetch or push of notes"))
    return found


def _replace_refspec(repo: Repo, remote: str, spec: str, safe: str) -> str:
    repo.config_unset(f"remote.{remote}.fetch", spec)
    repo.config_add(f"remote.{remote}.fetch", safe)
    return f"remote {remote!r} now fetches {safe!r}"


def _leftovers(repo: Repo) -> list[Finding]:
    found = []
    present, merging = notes.notes_merge_state(repo)
    if present:
        ours = merging in (None, "", NOTES_REF)

        def abort() -> str:
            notes.abort_notes_merge(repo)
            return f"removed the unfinished notes merge ({', '.join(present)})"

        found.append(
            Finding(
                "warn",
                f"an unfinished `git notes merge` into {merging or 'a notes ref'} left {', '.join(present)}: "
                "later notes merges fail",
                "git notes merge --abort (your notes refs are not touched), then git tokens sync",
                fix=abort if ours else None,
            )
        )
    lock = notes.ref_lock(repo)
    if lock is not None:
        path, age = lock
        if age > STALE_LOCK_SECONDS:
            found.append(
                Finding(
                    "warn",
                    f"{path} is {age / 60:.0f} minutes old: every ledger write waits for it, then fails",
                    f"if no git process is running: rm {path}",
                    fix=partial(_remove_lock, Path(path)),
                )
            )
        else:
            found.append(
                Finding(
                    "info",
                    f"{path} exists: a ledger write is under way, or a killed one left it",
                    f"if no git or gitokens process is running: rm {path}",
                )
            )
    return found


def _remove_lock(path: Path) -> str:
    path.unlink(missing_ok=True)
    return f"removed the stale lock {path}"


def _ledger_ref(repo: Repo) -> Finding | None:
    """A finding when ``refs/notes/tokens`` names no readable notes commit, with the fix when there is one."""
    target = repo.ref_target(NOTES_REF)
    problem = repo.notes_commit_problem(target) if target is not None else None
    if target is None or problem is None:
        return None
    message = f"{NOTES_REF} points at {target[:12]}, which {problem}: every command refuses to read the ledger"
    good = _last_good(repo, target)
    if good is None:
        return Finding(
            "warn",
            message,
            f"no earlier notes commit is known here: fetch the team's with `git tokens sync`, after "
            f"`git update-ref -d {NOTES_REF}` (the ledger then starts from the remote's)",
        )
    oid, where = good
    return Finding(
        "warn",
        message,
        f"git tokens doctor --fix points it back at {oid[:12]} ({where}), then run `git tokens sync`",
        fix=partial(_reset_ref, repo, target, oid, where),
    )


def _last_good(repo: Repo, broken: str) -> tuple[str, str] | None:
    """The newest notes commit the ledger ref held (its reflog), else a remote's ledger as last fetched."""
    for oid in repo.reflog(NOTES_REF):
        if oid != broken and repo.notes_commit_problem(oid) is None:
            return oid, "the last notes commit in its reflog"
    for ref in notes.tracking_refs(repo):
        fetched = repo.ref_target(ref)
        if fetched is not None and repo.notes_commit_problem(fetched) is None:
            return fetched, ref
    return None


def _reset_ref(repo: Repo, broken: str, good: str, where: str) -> str:
    notes.reset_ref(repo, NOTES_REF, broken, good, f"gitokens doctor --fix: back to {where}")
    return f"pointed {NOTES_REF} back at {good[:12]} ({where}); run `git tokens sync` to merge the team's ledger"


def _ledger(repo: Repo, loaded: Ledger) -> list[Finding]:
    if loaded.tip is None:
        return [Finding("info", "the ledger is empty (no refs/notes/tokens yet)", "git tokens add, or git tokens sync")]
    found = [Finding("ok", f"ledger: {len(loaded.entries)} record(s) in effect at {loaded.tip[:12]}")]
    if loaded.invalid:
        shown = "; ".join(bad.describe() for bad in loaded.invalid[:_SHOWN])
        found.append(
            Finding(
                "warn",
                f"{len(loaded.invalid)} ledger line(s) are not valid records: {shown}",
                "every command skips them and warns; git tokens doctor --fix moves them, kept byte for byte, "
                f"to {quarantine.QUARANTINE_REF}",
                fix=partial(_quarantine, repo, {bad.commit for bad in loaded.invalid}),
            )
        )
    held = quarantine.count(repo)
    if held:
        found.append(
            Finding(
                "info",
                f"{held} line(s) that are not records are kept in {quarantine.QUARANTINE_REF}, outside the ledger",
                f"see them with git log -p {quarantine.QUARANTINE_REF}",
            )
        )
    if loaded.conflicting_ids:
        shown = ", ".join(sorted(loaded.conflicting_ids)[:_SHOWN])
        found.append(
            Finding(
                "warn",
                f"{len(loaded.conflicting_ids)} record id(s) have copies with different content: {shown}",
                "a copy was edited by hand; reports count one of them (`git tokens log --json` shows which)",
            )
        )
    pools = (*loaded.entries.values(), *loaded.removed.values(), *loaded.tombstones)
    present = [any(repo.commit_exists(c) for c in e.placements) for e in pools]
    gone = [e for e, here in zip(pools, present, strict=True) if not here]
    reachable = notes.reachable_commits(repo) if len(gone) < len(pools) else None
    stranded = [
        e
        for e, here in zip(pools, present, strict=True)
        if here and reachable is not None and not reachable.intersection(e.placements)
    ]
    if stranded:
        found.append(
            Finding(
                "info",
                f"{len(stranded)} record(s) sit only on commits no branch or tag reaches (history rewritten, "
                "a branch deleted?): they still count, and `git gc` will collect those commits",
                "if a rewrite replaced them (filter-branch, a rebase without notes.rewriteRef), carry the records "
                "to the new commits: git tokens carry OLD_COMMIT --onto NEW_COMMIT",
            )
        )
    if gone:
        found.append(
            Finding(
                "info",
                f"{len(gone)} record(s) sit only on commits that are gone (squash-merged and collected?): "
                "they still count",
                "never run `git notes --ref tokens prune`; carry a branch's records before deleting it: "
                "git tokens carry --squash-merged BRANCH",
            )
        )
    old_rules = [e for e in loaded.entries.values() if _captured_by_old_rules(e.record)]
    if old_rules:
        found.append(
            Finding(
                "warn",
                f"{len(old_rules)} captured record(s) were written by an older gitokens, whose rules undercounted "
                "streamed calls and priced sums of short calls at long-context rates",
                "git tokens capture --recapture replaces those whose logs are still here (add --all-history or "
                "--since if the first captures used them); the others stay as they are",
            )
        )
    doubled = sorted(c for c, n in Counter(c for c, _ in notes.note_placements(repo, loaded.tip)).items() if n > 1)
    if doubled:
        found.append(
            Finding(
                "warn",
                f"{len(doubled)} commit(s) have notes at two fanout depths (written by two tools): "
                f"{', '.join(c[:12] for c in doubled[:_SHOWN])}",
                "both copies are read; git tokens doctor --fix joins them into one note",
                fix=partial(_join_copies, repo, loaded.tip, doubled),
            )
        )
    return found


_OLD_CAPTURE_ID = re.compile(r"^(claude-code|codex):[0-9a-f]{32}$")


def _captured_by_old_rules(record: Record) -> bool:
    """A record of the first capture rules: an id of theirs, and no ``requests`` (every capture writes it now)."""
    return (
        record.requests is None and record.source in ("claude-code", "codex") and bool(_OLD_CAPTURE_ID.match(record.id))
    )


def _quarantine(repo: Repo, commits: set[str]) -> str:
    moved = quarantine.move(repo, commits)
    return (
        f"moved {moved.lines} line(s) that are not records from {moved.commits} note(s) to "
        f"{quarantine.QUARANTINE_REF} (see them with git log -p {quarantine.QUARANTINE_REF})"
    )


def _join_copies(repo: Repo, tip: str | None, commits: list[str]) -> str:
    changes: dict[str, str | bytes | None] = {}
    for commit in commits:
        blobs = notes.note_blobs(repo, tip, commit)
        changes[commit] = join_note_lines(line for blob in blobs for line in notes.blob_data(repo, blob).split(b"\n"))
    parents = [tip] if tip else []
    try:
        notes.write_notes(repo, tip, parents, changes, "Notes joined by 'git tokens doctor --fix'")
    except notes.NotesMoved:
        raise LedgerBusy("the ledger moved while joining notes", hint="run `git tokens doctor --fix` again") from None
    return f"joined the copies of {len(commits)} note(s) into one each"

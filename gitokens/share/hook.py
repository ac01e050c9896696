"""What the post-commit hook does: attach the pending queue to the new commit, then maybe ask for tokens.

It must never get in the way of a commit: it always exits 0, never blocks without a terminal, and a
failure prints one line and leaves the commit and the queue as they were.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from gitokens.errors import GitTokensError
from gitokens.git.repo import Repo
from gitokens.ledger import edits, pending, store, totals
from gitokens.ledger.record import Record

_ACTIONS_WITHOUT_PROMPT = ("rebase", "cherry-pick", "am", "merge", "revert", "pull")


@dataclass
class HookResult:
    attached: list[Record]
    messages: list[str]


def post_commit(repo: Repo, *, prompt: bool, terminal: Callable[[], tuple[TextIO, TextIO] | None]) -> HookResult:
    """Attach queued records to HEAD; then, if ``prompt`` and a terminal is there, offer to record tokens."""
    result = HookResult([], [])
    head = repo.head_commit()
    if head is None:
        return result
    branch = repo.head_branch()
    claimed = pending.claim(repo)
    result.messages.extend(f"gitokens: kept in the queue, unreadable: {s}" for s in claimed.skipped)
    fresh = _not_in_ledger(repo, claimed)
    if not fresh:
        pending.done(claimed)
    else:
        attached = [r.replace(commit=head, branch=branch) for r in fresh]
        try:
            written = store.append(repo, {head: attached}, "Notes added by the gitokens post-commit hook", timeout=2.0)
        except BaseException:
            pending.give_back(claimed)
            raise
        pending.done(claimed)
        totals.advance(repo, written, attached)  # queued records are new to the ledger by construction
        result.attached.extend(attached)
        tokens = sum(r.tokens for r in attached)
        result.messages.append(f"gitokens: attached {len(attached)} queued record(s), {tokens:,} tokens, to {head[:7]}")
    if prompt and not prompt_blocked(repo):
        streams = terminal()
        if streams is not None:
            record = ask(repo, *streams)
            if record is not None:
                added = edits.add(repo, record)
                result.attached.append(added.record)
                result.messages.append(added.describe())
    return result


def _not_in_ledger(repo: Repo, claimed: pending.Claimed) -> list[Record]:
    """The claimed records to attach: a record taken back from a killed hook may be in the ledger already."""
    if not claimed.retried:
        return claimed.records
    loaded = store.load(repo)
    present = {*loaded.entries, *loaded.removed, *(t.record.id for t in loaded.tombstones)}
    return [r for r in claimed.records if r.id not in claimed.retried or r.id not in present]


def prompt_blocked(repo: Repo) -> str | None:
    """Why the hook must not ask now (CI, an operation under way, a merge commit), or None."""
    if os.environ.get("GITOKENS_NO_PROMPT") or os.environ.get("CI") not in (None, "", "0", "false"):
        return "not interactive"
    action = os.environ.get("GIT_REFLOG_ACTION", "")
    if any(word in action for word in _ACTIONS_WITHOUT_PROMPT):
        return action
    operation = repo.operation_in_progress()
    if operation is not None:
        return operation
    head = repo.head_commit()
    info = repo.commit_info(head) if head else None
    if info is not None and len(info.parents) > 1:
        return "merge commit"
    return None


def open_terminal() -> tuple[TextIO, TextIO] | None:
    """The controlling terminal, if there is one and the user is looking at it; git gives hooks no stdin."""
    if not sys.stderr.isatty():
        return None
    try:
        tty_in = open("/dev/tty", encoding="utf-8")  # noqa: SIM115 - closed by the caller's process exit
        tty_out = open("/dev/tty", "w", encoding="utf-8")  # noqa: SIM115
    except OSError:
        return None
    return tty_in, tty_out


def ask(repo: Repo, tty_in: TextIO, tty_out: TextIO) -> Record | None:
    """Ask for input tokens, output tokens and model; Enter at the first question skips."""
    tty_out.write("Tokens for this commit? (Enter skips)\n")
    input_tokens = _ask_count(tty_in, tty_out, "  input tokens: ", allow_skip=True)
    if input_tokens is None:
        return None
    output_tokens = _ask_count(tty_in, tty_out, "  output tokens [0]: ", allow_skip=False) or 0
    default_model = repo.config_get("gitokens.model")
    shown = f" [{default_model}]" if default_model else ""
    tty_out.write(f"  model{shown}: ")
    tty_out.flush()
    model = tty_in.readline().strip() or default_model
    try:
        return edits.build(
            repo,
            counts={"input_tokens": input_tokens, "output_tokens": output_tokens},
            model=model,
            source="hook",
        )
    except GitTokensError as exc:
        tty_out.write(f"  not recorded: {exc}\n")
        return None


def _ask_count(tty_in: TextIO, tty_out: TextIO, question: str, *, allow_skip: bool) -> int | None:
    for _ in range(3):
        tty_out.write(question)
        tty_out.flush()
        line = tty_in.readline()
        answer = line.strip().replace(",", "").replace("_", "")
        if not answer:
            return None if allow_skip else 0
        if answer.isdigit():
            return int(answer)
        tty_out.write("  a whole number, please (Enter skips)\n")
    return None

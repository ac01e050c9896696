"""The quarantine: ledger lines that are not records, moved out of ``refs/notes/tokens`` and kept.

``git tokens doctor --fix`` moves them into ``refs/notes/tokens-quarantine``, a notes ref of the same
shape: the note on commit C holds the bad lines that C's ledger note held, byte for byte. Nothing
reads it but doctor (to count it) and people (``git notes --ref tokens-quarantine show C``), so a bad
line stops warning on every command without being deleted.

Each move writes the quarantine first and the ledger second, both through the ledger's locked ref
transaction: a failure between the two leaves a line in both places, never in neither, and the next
move finishes the job (quarantined lines are sorted and unique, so moving one twice keeps one copy).
"""

from __future__ import annotations

from dataclasses import dataclass

from gitokens.errors import InvalidRecord, LedgerBusy
from gitokens.git import notes
from gitokens.git.repo import NOTES_REF, Repo, join_note_lines
from gitokens.ledger.record import line_values

QUARANTINE_REF = "refs/notes/tokens-quarantine"


@dataclass(frozen=True)
class Moved:
    lines: int
    commits: int


def is_record(line: bytes, commit: str) -> bool:
    """Whether the loader reads ``line`` as a record (blank lines are neither: they are dropped)."""
    try:
        line_values(line.decode("utf-8"), commit)
    except (InvalidRecord, UnicodeDecodeError):
        return False
    return True


def move(repo: Repo, commits: set[str], *, tries: int = 20) -> Moved:
    """Move the lines of ``commits``' notes that are not records into the quarantine."""
    for _ in range(tries):
        tip = repo.notes_tip()
        placed = notes.find_notes(repo, tip, commits)
        bad: dict[str, list[bytes]] = {}
        changes: dict[str, str | bytes | None] = {}
        for commit, places in placed.items():
            lines = [line for _, blob in places for line in notes.blob_data(repo, blob).split(b"\n") if line.strip()]
            wrong = [line for line in lines if not is_record(line, commit)]
            if wrong:
                bad[commit] = wrong
                kept = join_note_lines(line for line in lines if line not in wrong)
                changes[commit] = kept or None
        if not bad or tip is None:
            return Moved(0, 0)
        repo.append_notes(bad, "Lines that are not records, moved by 'git tokens doctor --fix'", QUARANTINE_REF)
        try:
            notes.write_notes(
                repo, tip, [tip], changes, "Lines that are not records moved to the quarantine", placed=placed
            )
        except notes.NotesMoved:
            continue
        return Moved(sum(len(lines) for lines in bad.values()), len(bad))
    raise LedgerBusy(
        f"{NOTES_REF} kept moving while bad lines were moved aside", hint="run `git tokens doctor --fix` again"
    )


def count(repo: Repo) -> int:
    """Lines held in the quarantine."""
    if repo.ref_target(QUARANTINE_REF) is None:
        return 0
    return sum(1 for _, data in repo.read_notes(QUARANTINE_REF) for line in data.split(b"\n") if line.strip())

"""Build a benchmark repository: N commits and a notes ledger of M notes holding R records, via git fast-import.

Importable (``ensure_ledger``, ``build_ledger``, ``hermetic_env``, ``scratch_copy``) and a command line::

    python bench/make_ledger.py                      # 100,000 commits / notes, 300,000 records, cached
    python bench/make_ledger.py /tmp/big --commits 20000 --records 60000

The history is linear on ``main`` plus a few feature branches (most merged back with a merge commit, the
last ones left open). Every commit changes one of 16 small files. The ledger is one notes commit on
``refs/notes/tokens`` whose tree uses git's 2/38 fanout (``ab/cdef...``), written in the same fast-import
stream as the commits. fast-import's own ``N`` command is not used: it picks the fanout from the note
count (2/2/36 from 65,536 notes on), while ``git notes`` and gitokens write 2/38.

To name the notes by commit id inside that one stream, the generator computes every blob, tree and commit
id itself (fast-import writes the objects byte for byte as described) and checks the branch tips against
what git reports afterwards.

Records are canonical lines from ``gitokens.ledger.record.Record(...).to_line()``: several models, providers,
authors, sources and branches, full token splits, some total-only records, some ``cost_usd``, a few
tombstones and carried copies (the same line on a second commit). Within a note, lines are sorted and
unique and each ends with a newline, as ``git notes merge -s cat_sort_uniq`` writes them.

Afterwards ``git repack -a -d -f`` (fast-import chains blobs 50 deep, which makes libgit2 ~10x slower at
reading them) and ``git commit-graph write --reachable`` (what ``git gc`` leaves behind).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from gitokens.ledger.record import MAX_TOKENS, Record, RecordId, format_timestamp

GENERATOR_VERSION = 1
BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_WORK_DIR = BENCH_DIR / ".work"
NOTES_REF = "refs/notes/tokens"
USER_NAME = "Bench User"
USER_EMAIL = "bench@example.com"
FILES = tuple(f"f{i:02d}.txt" for i in range(16))
EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z

# (model, provider, weight, reasoning model?)
ANTHROPIC = (
    ("claude-sonnet-4-5-20250929", "anthropic", 50, False),
    ("claude-opus-4-1-20250805", "anthropic", 15, False),
    ("claude-3-5-haiku-20241022", "anthropic", 10, False),
)
OPENAI = (
    ("gpt-5-codex", "openai", 30, True),
    ("gpt-4o", "openai", 20, False),
    ("gpt-4.1-mini", "openai", 10, False),
    ("o3", "openai", 10, True),
)
OTHER = (("gemini-2.5-pro", "google", 10, True),)
ALL_MODELS = ANTHROPIC + OPENAI + OTHER
SOURCES = (("claude-code", 45), ("codex", 15), ("manual", 15), ("hook", 10), ("ci", 5), ("import", 5), ("api", 5))
AUTHORS = tuple(
    f"{name}@example.com" for name in ("ada", "grace", "linus", "margaret", "ken", "barbara", "dennis", "frances")
)
NOTES_TEXT = (
    "OAuth2 integration",
    "refactor: split the report model",
    "Überarbeitung des Login-Flows",
    "修复登录错误",
    "flaky test hunt — again",
    "docs: explain carry",
)
ENDPOINTS = ("/v1/messages", "/v1/chat/completions", "summarize-pr", "embeddings-batch")


@dataclasses.dataclass(frozen=True)
class LedgerSpec:
    """What to build. ``notes`` defaults to ``commits``, ``records`` to three per note."""

    commits: int = 100_000
    notes: int | None = None
    records: int | None = None
    branches: int = 8
    seed: int = 1
    copy_rate: float = 0.003  # carried copies: the same line on a second commit
    tombstone_rate: float = 0.001
    repack: bool = True
    commit_graph: bool = True

    @property
    def n_notes(self) -> int:
        return self.commits if self.notes is None else self.notes

    @property
    def n_records(self) -> int:
        return 3 * self.n_notes if self.records is None else self.records

    def key(self) -> str:
        return (
            f"v{GENERATOR_VERSION}-c{self.commits}-n{self.n_notes}-r{self.n_records}-b{self.branches}-s{self.seed}"
            f"-cp{self.copy_rate:g}-t{self.tombstone_rate:g}"
            + ("" if self.repack else "-norepack")
            + ("" if self.commit_graph else "-nocg")
        )


@dataclasses.dataclass
class BuildStats:
    commits: int = 0
    merges: int = 0
    branches: list[str] = dataclasses.field(default_factory=list)
    notes: int = 0
    records: int = 0
    usage_records: int = 0
    total_only: int = 0
    copies: int = 0
    tombstones: int = 0
    notes_on_missing_commits: int = 0
    stream_bytes: int = 0
    head: str = ""
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)

    def summary(self) -> str:
        secs = ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items())
        return (
            f"{self.commits:,} commits ({self.merges} merges, {len(self.branches)} branches), {self.notes:,} notes, "
            f"{self.records:,} records ({self.total_only:,} total-only, {self.copies:,} copies, "
            f"{self.tombstones:,} tombstones); built in {secs}"
        )


# -- environment -------------------------------------------------------------------------------------------------


def hermetic_env(home: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for every git and gitokens process: a private, empty HOME, no system config,
    no inherited GIT_* variables, and this interpreter's bin directory first on PATH (so ``git tokens``
    runs the gitokens installed next to it)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in (os.environ if base is None else base).items() if not k.startswith(("GIT_", "GITOKENS_"))}
    env.pop("CI", None)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_TERMINAL_PROMPT="0",
        TZ="UTC",
        LC_ALL="C.UTF-8",
    )
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bindir] + [p for p in env.get("PATH", "").split(os.pathsep) if p and p != bindir])
    return env


def git(repo: Path, *args: str, env: Mapping[str, str], capture: bool = True) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args],
        env=dict(env),
        check=True,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return proc.stdout.decode() if capture else ""


# -- object ids --------------------------------------------------------------------------------------------------


def _object_id(kind: bytes, body: bytes) -> bytes:
    return hashlib.sha1(kind + b" " + str(len(body)).encode() + b"\0" + body).digest()


def _tree_id(blobs: list[bytes]) -> bytes:
    body = b"".join(b"100644 " + name.encode() + b"\0" + oid for name, oid in zip(FILES, blobs, strict=True))
    return _object_id(b"tree", body)


# -- records -----------------------------------------------------------------------------------------------------


class RecordFactory:
    """Realistic, deterministic records (the seed fixes everything)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.sources = [s for s, _ in SOURCES]
        self.source_weights = [w for _, w in SOURCES]

    def _hex(self, bits: int = 128) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def _tokens(self, mu: float, sigma: float) -> int:
        return min(MAX_TOKENS, int(self.rng.lognormvariate(mu, sigma)))

    def usage(self, commit: str, commit_time: int, branch: str | None) -> tuple[Record, bool]:
        """A usage record spent shortly before ``commit_time``; also says whether it is total-only."""
        rng = self.rng
        source = rng.choices(self.sources, self.source_weights)[0]
        pool = ANTHROPIC if source == "claude-code" else OPENAI if source == "codex" else ALL_MODELS
        model, provider, _, reasoning = rng.choices(pool, [m[2] for m in pool])[0]
        moment = commit_time - rng.randint(0, 4 * 3600)
        ms = rng.randint(0, 999) if rng.random() < 0.6 else 0
        ts = format_timestamp(datetime.fromtimestamp(moment + ms / 1000, UTC))
        fields: dict[str, Any] = {
            "commit": commit,
            "branch": branch,
            "author": rng.choice(AUTHORS),
            "model": model,
            "provider": provider if rng.random() < 0.9 else None,
            "source": source,
        }
        if source == "claude-code":
            fields["id"] = f"claude:msg_{self._hex(96)}:req_{self._hex(96)}"
            fields["session"] = self._uuid()
        elif source == "codex":
            fields["id"] = f"codex:{self._uuid()}:{rng.randint(1, 400)}"
            fields["session"] = self._uuid()
        else:
            fields["id"] = self._hex()
        if source == "api":
            fields["endpoint"] = rng.choice(ENDPOINTS)
        if source in ("manual", "hook") and rng.random() < 0.5:
            fields["note"] = rng.choice(NOTES_TEXT)
        total_only = source in ("manual", "hook", "import") and rng.random() < 0.35
        if total_only:
            fields["total_tokens"] = self._tokens(10.5, 1.0)
        else:
            fields["input_tokens"] = self._tokens(7.0, 1.2)
            output = self._tokens(6.2, 1.1)
            fields["output_tokens"] = output
            if provider == "anthropic":
                fields["cache_read_tokens"] = self._tokens(10.0, 1.0)
                fields["cache_write_tokens"] = self._tokens(8.0, 1.2) if rng.random() < 0.7 else 0
            elif rng.random() < 0.5:
                fields["cache_read_tokens"] = self._tokens(8.5, 1.0)
            if reasoning:
                fields["reasoning_tokens"] = int(output * rng.uniform(0.2, 0.9))
        if source in ("claude-code", "api") and rng.random() < 0.5:
            fields["cost_usd"] = round(rng.uniform(0.0005, 2.5), 6)
        return Record(ts=ts, **fields), total_only

    def tombstone(self, target: Record, commit: str, commit_time: int, branch: str | None) -> Record:
        ts = format_timestamp(datetime.fromtimestamp(commit_time - self.rng.randint(0, 600), UTC))
        return Record(
            id=RecordId(self._hex()),
            ts=ts,
            kind="tombstone",
            target=target.id,
            commit=commit,
            branch=branch,
            author=self.rng.choice(AUTHORS),
            source="manual",
        )

    def _uuid(self) -> str:
        h = self._hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# -- history -----------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Commit:
    mark: int
    oid: str
    time: int
    branch: str  # the ref it was made on (branch name without refs/heads/)


class _Stream:
    """Buffered writes to fast-import's stdin, counting bytes."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.pipe = pipe
        self.parts: list[bytes] = []
        self.size = 0
        self.total = 0

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)
        if self.size >= 1 << 20:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            data = b"".join(self.parts)
            self.pipe.write(data)
            self.total += len(data)
            self.parts, self.size = [], 0


def _plan(commits: int, branches: int) -> Iterator[tuple[str, str | None]]:
    """The commits in creation order, as (kind, branch): kind is 'main', 'branch' or 'merge'.

    Branches fork from main at evenly spread points; all but the last two merge back a little later.
    """
    branches = min(branches, commits // 40)
    per_branch = max(1, min(50, commits // (20 * branches))) if branches else 0
    open_branches = min(2, branches)
    merged = branches - open_branches
    main_commits = commits - branches * per_branch - merged
    names = [f"feature/topic-{j:02d}" for j in range(branches)]
    forks: dict[int, list[int]] = {}
    for j in range(branches):
        at = (j + 1) * main_commits // (branches + 1) if j < merged else main_commits - 1 - j
        forks.setdefault(max(0, at), []).append(j)
    gap = max(1, main_commits // (4 * (branches + 1))) if branches else 0
    merges: dict[int, list[int]] = {}
    for i in range(main_commits):
        yield "main", None
        for j in forks.get(i, []):
            for _ in range(per_branch):
                yield "branch", names[j]
            if j < merged:
                merges.setdefault(min(i + gap, main_commits - 1), []).append(j)
        for j in merges.pop(i, []):
            yield "merge", names[j]


def build_ledger(spec: LedgerSpec, path: Path, env: Mapping[str, str], *, verbose: bool = True) -> BuildStats:
    """Create the repository at ``path`` (must not exist or be empty) as ``spec`` says."""
    t0 = time.perf_counter()
    stats = BuildStats()
    path.mkdir(parents=True, exist_ok=True)
    if any(path.iterdir()):
        raise SystemExit(f"error: {path} is not empty")
    git(path, "init", "-q", "-b", "main", env=env)
    for key, value in (
        ("user.name", USER_NAME),
        ("user.email", USER_EMAIL),
        ("gc.auto", "0"),
        ("maintenance.auto", "false"),
        ("commit.gpgSign", "false"),
    ):
        git(path, "config", key, value, env=env)

    rng = random.Random(spec.seed)
    factory = RecordFactory(random.Random(spec.seed + 1))
    proc = subprocess.Popen(
        ["git", "-C", str(path), "fast-import", "--quiet", "--done"],
        stdin=subprocess.PIPE,
        env=dict(env),
    )
    assert proc.stdin is not None
    out = _Stream(proc.stdin)
    try:
        history = _write_commits(spec, out, rng, stats)
        t1 = time.perf_counter()
        _write_notes(spec, out, rng, factory, history, stats)
        out.write(b"done\n")
        out.flush()
        proc.stdin.close()
    except BrokenPipeError:
        pass
    if proc.wait() != 0:
        raise SystemExit(f"error: git fast-import failed with exit code {proc.returncode}")
    stats.stream_bytes = out.total
    t2 = time.perf_counter()
    stats.seconds["commits"] = t1 - t0
    stats.seconds["records+fast-import"] = t2 - t1

    for name in ["main", *stats.branches]:
        got = git(path, "rev-parse", f"refs/heads/{name}", env=env).strip()
        want = next(c.oid for c in reversed(history) if c.branch == name)
        if got != want:
            raise SystemExit(f"error: {name} is {got}, the generator computed {want}: the notes would be misplaced")
    git(path, "reset", "-q", "--hard", "main", env=env)
    stats.head = history[-1].oid if history[-1].branch == "main" else git(path, "rev-parse", "HEAD", env=env).strip()
    if spec.repack:
        t3 = time.perf_counter()
        git(path, "repack", "-q", "-a", "-d", "-f", env=env, capture=False)
        stats.seconds["repack"] = time.perf_counter() - t3
    if spec.commit_graph:
        t4 = time.perf_counter()
        git(path, "commit-graph", "write", "--reachable", env=env, capture=False)
        stats.seconds["commit-graph"] = time.perf_counter() - t4
    stats.seconds["total"] = time.perf_counter() - t0
    if verbose:
        print(f"built {path}: {stats.summary()}", file=sys.stderr)
    return stats


def _write_commits(spec: LedgerSpec, out: _Stream, rng: random.Random, stats: BuildStats) -> list[_Commit]:
    ident = f"{USER_NAME} <{USER_EMAIL}>".encode()
    tips: dict[str, tuple[_Commit, list[bytes]]] = {}  # branch -> (tip, blob ids of FILES)
    history: list[_Commit] = []
    when = EPOCH
    empty_blob = _object_id(b"blob", b"")
    for n, (kind, branch) in enumerate(_plan(spec.commits, spec.branches)):
        mark = n + 1
        when += rng.randint(60, 3600)
        ref = "main" if kind != "branch" else branch
        assert ref is not None
        if kind == "branch" and ref not in tips:
            parent, blobs = tips["main"]
            parents = [parent]
            stats.branches.append(ref)
        elif ref in tips:
            parent, blobs = tips[ref]
            parents = [parent]
        else:
            parents, blobs = [], [empty_blob] * len(FILES)
        if kind == "merge":
            assert branch is not None
            parents.append(tips.pop(branch)[0])
            message = f"Merge branch '{branch}'\n".encode()
            change = b""
            stats.merges += 1
        else:
            index = n % len(FILES)
            content = f"{n}\n".encode()
            blobs = list(blobs)
            blobs[index] = _object_id(b"blob", content)
            message = f"Commit {n}: change {FILES[index]}\n".encode()
            change = b"M 100644 inline %s\ndata %d\n%s\n" % (FILES[index].encode(), len(content), content)
            if not parents:  # the root commit creates every file (empty but the one it changes)
                change += b"".join(b"M 100644 inline %s\ndata 0\n\n" % f.encode() for f in FILES if f != FILES[index])
        signature = ident + b" %d +0000" % when
        body = b"tree " + _tree_id(blobs).hex().encode() + b"\n"
        body += b"".join(b"parent " + p.oid.encode() + b"\n" for p in parents)
        body += b"author " + signature + b"\ncommitter " + signature + b"\n\n" + message
        commit = _Commit(mark, _object_id(b"commit", body).hex(), when, ref)
        head = b"commit refs/heads/%s\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n%s" % (
            ref.encode(),
            mark,
            signature,
            signature,
            len(message),
            message,
        )
        links = b""
        if parents:
            links = b"from :%d\n" % parents[0].mark + b"".join(b"merge :%d\n" % p.mark for p in parents[1:])
        out.write(head + links + change + b"\n")
        tips[ref] = (commit, blobs)
        history.append(commit)
    stats.commits = len(history)
    return history


def _write_notes(
    spec: LedgerSpec,
    out: _Stream,
    rng: random.Random,
    factory: RecordFactory,
    history: list[_Commit],
    stats: BuildStats,
) -> None:
    n_notes, n_records = spec.n_notes, spec.n_records
    if n_records < n_notes:
        raise SystemExit(f"error: {n_records} records cannot fill {n_notes} notes (one record at least each)")
    if n_notes <= len(history):
        targets = sorted(rng.sample(range(len(history)), n_notes))
        annotated = [history[i] for i in targets]
    else:  # more notes than commits: the rest are on commits that are gone (squash-merged, then gc'd)
        annotated = list(history)
        when = history[-1].time
        for _ in range(n_notes - len(history)):
            when -= rng.randint(60, 3600)
            annotated.append(_Commit(0, f"{rng.getrandbits(160):040x}", when, "main"))
        annotated.sort(key=lambda c: c.time)
        stats.notes_on_missing_commits = n_notes - len(history)
    per_note = [1] * n_notes
    for i in rng.choices(range(n_notes), k=n_records - n_notes):
        per_note[i] += 1
    squashed = [f"feature/squashed-{j:03d}" for j in range(40)]
    earlier: list[Record] = []
    ident = f"{USER_NAME} <{USER_EMAIL}>".encode()
    message = b"Notes added by bench/make_ledger.py\n"
    out.write(
        b"commit %s\ncommitter %s %d +0000\ndata %d\n%s"
        % (NOTES_REF.encode(), ident, history[-1].time + 60, len(message), message)
    )
    for commit, count in zip(annotated, per_note, strict=True):
        if commit.branch != "main":
            default_branch: str | None = commit.branch
        else:
            default_branch = "main"
        lines: set[str] = set()
        made: list[Record] = []
        for _ in range(count):
            roll = rng.random()
            if earlier and roll < spec.copy_rate:
                line = rng.choice(earlier).to_line()
                if line in lines:
                    continue
                stats.copies += 1
            elif earlier and roll < spec.copy_rate + spec.tombstone_rate:
                record = factory.tombstone(rng.choice(earlier), commit.oid, commit.time, default_branch)
                line = record.to_line()
                stats.tombstones += 1
            else:
                branch = default_branch
                if branch == "main":
                    pick = rng.random()
                    branch = rng.choice(squashed) if pick < 0.2 else None if pick < 0.22 else "main"
                record, total_only = factory.usage(commit.oid, commit.time, branch)
                line = record.to_line()
                made.append(record)
                stats.usage_records += 1
                stats.total_only += total_only
            lines.add(line)
        earlier.extend(made)
        blob = "".join(line + "\n" for line in sorted(lines, key=lambda s: s.encode())).encode()
        stats.records += len(lines)
        out.write(
            b"M 100644 inline %s/%s\ndata %d\n%s\n"
            % (commit.oid[:2].encode(), commit.oid[2:].encode(), len(blob), blob)
        )
    stats.notes = n_notes
    out.write(b"\n")
    # Spot-check the canonical form: every sampled line must survive a parse and re-serialisation unchanged.
    for record in rng.sample(earlier, min(2000, len(earlier))):
        line = record.to_line()
        if Record.from_line(line).to_line() != line:
            raise SystemExit(f"error: generated a non-canonical line: {line}")


# -- cache -------------------------------------------------------------------------------------------------------


def ensure_ledger(
    spec: LedgerSpec, work_dir: Path = DEFAULT_WORK_DIR, *, rebuild: bool = False
) -> tuple[Path, dict[str, Any]]:
    """The pristine repository for ``spec``, built once into ``<work_dir>/repos/<key>/repo`` and reused.

    Returns the repository path and the build stats (as a dict; ``reused`` says whether it was cached).
    Do not modify the returned repository: benchmark a ``scratch_copy`` of it.
    """
    env = hermetic_env(work_dir / "home")
    root = work_dir / "repos" / spec.key()
    meta = root / "meta.json"
    if rebuild or not meta.is_file():
        shutil.rmtree(root, ignore_errors=True)
        staging = work_dir / "repos" / f".{spec.key()}.tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        print(f"building {root / 'repo'} (about 40 s for 100,000 commits)...", file=sys.stderr, flush=True)
        stats = build_ledger(spec, staging / "repo", env, verbose=False)
        print(f"built: {stats.summary()}", file=sys.stderr, flush=True)
        data = dataclasses.asdict(stats) | {"spec": dataclasses.asdict(spec)}
        (staging / "meta.json").write_text(json.dumps(data, indent=2) + "\n")
        staging.rename(root)
        return root / "repo", data | {"reused": False}
    return root / "repo", json.loads(meta.read_text()) | {"reused": True}


def prepare(args: argparse.Namespace, *, adopt_env: bool = False) -> tuple[Path, Path, dict[str, Any], dict[str, str]]:
    """A benchmark's start: the work dir, the cached repository for its options (built if missing), its
    build facts and the hermetic environment, with the repository's line printed. ``adopt_env``: this
    process takes that environment too, before pygit2 is imported (libgit2 reads HOME for its config
    search path)."""
    work_dir: Path = args.work_dir.resolve()
    pristine, meta = ensure_ledger(spec_from_args(args), work_dir, rebuild=args.rebuild)
    env = hermetic_env(work_dir / "home")
    if adopt_env:
        os.environ.clear()
        os.environ.update(env)
    print(f"repository: {meta['commits']:,} commits, {meta['notes']:,} notes, {meta['records']:,} records", end="")
    print(" (cached)" if meta["reused"] else f" (built in {meta['seconds']['total']:.1f}s)")
    return work_dir, pristine, meta, env


def scratch_copy(source: Path, target: Path) -> Path:
    """A fresh copy of ``source`` at ``target`` (replacing what is there) for a benchmark to modify."""
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    # gitokens' own caches (left by anything that ran on the source) must not make a "cold" run warm.
    shutil.copytree(
        source, target, symlinks=True, ignore=lambda folder, names: ["gitokens"] if folder.endswith(".git") else []
    )
    return target


def add_spec_arguments(parser: argparse.ArgumentParser, *, commits: int, records_per_note: int = 3) -> None:
    """The options every benchmark shares for choosing (and caching) its repository."""
    parser.add_argument("--commits", type=int, default=commits, help=f"commits in the repository (default {commits:,})")
    parser.add_argument("--notes", type=int, help="notes in the ledger (default: one per commit)")
    parser.add_argument("--records", type=int, help=f"records in the ledger (default: {records_per_note} per note)")
    parser.add_argument("--branches", type=int, default=8, help="feature branches (default 8)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="cache and scratch space (default bench/.work)"
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached repository")


def spec_from_args(args: argparse.Namespace) -> LedgerSpec:
    return LedgerSpec(
        commits=args.commits, notes=args.notes, records=args.records, branches=args.branches, seed=args.seed
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", type=Path, help="build here (default: the cache in --work-dir)")
    add_spec_arguments(parser, commits=100_000)
    parser.add_argument("--no-repack", action="store_true", help="keep fast-import's packs (50-deep blob chains)")
    parser.add_argument("--no-commit-graph", action="store_true")
    args = parser.parse_args(argv)
    spec = dataclasses.replace(spec_from_args(args), repack=not args.no_repack, commit_graph=not args.no_commit_graph)
    if args.directory is None:
        path, _ = ensure_ledger(spec, args.work_dir, rebuild=args.rebuild)
        print(path)
        return 0
    stats = build_ledger(spec, args.directory.resolve(), hermetic_env(args.work_dir / "home"), verbose=False)
    print(stats.summary(), file=sys.stderr)
    print(args.directory.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())

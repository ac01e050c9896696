"""The worker of a large capture: a forked process that shares the log files with the capture process,
each taking the next file in order when it is done with one, and sends back what it parsed and placed.

It knows nothing of any agent's format: the capture (``scan``) gives it how to parse, place and pack a
file. It never loads pygit2 (it is forked before the repository is opened).

A bare ``os.fork`` with pipes, not ``multiprocessing``: its import, its shared counter (a temporary folder
and an arena) and its start and exit cost a capture several times what forking does, in the part of the
command that no second process shares.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import mmap
import os
import select
import signal
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitokens.capture.scan import Context, Job, Parsed, Placed

_HEADER = 8  # a frame's length, before its pickle
_ENDING: list[int] = []  # workers that sent everything and were left to end on their own, not yet reaped
_WAIT = 0.1  # seconds between looks at whether the other process is still there, while waiting for the claim


class Worker:
    """A forked process sharing the log files with this one: each takes the next file in order when it is
    done with one, so both finish together whatever the sizes and however long this process spends on the
    results in between, and the results come back about when they are taken (in file order): none waits to
    the end.

    The worker starts before the repository is opened (and pygit2 loaded, which it never needs): it
    parses what it takes and holds on to it until ``results`` sends what placing calls needs. Should the
    worker die, this process parses whatever it did not send.

    What a file is is the caller's: ``parse`` reads one (in either process), ``place`` places its calls once
    the context has come, and ``pack`` and ``unpack`` carry a placed file across the pipe."""

    def __init__(
        self,
        jobs: list[Job],
        parse: Callable[[Job], Parsed | None],
        place: Callable[[Parsed, Context], Placed],
        pack: Callable[[Placed | None], tuple[Any, ...] | None],
        unpack: Callable[[tuple[Any, ...]], Placed],
    ) -> None:
        self.jobs = jobs
        self.parse, self.place, self.unpack = parse, place, unpack
        self.claims = _Claims(len(jobs))
        self.receiver, sender = os.pipe()
        _widen(sender)
        contexts, self.context = os.pipe()
        parent = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:  # the worker: never returns into the caller's code
            code = 1
            try:
                os.close(self.receiver)
                os.close(self.context)
                _work(jobs, self.claims, lambda: os.getppid() == parent, sender, contexts, parse, place, pack)
                code = 0
            finally:
                os._exit(code)  # no atexit, no flushing of what the capture process had buffered
        os.close(sender)
        os.close(contexts)
        self.status: int | None = None
        self.sent = False  # every result came
        for pid in _ENDING[:]:  # earlier workers that were ending on their own
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == 0:
                    continue
            _ENDING.remove(pid)

    @property
    def running(self) -> bool:
        """Whether the worker process is still there (not yet exited, or exited but not yet waited for)."""
        if self.status is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid == 0:
                    return True
                self.status = status
        return False

    def results(self, context: Context) -> Iterator[Placed | None]:
        jobs, ready = self.jobs, dict[int, Any]()
        try:
            _send(self.context, context)
            alive = True
        except OSError:  # the worker is gone already
            alive = False
        for index in range(len(jobs)):
            while index not in ready:
                if alive and _readable(self.receiver, 0):
                    alive = _receive(self.receiver, ready)
                elif not alive:
                    ready[index] = self._placed(jobs[index], context)  # the worker died: this one is ours now
                elif (mine := self.claims.next(lambda: self.running)) is not None:
                    ready[mine] = self._placed(jobs[mine], context)
                else:
                    alive = _receive(self.receiver, ready)  # everything is claimed: wait for the worker's files
            result = ready.pop(index)
            yield self.unpack(result) if type(result) is tuple else result
        self.sent = True

    def _placed(self, job: Job, context: Context) -> Placed | None:
        parsed = self.parse(job)
        return None if parsed is None else self.place(parsed, context)

    def close(self) -> None:
        """End the worker: one that sent every file is ending on its own and is not waited for (freeing its
        memory takes the system a few milliseconds: the next worker reaps it, or the end of this process);
        one that is still at work is stopped and waited for."""
        for fd in (self.receiver, self.context):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.claims.close()
        if self.running:
            if self.sent:
                _ENDING.append(self.pid)
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
        if self.status is None:
            with contextlib.suppress(ChildProcessError):
                self.status = os.waitpid(self.pid, 0)[1]


class _Claims:
    """The index of the next file nobody has taken, shared by the two processes: a counter in a shared
    mapping, changed by whoever holds the one byte of a pipe (a lock that a process killed while holding it
    does not keep: the other one stops waiting once it sees it gone)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.counter = mmap.mmap(-1, 8)  # anonymous and shared: the forked worker sees the same page
        self.taken, self.back = os.pipe()
        os.write(self.back, b".")

    def next(self, other_alive: Callable[[], bool]) -> int | None:
        """The next file to take (None when all are taken). ``other_alive``: whether the other process, which
        may hold the lock, is still there (asked every ``_WAIT`` seconds while waiting for it)."""
        held = True
        while not _readable(self.taken, _WAIT):
            if not other_alive():
                held = False  # it died holding the lock: the counter is as it left it
                break
        if held:
            os.read(self.taken, 1)
        try:
            at = int.from_bytes(self.counter[:8], "little")
            self.counter[:8] = (at + 1).to_bytes(8, "little")
        finally:
            if held:
                os.write(self.back, b".")
        return at if at < self.count else None

    def close(self) -> None:
        for fd in (self.taken, self.back):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.counter.close()


def _readable(fd: int, timeout: float | None) -> bool:
    return bool(select.select([fd], [], [], timeout)[0])


def _send(fd: int, value: Any) -> None:
    import pickle  # after the fork: neither process needs it before

    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    data = memoryview(len(body).to_bytes(_HEADER, "little") + body)
    while data:
        data = data[os.write(fd, data) :]


def _recv(fd: int) -> Any:
    """One frame's value; EOFError when the other end closed the pipe before a whole frame came."""
    import pickle

    size = int.from_bytes(_read_exactly(fd, _HEADER), "little")
    return pickle.loads(_read_exactly(fd, size))


def _read_exactly(fd: int, size: int) -> bytes:
    parts, left = [], size
    while left:
        part = os.read(fd, min(left, 1 << 20))
        if not part:
            raise EOFError
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _receive(receiver: int, ready: dict[int, Any]) -> bool:
    """One result from the worker into ``ready``; False when the worker is gone."""
    try:
        index, packed = _recv(receiver)
    except (EOFError, OSError):
        return False
    ready[index] = packed
    return True


def _work(
    jobs: list[Job],
    claims: _Claims,
    capturing: Callable[[], bool],
    sender: int,
    contexts: int,
    parse: Callable[[Job], Parsed | None],
    place: Callable[[Parsed, Context], Placed],
    pack: Callable[[Placed | None], tuple[Any, ...] | None],
) -> None:
    """The worker: claims files in turn until none is left, and sends each one placed; the files parsed
    before the context came are placed and sent once it has."""
    gc.disable()  # tens of thousands of parsed objects and no cycles (as in the capture process)
    context: Context | None = None
    waiting: list[tuple[int, Parsed | None]] = []
    while (index := claims.next(capturing)) is not None:
        waiting.append((index, parse(jobs[index])))
        if context is None and _readable(contexts, 0):
            try:
                context = _recv(contexts)
            except (EOFError, OSError):  # the capture ended without reading the results
                return
        if context is not None:
            for at, parsed in waiting:
                _send(sender, (at, pack(None if parsed is None else place(parsed, context))))
            waiting.clear()
    if waiting:
        try:
            context = _recv(contexts)
        except (EOFError, OSError):  # the capture ended without reading the results
            return
        for at, parsed in waiting:
            _send(sender, (at, pack(None if parsed is None else place(parsed, context))))


def _widen(pipe: int) -> None:
    """Room in the pipe for several files' results (Linux: 1 MiB instead of 64 KiB), so the worker goes on
    parsing while this process is busy rather than waiting for it to read."""
    with contextlib.suppress(AttributeError, OSError):  # no F_SETPIPE_SZ here, or over the user's limit
        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, 1 << 20)

"""The worker of a large capture: a forked process that shares the log files with the capture process,
each taking the next file in order when it is done with one, and sends back what it parsed and placed.

It knows nothing of any agent's format: the capture (``scan``) gives it how to parse, place and pack a
file. It never loads pygit2 (it is forked before the repository is opened).
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import multiprocessing
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitokens.capture.scan import Context, Job, Parsed, Placed


class Worker:
    """A forked process sharing Claude Code's files with this one: each takes the next file in order when
    it is done with one, so both finish together whatever the sizes and however long this process spends
    on the results in between, and the results come back about when they are taken (in file order): none
    waits to the end.

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
        forking = multiprocessing.get_context("fork")
        self.jobs = jobs
        self.parse, self.place, self.unpack = parse, place, unpack
        self.claimed = forking.Value("q", 0)
        self.receiver, sender = forking.Pipe(duplex=False)
        _widen(sender.fileno())
        contexts, self.context = forking.Pipe(duplex=False)
        self.process = forking.Process(
            target=_work, args=(jobs, self.claimed, sender, contexts, parse, place, pack), daemon=True
        )
        self.process.start()
        sender.close()
        contexts.close()

    def results(self, context: Context) -> Iterator[Placed | None]:
        jobs, ready = self.jobs, dict[int, Any]()
        try:
            self.context.send(context)
            alive = True
        except OSError:  # the worker is gone already
            alive = False
        for index in range(len(jobs)):
            while index not in ready:
                if alive and self.receiver.poll():
                    alive = _receive(self.receiver, ready)
                elif not alive:
                    ready[index] = self._placed(jobs[index], context)  # the worker died: this one is ours now
                elif (mine := _claim(self.claimed, len(jobs))) is not None:
                    ready[mine] = self._placed(jobs[mine], context)
                else:
                    alive = _receive(self.receiver, ready)  # everything is claimed: wait for the worker's files
            result = ready.pop(index)
            yield self.unpack(result) if type(result) is tuple else result

    def _placed(self, job: Job, context: Context) -> Placed | None:
        parsed = self.parse(job)
        return None if parsed is None else self.place(parsed, context)

    def close(self) -> None:
        self.receiver.close()
        self.context.close()
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()


def _receive(receiver: Any, ready: dict[int, Any]) -> bool:
    """One result from the worker into ``ready``; False when the worker is gone."""
    try:
        index, packed = receiver.recv()
    except (EOFError, OSError):
        return False
    ready[index] = packed
    return True


def _work(
    jobs: list[Job],
    claimed: Any,
    sender: Any,
    contexts: Any,
    parse: Callable[[Job], Parsed | None],
    place: Callable[[Parsed, Context], Placed],
    pack: Callable[[Placed | None], tuple[Any, ...] | None],
) -> None:
    """The worker: claims files in turn until none is left, and sends each one placed; the files parsed
    before the context came are placed and sent once it has."""
    gc.disable()  # tens of thousands of parsed objects and no cycles (as in the capture process)
    context: Context | None = None
    waiting: list[tuple[int, Parsed | None]] = []
    while (index := _claim(claimed, len(jobs))) is not None:
        waiting.append((index, parse(jobs[index])))
        if context is None and contexts.poll():
            context = contexts.recv()
        if context is not None:
            for at, parsed in waiting:
                sender.send((at, pack(None if parsed is None else place(parsed, context))))
            waiting.clear()
    if waiting:
        try:
            context = contexts.recv()
        except (EOFError, OSError):  # the capture ended without reading the results
            return
        for at, parsed in waiting:
            sender.send((at, pack(None if parsed is None else place(parsed, context))))
    sender.close()


def _claim(claimed: Any, count: int) -> int | None:
    """The next file nobody has taken (shared between the two processes), or None when all are taken."""
    with claimed.get_lock():
        at = claimed.value
        claimed.value = at + 1
    return at if at < count else None


def _widen(pipe: int) -> None:
    """Room in the pipe for several files' results (Linux: 1 MiB instead of 64 KiB), so the worker goes on
    parsing while this process is busy rather than waiting for it to read."""
    with contextlib.suppress(AttributeError, OSError):  # no F_SETPIPE_SZ here, or over the user's limit
        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, 1 << 20)

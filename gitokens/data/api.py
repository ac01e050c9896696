"""Recording from code: ``gitokens.record``, ``gitokens.track`` and the ``@gitokens.tracked`` decorator.

A record made here waits in the pending queue (one file per record, written atomically, so any number of
threads and processes can record at once) and the post-commit hook attaches it to the next commit; with
``commit=`` it is attached to that commit straight away. Source ``api``.

Nothing here raises into the caller's request path: a failure to record is logged as a warning on the
``gitokens`` logger, ``record`` returns None, and ``track`` and ``tracked`` return the response unchanged.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, overload

from gitokens.data.usage import usage_fields
from gitokens.git.repo import open_repo
from gitokens.ledger import edits, pending, store, totals
from gitokens.ledger.record import SPLIT_FIELDS, Record
from gitokens.share import install

log = logging.getLogger("gitokens")
_P = ParamSpec("_P")
_R = TypeVar("_R")
_warned_no_hook: set[str] = set()
_warned_lock = threading.Lock()


def record(
    input_tokens: int = 0,
    output_tokens: int = 0,
    *,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
    cache_write_1h_tokens: int = 0,
    total_tokens: int | None = None,
    requests: int | None = 1,
    model: str | None = None,
    provider: str | None = None,
    endpoint: str | None = None,
    note: str | None = None,
    session: str | None = None,
    cost_usd: float | None = None,
    repo: str | os.PathLike[str] = ".",
    commit: str | None = None,
) -> Record | None:
    """Record tokens for the next commit of the repository at ``repo`` (or on ``commit`` now).

    Token counts use Anthropic semantics: ``input_tokens`` excludes cache reads and writes, reasoning is a
    part of the output, ``cache_write_1h_tokens`` the part of the cache writes made to the 1-hour cache.
    ``requests`` is how many API calls the tokens were spent in: one by default (a record that sums several
    is priced at the tier of its average call); None when unknown. Returns the record, or None when it
    could not be recorded (logged as a warning).
    """
    counts = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_tokens": cache_read_tokens,
        "cache_write_tokens": cache_write_tokens,
        "reasoning_tokens": reasoning_tokens,
        "cache_write_1h_tokens": cache_write_1h_tokens,
    }
    try:
        opened = open_repo(repo)
        made = edits.build(
            opened,
            total=None if any(counts.values()) else total_tokens,  # a split makes a total redundant
            counts=counts,
            source="api",
            model=model,
            provider=provider,
            endpoint=endpoint,
            note=note,
            session=session,
            cost_usd=cost_usd,
            requests=requests,
        )
        if commit is not None:
            target = opened.resolve_commit(commit)
            made = made.replace(commit=target)
            written = store.append(opened, {target: [made]}, "Notes added by gitokens.record")
            totals.advance(opened, written, [made])
            return made
        pending.enqueue(opened, made)
        _check_hook(opened)
        return made
    except Exception as exc:
        log.warning("gitokens: tokens not recorded: %s", exc)
        return None


def track(
    response: _R,
    *,
    endpoint: str | None = None,
    note: str | None = None,
    model: str | None = None,
    provider: str | None = None,
    session: str | None = None,
    repo: str | os.PathLike[str] = ".",
    commit: str | None = None,
) -> _R:
    """Record the usage an LLM response reports (OpenAI chat completions or Responses, Anthropic messages,
    their dict forms or their ``usage``), and return the response unchanged. One response is one request."""
    try:
        fields = usage_fields(response)
    except Exception as exc:
        log.warning("gitokens: tokens not recorded: %s", exc)
        return response
    counts = {name: fields.get(name, 0) for name in (*SPLIT_FIELDS, "cache_write_1h_tokens")}
    record(
        **counts,
        total_tokens=fields.get("total_tokens"),
        requests=fields.get("requests", 1),
        model=model or fields.get("model"),
        provider=provider or fields.get("provider"),
        endpoint=endpoint,
        note=note,
        session=session,
        repo=repo,
        commit=commit,
    )
    return response


@overload
def tracked(function: Callable[_P, _R], /) -> Callable[_P, _R]: ...


@overload
def tracked(
    *,
    endpoint: str | None = None,
    note: str | None = None,
    model: str | None = None,
    provider: str | None = None,
    repo: str | os.PathLike[str] = ".",
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]: ...


def tracked(function: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Decorate a function (or coroutine function) that returns an LLM response: its usage is recorded
    each time it returns, and the response is passed back unchanged. ``@tracked`` or ``@tracked(endpoint=...)``.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                awaited: Awaitable[Any] = func(*args, **kwargs)
                return track(await awaited, **options)

            return run_async

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            return track(func(*args, **kwargs), **options)

        return run

    return decorate(function) if function is not None else decorate


def _check_hook(opened: Any) -> None:
    """Say once per repository and process when no post-commit hook will pick the queue up."""
    key = str(opened.common_dir)
    with _warned_lock:
        if key in _warned_no_hook:
            return
        _warned_no_hook.add(key)
    if not install.is_ours(install.hooks_dir(opened) / "post-commit"):
        log.warning(
            "gitokens: tokens queued in %s, but no gitokens post-commit hook is installed to attach them; "
            "run `git tokens install` there",
            opened.workdir or key,
        )

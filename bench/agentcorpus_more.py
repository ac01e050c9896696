"""Corpora of the other agents' logs, shaped as each agent writes them, and the calls each holds.

``make(agent, home, spec)`` writes one agent's logs under ``home`` (its default places) and returns every model
call it wrote, once, in our semantics (input without cache; output with reasoning): the ground truth a
reader must find. The line and row writers are the tests' (``tests/agentlogs_more.py``), so the bench and the
tests agree on the formats. Deterministic for a seed.

What each corpus holds that makes its agent hard to read, as the agent writes it:

- gemini: every message appended two or three times as it changes (tokens the same); cached input inside
  ``input``; thoughts outside ``output``; tool-use prompt tokens.
- qwen: OpenAI-compatible usage (reasoning inside ``candidatesTokenCount`` and also given as
  ``thoughtsTokenCount``), the telemetry copy of each call.
- kimi: foreground sub-agents' calls, in the parent's wire (wrapped) and in their own wire.
- droid: running totals per session, one settings file per session, thinking tokens.
- amp: message usage with cache reads and writes.
- opencode, kilo: assistant messages of several steps (the message keeps only the last step's tokens).
- goose: the usage ledger and the session totals it feeds, cache included in input.
- pi: sessions branched from others (the kept entries copied unchanged into the new file), costs as pi
  reports them.
- copilot: the session store's usage rows and, with OpenTelemetry file export on, the same calls as chat
  spans (``~/.copilot/otel/``), which is what ccusage reads.
- hermes: each session's running totals (Claude sessions with cache reads and writes, GPT sessions with
  reasoning inside the output) and, outside them, auxiliary calls (compression, title generation) counted
  only in their route rows. No cost is stored (as on a route Hermes has no price for), so ccusage prices the
  tokens itself.
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import agentlogs_more as logs
from agentlogs import hermes_call, hermes_session, hermes_store, iso

AGENTS = ("gemini", "qwen", "kimi", "droid", "amp", "opencode", "kilo", "goose", "copilot", "pi", "hermes")
KINDS = ("input", "output", "cache_read", "cache_write", "reasoning")


@dataclass(frozen=True)
class Spec:
    calls: int = 2000
    seed: int = 1
    start: int = 1_760_918_400  # 2025-10-20T00:00:00Z
    per_session: int = 25


@dataclass(frozen=True)
class Call:
    session: str
    at: float
    model: str
    input: int
    output: int  # reasoning included
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0


def make(agent: str, home: Path, spec: Spec) -> list[Call]:
    rng = random.Random(f"{agent}-{spec.seed}")
    return WRITERS[agent](home, spec, rng)


def _sessions(spec: Spec, rng: random.Random) -> list[tuple[str, list[float]]]:
    """Sessions of about ``per_session`` calls, a minute or so apart, spread over four days."""
    out, left, n = [], spec.calls, 0
    while left > 0:
        size = min(left, rng.randint(spec.per_session // 2, spec.per_session * 3 // 2))
        start = spec.start + rng.randrange(4 * 86400)
        out.append((f"{n:08d}-5e55-4000-8000-{n:012d}", [start + i * rng.uniform(20, 90) for i in range(size)]))
        left -= size
        n += 1
    return out


def _gemini(home: Path, spec: Spec, rng: random.Random) -> list[Call]:
    truth = []
    for session, times in _sessions(spec, rng):
        path = logs.gemini_chat(home, "repo", "/work/repo", session, times[0])
        lines = [logs.gemini_meta(session, times[0])]
        for n, at in enumerate(times):
            cached, fresh, out = rng.randint(0, 50_000), rng.randint(100, 5000), rng.randint(10, 2000)
            thoughts, tool = rng.choice((0, rng.randint(10, 900))), rng.choice((0, 0, 7))
            model = rng.choice(("gemini-2.5-pro", "gemini-2.5-flash"))
            tokens = logs.gemini_tokens(fresh + cached, out, cached=cached, thoughts=thoughts, tool=tool)
            lines += [logs.gemini_user(at - 2), logs.gemini_message(f"m{n}", at, tokens, model)]
            lines += [logs.gemini_message(f"m{n}", at, tokens, model, tools=True)] * rng.randint(1, 2)
            truth.append(Call(session, at, model, fresh + tool, out + thoughts, cached, 0, thoughts))
        logs.append(path, lines)
    return truth


def _qwen(home: Path, spec: Spec, rng: random.Random) -> list[Call]:
    truth = []
    for session, times in _sessions(spec, rng):
        path = logs.qwen_file(home, "/work/repo", session)
        lines = []
        for n, at in enumerate(times):
            cached, fresh, out = rng.randint(0, 40_000), rng.randint(100, 5000), rng.randint(10, 2000)
            thoughts = rng.choice((0, rng.randint(1, out)))
            usage = logs.qwen_usage(fresh + cached, out, cached=cached, thoughts=thoughts)
            lines.append(logs.qwen_assistant(f"{session}-{n}", session, "/work/repo", at, usage))
            lines.append(logs.qwen_telemetry(session, "/work/repo", at, usage))
            truth.append(Call(session, at, "qwen3-coder-plus", fresh, out, cached, 0, thoughts))
        logs.append(path, lines)
    return truth


def _kimi(home: Path, spec: Spec, rng: random.Random) -> list[Call]:
    share = logs.kimi_share(home, ["/work/repo"], model="kimi-k2-turbo-preview")
    truth = []
    for session, times in _sessions(spec, rng):
        wire = logs.kimi_wire(share, "/work/repo", session)
        lines, sub = [logs.kimi_header()], [logs.kimi_header()]
        for n, at in enumerate(times):
            other, out, read = rng.randint(100, 5000), rng.randint(10, 2000), rng.randint(0, 50_000)
            status = logs.kimi_status(at, f"chatcmpl-{session}-{n}", other, out, read)
            if n % 5 == 4:  # a foreground sub-agent's call: wrapped in the parent, plain in its own wire
                lines.append(logs.kimi_subagent(at, status))
                sub.append(status)
            else:
                lines.append(status)
            lines.append(logs.kimi_null_status(at + 1))
            truth.append(Call(session, at, "kimi-k2-turbo-preview", other, out, read))
        logs.append(wire, lines)
        logs.append(wire.parent / "subagents" / "a1b2" / "wire.jsonl", sub)
    return truth


def _droid(home: Path, spec: Spec, rng: random.Random) -> list[Call]:
    truth = []
    for session, times in _sessions(spec, rng):
        totals = [0, 0, 0, 0, 0]
        for _ in times:
            for i, top in enumerate((5000, 2000, 50_000, 3000, 500)):
                totals[i] += rng.randint(0, top)
        inp, out, read, write, thinking = totals
        logs.droid_session(
            home, "/work/repo", session, times[-1], logs.droid_usage(*totals), "claude-sonnet-4-5-20250929"
        )
        truth.append(Call(session, times[-1], "claude-sonnet-4-5-20250929", inp, out + thinking, read, write, thinking))
    return truth


def _amp(home: Path, spec: Spec, rng: random.Random) -> list[Call]:
    truth = []
    for session, times in _sessions(spec, rng):
        thread, messages = f"T-{session}", []
        for n, at in enumerate(times):
            inp, out, read, write = (
                rng.randint(1, 50),
                rng.randint(10, 2000),
                rng.randint(0, 80_000),
                rng.randint(0, 7000),
            )
            messages += [{"role": "user", "messageId": 2 * n, "content": []}]
            messages.append(logs.amp_assistant(2 * n + 1, at, inp, out, read, write, model="claude-sonnet-4-5"))
            truth.append(Call(thread, at, "claude-sonnet-4-5", inp, out, read, write))
        logs.amp_thread(home, thread, "/work/repo", messages)
    return truth


def _unsynced(db: sqlite3.Connection) -> sqlite3.Connection:
    """A store being written for a corpus: its helpers commit after every message, and waiting for the disk
    on each commit made a large corpus take minutes; the rows written are the same."""
    db.execute("PRAGMA synchronous = OFF")
    return db


def _opencode_like(folder: str, database: str) -> object:
    def write(home: Path, spec: Spec, rng: random.Random) -> list[Call]:
        db = _unsynced(logs.opencode_store(home / ".local" / "share" / folder / database))
        truth = []
        for session, times in _sessions(spec, rng):
            sid = f"ses_{session[:8]}"
            logs.opencode_session(db, sid, "/work/repo")
            for n, at in enumerate(times):
                steps = []
                for _ in range(rng.choice((1, 1, 1, 2, 3))):
                    inp, out, reasoning = (
                        rng.randint(1, 3000),
                        rng.randint(10, 2000),
                        rng.choice((0, rng.randint(1, 500))),
                    )
                    read, write = rng.randint(0, 60_000), rng.randint(0, 4000)
                    tokens = logs.opencode_tokens(inp, out, reasoning, read, write)
                    steps.append({"cost": 0.0, "tokens": tokens})
                    truth.append(Call(sid, at, "claude-sonnet-4-5", inp, out + reasoning, read, write, reasoning))
                logs.opencode_message(db, sid, f"msg_{session[:8]}_{n:04d}", at, "/work/repo", steps)
        db.close()
        return truth

    return write


def _goose(home: Path, spec: Spec, rng: random.Random) -> list[Call]:
    db = _unsynced(logs.goose_store(home / ".local" / "share" / "goose" / "sessions" / "sessions.db"))
    truth = []
    for session, times in _sessions(spec, rng):
        logs.goose_session(db, session, "/work/repo", times[0])
        for at in times:
            inp, out, read, write = (
                rng.randint(1, 3000),
                rng.randint(10, 2000),
                rng.randint(0, 60_000),
                rng.randint(0, 4000),
            )
            logs.goose_call(db, session, at, inp, out, read, write, cost=None)
            truth.append(Call(session, at, "claude-sonnet-4-5", inp, out, read, write))
    db.close()
    return truth


def _copilot(home: Path, spec: Spec, rng: random.Random) -> list[Call]:
    db = _unsynced(logs.copilot_store(home / ".copilot" / "session-store.db"))
    spans, truth = [], []
    for session, times in _sessions(spec, rng):
        logs.copilot_events(home, session, "/work/repo", "main", times[0])
        for n, at in enumerate(times):
            inp, out, read, write = (
                rng.randint(1, 3000),
                rng.randint(10, 2000),
                rng.randint(0, 60_000),
                rng.randint(0, 4000),
            )
            reasoning = rng.choice((0, rng.randint(0, out)))
            logs.copilot_call(db, session, at, "claude-sonnet-4.5", inp, out, read, write, reasoning)
            truth.append(Call(session, at, "claude-sonnet-4.5", inp, out, read, write, reasoning))
            attributes = {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "claude-sonnet-4.5",
                "gen_ai.response.model": "claude-sonnet-4.5",
                "gen_ai.conversation.id": session,
                "gen_ai.response.id": f"msg_{session}_{n}",
                "gen_ai.usage.input_tokens": inp + read + write,
                "gen_ai.usage.output_tokens": out,
                "gen_ai.usage.cache_read.input_tokens": read,
                "gen_ai.usage.cache_creation.input_tokens": write,
                "gen_ai.usage.reasoning.output_tokens": reasoning,
            }
            seconds = int(at)
            span = {
                "type": "span",
                "traceId": f"{session}{n:08x}",
                "spanId": f"{n:016x}",
                "name": "chat claude-sonnet-4.5",
            }
            span |= {
                "startTime": [seconds - 3, 0],
                "endTime": [seconds, int((at - seconds) * 1e9)],
                "attributes": attributes,
            }
            spans.append(json.dumps(span, separators=(",", ":")))
    db.close()
    logs.append(home / ".copilot" / "otel" / "copilot-otel.jsonl", spans)
    return truth


def _pi(home: Path, spec: Spec, rng: random.Random) -> list[Call]:
    truth = []
    for session, times in _sessions(spec, rng):
        path = logs.pi_file(home, "/work/repo", session, times[0])
        lines = [logs.pi_header(session, "/work/repo", times[0])]
        for n, at in enumerate(times):
            inp, out, read, write = (
                rng.randint(1, 3000),
                rng.randint(10, 2000),
                rng.randint(0, 60_000),
                rng.randint(0, 4000),
            )
            lines += [logs.pi_user(f"u{n:07x}", at - 1), logs.pi_assistant(f"{n:08x}", at, inp, out, read, write, 0.01)]
            truth.append(Call(session, at, "claude-sonnet-4-5", inp, out, read, write))
        logs.append(path, lines)
        if rng.random() < 0.3:  # a branch: a new session starting with a copy of the entries it keeps
            branch = f"{session[:-4]}b0b0"
            kept = lines[1 : 1 + 2 * rng.randint(1, len(times))]
            logs.append(
                logs.pi_file(home, "/work/repo", branch, times[-1]),
                [logs.pi_header(branch, "/work/repo", times[-1], str(path)), *kept],
            )
    return truth


def _hermes(home: Path, spec: Spec, rng: random.Random) -> list[Call]:
    db = hermes_store(home / ".hermes" / "state.db")
    db.execute("PRAGMA synchronous = OFF")
    truth = []
    for n, (session, times) in enumerate(_sessions(spec, rng)):
        claude = n % 2 == 0
        model, provider = ("claude-sonnet-4-5", "anthropic") if claude else ("gpt-5", "openai")
        hermes_session(db, session, "/work/repo", times[0], model=model, provider=provider)
        for at in times:
            if rng.random() < 0.1:  # an auxiliary call: in its route row only
                task = rng.choice(("compression", "title_generation"))
                inp, out = rng.randint(2000, 40_000), rng.randint(50, 1500)
                hermes_call(
                    db, session, at, inp, out, estimated=None, model="gemini-2.5-flash", provider="google", task=task
                )
                truth.append(Call(session, at, "gemini-2.5-flash", inp, out))
                continue
            inp, out = rng.randint(1, 3000), rng.randint(10, 2000)
            read, write = (rng.randint(0, 60_000), rng.randint(0, 4000)) if claude else (rng.randint(0, 30_000), 0)
            reasoning = 0 if claude else rng.randint(0, out)
            hermes_call(
                db, session, at, inp, out, read, write, reasoning, estimated=None, model=model, provider=provider
            )
            truth.append(Call(session, at, model, inp, out, read, write, reasoning))
    db.close()
    return truth


WRITERS = {
    "gemini": _gemini,
    "qwen": _qwen,
    "kimi": _kimi,
    "droid": _droid,
    "amp": _amp,
    "opencode": _opencode_like("opencode", "opencode.db"),
    "kilo": _opencode_like("kilo", "kilo.db"),
    "goose": _goose,
    "copilot": _copilot,
    "pi": _pi,
    "hermes": _hermes,
}
__all__ = ["AGENTS", "KINDS", "Call", "Spec", "iso", "make"]

"""A corpus of Claude Code and Codex logs shaped like real ones, and the model calls it holds.

``make_corpus(home, repo, spec)`` writes Claude Code transcripts under ``home/.claude/projects/`` and Codex
rollouts under ``home/.codex/sessions/`` for work done in ``repo`` on one branch, and returns every model
call it wrote, once: the ground truth a reader of the logs must find. Deterministic for a seed.

What makes the logs hard to read, each as the agents write it:

- Claude Code writes a call on one line per streamed content block, each carrying the call's
  ``message.id``, its ``requestId`` and the usage so far: ``output_tokens`` grows (1, 1, 260) and only the
  last line holds the call's usage. Newer versions write no ``requestId`` at all.
- Sessions run across midnight UTC; a resumed session is a new file that starts with a copy of an earlier
  session's lines and goes on under the earlier ``sessionId``; a sub-agent's side-chain file
  (``isSidechain: true``) starts by replaying a parent message, sometimes under a new ``requestId``.
- Long and short prompts mix in one session: Sonnet 4.5 calls whose input with cache reads and writes is
  over 200,000 tokens (its long-context price tier) between calls under it; Haiku side calls in Sonnet
  sessions; cache writes split into 5-minute and 1-hour ones (``usage.cache_creation``).
- Some files end with a complete last line and no newline.
- Codex writes ``session_meta``, ``turn_context`` (the model), and ``token_count`` events with the call's
  (``last_token_usage``) and the session's (``total_token_usage``) counts, ``input_tokens`` including the
  cached ones; it writes the event again, unchanged, whenever only its rate limits change, and writes
  rate-limit-only events (``info: null``) before a session's first call.

Every line of one call is kept inside one UTC hour, so which line dates the call does not matter.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SONNET = "claude-sonnet-4-5-20250929"
OPUS = "claude-opus-4-1-20250805"
HAIKU = "claude-haiku-4-5-20251001"
CODEX_MODELS = (("gpt-5-codex", 55), ("gpt-5", 45))
UNKNOWN_CODEX_MODEL = "gpt-5-codex-exp"  # no price anywhere: ccusage prices it as gpt-5, gitokens lists it unpriced
LONG_CONTEXT = 200_000


@dataclass(frozen=True)
class Spec:
    """What to generate: about ``calls`` model calls over ``days`` UTC days from ``start``."""

    calls: int = 3000
    seed: int = 1
    days: int = 4
    start: int = 1_760_918_400  # 2025-10-20T00:00:00Z
    branch: str = "main"
    codex_share: float = 0.25


@dataclass(frozen=True)
class Call:
    """One model call as the provider billed it; tokens with Anthropic's semantics (input without cache)."""

    agent: str  # "claude" or "codex"
    session: str
    model: str
    at: float  # the time of the line that holds the call's final usage
    input: int
    output: int
    cache_read: int
    cache_write: int
    cache_write_1h: int = 0
    reasoning: int = 0

    @property
    def day(self) -> str:
        return datetime.fromtimestamp(self.at, UTC).strftime("%Y-%m-%d")

    @property
    def prompt(self) -> int:
        return self.input + self.cache_read + self.cache_write


@dataclass
class Corpus:
    calls: list[Call] = field(default_factory=list)
    files: int = 0
    lines: int = 0
    bytes: int = 0
    first: float = 0.0
    last: float = 0.0
    features: dict[str, int] = field(default_factory=dict)
    resumed: dict[str, str] = field(default_factory=dict)  # a resumed session's file name -> its sessionId

    def count(self, feature: str, n: int = 1) -> None:
        self.features[feature] = self.features.get(feature, 0) + n


def make_corpus(home: Path, repo: Path, spec: Spec) -> Corpus:
    """Write the logs under ``home`` for work in ``repo``; return the calls they hold."""
    rng = random.Random(spec.seed)
    corpus = Corpus()
    codex_calls = int(spec.calls * spec.codex_share)
    claude = _ClaudeWriter(rng, home / ".claude" / "projects", repo, spec, corpus)
    while sum(c.agent == "claude" for c in corpus.calls) < spec.calls - codex_calls:
        claude.session()
    codex = _CodexWriter(rng, home / ".codex" / "sessions", repo, spec, corpus)
    while sum(c.agent == "codex" for c in corpus.calls) < codex_calls:
        codex.session()
    times = [c.at for c in corpus.calls]
    corpus.first, corpus.last = min(times), max(times)
    return corpus


# -- Claude Code ---------------------------------------------------------------------------------------------------


class _ClaudeWriter:
    def __init__(self, rng: random.Random, projects: Path, repo: Path, spec: Spec, corpus: Corpus) -> None:
        self.rng, self.spec, self.corpus, self.repo = rng, spec, corpus, repo
        self.folder = projects / str(repo).replace("/", "-")
        self.written: list[tuple[str, list[str]]] = []  # (sessionId, lines) of the sessions written so far

    def session(self) -> None:
        rng, corpus = self.rng, self.corpus
        resumed = self.written and rng.random() < 0.1
        if resumed:  # a new file: a copy of an earlier session's first lines, then more under its sessionId
            session, earlier = rng.choice(self.written)
            ends = [n + 1 for n, line in enumerate(earlier) if '"type":"tool_result"' in line]  # whole calls only
            lines = earlier[: rng.choice(ends[: max(1, len(ends) // 2)])]
            last_at = max(json.loads(line)["timestamp"] for line in lines)
            at = _epoch(last_at) + rng.uniform(1800, 20000)
            corpus.count("resumed sessions")
        else:
            session, lines = _uuid(rng), []
            at = self._start()
        model = rng.choices((SONNET, OPUS, HAIKU), (70, 15, 15))[0]
        new = rng.random() < 0.35  # newer Claude Code versions write no requestId
        corpus.count("sessions without requestId" if new else "sessions with requestId")
        chat = _Transcript(rng, self, session, model, at, request_ids=not new)
        if model == SONNET and rng.random() < 0.35:
            chat.context_cap = rng.randint(260_000, 420_000)  # runs into Sonnet's long-context tier
        for _ in range(rng.randint(4, 25)):
            lines += chat.turn()
        unterminated = rng.random() < 0.3
        if unterminated:  # the file ends on a call's complete last line, without a newline
            lines += chat.call_lines()
            corpus.count("files without a final newline")
        name = _uuid(rng) if resumed else session
        if resumed:
            corpus.resumed[name] = session
        self._write(self.folder / f"{name}.jsonl", lines, newline=not unterminated)
        if rng.random() < 0.15 and chat.finals:
            self._sidechain(session, chat)
        self.written.append((session, lines))
        if _day(chat.started) != _day(chat.at):
            corpus.count("sessions across midnight UTC")

    def _start(self) -> float:
        rng = self.rng
        day = rng.randrange(self.spec.days)
        if rng.random() < 0.25:  # late in the evening: runs across midnight
            return self.spec.start + day * 86400 + rng.uniform(22.5 * 3600, 23.9 * 3600)
        return self.spec.start + day * 86400 + rng.uniform(0, 21 * 3600)

    def _sidechain(self, session: str, parent: _Transcript) -> None:
        rng = self.rng
        replay = json.loads(rng.choice(parent.finals))
        replay["isSidechain"] = True
        replay["uuid"] = _uuid(rng)
        if "requestId" in replay and rng.random() < 0.5:
            replay["requestId"] = _request_id(rng)  # a side-chain may replay a parent message under a new requestId
            self.corpus.count("side-chain replays under a new requestId")
        self.corpus.count("side-chain files")
        agent = _Transcript(
            rng, self, session, rng.choice((SONNET, HAIKU)), parent.started + 60, parent.request_ids, sidechain=True
        )
        agent.parent = replay["uuid"]
        lines = [_dumps(replay)]
        for _ in range(rng.randint(1, 4)):
            lines += agent.turn()
        self._write(self.folder / session / "subagents" / f"agent-{rng.getrandbits(32):08x}.jsonl", lines)

    def _write(self, path: Path, lines: list[str], newline: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = "\n".join(lines) + ("\n" if newline else "")
        path.write_text(data, encoding="utf-8")
        self.corpus.files += 1
        self.corpus.lines += len(lines)
        self.corpus.bytes += len(data.encode())


class _Transcript:
    """The lines of one Claude Code session (or side-chain), as Claude Code writes them."""

    def __init__(
        self,
        rng: random.Random,
        writer: _ClaudeWriter,
        session: str,
        model: str,
        at: float,
        request_ids: bool,
        sidechain: bool = False,
    ) -> None:
        self.rng, self.writer, self.session, self.model = rng, writer, session, model
        self.at = self.started = at
        self.request_ids, self.sidechain = request_ids, sidechain
        self.parent: str | None = None
        self.context = rng.randint(12_000, 30_000)
        self.context_cap = rng.randint(120_000, 190_000)
        self.cache_mode = rng.choices(("5m", "1h", "mixed"), (50, 30, 20))[0]
        self.finals: list[str] = []
        self.version = "2.0.76" if request_ids else "2.1.14"

    def _entry(self, kind: str, message: dict[str, Any], request_id: str | None = None) -> dict[str, Any]:
        uuid = _uuid(self.rng)
        entry: dict[str, Any] = {
            "parentUuid": self.parent,
            "isSidechain": self.sidechain,
            "userType": "external",
            "cwd": str(self.writer.repo / "src") if self.rng.random() < 0.1 else str(self.writer.repo),
            "sessionId": self.session,
            "version": self.version,
            "gitBranch": self.writer.spec.branch,
            "message": message,
        }
        if request_id is not None:
            entry["requestId"] = request_id
        entry.update(type=kind, uuid=uuid, timestamp=_iso(self.at))
        self.parent = uuid
        return entry

    def turn(self) -> list[str]:
        rng = self.rng
        self.at += rng.uniform(20, 600)
        lines = [_dumps(self._entry("user", {"role": "user", "content": _words(rng, 8, 60)}))]
        for _ in range(rng.randint(1, 5)):
            lines += self.call_lines()
            self.at += rng.uniform(0.5, 30)
            tool = {"tool_use_id": f"toolu_{rng.getrandbits(96):024x}", "type": "tool_result"}
            tool["content"] = _words(rng, 5, 80)
            lines.append(_dumps(self._entry("user", {"role": "user", "content": [tool]})))
        return lines

    def call_lines(self) -> list[str]:
        """One model call: 2-4 streamed lines sharing the message id (and request id), usage growing."""
        rng, corpus = self.rng, self.writer.corpus
        side = self.model == SONNET and rng.random() < 0.08  # a small Haiku call in a Sonnet session
        model = HAIKU if side else self.model
        if side:
            usage, one_hour = {"input_tokens": rng.randint(200, 3000), "cache_read_input_tokens": 0}, 0
            write, output = 0, rng.randint(5, 120)
        else:
            write = 0 if rng.random() < 0.15 else rng.randint(300, 14_000 if self.context_cap > LONG_CONTEXT else 9000)
            one_hour = {"5m": 0, "1h": write, "mixed": rng.randint(0, write)}[self.cache_mode]
            input_tokens = rng.randint(500, 6000) if rng.random() < 0.08 else rng.randint(1, 60)
            usage = {"input_tokens": input_tokens, "cache_read_input_tokens": self.context}
            output = rng.randint(20, 3000)
            self.context += write + output
            if self.context > self.context_cap:  # compaction
                self.context = rng.randint(20_000, 40_000)
        usage["cache_creation_input_tokens"] = write
        usage["cache_creation"] = {"ephemeral_5m_input_tokens": write - one_hour, "ephemeral_1h_input_tokens": one_hour}
        usage["service_tier"] = "standard"
        blocks = rng.choice((["thinking", "text"], ["text", "tool_use"], ["thinking", "text", "tool_use"], ["text"]))
        if len(blocks) == 1:
            blocks = ["text", "text"]
        steps = len(blocks)
        self.at = _same_hour(self.at, 4.0 * steps)
        message_id, request_id = f"msg_01{rng.getrandbits(110):022x}", _request_id(rng)
        lines: list[str] = []
        for n, block in enumerate(blocks, 1):
            final = n == steps
            partial = output if final else min(output, rng.choice((1, 1, 1, rng.randint(2, 12))))  # usage only grows
            content: dict[str, Any] = {"type": block}
            if block == "tool_use":
                content.update(id=f"toolu_{rng.getrandbits(96):024x}", name="Bash", input={"command": "ls"})
            else:
                content[block] = _words(rng, 3, 60)
            message = {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [content],
                "stop_reason": "tool_use" if final and block == "tool_use" else None,
                "stop_sequence": None,
                "usage": {**usage, "output_tokens": partial},
            }
            line = _dumps(self._entry("assistant", message, request_id if self.request_ids else None))
            lines.append(line)
            if not final:
                self.at += rng.uniform(0.2, 3.5)
        self.finals.append(lines[-1])
        corpus.count("streamed lines", steps)
        read = usage["cache_read_input_tokens"]
        call = Call("claude", self.session, model, self.at, usage["input_tokens"], output, read, write, one_hour)
        if call.prompt > LONG_CONTEXT:
            corpus.count("long-context calls")
        corpus.calls.append(call)
        return lines


# -- Codex ---------------------------------------------------------------------------------------------------------


class _CodexWriter:
    def __init__(self, rng: random.Random, sessions: Path, repo: Path, spec: Spec, corpus: Corpus) -> None:
        self.rng, self.sessions, self.repo, self.spec, self.corpus = rng, sessions, repo, spec, corpus
        self.number = 0

    def session(self) -> None:
        rng, corpus, spec = self.rng, self.corpus, self.spec
        self.number += 1
        day = rng.randrange(spec.days)
        late = rng.random() < 0.25
        at = spec.start + day * 86400 + (rng.uniform(22.5, 23.9) if late else rng.uniform(0, 21)) * 3600
        started = at
        session = _uuid7(rng, at)
        if self.number == 2:
            model = UNKNOWN_CODEX_MODEL
            corpus.count("codex sessions of a model without a price")
        else:
            model = rng.choices([m for m, _ in CODEX_MODELS], [w for _, w in CODEX_MODELS])[0]
        meta = {
            "id": session,
            "timestamp": _iso(at),
            "cwd": str(self.repo),
            "originator": "codex_cli_rs",
            "cli_version": "0.46.0",
            "instructions": None,
            "source": "cli",
            "model_provider": "openai",
            "git": {"commit_hash": f"{rng.getrandbits(160):040x}", "branch": spec.branch},
        }
        lines = [_codex_line(at, "session_meta", meta)]
        limits = _rate_limits(rng, 0.0)
        lines.append(_codex_line(at + 0.2, "event_msg", {"type": "token_count", "info": None, "rate_limits": limits}))
        corpus.count("codex rate-limit-only events")
        total = [0, 0, 0, 0, 0]  # input, cached, output, reasoning, total
        context = rng.randint(8_000, 16_000)
        info: dict[str, Any] | None = None
        for _ in range(rng.randint(2, 12)):
            at += rng.uniform(30, 900)
            text = _words(rng, 5, 40)
            lines.append(_codex_line(at, "event_msg", {"type": "user_message", "message": text, "images": []}))
            turn = {
                "cwd": str(self.repo),
                "approval_policy": "on-request",
                "sandbox_policy": {"mode": "workspace-write", "network_access": False},
                "model": model,
                "effort": "medium",
                "summary": "auto",
            }
            lines.append(_codex_line(at, "turn_context", turn))
            for _ in range(rng.randint(1, 6)):
                at = _same_hour(at + rng.uniform(2, 60), 2)
                if info is not None and rng.random() < 0.6:  # rate limits moved: the last event again, unchanged
                    limits = _rate_limits(rng, limits["primary"]["used_percent"])
                    lines.append(
                        _codex_line(at, "event_msg", {"type": "token_count", "info": info, "rate_limits": limits})
                    )
                    corpus.count("codex repeated token_count events")
                    at += 0.5
                new = rng.randint(300, 9000)
                cached = int(context * rng.uniform(0.85, 1.0)) // 128 * 128
                prompt = context + new
                output = rng.randint(30, 5000)
                reasoning = rng.randint(0, output * 3 // 4)
                context = prompt + output if prompt + output < 250_000 else rng.randint(15_000, 30_000)
                last = [prompt, cached, output, reasoning, prompt + output]
                total = [a + b for a, b in zip(total, last, strict=True)]
                lines.append(_codex_line(at, "response_item", {"type": "function_call", "name": "shell"}))
                info = {
                    "total_token_usage": _usage_vector(total),
                    "last_token_usage": _usage_vector(last),
                    "model_context_window": 272_000,
                }
                lines.append(_codex_line(at, "event_msg", {"type": "token_count", "info": info, "rate_limits": limits}))
                corpus.calls.append(Call("codex", session, model, at, prompt - cached, output, cached, 0, 0, reasoning))
            lines.append(_codex_line(at + 1, "event_msg", {"type": "agent_message", "message": _words(rng, 5, 40)}))
        if _day(started) != _day(at):
            corpus.count("codex sessions across midnight UTC")
        when = datetime.fromtimestamp(started, UTC)
        path = (
            self.sessions / when.strftime("%Y/%m/%d") / f"rollout-{when.strftime('%Y-%m-%dT%H-%M-%S')}-{session}.jsonl"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        data = "\n".join(lines) + "\n"
        path.write_text(data, encoding="utf-8")
        corpus.files += 1
        corpus.lines += len(lines)
        corpus.bytes += len(data.encode())


def _usage_vector(v: list[int]) -> dict[str, int]:
    names = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens")
    return dict(zip(names, v, strict=True))


def _rate_limits(rng: random.Random, used: float) -> dict[str, Any]:
    used = min(100.0, round(used + rng.uniform(0, 2), 1))
    return {
        "primary": {"used_percent": used, "window_minutes": 300, "resets_in_seconds": rng.randint(60, 18000)},
        "secondary": {"used_percent": round(used / 7, 1), "window_minutes": 10080, "resets_in_seconds": 400000},
    }


def _codex_line(at: float, kind: str, payload: dict[str, Any]) -> str:
    return _dumps({"timestamp": _iso(at), "type": kind, "payload": payload})


# -- helpers -------------------------------------------------------------------------------------------------------

_VOCABULARY = ("the", "a", "to", "of", "and", "in", "is", "test", "file", "error", "fix", "run", "code", "naïve", '"q"')


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(_VOCABULARY, k=rng.randint(low, high)))


def _same_hour(at: float, span: float) -> float:
    """``at``, or the start of the next hour when ``span`` seconds from ``at`` would cross into it."""
    hour = int(at) // 3600
    return at if int(at + span) // 3600 == hour else (hour + 1) * 3600 + 0.25


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _uuid7(rng: random.Random, at: float) -> str:
    h = f"{int(at * 1000):012x}{rng.getrandbits(80):020x}"
    return f"{h[:8]}-{h[8:12]}-7{h[13:16]}-8{h[17:20]}-{h[20:]}"


def _request_id(rng: random.Random) -> str:
    return f"req_011C{rng.getrandbits(110):022x}"


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)  # compact, as JSON.stringify writes it


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")

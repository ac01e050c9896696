"""Exact numbers from agent logs: gitokens against ccusage and against a ground truth priced call by call.

Generates Claude Code and Codex logs shaped like real ones (``agentcorpus.py``: streamed calls, lines
without ``requestId``, a last line without a newline, long-context and short calls in one session, 1-hour
and 5-minute cache writes, sessions across midnight UTC, side-chains, resumed sessions, repeated Codex
events) for a repository with a commit every hour on the branch the logs name, then compares:

- the ground truth: every call the generator wrote, once, priced with genai-prices call by call (its
  long-context tier on every token of a request whose prompt is over the threshold, 1-hour cache writes
  at the ``cache_write_1h`` rate);
- gitokens, through its CLI: ``git tokens capture --all-history``, then ``git tokens export --format json``
  (tokens per UTC day, model and kind) and ``git tokens report --format json --cost-mode calculate``
  (cost per model and per day);
- ccusage: ``ccusage claude daily --json --breakdown`` and ``ccusage codex daily --json`` (``--offline``,
  ``--timezone UTC``), and ``ccusage claude session --json`` for the session names.

Tokens must be equal; cost must equal the ground truth for gitokens and be within 0.5% of it for ccusage,
except where ccusage differs by design, which is labelled and explained from the ground truth: (a) ccusage
prices only each token kind's excess over 200,000 at the long-context rate; (b) it names a resumed session
after its file; (c) it prices a Codex model it does not know as gpt-5. A report, not a test: it exits 0.

Run it as a file from the repository root: ``python bench/compare_ccusage.py [--calls 3000] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from agentcorpus import LONG_CONTEXT, Call, Corpus, Spec, make_corpus
from bench_capture import ccusage_version, find_ccusage
from make_ledger import hermetic_env

KINDS = {
    "claude": ("input", "output", "cache_read", "cache_write", "cache_write_1h"),
    "codex": ("input", "output", "cache_read", "reasoning"),
}
AGENTS = {"claude": ("Claude Code", "claude-code", "anthropic"), "codex": ("Codex", "codex", "openai")}
CCUSAGE_TOLERANCE = 0.005
CENT = 1e-6  # gitokens rounds money to 6 decimals

Tokens = dict[tuple[str, str], dict[str, int | None]]  # (day, model) -> kind -> tokens (None: not reported)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000, help="model calls in the corpus (default 3000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=4, help="UTC days the sessions start on (default 4)")
    parser.add_argument("--ccusage", type=Path, help="the ccusage executable (default: look for it)")
    parser.add_argument("--work-dir", type=Path, default=Path(__file__).resolve().parent / ".work")
    args = parser.parse_args(argv)

    spec = Spec(calls=args.calls, seed=args.seed, days=args.days)
    base = args.work_dir.resolve() / "compare" / f"calls{spec.calls}-seed{spec.seed}-days{spec.days}"
    shutil.rmtree(base, ignore_errors=True)
    home, repo = base / "home", base / "repo"
    corpus = make_corpus(home, repo, spec)
    env = hermetic_env(home)
    env.update(CLAUDE_CONFIG_DIR=str(home / ".claude"), CODEX_HOME=str(home / ".codex"))
    make_repo(repo, env, spec.branch, corpus)
    print(
        f"corpus: {len(corpus.calls):,} calls in {corpus.files} files, {corpus.lines:,} lines, "
        f"{corpus.bytes / 1e6:.1f} MB; seed {spec.seed}; {base}"
    )
    print("  " + "; ".join(f"{n:,} {what}" for what, n in sorted(corpus.features.items())))

    gt = [str(Path(sys.executable).parent / "git-tokens")]
    captured = _run([*gt, "capture", "--all-history"], env, repo)
    print("\n$ git tokens capture --all-history\n" + _indent(captured))
    records = json.loads(_run([*gt, "export", "--format", "json", "-"], env, repo))["records"]
    report = [*gt, "report", "--format", "json", "--cost-mode", "calculate", "--top", "0", "--timezone", "UTC"]
    reports = {  # one report per agent, so that each has its own days
        agent: json.loads(_run([*report, "--model", "claude" if agent == "claude" else "gpt"], env, repo))
        for agent in AGENTS
    }
    ccusage = find_ccusage(args.ccusage, args.work_dir.resolve())
    if ccusage is None:
        print(
            "\nccusage: not found (see bench/README.md: install ccusage and its @ccusage/ccusage-<platform> "
            "package into bench/.work/ccusage, or pass --ccusage); comparing gitokens with the ground truth only"
        )
    else:
        print(f"\nccusage: {ccusage_version(ccusage, env, repo)} ({ccusage})")

    verdicts: list[str] = []
    for agent in AGENTS:
        calls = [c for c in corpus.calls if c.agent == agent]
        theirs = ccusage_daily(ccusage, agent, env, repo) if ccusage else None
        reading = ccusage_reading(home / ".claude" / "projects") if agent == "claude" else calls
        verdicts += compare_agent(agent, calls, records, reports[agent], theirs, reading)
    if ccusage:
        verdicts += compare_sessions(corpus, records, ccusage, env, repo)
    print("\n== verdicts")
    for line in verdicts:
        print(line)
    return 0


# -- the repository --------------------------------------------------------------------------------------------------


def make_repo(path: Path, env: dict[str, str], branch: str, corpus: Corpus) -> None:
    """A commit every hour, at half past, on ``branch``, from before the first call to after the last."""
    subprocess.run(["git", "init", "-q", "-b", branch, str(path)], env=env, check=True)
    first, last = int(corpus.first) // 3600 * 3600 - 3600, int(corpus.last) + 7200
    lines: list[str] = []
    for mark, when in enumerate(range(first + 1800, last, 3600), 1):
        body = f"hour {mark}\n"
        lines += [f"commit refs/heads/{branch}", f"mark :{mark}", f"committer Bench <bench@example.com> {when} +0000"]
        lines += [f"data {len(body)}", body.rstrip("\n")]
        if mark > 1:
            lines.append(f"from :{mark - 1}")
        lines.append(f"M 100644 inline src/file{mark % 8}.txt\ndata {len(body)}\n{body}")
    stream = ("\n".join(lines) + "\n").encode()
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=stream, env=env, check=True)
    for args in (["checkout", "-q", "-f", branch], ["config", "user.email", "bench@example.com"]):
        subprocess.run(["git", "-C", str(path), *args], env=env, check=True)


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"error: {' '.join(argv)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.rstrip("\n").splitlines())


# -- the three sides ---------------------------------------------------------------------------------------------------


def truth_tokens(calls: Iterable[Call], kinds: tuple[str, ...]) -> Tokens:
    out: Tokens = defaultdict(lambda: dict.fromkeys(kinds, 0))
    for c in calls:
        row = out[(c.day, c.model)]
        for kind in kinds:
            row[kind] = (row[kind] or 0) + getattr(c, kind)
    return dict(out)


def gitokens_tokens(records: list[dict[str, Any]], source: str, kinds: tuple[str, ...]) -> Tokens:
    out: Tokens = defaultdict(lambda: dict.fromkeys(kinds, 0))
    for r in records:
        if r.get("source") != source:
            continue
        row = out[(r["ts"][:10], r.get("model") or "(unknown)")]
        for kind in kinds:
            row[kind] = (row[kind] or 0) + int(r.get(f"{kind}_tokens") or 0)
    return dict(out)


def ccusage_daily(path: Path, agent: str, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    argv = [str(path), agent, "daily", "--json", "--offline", "--timezone", "UTC"]
    if agent == "claude":
        argv += ["--breakdown", "--mode", "calculate"]
    return dict(json.loads(_run(argv, env, cwd)))


def ccusage_tokens(daily: dict[str, Any], agent: str, kinds: tuple[str, ...]) -> Tokens:
    out: Tokens = {}
    names = {"input": "inputTokens", "output": "outputTokens", "cache_read": "cacheReadTokens"}
    names |= {"cache_write": "cacheCreationTokens", "reasoning": "reasoningOutputTokens"}
    for day in daily["daily"]:
        rows = (
            day["modelBreakdowns"] if agent == "claude" else [{"modelName": m, **v} for m, v in day["models"].items()]
        )
        for row in rows:
            out[(day["date"], row["modelName"])] = {k: (row[names[k]] if k in names else None) for k in kinds}
    return out


def ccusage_costs(daily: dict[str, Any], agent: str) -> tuple[dict[str, float] | None, dict[str, float]]:
    """(per model, or None when ccusage does not break cost down by model; per day)."""
    per_day = {day["date"]: float(day["totalCost" if agent == "claude" else "costUSD"]) for day in daily["daily"]}
    if agent != "claude":
        return None, per_day
    per_model: dict[str, float] = defaultdict(float)
    for day in daily["daily"]:
        for row in day["modelBreakdowns"]:
            per_model[row["modelName"]] += float(row["cost"])
    return dict(per_model), per_day


def ccusage_reading(projects: Path) -> list[Call]:
    """The entries ccusage 20.0.24 counts in Claude Code logs, as observed on this corpus: lines of one
    ``message.id`` and ``requestId`` count once (the largest usage; a side-chain's copy of a parent message
    counts as the parent's), but lines without ``requestId`` count once per ``message.id`` and timestamp:
    every streamed line of a call on its own (exact copies, which keep their timestamp, count once)."""
    kept: dict[tuple[str, str], Call] = {}
    sidechain: dict[str, bool] = {}
    by_message: dict[str, tuple[str, str]] = {}
    for path in sorted(projects.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if '"usage"' not in line:
                continue
            entry = json.loads(line)
            message, usage = entry["message"], entry["message"]["usage"]
            write = usage.get("cache_creation_input_tokens", 0)
            one_hour = (usage.get("cache_creation") or {}).get("ephemeral_1h_input_tokens", 0)
            at = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp()
            call = Call(
                "claude", entry["sessionId"], message["model"], at, usage["input_tokens"], usage["output_tokens"],
                usage.get("cache_read_input_tokens", 0), write, one_hour,
            )  # fmt: skip
            key = (message["id"], entry.get("requestId") or "@" + entry["timestamp"])
            side = bool(entry.get("isSidechain"))
            first = by_message.setdefault(key[0], key)
            if key not in kept and first in kept and (side or sidechain[key[0]]):
                key = first  # a side-chain's copy of a message, or the message of a side-chain's copy
            old = kept.get(key)
            if (
                old is None
                or (sidechain[key[0]] and not side)
                or (sidechain[key[0]] == side and call.prompt + call.output > old.prompt + old.output)
            ):
                kept[key], sidechain[key[0]] = call, side
    return list(kept.values())


# -- prices ---------------------------------------------------------------------------------------------------------


def price(call: Call, provider: str) -> Decimal | None:
    """genai-prices on one call: its input counts cache reads and writes, its tiers apply per request."""
    from genai_prices import Usage, calc_price

    usage = Usage(
        input_tokens=call.prompt,
        output_tokens=call.output,
        cache_read_tokens=call.cache_read,
        cache_write_tokens=call.cache_write,
        cache_write_1h_tokens=call.cache_write_1h,
    )
    try:
        found = calc_price(
            usage,
            model_ref=call.model,
            provider_id=provider,
            genai_request_timestamp=datetime.fromtimestamp(call.at, UTC),
        )
    except LookupError:
        return None
    return Decimal(found.total_price)


def ccusage_rule(call: Call, provider: str, model: str | None = None) -> Decimal | None:
    """The cost ccusage's rule gives a call: each token kind on its own is priced at the long-context rate
    only for its count beyond 200,000; 1-hour cache writes at twice the input rate. Rates from genai-prices."""
    from genai_prices import Usage, calc_price

    try:
        mp = calc_price(Usage(input_tokens=1), model_ref=model or call.model, provider_id=provider).model_price
    except LookupError:
        return None

    def tiered(tokens: int, rate: Any, double: bool = False) -> Decimal:
        base, above = _rates(rate)
        if double:
            base, above = 2 * base, (2 * above if above is not None else None)
        if above is None or tokens <= LONG_CONTEXT:
            return tokens * base / 1_000_000
        return (LONG_CONTEXT * base + (tokens - LONG_CONTEXT) * above) / 1_000_000

    return (
        tiered(call.input, mp.input_mtok)
        + tiered(call.output, mp.output_mtok)
        + tiered(call.cache_read, mp.cache_read_mtok)
        + tiered(call.cache_write - call.cache_write_1h, mp.cache_write_mtok)
        + tiered(call.cache_write_1h, mp.input_mtok, double=True)
    )


def _rates(rate: Any) -> tuple[Decimal, Decimal | None]:
    if rate is None:
        return Decimal(0), None
    if hasattr(rate, "base"):
        above = [t.price for t in rate.tiers if t.start == LONG_CONTEXT]
        return Decimal(rate.base), (Decimal(above[0]) if above else None)
    return Decimal(rate), None


def _sum(calls: Iterable[Call], key: Callable[[Call], str], cost: Callable[[Call], Decimal | None]) -> dict[str, Any]:
    out: dict[str, Decimal | None] = {}
    for c in calls:
        value = cost(c)
        k = key(c)
        out[k] = None if value is None or (k in out and out[k] is None) else (out.get(k) or Decimal(0)) + value
    return {k: (float(v) if v is not None else None) for k, v in out.items()}


# -- comparing -----------------------------------------------------------------------------------------------------


def compare_agent(
    agent: str,
    calls: list[Call],
    records: list[dict[str, Any]],
    report: dict[str, Any],
    theirs: dict[str, Any] | None,
    reading: list[Call],
) -> list[str]:
    """The tables and verdicts of one agent. ``reading``: the calls as ccusage counts them (see
    ``ccusage_reading``), to tell its known differences from new ones."""
    name, source, provider = AGENTS[agent]
    kinds = KINDS[agent]
    truth = truth_tokens(calls, kinds)
    ours = gitokens_tokens(records, source, kinds)
    cc = ccusage_tokens(theirs, agent, kinds) if theirs else {}
    print(f"\n== {name}: tokens per UTC day and model (truth; below it, gitokens and ccusage minus truth)")
    _token_table(kinds, truth, ours, cc if theirs else None)
    verdicts = [
        _verdict(f"{name} tokens per day, model and kind: gitokens = truth", _token_diffs(kinds, truth, ours)),
    ]
    if theirs:
        reported = tuple(k for k in kinds if k != "cache_write_1h")
        note = " (ccusage reports no 1-hour split)" if "cache_write_1h" in kinds else ""
        diffs = _token_diffs(reported, truth, cc)
        verdict = _verdict(f"{name} tokens per day, model and kind: ccusage = truth{note}", diffs)
        modelled = truth_tokens(reading, kinds)
        off = sum(abs((cc.get(k, {}).get(n) or 0) - (modelled.get(k, {}).get(n) or 0)) for k in truth for n in reported)
        whole = sum((row[n] or 0) for row in truth.values() for n in reported)
        if diffs and off <= CCUSAGE_TOLERANCE * whole:
            verdict += (
                f"\n      explained (d): ccusage counts each streamed line of a message without requestId as a call "
                f"({len(reading) - len(calls):,} entries more than the {len(calls):,} calls); counting so gives its "
                f"numbers to {off / whole:.3%} of all tokens (which copy of a side-chain replay it keeps varies)"
            )
        verdicts.append(verdict)

    by_model = _sum(calls, lambda c: c.model, lambda c: price(c, provider))
    # A day's cost is that of its priced calls, as the report's daily table sums them (unpriced models are
    # listed apart, and the per-model table shows them).
    by_day = _sum([c for c in calls if price(c, provider) is not None], lambda c: c.day, lambda c: price(c, provider))
    our_model = {row["model"]: row["cost_usd"] for row in report["by_model"]}
    our_day = {row["date"]: row["cost_usd"] for row in report["daily"]}
    cc_model, cc_day = ccusage_costs(theirs, agent) if theirs else (None, {})
    rule_model = _sum(reading, lambda c: c.model, lambda c: ccusage_rule(c, provider))
    rule_day = _sum(reading, lambda c: c.day, lambda c: ccusage_rule(c, provider, _ccusage_model(c)))
    long_calls = [c for c in calls if c.prompt > LONG_CONTEXT and _rates(_input_rate(c, provider))[1] is not None]

    print(f"\n== {name}: cost per model, USD (truth: genai-prices call by call)")
    _cost_table("model", by_model, our_model, cc_model, rule_model if theirs else None)
    print(f"\n== {name}: cost per UTC day, USD")
    _cost_table("day", by_day, our_day, cc_day if theirs else None, rule_day if theirs else None)

    verdicts.append(_verdict(f"{name} cost per model: gitokens = truth", _cost_diffs(by_model, our_model)))
    verdicts.append(_verdict(f"{name} cost per day: gitokens = truth", _cost_diffs(by_day, our_day)))
    if theirs:
        for label, truth_cost, cc_cost, rule in (
            ("model", by_model, cc_model, rule_model),
            ("day", by_day, cc_day, rule_day),
        ):
            if cc_cost is None:
                verdicts.append(f"n/a   {name} cost per model within 0.5% of ccusage: ccusage gives cost per day only")
                continue
            verdicts.append(_ccusage_cost_verdict(f"{name} cost per {label}", truth_cost, cc_cost, rule))
        if long_calls:
            print(_long_context_explanation(name, long_calls, provider, by_model))
        unknown = sorted({c.model for c in calls if price(c, provider) is None})
        if unknown and agent == "codex":
            print(_fallback_explanation(name, [c for c in calls if c.model in unknown], provider, report))
    return verdicts


def _ccusage_model(call: Call) -> str:
    """The model ccusage prices a call as: a Codex model it does not know as gpt-5 (difference (c))."""
    if call.agent == "codex" and price(call, "openai") is None:
        return "gpt-5"
    return call.model


def _input_rate(call: Call, provider: str) -> Any:
    from genai_prices import Usage, calc_price

    try:
        return calc_price(Usage(input_tokens=1), model_ref=call.model, provider_id=provider).model_price.input_mtok
    except LookupError:
        return None


def _ccusage_cost_verdict(what: str, truth: dict[str, Any], theirs: dict[str, float], rule: dict[str, Any]) -> str:
    off, explained = [], []
    for key in sorted(set(truth) | set(theirs)):
        t, c, r = truth.get(key), theirs.get(key), rule.get(key)
        if t is None or c is None:
            if t is None and c is not None and r is not None and _close(c, r):
                explained.append(f"{key} (c: priced as gpt-5, {_money(c)})")
            elif t is not None or c is not None:
                off.append(f"{key}: truth {_money(t)}, ccusage {_money(c)}")
            continue
        if _close(c, t, CCUSAGE_TOLERANCE):
            continue
        if r is not None and _close(c, r, CCUSAGE_TOLERANCE):
            explained.append(f"{key} ({_pct(c, t)}; its own reading and rule give {_money(r)})")
        else:
            off.append(f"{key}: truth {_money(t)}, ccusage {_money(c)} ({_pct(c, t)})")
    head = f"{what} within 0.5% of ccusage"
    if off:
        return f"DIFF  {head}: " + "; ".join(off)
    if explained:
        return f"DIFF  {head}, each explained ((a), (c), (d)): " + "; ".join(explained)
    return f"OK    {head}"


def _long_context_explanation(name: str, calls: list[Call], provider: str, truth: dict[str, Any]) -> str:
    """Difference (a), from the ground truth: what ccusage's per-kind rule gives the long-context calls."""
    lines = [f"\n   (a) long context, {name}: Anthropic and genai-prices price every token of a request whose prompt"]
    lines.append(
        "       is over 200,000 tokens at the long-context rate; ccusage only each kind's tokens beyond 200,000."
    )
    for model in sorted({c.model for c in calls}):
        mine = [c for c in calls if c.model == model]
        tier = float(sum((price(c, provider) or Decimal(0)) for c in mine))
        rule = float(sum((ccusage_rule(c, provider) or Decimal(0)) for c in mine))
        t = truth.get(model) or 0.0
        lines.append(
            f"       {model}: {len(mine):,} long-context calls cost {_money(tier)} at the request's tier, "
            f"{_money(rule)} by ccusage's rule ({_money(rule - tier)}, {_pct(t + rule - tier, t)} of the model's "
            f"{_money(t)}); the other {_money(t - tier)} price the same both ways"
        )
    return "\n".join(lines)


def _fallback_explanation(name: str, calls: list[Call], provider: str, report: dict[str, Any]) -> str:
    models = sorted({c.model for c in calls})
    as_gpt5 = sum((ccusage_rule(c, provider, "gpt-5") or Decimal(0)) for c in calls)
    listed = report.get("unpriced_models", [])
    return (
        f"\n   (c) unknown model, {name}: {', '.join(models)} ({len(calls)} calls) has no price in genai-prices; "
        f"gitokens lists it unpriced ({'yes' if set(models) <= set(listed) else 'NO'}: unpriced_models {listed}); "
        f"ccusage prices it as gpt-5: {_money(float(as_gpt5))}, included in its days' cost"
    )


def compare_sessions(
    corpus: Corpus, records: list[dict[str, Any]], ccusage: Path, env: dict[str, str], cwd: Path
) -> list[str]:
    """Claude Code tokens per session: gitokens by sessionId; ccusage by file, so (b) a resumed session's file
    is a session of its own until mapped back to the sessionId it continues."""
    truth: dict[str, int] = defaultdict(int)
    for c in corpus.calls:
        if c.agent == "claude":
            truth[c.session] += c.prompt + c.output
    ours: dict[str, int] = defaultdict(int)
    for r in records:
        if r.get("source") == "claude-code":
            ours[r.get("session") or "(none)"] += sum(int(r.get(k) or 0) for k in _TOTAL_FIELDS)
    argv = [str(ccusage), "claude", "session", "--json", "--offline", "--mode", "calculate", "--timezone", "UTC"]
    sessions = json.loads(_run(argv, env, cwd))["sessions"]
    theirs: dict[str, int] = defaultdict(int)
    mapped: dict[str, int] = defaultdict(int)
    for s in sessions:
        theirs[s["sessionId"]] += int(s["totalTokens"])
        mapped[corpus.resumed.get(s["sessionId"], s["sessionId"])] += int(s["totalTokens"])
    files = sorted(set(theirs) & set(corpus.resumed))
    print(
        f"\n== Claude Code sessions: {len(truth)} in the logs; gitokens {len(ours)}; ccusage {len(theirs)}, of which "
        f"{len(files)} are resumed sessions' files (b)"
    )
    ours_off = sorted(s for s in set(truth) | set(ours) if truth.get(s, 0) != ours.get(s, 0))
    mapped_off = sorted(s for s in set(truth) | set(mapped) if truth.get(s, 0) != mapped.get(s, 0))
    b = f"{len(files)} resumed files reported as their own sessions (b); mapped to their sessionId"
    return [
        _verdict("Claude Code tokens per session: gitokens = truth", [f"{s[:8]}" for s in ours_off]),
        f"{'OK   ' if not mapped_off else 'DIFF '} Claude Code tokens per session: ccusage = truth, by design: {b}"
        + (f", {len(mapped_off)} differ" if mapped_off else ", all equal"),
    ]


_TOTAL_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


# -- printing ---------------------------------------------------------------------------------------------------------


def _token_table(kinds: tuple[str, ...], truth: Tokens, ours: Tokens, theirs: Tokens | None) -> None:
    print(f"{'day':<11} {'model':<27} {'':<9}" + "".join(f"{k:>15}" for k in kinds))
    for key in sorted(set(truth) | set(ours) | set(theirs or {})):
        t = truth.get(key, dict.fromkeys(kinds, 0))
        print(f"{key[0]:<11} {key[1]:<27} {'truth':<9}" + "".join(f"{_n(t[k]):>15}" for k in kinds))
        for who, side in (("gitokens", ours), ("ccusage", theirs)):
            if side is None:
                continue
            row = side.get(key, dict.fromkeys(kinds, 0))
            cells = "".join(f"{_delta(row[k], t[k]):>15}" for k in kinds)
            print(f"{'':<11} {'':<27} {who:<9}{cells}")


def _cost_table(
    label: str,
    truth: dict[str, Any],
    ours: dict[str, Any],
    theirs: dict[str, float] | None,
    rule: dict[str, Any] | None,
) -> None:
    head = f"{label:<27} {'truth':>12} {'gitokens':>12} {'Δ':>10} {'ccusage':>12} {'Δ':>10} {'Δ%':>8}"
    print(head + (f" {'ccusage rule':>13}" if rule is not None else ""))
    for key in sorted(set(truth) | set(ours) | set(theirs or {})):
        t, o = truth.get(key), ours.get(key)
        row = f"{key:<27} {_money(t):>12} {_money(o):>12} {_money_delta(o, t):>10}"
        if theirs is None:
            row += f" {'n/a':>12} {'':>10} {'':>8}"
        else:
            c = theirs.get(key)
            row += f" {_money(c):>12} {_money_delta(c, t):>10} {_pct(c, t):>8}"
        if rule is not None:
            row += f" {_money(rule.get(key)):>13}"
        print(row)


def _token_diffs(kinds: tuple[str, ...], truth: Tokens, side: Tokens) -> list[str]:
    out = []
    for key in sorted(set(truth) | set(side)):
        t, s = truth.get(key, {}), side.get(key, {})
        for k in kinds:
            if (t.get(k) or 0) != (s.get(k) or 0):
                out.append(f"{key[0]} {key[1]} {k} {_delta(s.get(k), t.get(k))}")
    return out


def _cost_diffs(truth: dict[str, Any], side: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(truth) | set(side)):
        t, s = truth.get(key), side.get(key)
        if (t is None) != (s is None) or (t is not None and s is not None and abs(s - t) > CENT):
            out.append(f"{key} {_money_delta(s, t)}")
    return out


def _verdict(what: str, diffs: list[str]) -> str:
    if not diffs:
        return f"OK    {what}"
    shown = "; ".join(diffs[:4]) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")
    return f"DIFF  {what}: {len(diffs)} differ: {shown}"


def _close(a: float, b: float, rel: float = 0.0) -> bool:
    return abs(a - b) <= max(CENT, rel * abs(b))


def _n(v: int | None) -> str:
    return "n/a" if v is None else f"{v:,}"


def _delta(v: int | None, t: int | None) -> str:
    if v is None:
        return "n/a"
    d = v - (t or 0)
    return "=" if d == 0 else f"{d:+,}"


def _money(v: float | None) -> str:
    return "unpriced" if v is None else f"{v:,.4f}"


def _money_delta(v: float | None, t: float | None) -> str:
    if v is None or t is None:
        return "=" if v is None and t is None else "n/a"
    d = v - t
    return "=" if abs(d) <= CENT else f"{d:+,.4f}"


def _pct(v: float | None, t: float | None) -> str:
    if v is None or t is None or t == 0:
        return ""
    return f"{(v - t) / t * 100:+.2f}%"


if __name__ == "__main__":
    raise SystemExit(main())

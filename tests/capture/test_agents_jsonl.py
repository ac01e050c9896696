"""The JSONL readers (Gemini CLI, Qwen Code, Kimi CLI): exact tokens per kind per call from logs written as the
agents write them, their repeats and copies counted once, and only what was appended read again."""

from __future__ import annotations

import os
from pathlib import Path

from agentlogs import T0
from agentlogs_more import (
    append,
    gemini_chat,
    gemini_message,
    gemini_meta,
    gemini_tokens,
    gemini_user,
    kimi_header,
    kimi_null_status,
    kimi_share,
    kimi_status,
    kimi_subagent,
    kimi_wire,
    pi_assistant,
    pi_file,
    pi_header,
    pi_user,
    qwen_assistant,
    qwen_file,
    qwen_telemetry,
    qwen_usage,
)

from gitokens.capture.agents import READERS, AgentCall, Reading

KINDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")


def kinds(call: AgentCall) -> tuple[int, ...]:
    return tuple(getattr(call, k) for k in KINDS)


def read_all(agent: str, env: dict[str, str]) -> tuple[list[AgentCall], list[Reading]]:
    """Every call of every log, once per key, as capture would keep them."""
    seen: dict[bytes, AgentCall] = {}
    readings = []
    for path in READERS[agent].logs(env):
        reading = READERS[agent].read(path)
        readings.append(reading)
        for call in reading.calls:
            seen.setdefault(call.key, call)
    return list(seen.values()), readings


# -- Gemini CLI ---------------------------------------------------------------------------------------------------


def test_gemini_counts_each_message_once_in_our_semantics(tmp_path: Path) -> None:
    chat = gemini_chat(tmp_path, "repo", "/w/repo", "9b2c0000-aaaa", T0)
    first = gemini_tokens(15327, 23, cached=11526, thoughts=919, tool=7)
    append(
        chat,
        [
            gemini_meta("9b2c0000-aaaa", T0),
            gemini_user(T0 + 1),
            gemini_message("a1", T0 + 5, first),
            '{"$set":{"lastUpdated":"2025-06-15T15:06:50.000Z"}}',
            gemini_message("a1", T0 + 5, first, tools=True),  # the same message appended again, changed
            gemini_message("a2", T0 + 9, gemini_tokens(16000, 100, cached=15000), model="gemini-2.5-flash"),
            '{"$rewindTo":"a2"}',
        ],
    )
    calls, _ = read_all("gemini", {"HOME": str(tmp_path)})
    assert [kinds(c) for c in calls] == [(15327 - 11526 + 7, 23 + 919, 11526, 0, 919), (1000, 100, 15000, 0, 0)]
    assert {(c.session, c.cwd, c.model, c.provider) for c in calls} == {
        ("9b2c0000-aaaa", "/w/repo", "gemini-2.5-pro", "google"),
        ("9b2c0000-aaaa", "/w/repo", "gemini-2.5-flash", "google"),
    }


def test_gemini_copies_in_hash_and_slug_folders_and_legacy_json_share_keys(tmp_path: Path) -> None:
    slug = gemini_chat(tmp_path, "repo", "/w/repo", "s1", T0)
    lines = [gemini_meta("s1", T0), gemini_message("a1", T0 + 5, gemini_tokens(100, 10))]
    append(slug, lines)
    digest = __import__("hashlib").sha256(b"/w/repo").hexdigest()
    copy = gemini_chat(tmp_path, digest, None, "s1", T0)
    append(copy, lines)
    (tmp_path / ".gemini" / "projects.json").write_text('{"projects":{"/w/repo":"repo"}}')
    legacy = copy.with_suffix(".json")
    legacy.write_text('{"sessionId":"s1","messages":[' + lines[1] + "]}")
    calls, readings = read_all("gemini", {"HOME": str(tmp_path)})
    assert len(calls) == 1 and sum(len(r.calls) for r in readings) == 3
    assert {c.cwd for r in readings for c in r.calls} == {"/w/repo"}  # the hash folder through projects.json


def test_gemini_subagent_counts_under_its_parent_and_unknown_folder_has_no_cwd(tmp_path: Path) -> None:
    chat = gemini_chat(tmp_path, "other", None, "parent", T0)
    sub = chat.parent / "parent" / "sub.jsonl"
    append(sub, [gemini_meta("sub", T0, kind="subagent"), gemini_message("x", T0 + 1, gemini_tokens(50, 5))])
    (call,) = READERS["gemini"].read(sub).calls
    assert (call.session, call.cwd, kinds(call)) == ("parent", None, (50, 5, 0, 0, 0))


def test_gemini_reads_only_what_was_appended_and_waits_for_a_cut_line(tmp_path: Path) -> None:
    chat = gemini_chat(tmp_path, "repo", "/w/repo", "s1", T0)
    append(chat, [gemini_meta("s1", T0), gemini_message("a1", T0 + 5, gemini_tokens(100, 10))])
    whole = gemini_message("a2", T0 + 6, gemini_tokens(200, 20))
    with open(chat, "a") as handle:
        handle.write(whole[:40])  # still being written
    reader = READERS["gemini"]
    first = reader.read(chat)
    assert [c.model for c in first.calls] == ["gemini-2.5-pro"] and first.malformed == []
    with open(chat, "a") as handle:
        handle.write(whole[40:] + "\n")
    second = reader.read(chat, first.position)
    assert [kinds(c) for c in second.calls] == [(200, 20, 0, 0, 0)]
    assert second.calls[0].session == "s1"  # the session carried over in the position
    assert reader.read(chat, second.position).calls == []
    assert [c.key for c in reader.read(chat).calls] == [first.calls[0].key, second.calls[0].key]


# -- Qwen Code ----------------------------------------------------------------------------------------------------


def test_qwen_reads_assistant_records_once_and_skips_telemetry_and_forks(tmp_path: Path) -> None:
    one, two = qwen_usage(18234, 412, cached=16000, thoughts=100), qwen_usage(500, 50, total=False)
    main = qwen_file(tmp_path, "/w/repo", "s1")
    append(
        main,
        [
            qwen_assistant("u1", "s1", "/w/repo", T0, one),
            qwen_telemetry("s1", "/w/repo", T0, one),
            qwen_assistant("u2", "s1", "/w/repo", T0 + 60, two, branch=None, model="qwen3-max"),
        ],
    )
    fork = qwen_file(tmp_path, "/w/repo", "s2")
    append(fork, [qwen_assistant("u1", "s2", "/w/repo", T0, one, forked_from="s1")])
    append(fork, [qwen_assistant("u3", "s2", "/w/other", T0 + 90, qwen_usage(10, 1))])
    calls, _ = read_all("qwen", {"HOME": str(tmp_path)})
    assert [(c.session, c.cwd, c.branch, kinds(c)) for c in calls] == [
        ("s1", "/w/repo", "main", (2234, 412, 16000, 0, 100)),
        ("s1", "/w/repo", None, (500, 50, 0, 0, 0)),
        ("s2", "/w/other", "main", (10, 1, 0, 0, 0)),
    ]


def test_qwen_follows_its_runtime_variable_and_reads_appended_lines_only(tmp_path: Path) -> None:
    runtime = tmp_path / "rt"
    path = runtime / "projects" / "-w-repo" / "chats" / "s1.jsonl"
    append(path, [qwen_assistant("u1", "s1", "/w/repo", T0, qwen_usage(100, 10))])
    env = {"HOME": str(tmp_path / "nohome"), "QWEN_RUNTIME_DIR": str(runtime)}
    assert READERS["qwen"].logs(env) == [path]
    first = READERS["qwen"].read(path)
    append(path, ["{not json", qwen_assistant("u2", "s1", "/w/repo", T0 + 1, qwen_usage(300, 30))])
    second = READERS["qwen"].read(path, first.position)
    assert [kinds(c) for c in second.calls] == [(300, 30, 0, 0, 0)] and len(second.malformed) == 1


def test_a_rewritten_shorter_file_is_read_again_from_its_start(tmp_path: Path) -> None:
    path = qwen_file(tmp_path, "/w/repo", "s1")
    append(path, [qwen_assistant(f"u{n}", "s1", "/w/repo", T0 + n, qwen_usage(100, 10)) for n in range(3)])
    first = READERS["qwen"].read(path)
    os.remove(path)
    append(path, [qwen_assistant("u9", "s1", "/w/repo", T0 + 9, qwen_usage(7, 1))])
    again = READERS["qwen"].read(path, first.position)
    assert [kinds(c) for c in again.calls] == [(7, 1, 0, 0, 0)]


# -- Kimi CLI -----------------------------------------------------------------------------------------------------


def test_kimi_counts_subagent_copies_and_forks_once_with_the_configured_model(tmp_path: Path) -> None:
    share = kimi_share(tmp_path, ["/w/repo"])
    status = kimi_status(T0 + 2, "chatcmpl-1", 1830, 412, read=53000)
    sub = kimi_status(T0 + 3, "chatcmpl-2", 900, 120)
    wire = kimi_wire(share, "/w/repo", "s1")
    append(wire, [kimi_header(), kimi_null_status(T0 + 1), status, kimi_subagent(T0 + 3, sub)])
    append(wire.parent / "subagents" / "a1b2" / "wire.jsonl", [kimi_header(), sub])
    append(kimi_wire(share, "/w/repo", "fork"), [kimi_header(), status])  # fork_session copies lines verbatim
    append(kimi_wire(share, "/w/unlisted", "s3"), [kimi_status(T0 + 9, None, 5, 5)])
    calls, _ = read_all("kimi", {"HOME": str(tmp_path)})
    assert sorted((kinds(c), c.cwd) for c in calls) == [
        ((5, 5, 0, 0, 0), None),
        ((900, 120, 0, 0, 0), "/w/repo"),
        ((1830, 412, 53000, 0, 0), "/w/repo"),
    ]  # the forked copy lands in whichever session is read first: both ran in the same directory
    assert {(c.model, c.provider) for c in calls} == {("kimi-k2-turbo", "moonshot")}


def test_kimi_keys_are_stable_across_reads_and_appends_are_read_alone(tmp_path: Path) -> None:
    share = kimi_share(tmp_path, ["/w/repo"])
    wire = append(kimi_wire(share, "/w/repo", "s1"), [kimi_header(), kimi_status(T0, None, 10, 1)])
    first = READERS["kimi"].read(wire)
    append(wire, [kimi_status(T0 + 5, "m2", 20, 2)])
    second = READERS["kimi"].read(wire, first.position)
    assert [kinds(c) for c in second.calls] == [(20, 2, 0, 0, 0)]
    assert [c.key for c in READERS["kimi"].read(wire).calls] == [first.calls[0].key, second.calls[0].key]
    assert second.calls[0].cwd == "/w/repo"


def test_kimi_reads_settings_changed_between_reads_not_the_ones_it_read_before(tmp_path: Path) -> None:
    share = kimi_share(tmp_path, ["/w/repo"])
    wire = append(kimi_wire(share, "/w/repo", "s1"), [kimi_header(), kimi_status(T0, None, 10, 1)])
    before = READERS["kimi"].read(wire).calls
    kimi_share(tmp_path, ["/w/elsewhere", "/w/repo"], model="kimi-k2-thinking")  # both files rewritten
    after = READERS["kimi"].read(wire).calls
    assert [(c.model, c.cwd) for c in before + after] == [
        ("kimi-k2-turbo", "/w/repo"),
        ("kimi-k2-thinking", "/w/repo"),
    ]
    (share / "config.toml").unlink()
    assert [c.model for c in READERS["kimi"].read(wire).calls] == [None]


# -- pi -----------------------------------------------------------------------------------------------------------


def test_pi_reads_assistant_usage_with_the_header_directory_and_branch_copies_once(tmp_path: Path) -> None:
    first, second = pi_assistant("a1b2c3d4", T0 + 5, 10, 220, 16371, 6904, 0.12), pi_assistant("e5f6a7b8", T0 + 9, 3, 4)
    main = pi_file(tmp_path, "/w/repo", "p1", T0)
    append(main, [pi_header("p1", "/w/repo", T0), pi_user("u1", T0 + 1), first, second])
    branch = pi_file(tmp_path, "/w/repo", "p2", T0 + 60)
    append(branch, [pi_header("p2", "/w/repo", T0 + 60, parent=str(main)), first])
    other = pi_file(tmp_path, "/w/other", "p3", T0)
    append(
        other,
        [pi_header("p3", "/w/other", T0), pi_assistant("0000aaaa", T0 + 2, 1, 1, model="gpt-5", provider="openai")],
    )
    calls, _ = read_all("pi", {"HOME": str(tmp_path)})
    assert sorted(((c.cwd, c.model, c.provider, c.cost_usd, kinds(c)) for c in calls), key=str) == [
        ("/w/other", "gpt-5", "openai", None, (1, 1, 0, 0, 0)),
        ("/w/repo", "claude-sonnet-4-5", "anthropic", 0.12, (10, 220, 16371, 6904, 0)),
        ("/w/repo", "claude-sonnet-4-5", "anthropic", None, (3, 4, 0, 0, 0)),
    ]


def test_pi_reads_appended_entries_only(tmp_path: Path) -> None:
    path = append(pi_file(tmp_path, "/w/repo", "p1", T0), [pi_header("p1", "/w/repo", T0), pi_assistant("a", T0, 1, 2)])
    first = READERS["pi"].read(path)
    append(path, [pi_assistant("b", T0 + 1, 5, 6)])
    (call,) = READERS["pi"].read(path, first.position).calls
    assert (call.session, call.cwd, kinds(call)) == ("p1", "/w/repo", (5, 6, 0, 0, 0))


def test_a_call_becomes_capture_s_message_with_its_directory_waiting_for_a_commit(tmp_path: Path) -> None:
    path = qwen_file(tmp_path, "/w/repo", "s1")
    append(path, [qwen_assistant("u1", "s1", "/w/repo", T0, qwen_usage(300, 30, cached=100), branch=None)])
    append(path, [qwen_assistant("u2", "s1", "/w/repo", T0 + 1, qwen_usage(300, 30), branch="feature")])
    loose, placed = READERS["qwen"].read(path).calls
    message = loose.to_message()
    assert (message.key, message.epoch, message.ts, message.source) == (
        loose.key,
        T0,
        "2025-06-15T15:06:40.000Z",
        "qwen-code",
    )
    assert (message.input_tokens, message.cache_read_tokens, message.output_tokens) == (200, 100, 30)
    assert (message.branch, message.worktree) == (None, "/w/repo")
    assert (placed.to_message().branch, placed.to_message().worktree) == ("feature", None)

"""usage_fields: every response shape we read, as SDK-like objects and as dicts, and what it refuses."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from gitokens.data.usage import usage_fields
from gitokens.errors import GitTokensError, InvalidUsage
from gitokens.ledger.record import Record


def as_object(data: Any) -> Any:
    """A dict turned into nested attribute objects, the way SDK responses look."""
    if isinstance(data, dict):
        return SimpleNamespace(**{k: as_object(v) for k, v in data.items()})
    return data


CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-2024-08-06",
    "choices": [],
    "usage": {
        "prompt_tokens": 2000,
        "completion_tokens": 300,
        "total_tokens": 2300,
        "prompt_tokens_details": {"cached_tokens": 1500, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 120, "audio_tokens": 0},
    },
}
RESPONSES = {
    "id": "resp_1",
    "object": "response",
    "model": "o4-mini-2025-04-16",
    "output": [],
    "usage": {
        "input_tokens": 900,
        "input_tokens_details": {"cached_tokens": 100},
        "output_tokens": 250,
        "output_tokens_details": {"reasoning_tokens": 200},
        "total_tokens": 1150,
    },
}
ANTHROPIC = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [],
    "usage": {
        "input_tokens": 12,
        "output_tokens": 400,
        "cache_read_input_tokens": 30000,
        "cache_creation_input_tokens": 2500,
        "service_tier": "standard",
    },
}
EXPECTED = {
    "chat": {
        "input_tokens": 500,
        "output_tokens": 300,
        "cache_read_tokens": 1500,
        "cache_write_tokens": 0,
        "reasoning_tokens": 120,
        "model": "gpt-4o-2024-08-06",
        "provider": "openai",
    },
    "responses": {
        "input_tokens": 800,
        "output_tokens": 250,
        "cache_read_tokens": 100,
        "cache_write_tokens": 0,
        "reasoning_tokens": 200,
        "model": "o4-mini-2025-04-16",
        "provider": "openai",
    },
    "anthropic": {
        "input_tokens": 12,
        "output_tokens": 400,
        "cache_read_tokens": 30000,
        "cache_write_tokens": 2500,
        "reasoning_tokens": 0,
        "model": "claude-sonnet-4-5-20250929",
        "provider": "anthropic",
    },
}
SHAPES = {"chat": CHAT, "responses": RESPONSES, "anthropic": ANTHROPIC}


@pytest.mark.parametrize("form", ["dict", "object"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_responses_of_each_sdk(shape: str, form: str) -> None:
    payload = SHAPES[shape] if form == "dict" else as_object(SHAPES[shape])
    assert usage_fields(payload) == EXPECTED[shape]


@pytest.mark.parametrize("form", ["dict", "object"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_bare_usage_has_the_counts_but_no_model(shape: str, form: str) -> None:
    usage = SHAPES[shape]["usage"]
    fields = usage_fields(usage if form == "dict" else as_object(usage))
    expected = {k: v for k, v in EXPECTED[shape].items() if k not in ("model", "provider")}
    assert fields == expected


def test_fields_build_a_valid_record_and_totals_match_the_sdk_total() -> None:
    for shape, payload in SHAPES.items():
        record = Record.from_dict({"ts": "2025-09-29T14:03:00Z", **usage_fields(payload)})
        sdk_total = payload["usage"].get("total_tokens")
        if sdk_total is not None:  # OpenAI's total counts cached input once: so does ours
            assert record.tokens == sdk_total, shape


def test_details_left_out_or_null_count_as_zero() -> None:
    chat = {"model": "gpt-4o", "usage": {"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": None}}
    assert usage_fields(chat)["input_tokens"] == 10
    anthropic = as_object(
        {"type": "message", "model": "claude-3-haiku", "usage": {"input_tokens": 7, "output_tokens": 2}}
    )
    anthropic.usage.cache_read_input_tokens = None
    fields = usage_fields(anthropic)
    assert (fields["input_tokens"], fields["cache_read_tokens"], fields["provider"]) == (7, 0, "anthropic")


def test_our_own_record_shape_round_trips() -> None:
    record = {"input_tokens": 5, "output_tokens": 6, "cache_write_tokens": 7, "model": "m", "provider": "p"}
    assert usage_fields(record) == {
        "input_tokens": 5,
        "output_tokens": 6,
        "cache_read_tokens": 0,
        "cache_write_tokens": 7,
        "reasoning_tokens": 0,
        "model": "m",
        "provider": "p",
    }
    assert usage_fields({"total_tokens": 54161}) == {"total_tokens": 54161}
    assert usage_fields(json.loads(json.dumps({"input_tokens": 3.0, "output_tokens": 1})))["input_tokens"] == 3


def test_a_model_we_cannot_place_gets_no_provider() -> None:
    compatible = {"model": "deepseek-chat", "usage": {"prompt_tokens": 1, "completion_tokens": 1}}
    assert "provider" not in usage_fields(compatible)


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        pytest.param(None, "got None", id="none"),
        pytest.param({"model": "gpt-4o", "usage": None}, "carries no usage", id="stream-without-usage"),
        pytest.param({"choices": []}, "no token counts found in a dict with choices", id="no-counts"),
        pytest.param("54161", "no token counts found in a str", id="string"),
        pytest.param({"usage": {"prompt_tokens": "12", "completion_tokens": 1}}, "prompt_tokens should be", id="text"),
        pytest.param({"input_tokens": -1}, "cannot be negative", id="negative"),
        pytest.param({"input_tokens": True}, "whole number", id="bool"),
        pytest.param({"input_tokens": 1.5}, "whole number", id="fraction"),
        pytest.param(
            {"usage": {"prompt_tokens": 1, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 9}}},
            "cached_tokens (9) is more than prompt_tokens (1)",
            id="cached-over-prompt",
        ),
        pytest.param({"input_tokens": 1, "model": 4}, "model should be text", id="model"),
    ],
)
def test_unrecognised_payloads_raise_one_line_with_a_hint(payload: object, words: str) -> None:
    with pytest.raises(InvalidUsage) as caught:
        usage_fields(payload)
    assert isinstance(caught.value, GitTokensError)
    assert words in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize("form", ["dict", "object"])
@pytest.mark.parametrize(
    ("creation", "written", "one_hour"),
    [
        ({"ephemeral_5m_input_tokens": 500, "ephemeral_1h_input_tokens": 2000}, 2500, 2000),
        ({"ephemeral_5m_input_tokens": 2500, "ephemeral_1h_input_tokens": 0}, 2500, 0),
        (None, 2500, 0),
    ],
    ids=["both", "5-minute only", "no split"],
)
def test_anthropic_1_hour_cache_writes(form: str, creation: Any, written: int, one_hour: int) -> None:
    payload = json.loads(json.dumps(ANTHROPIC))
    payload["usage"]["cache_creation"] = creation
    fields = usage_fields(payload if form == "dict" else as_object(payload))
    assert (fields["cache_write_tokens"], fields.get("cache_write_1h_tokens", 0)) == (written, one_hour)
    assert Record.from_dict({"ts": "2025-09-29T14:03:00Z", **fields}).cache_write_1h_tokens == one_hour


def test_anthropic_split_without_its_sum_and_a_split_larger_than_the_sum() -> None:
    usage = {"input_tokens": 1, "output_tokens": 2, "cache_creation": {"ephemeral_1h_input_tokens": 300}}
    assert (usage_fields(usage)["cache_write_tokens"], usage_fields(usage)["cache_write_1h_tokens"]) == (300, 300)
    with pytest.raises(InvalidUsage, match="cache_creation_input_tokens"):
        usage_fields({**usage, "cache_creation_input_tokens": 100})


def test_our_own_shape_with_1_hour_writes_and_requests() -> None:
    fields = usage_fields({"input_tokens": 5, "cache_write_tokens": 7, "cache_write_1h_tokens": 3, "requests": 2})
    assert (fields["cache_write_1h_tokens"], fields["requests"]) == (3, 2)
    with pytest.raises(InvalidUsage, match="requests"):
        usage_fields({"input_tokens": 5, "requests": 0})

"""Reading token counts out of an LLM API's usage payload, without depending on any SDK.

``usage_fields`` takes a response (an SDK object or its dict form), its bare ``usage`` part, or a dict
with our own record field names, and returns record fields in Anthropic semantics: ``input_tokens``
excludes cache reads and writes, ``reasoning_tokens`` is a part of ``output_tokens``.

Shapes understood:

- OpenAI chat completions: ``usage.prompt_tokens`` (cache reads included: subtracted here),
  ``completion_tokens``, ``prompt_tokens_details.cached_tokens``,
  ``completion_tokens_details.reasoning_tokens``; ``model``.
- OpenAI Responses: ``usage.input_tokens`` (cache reads included: subtracted here), ``output_tokens``,
  ``input_tokens_details.cached_tokens``, ``output_tokens_details.reasoning_tokens``; ``model``.
- Anthropic Messages: ``usage.input_tokens`` (cache excluded already), ``output_tokens``,
  ``cache_read_input_tokens``, ``cache_creation_input_tokens`` and its split
  ``cache_creation.ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens`` (the 1-hour part is
  ``cache_write_1h_tokens``); ``model``.
- Our records: ``input_tokens``, ``output_tokens``, ``cache_read_tokens``, ``cache_write_tokens``,
  ``reasoning_tokens``, ``cache_write_1h_tokens``, ``total_tokens``, ``requests``, ``model``, ``provider``.

A response is one API call: the caller (``api.track``) records ``requests: 1``; ``requests`` comes back from
here only when our own fields state it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gitokens.errors import InvalidUsage

_HINT = (
    "pass an OpenAI chat completion or Responses object, an Anthropic message, their dict form, "
    "their `usage`, or a dict with input_tokens/output_tokens"
)
_CHAT_KEYS = ("prompt_tokens", "completion_tokens")
_RESPONSES_KEYS = ("input_tokens_details", "output_tokens_details")
_ANTHROPIC_KEYS = ("cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation")
_OWN_KEYS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")
_OWN_PARTS = ("cache_write_1h_tokens",)
# Providers are named only when the model says whose it is: OpenAI-compatible APIs serve other vendors' models.
_OPENAI_MODEL = re.compile(r"^(gpt-|chatgpt-|o\d|codex-|computer-use-)")
_ANTHROPIC_MODEL = re.compile(r"^claude-")
_MISSING = object()


def usage_fields(obj: object) -> dict[str, Any]:
    """Record fields (token counts, ``model``, ``provider``) from a response, its usage, or our own fields.

    Raises ``InvalidUsage`` for anything it does not recognise or counts that are not whole numbers.
    """
    if obj is None:
        raise InvalidUsage("usage: got None instead of a response or usage", hint=_HINT)
    usage = _get(obj, "usage")
    if usage is None and _has(obj, "usage"):
        raise InvalidUsage(
            "usage: the response carries no usage (a stream without its final usage chunk?)",
            hint='with OpenAI streams ask for it: stream_options={"include_usage": True}',
        )
    holder = obj if usage is not None else None
    source = usage if usage is not None else obj
    vendor: str | None = "openai"
    if _any(source, _CHAT_KEYS):
        fields = _openai(source, "prompt_tokens", "completion_tokens")
    elif _any(source, _RESPONSES_KEYS) or _get(holder, "object") == "response":
        fields = _openai(source, "input_tokens", "output_tokens")
    elif _any(source, _ANTHROPIC_KEYS) or _get(holder, "type") == "message":
        fields, vendor = _anthropic(source), "anthropic"
    elif _any(source, (*_OWN_KEYS, "total_tokens")):
        fields, vendor = _own(source), None
    else:
        raise InvalidUsage(f"usage: no token counts found in {_describe(source)}", hint=_HINT)
    model = _text(_get(obj, "model"), "model")
    if model is not None:
        fields["model"] = model
    provider = _text(_get(obj, "provider"), "provider") if vendor is None else _provider(vendor, model)
    if provider is not None:
        fields["provider"] = provider
    return fields


def _openai(usage: object, inp: str, out: str) -> dict[str, Any]:
    inp_details, out_details = f"{inp}_details", f"{out}_details"
    prompt = _count(usage, inp)
    cached = _count(_get(usage, inp_details), "cached_tokens", f"{inp_details}.")
    if cached > prompt:
        raise InvalidUsage(
            f"usage: {inp_details}.cached_tokens ({cached}) is more than {inp} ({prompt})",
            hint=f"cached tokens are a part of {inp}; check the payload",
        )
    output = _count(usage, out)
    reasoning = _count(_get(usage, out_details), "reasoning_tokens", f"{out_details}.")
    return _split(prompt - cached, output, cached, 0, min(reasoning, output))


def _anthropic(usage: object) -> dict[str, Any]:
    written = _count(usage, "cache_creation_input_tokens")
    creation = _get(usage, "cache_creation")
    five_minutes = _count(creation, "ephemeral_5m_input_tokens", "cache_creation.")
    one_hour = _count(creation, "ephemeral_1h_input_tokens", "cache_creation.")
    if _get(usage, "cache_creation_input_tokens") is None:
        written = five_minutes + one_hour
    elif five_minutes + one_hour > written:
        raise InvalidUsage(
            f"usage: cache_creation's 5-minute and 1-hour writes ({five_minutes:,} + {one_hour:,}) are more than "
            f"cache_creation_input_tokens ({written:,})",
            hint="they are a split of cache_creation_input_tokens; check the payload",
        )
    fields = _split(
        _count(usage, "input_tokens"),
        _count(usage, "output_tokens"),
        _count(usage, "cache_read_input_tokens"),
        written,
        0,
    )
    if one_hour:
        fields["cache_write_1h_tokens"] = one_hour
    return fields


def _own(usage: object) -> dict[str, Any]:
    counts = [_count(usage, name) for name in _OWN_KEYS]
    total = _count(usage, "total_tokens") if _get(usage, "total_tokens") is not None else None
    requests = _get(usage, "requests")
    if requests is not None and (isinstance(requests, bool) or not isinstance(requests, int) or requests < 1):
        raise InvalidUsage(f"usage: requests should be a whole number of API calls, got {requests!r}", hint=_HINT)
    fields = {"total_tokens": total} if total is not None and not any(counts) else _split(*counts)
    if "total_tokens" not in fields:
        fields.update({name: value for name in _OWN_PARTS if (value := _count(usage, name))})
    if requests is not None:
        fields["requests"] = requests
    return fields


def _split(inp: int, out: int, cache_read: int, cache_write: int, reasoning: int) -> dict[str, Any]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": reasoning,
    }


def _provider(vendor: str, model: str | None) -> str | None:
    pattern = _OPENAI_MODEL if vendor == "openai" else _ANTHROPIC_MODEL
    return vendor if model is not None and pattern.match(model) else None


def _get(obj: object, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _has(obj: object, name: str) -> bool:
    if isinstance(obj, Mapping):
        return name in obj
    return getattr(obj, name, _MISSING) is not _MISSING


def _any(obj: object, names: tuple[str, ...]) -> bool:
    return any(_get(obj, name) is not None for name in names)


def _count(obj: object, name: str, prefix: str = "") -> int:
    value = _get(obj, name)
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidUsage(f"usage: {prefix}{name} should be a whole number of tokens, got {value!r}", hint=_HINT)
    if value < 0:
        raise InvalidUsage(f"usage: {prefix}{name} cannot be negative, got {value}", hint=_HINT)
    return value


def _text(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidUsage(f"usage: {name} should be text, got {value!r}", hint=_HINT)
    return value.strip() or None


def _describe(obj: object) -> str:
    if isinstance(obj, Mapping):
        keys = ", ".join(sorted(str(k) for k in obj)[:8]) or "no keys"
        return f"a dict with {keys}"
    return f"a {type(obj).__name__} object"

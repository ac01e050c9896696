"""`.gitokens.yml`: defaults, every key read, and every mistake reported with its file, line and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitokens.config import Budget, Config, ConfigError, ModelPrices, Split, load_config
from gitokens.errors import UsageError

FULL = """\
default_branch: trunk
timezone: Europe/Paris
prices:
  my-model: {input: 1, output: 2.5, cache_read: 0.1}
aliases:
  claude-custom: claude-sonnet-4-5
split: {input: 0.7}
budgets:
  month: {usd: 500}
  pull_request:
    tokens: 2_000_000
default_model: claude-sonnet-4-5
"""


def write(root: Path, text: str) -> Path:
    path = root / ".gitokens.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text", [None, "", "# nothing yet\n"], ids=["no-file", "empty", "only-comments"])
def test_defaults(tmp_path: Path, text: str | None) -> None:
    if text is not None:
        write(tmp_path, text)
    config = load_config(tmp_path)
    assert (config.default_branch, config.timezone, config.tzinfo) == (None, None, None)
    assert (dict(config.prices), dict(config.aliases), dict(config.budgets)) == ({}, {}, {})
    assert config.split == Split(input=0.8, output=0.2)
    assert load_config(None) == Config()


def test_every_key_is_read(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL).parent)
    assert config.path == tmp_path / ".gitokens.yml"
    assert (config.default_branch, config.timezone, str(config.tzinfo)) == ("trunk", "Europe/Paris", "Europe/Paris")
    assert dict(config.prices) == {"my-model": ModelPrices(input=1.0, output=2.5, cache_read=0.1, cache_write=None)}
    assert dict(config.aliases) == {"claude-custom": "claude-sonnet-4-5"}
    assert config.split == Split(input=0.7, output=0.3)  # the complement of a one-sided split
    assert dict(config.budgets) == {"month": Budget(usd=500.0), "pull_request": Budget(tokens=2_000_000)}
    assert config.default_model == "claude-sonnet-4-5"


ERRORS = [
    ("typo-top", "timezone: UTC\nprise: {}\n", 2, "unknown key 'prise'", "did you mean 'prices'?"),
    ("typo-nested", "prices:\n  m:\n    input: 1\n    ouput: 2\n", 4, "'ouput' in prices.m", "'output'"),
    ("typo-split", "split:\n  inptu: 0.5\n", 2, "'inptu' in split", "'input'"),
    ("budget-scope", "budgets:\n  weekly: {usd: 1}\n", 2, "'weekly' in budgets", "pull_request, branch, month"),
    ("budget-field", "budgets:\n  month:\n    dollars: 1\n", 3, "'dollars' in budgets.month", "usd, tokens"),
    ("not-a-number", "prices:\n  m: {input: cheap, output: 1}\n", 2, "prices.m.input: expected a number", "0.3"),
    ("negative", "\nprices:\n  m: {input: -1, output: 1}\n", 3, "cannot be negative", "0 or more"),
    ("missing-output", "prices:\n  m:\n    input: 1\n", 2, "prices.m: 'output' is missing", "input and output"),
    ("tokens-fraction", "budgets:\n  month: {tokens: 1.5}\n", 2, "tokens: expected a whole number", "2_000_000"),
    ("branch-number", "default_branch: 1.0\n", 1, "default_branch: expected text", "quote it"),
    ("default-model-list", "default_model: [a, b]\n", 1, "default_model: expected text", "quote it"),
    ("default-model-typo", "default_modle: x\n", 1, "unknown key 'default_modle'", "'default_model'"),
    ("timezone", "timezone: Mars/Olympus\n", 1, "'Mars/Olympus' is not a known time zone", "IANA"),
    ("split-sum", "split:\n  input: 0.5\n  output: 0.6\n", 2, "add up to 1.1, not 1", "0.8"),
    ("duplicate", "timezone: UTC\ntimezone: UTC\n", 2, "'timezone' is given twice", "keep one"),
    ("alias-chain", "aliases:\n  a: b\n  b: c\n", 2, "'b' is itself an alias", "point 'a'"),
    ("bad-yaml", "prices:\n  m: [1, 2\n", 3, "not valid YAML", "indentation"),
    ("python-tag", "timezone: !!python/name:os.system\n", 1, "timezone: cannot read this value", "plain"),
]


@pytest.mark.parametrize(("text", "line", "message", "hint"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_name_the_key_file_and_line(tmp_path: Path, text: str, line: int, message: str, hint: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert message in str(caught.value)
    assert caught.value.hint is not None and hint in caught.value.hint
    assert isinstance(caught.value, UsageError) and "\n" not in str(caught.value)


def test_a_yaml_extension_is_not_silently_ignored(tmp_path: Path) -> None:
    (tmp_path / ".gitokens.yaml").write_text("timezone: UTC\n")
    with pytest.raises(ConfigError, match=r"reads its settings from \.gitokens\.yml") as caught:
        load_config(tmp_path)
    assert caught.value.hint == "rename it: git mv .gitokens.yaml .gitokens.yml"


@pytest.mark.parametrize(
    "text",
    ["timezone: " + "[" * 600 + "]" * 600, "prices:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(600))],
    ids=["flow", "block"],
)
def test_a_file_nested_too_deeply_is_an_error(tmp_path: Path, text: str) -> None:
    write(tmp_path, text)
    with pytest.raises(ConfigError, match="nested too deeply to read") as raised:
        load_config(tmp_path)
    assert raised.value.hint

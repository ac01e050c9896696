"""The README mentions every visible command and each of its long options; every command's help has an example."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from gitokens.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"
ROOT_CTX = click.Context(cli, info_name="git tokens", **cli.context_settings)
COMMANDS = {
    name: command
    for name in cli.list_commands(ROOT_CTX)
    if (command := cli.get_command(ROOT_CTX, name)) is not None and not command.hidden
}
OPTIONS = [
    (name, opt)
    for name, command in COMMANDS.items()
    for param in command.params
    if isinstance(param, click.Option) and not param.hidden
    for opt in param.opts + param.secondary_opts
    if opt.startswith("--")
]


@pytest.fixture(scope="module")
def readme() -> str:
    if not README.exists():
        pytest.fail(f"{README} does not exist")
    return README.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", COMMANDS)
def test_command_in_readme(readme: str, name: str) -> None:
    assert re.search(rf"git[ -]tokens {re.escape(name)}\b", readme), f"README.md never shows `git tokens {name}`"


@pytest.mark.parametrize(("name", "option"), OPTIONS, ids=[f"{name} {option}" for name, option in OPTIONS])
def test_option_in_readme(readme: str, name: str, option: str) -> None:
    assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", readme), f"README.md never mentions {name} {option}"


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_an_example(name: str) -> None:
    assert "Example:" in (COMMANDS[name].help or ""), f"`git tokens {name} -h` shows no Example:"


def example_lines(name: str) -> list[str]:
    _, _, examples = (COMMANDS[name].help or "").partition("Example:")
    return [line.strip() for line in examples.splitlines() if line.strip().startswith(f"git tokens {name}")]


@pytest.mark.parametrize("name", COMMANDS)
def test_help_examples_parse(name: str) -> None:
    """Each example line in a command's help parses with the real CLI (nothing runs)."""
    for line in example_lines(name):
        args = shlex.split(line, comments=True)[3:]
        try:
            COMMANDS[name].make_context(name, args, parent=ROOT_CTX)
        except click.ClickException as exc:
            pytest.fail(f"`{line}` does not parse: {exc.format_message()}")

"""Generate man/git-tokens.1 from the click command tree, so `git tokens --help` (which git turns into
`man git-tokens`) says what `git tokens -h` says.

    python scripts/gen_man.py          # write man/git-tokens.1
    python scripts/gen_man.py --check  # exit 1 if man/git-tokens.1 is stale

The output is deterministic: no date, the package version in the footer. Every `git tokens ...` line of
EXAMPLES is parsed by the real CLI while generating, so an example cannot name a command or an option
that does not exist.
"""

from __future__ import annotations

import argparse
import inspect
import re
import shlex
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
MAN_PAGE = ROOT / "man" / "git-tokens.1"
PROG = "git tokens"

EXAMPLES = (
    (
        "Record the tokens a piece of work took, on the current commit, and see the branch's total:",
        (
            'git tokens add 54161 "OAuth2 integration"',
            "git tokens show",
        ),
    ),
    (
        "Queue usage before committing; the post-commit hook attaches it to the next commit:",
        (
            "git tokens install",
            "git tokens add --pending --input 1200 --output 300 --model gpt-4o",
            'git commit -m "Add the login form"',
            "git tokens show HEAD",
        ),
    ),
    (
        "List this month's records of one branch, as JSON:",
        ("git tokens log --branch feature/oauth --since 2025-09-01 --json",),
    ),
    ("Share the ledger with the team:", ("git push origin refs/notes/tokens",)),
)
SEE_ALSO = ("git-notes(1)", "githooks(5)", "git(1)")


def escape(text: str) -> str:
    """Roff-escape running text: backslashes, hyphens (so options copy-paste as ASCII), leading dots."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return re.sub(r"^([.'])", r"\\&\1", text, flags=re.MULTILINE)


def inline(text: str) -> str:
    """Escape text and set `code spans` in bold."""
    return re.sub(r"`([^`]+)`", r"\\fB\1\\fR", escape(text))


def paragraphs(help_text: str) -> list[str]:
    """Click help text as roff: `\\b` blocks stay verbatim (examples), other paragraphs are filled."""
    out = []
    text = inspect.cleandoc(help_text.split("\f")[0])  # click hides what follows a form feed
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        if not lines:
            continue
        if lines[0].strip() == "\b":
            body = "\n".join(escape(line) for line in lines[1:])
            out.append(f".PP\n.nf\n{body}\n.fi")
        else:
            out.append(".PP\n" + inline(" ".join(line.strip() for line in lines)))
    return out


def option_item(param: click.Parameter, ctx: click.Context) -> str | None:
    record = param.get_help_record(ctx)
    if record is None:
        return None
    names, help_text = record
    if isinstance(param, click.Argument):  # click 8.3+ lists arguments; only those with help say anything
        return f".TP\n\\fI{escape(names)}\\fR\n{inline(help_text)}" if help_text else None
    match = re.fullmatch(r"((?:-{1,2}[^\s,/]+(?:, | / )?)+)(?: (.+))?", names)
    if match is None:
        raise ValueError(f"cannot format the option {names!r}")
    flags = re.sub(r"(-{1,2}[^\s,/]+)", lambda m: f"\\fB{escape(m.group(1))}\\fR", match.group(1))
    metavar = f" \\fI{escape(match.group(2))}\\fR" if match.group(2) else ""
    return f".TP\n{flags}{metavar}\n{inline(help_text)}"


def usage(cmd: click.Command, ctx: click.Context) -> str:
    pieces = " ".join(cmd.collect_usage_pieces(ctx))
    return f".PP\n\\fB{escape(ctx.command_path)}\\fR {escape(pieces)}"


def commands(root: click.Context) -> list[tuple[str, click.Command]]:
    group = root.command
    assert isinstance(group, click.Group)
    found = [(name, group.get_command(root, name)) for name in group.list_commands(root)]
    return [(name, cmd) for name, cmd in found if cmd is not None and not cmd.hidden]


def command_section(name: str, cmd: click.Command, root: click.Context) -> list[str]:
    ctx = click.Context(cmd, info_name=name, parent=root)
    out = [f".SS {name}", usage(cmd, ctx), *paragraphs(cmd.help or "")]
    help_option = cmd.get_help_option(ctx)
    options = [option_item(p, ctx) for p in cmd.get_params(ctx) if p is not help_option]
    return out + [item for item in options if item]


def check_example(line: str, root: click.Context) -> None:
    """Parse an example with the real CLI (no callback runs): fails on unknown commands or options."""
    words = shlex.split(line, comments=True)
    if words[:2] != PROG.split():
        return
    name, *args = words[2:]
    group = root.command
    assert isinstance(group, click.Group)
    cmd = group.get_command(root, name)
    if cmd is None:
        raise SystemExit(f"gen_man: EXAMPLES uses an unknown command: {line}")
    try:
        cmd.make_context(name, args, parent=root)
    except click.ClickException as exc:
        raise SystemExit(f"gen_man: EXAMPLES line does not parse ({exc.format_message()}): {line}") from None


def examples(root: click.Context) -> list[str]:
    out = [".SH EXAMPLES"]
    for text, lines in EXAMPLES:
        for line in lines:
            check_example(line, root)
        body = "\n".join(escape(line) for line in lines)
        out.append(f".PP\n{inline(text)}\n.PP\n.RS 4\n.nf\n{body}\n.fi\n.RE")
    return out


def load_cli() -> tuple[click.Group, str]:
    """This checkout's command tree and version, even when another gitokens is installed."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from gitokens import __version__
    from gitokens.cli import cli

    return cli, __version__


def render() -> str:
    cli, version = load_cli()
    root = click.Context(cli, info_name=PROG, **cli.context_settings)
    summary, _, description = inspect.cleandoc(cli.help or "").partition("\n")
    summary = summary.rstrip(".")
    global_options = [option_item(p, root) for p in cli.get_params(root)]
    parts = [
        f'.TH GIT\\-TOKENS 1 "" "gitokens {version}" "Git Manual"',
        '.\\" Generated by scripts/gen_man.py from gitokens/cli/: edit the docstrings, not this file.',
        ".SH NAME",
        f"git\\-tokens \\- {escape(summary[0].lower() + summary[1:])}",
        ".SH SYNOPSIS",
        ".nf",
        "\\fBgit tokens\\fR [\\fB\\-\\-version\\fR] [\\fB\\-h\\fR | \\fB\\-\\-help\\fR] \\fIcommand\\fR [\\fIargs\\fR]",
        "\\fBgit\\-tokens\\fR \\fIcommand\\fR [\\fIargs\\fR]",
        ".fi",
        ".SH DESCRIPTION",
        *paragraphs(description),
        ".PP",
        "\\fBgit tokens \\-h\\fR and \\fBgit tokens \\fIcommand\\fB \\-h\\fR print the same help on the terminal;"
        " \\fBgit tokens \\-\\-help\\fR shows this page.",
        ".SH OPTIONS",
        *[item for item in global_options if item],
        ".SH COMMANDS",
    ]
    for name, cmd in commands(root):
        parts += command_section(name, cmd, root)
    parts += examples(root)
    parts += [".SH SEE ALSO", ", ".join(f"\\fB{escape(ref.split('(')[0])}\\fR({ref.split('(')[1]}" for ref in SEE_ALSO)]
    return "\n".join(parts) + "\n"


def is_current(path: Path = MAN_PAGE) -> bool:
    """True when the file at path is exactly what the CLI generates now."""
    try:
        return path.read_text(encoding="utf-8") == render()
    except FileNotFoundError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate man/git-tokens.1 from the click command tree.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the man page is stale, write nothing")
    parser.add_argument("--output", type=Path, default=MAN_PAGE, help=f"default: {MAN_PAGE.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    if args.check:
        if is_current(args.output):
            return 0
        print(f"{args.output} is stale: run python scripts/gen_man.py", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

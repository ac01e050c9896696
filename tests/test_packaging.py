"""Packaging: the man page, the real wheel installed in a fresh venv, shell completion, .pre-commit-hooks.yaml."""

# WHEEL TEST: the `wheel` fixture and every test_wheel_* below build the real wheel from a copy of the
# source tree and install it into a fresh venv (~5 s in all, no network: --no-index, dependencies are
# borrowed from this interpreter through a .pth file). Select them with `pytest -k wheel`.

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType

import click
import pytest
import yaml
from conftest import git

from gitokens import __version__
from gitokens.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = Path(sys.executable).parent
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".work"
)
UNSET = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "MANPATH", "_GIT_TOKENS_COMPLETE")
# `git tokens <TAB>` under git's bash completion: git calls _git_tokens if it exists. The README shows this text.
# The `_git_tokens` function exactly as README.md gives it to users.
GIT_TOKENS_BASH = re.search(
    r"```bash\n(_git_tokens \(\).*?\n\})\n```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S
)[1]  # type: ignore[index]


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, f"{shlex.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def clean_env(path: list[Path | str], **extra: str) -> dict[str, str]:
    """This test's environment (hermetic HOME and git config) with PATH replaced and Python/man overrides removed."""
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    return {**env, "PATH": os.pathsep.join(dict.fromkeys(str(p) for p in path)), **extra}


def system_path() -> list[str]:
    """Where git and man live, without the test interpreter's bin directory."""
    found = [shutil.which(tool) for tool in ("git", "man")]
    return [str(Path(tool).parent) for tool in found if tool] + ["/usr/bin", "/bin"]


def load_gen_man() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_man", ROOT / "scripts" / "gen_man.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_man_page_is_current() -> None:
    assert load_gen_man().is_current(), "man/git-tokens.1 is stale: run python scripts/gen_man.py"


# -- the wheel in a fresh venv ---------------------------------------------------------------------


@dataclass(frozen=True)
class Wheel:
    path: Path
    venv: Path

    def env(self, **extra: str) -> dict[str, str]:
        return clean_env([self.venv / "bin", *system_path()], **extra)


def dependency_dirs() -> list[str]:
    """The directories this interpreter imports gitokens' dependencies (transitively) from."""
    todo, seen, dirs = list(metadata.distribution("gitokens").requires or []), set(), []
    while todo:
        requirement = todo.pop()
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        if "extra ==" in requirement or name is None or name.group().lower() in seen:
            continue
        seen.add(name.group().lower())
        try:
            dist = metadata.distribution(name.group())
        except metadata.PackageNotFoundError:
            continue  # a dependency for another Python version
        dirs.append(str(dist.locate_file("")))
        todo += dist.requires or []
    return list(dict.fromkeys(dirs))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Wheel:
    missing = [name for name in ("setuptools", "wheel") if importlib.util.find_spec(name) is None]
    if missing:
        pytest.fail(f"building the wheel offline needs {missing} in this interpreter: pip install -e '.[test]'")
    work = tmp_path_factory.mktemp("wheel")
    # A copy, because pip builds in-tree: setuptools' build/ in the checkout would be shared with concurrent
    # runs and keeps files of deleted modules.
    shutil.copytree(ROOT, work / "src", ignore=NOT_SOURCES)
    env = clean_env(
        [SCRIPTS, *system_path()], PIP_CONFIG_FILE=os.devnull, PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1"
    )
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
    run([*pip_wheel, "-w", str(work / "dist"), str(work / "src")], work, env)
    [path] = (work / "dist").glob("gitokens-*.whl")
    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)], work, env)
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index", str(path)], work, env)
    purelib = run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], work, env
    ).stdout.strip()
    Path(purelib, "gitokens-test-deps.pth").write_text("\n".join(dependency_dirs()) + "\n")
    return Wheel(path, venv)


def test_wheel_ships_the_hook_and_the_man_page(wheel: Wheel) -> None:
    with zipfile.ZipFile(wheel.path) as archive:
        names = archive.namelist()
    assert "gitokens/hooks/post-commit" in names and "gitokens/hooks/pre-push" in names
    assert "gitokens/capture/__init__.py" in names and "gitokens/capture/codex.py" in names
    assert any(name.endswith(".data/data/share/man/man1/git-tokens.1") for name in names), names


def test_wheel_is_imported_from_the_fresh_venv(wheel: Wheel, tmp_path: Path) -> None:
    done = run(["python", "-c", "import gitokens; print(gitokens.__file__)"], tmp_path, wheel.env())
    print("gitokens imported from", done.stdout.strip())
    location = Path(done.stdout.strip())
    assert location.is_relative_to(wheel.venv) and not location.is_relative_to(ROOT)


@pytest.mark.parametrize(
    ("cmd", "expected"),
    [
        (["git-tokens", "--version"], f"git-tokens, version {__version__}"),
        (["git", "tokens", "-h"], "Usage: git tokens [OPTIONS] COMMAND"),
        (["python", "-m", "gitokens", "-h"], "Usage: git tokens [OPTIONS] COMMAND"),
    ],
    ids=["git-tokens --version", "git tokens -h", "python -m gitokens -h"],
)
def test_wheel_entry_points(wheel: Wheel, tmp_path: Path, cmd: list[str], expected: str) -> None:
    assert expected in run(cmd, tmp_path, wheel.env()).stdout


def test_wheel_add_show_round_trip(wheel: Wheel, repo: Path) -> None:
    env = wheel.env()
    git(repo, "commit", "-q", "--allow-empty", "-m", "first", env=env)
    run(["git", "tokens", "add", "54161", "OAuth2 integration"], repo, env)
    shown = run(["git", "tokens", "show", "HEAD"], repo, env).stdout
    assert "1 record(s) on" in shown and "54,161" in shown and "OAuth2 integration" in shown


def test_wheel_hook_fires_on_a_real_commit(wheel: Wheel, repo: Path) -> None:
    env = wheel.env()
    git(repo, "commit", "-q", "--allow-empty", "-m", "first", env=env)
    run(["git", "tokens", "install"], repo, env)
    assert f"GITOKENS_PYTHON='{wheel.venv / 'bin' / 'python'}" in (repo / ".git" / "hooks" / "post-commit").read_text()
    run(["git", "tokens", "add", "--pending", "1200", "queued work"], repo, env)
    git(repo, "commit", "-q", "--allow-empty", "-m", "second", env=env)
    shown = run(["git", "tokens", "show", "HEAD"], repo, env).stdout
    assert "1 record(s) on" in shown and "queued work" in shown


def test_wheel_git_help_shows_the_man_page(wheel: Wheel, tmp_path: Path) -> None:
    if shutil.which("man") is None:
        pytest.skip("man is not installed: cannot check that `git tokens --help` finds <venv>/share/man via PATH")
    # MANPATH is unset: man-db derives <venv>/share/man from <venv>/bin on PATH.
    env = wheel.env(LC_ALL="C", MANPAGER="cat", PAGER="cat", MANWIDTH="200")
    page = run(["git", "tokens", "--help"], tmp_path, env).stdout
    assert re.search(r"^NAME\n\s+git-tokens - keep a ledger", page, re.MULTILINE), page[:500]


# -- shell completion ------------------------------------------------------------------------------


def complete(env: dict[str, str]) -> str:
    script = shutil.which("git-tokens", path=str(SCRIPTS))
    if script is None:
        pytest.skip(f"the git-tokens console script is not installed in {SCRIPTS}")
    done = subprocess.run([script], env=env, capture_output=True, text=True, check=False, timeout=60)
    hint = "cli.main() must run with complete_var='_GIT_TOKENS_COMPLETE' and prog_name 'git-tokens' for completion"
    assert done.returncode == 0 and done.stdout, f"{env['_GIT_TOKENS_COMPLETE']}: no answer; {hint}\n{done.stderr}"
    return done.stdout


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        ("bash", "complete -o nosort -F _git_tokens_completion git-tokens"),
        ("zsh", "compdef _git_tokens_completion git-tokens"),
        ("fish", 'complete --no-files --command git-tokens --arguments "(_git_tokens_completion)"'),
    ],
    ids=["bash", "zsh", "fish"],
)
def test_completion_script(shell: str, expected: str) -> None:
    source = complete(clean_env([SCRIPTS, *system_path()], _GIT_TOKENS_COMPLETE=f"{shell}_source"))
    assert expected in source and f"_GIT_TOKENS_COMPLETE={shell}_complete" in source


@pytest.mark.parametrize(
    ("line", "expected"),
    [("git-tokens ad", "add"), ("git-tokens add --pen", "--pending"), ("git-tokens add --source cl", "claude-code")],
    ids=["command", "option", "choice"],
)
def test_completion_candidates(line: str, expected: str) -> None:
    words = line.split()
    env = clean_env(
        [SCRIPTS, *system_path()], _GIT_TOKENS_COMPLETE="bash_complete", COMP_WORDS=line, COMP_CWORD=str(len(words) - 1)
    )
    assert f"plain,{expected}" in complete(env).splitlines()


def git_bash_completion() -> Path | None:
    exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=False).stdout.strip()
    candidates = [
        Path("/usr/share/bash-completion/completions/git"),
        Path("/usr/local/share/bash-completion/completions/git"),
        Path(exec_path).parent.parent / "share/git-core/contrib/completion/git-completion.bash",
    ]
    return next((path for path in candidates if path.is_file()), None)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("git-tokens ad", "add"),
        ("git tokens ad", "add "),
        ("git -C . tokens log --br", "--branch "),
        ("git tokens add --source cl", "claude-code "),
    ],
    ids=["git-tokens", "git tokens", "git -C", "git tokens choice"],
)
def test_bash_completes(line: str, expected: str, tmp_path: Path) -> None:
    """Press TAB in real bash: click's script for git-tokens, and git's completion calling _git_tokens."""
    completion = git_bash_completion()
    if shutil.which("bash") is None or completion is None:
        pytest.skip("needs bash and git's bash completion script")
    script = """
        eval "$(_GIT_TOKENS_COMPLETE=bash_source git-tokens)"
        source "$GIT_COMPLETION"
        eval "$GIT_TOKENS_BASH"
        read -ra COMP_WORDS <<< "$LINE"
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) COMP_LINE=$LINE COMP_POINT=${#LINE}
        spec=$(complete -p "${COMP_WORDS[0]}") && fn=${spec##*-F } && fn=${fn%% *}
        "$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf '%s\\n' "${COMPREPLY[@]}"
    """
    env = clean_env(
        [SCRIPTS, *system_path()], GIT_COMPLETION=str(completion), GIT_TOKENS_BASH=GIT_TOKENS_BASH, LINE=line
    )
    done = run(["bash", "--norc", "--noprofile", "-c", script], tmp_path, env)
    assert expected in done.stdout.split("\n"), done.stdout + done.stderr


# -- pre-commit ------------------------------------------------------------------------------------


def test_pre_commit_hook_entry_is_a_real_command() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "gitokens" and hook["stages"] == ["post-commit"] and hook["always_run"] is True
    assert hook["language"] == "python" and hook["pass_filenames"] is False and hook["name"] and hook["description"]
    script, name, *args = shlex.split(hook["entry"])
    scripts = {ep.name: ep.value for ep in metadata.entry_points(group="console_scripts")}
    assert scripts.get(script) == "gitokens.cli:main"
    root = click.Context(cli, info_name=script)
    command = cli.get_command(root, name)
    assert command is not None, f"{hook['entry']!r}: no command {name!r}"
    command.make_context(name, args, parent=root)  # raises on an unknown option or argument

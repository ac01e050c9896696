"""Runs action.yml's steps the way a GitHub runner does, in order with bash, against directories in tmp_path.

Expressions are substituted as Actions evaluates them, for the forms action.yml uses: a context path
(``inputs.x``, ``github.action_path``, ``runner.temp``, ``steps.id.outputs.x``, ``github.event_name``,
``github.ref``, ``github.event.<payload path>``), ``a != 'b'`` / ``a == 'b'`` (the right side a literal or
an expression), ``format('...{0}', a)``, ``startsWith(a, 'b')``, ``!`` and ``&&``, and the status functions
``cancelled()`` (never) and ``always()``. Each step gets a fresh ``GITHUB_OUTPUT`` file, read back into
``steps.<id>.outputs``; after a failing step only the steps whose ``if:`` calls a status function run, as
in a composite action. ``actions/cache/restore`` and ``actions/cache/save`` run against a folder of saved
caches beside the runner's temp (``CacheStore``: kept across the runs of one test, as a repository's caches
are kept across its workflow runs); any other ``uses:`` step whose ``if:`` holds fails the harness.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_COMPARE = re.compile(r"^(\S+)\s*(==|!=)\s*(.+)$")
_CALL = re.compile(r"^(\w+)\((.*)\)$")
_STATUS = re.compile(r"\b(?:cancelled|always|failure|success)\(\)")


@dataclass
class StepRun:
    name: str
    returncode: int
    stdout: str
    stderr: str


@dataclass
class ActionRun:
    steps: list[StepRun] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""

    @property
    def failed(self) -> bool:
        return any(step.returncode != 0 for step in self.steps)

    @property
    def stdout(self) -> str:
        return "".join(step.stdout for step in self.steps)

    @property
    def stderr(self) -> str:
        return "".join(step.stderr for step in self.steps)


@dataclass
class CacheStore:
    """What actions/cache keeps for a repository: one folder per key, the newest restored for a prefix."""

    root: Path

    def restore(self, workspace: Path, spec: dict[str, str]) -> dict[str, str]:
        key, prefixes = spec["key"], [p.strip() for p in spec.get("restore-keys", "").splitlines() if p.strip()]
        saved = sorted(self.root.iterdir(), key=lambda entry: entry.stat().st_mtime_ns) if self.root.is_dir() else []
        names = [entry.name for entry in saved]
        matched = (
            key
            if key in names
            else next((name for prefix in prefixes for name in reversed(names) if name.startswith(prefix)), "")
        )
        if matched:
            shutil.copytree(self.root / matched, workspace / spec["path"], dirs_exist_ok=True)
        return {"cache-hit": str(matched == key).lower(), "cache-primary-key": key, "cache-matched-key": matched}

    def save(self, workspace: Path, spec: dict[str, str]) -> dict[str, str]:
        target = self.root / spec["key"]
        if not target.exists() and (workspace / spec["path"]).is_dir():  # a saved key is never replaced
            shutil.copytree(workspace / spec["path"], target)
        return {}


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    expression = expression.strip()
    if "&&" in expression:
        return all(evaluate(term, context) for term in expression.split("&&"))
    if expression.startswith("!") and not expression.startswith("!="):
        return not evaluate(expression[1:], context)
    if expression.startswith("'") and expression.endswith("'"):
        return expression[1:-1].replace("''", "'")
    call = _CALL.match(expression)
    if call:
        return _call(call[1], [evaluate(arg, context) for arg in _arguments(call[2])])
    compare = _COMPARE.match(expression)
    if compare:
        left, right = str(evaluate(compare[1], context)), str(evaluate(compare[3], context))
        return (left == right) == (compare[2] == "==")
    value: Any = context
    for part in expression.split("."):
        value = value.get(part, "") if isinstance(value, dict) else ""
    return value


def _arguments(text: str) -> list[str]:
    """A call's arguments: split on the commas outside quoted literals."""
    args, current, quoted = [], "", False
    for char in text:
        if char == "'":
            quoted = not quoted
        if char == "," and not quoted:
            args.append(current)
            current = ""
        else:
            current += char
    return [*args, current] if text.strip() else args


def _call(name: str, args: list[Any]) -> Any:
    if name == "cancelled":
        return False
    if name == "always":
        return True
    if name == "format":
        return str(args[0]).format(*args[1:])
    if name == "startsWith":
        return str(args[0]).lower().startswith(str(args[1]).lower())
    raise AssertionError(f"the harness does not know the function {name}()")


def substitute(text: str, context: dict[str, Any]) -> str:
    return _EXPR.sub(lambda m: _text(evaluate(m[1], context)), text)


def _text(value: Any) -> str:
    """A value as Actions writes it into a string: booleans as ``true`` / ``false``."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def read_outputs(path: Path) -> dict[str, str]:
    """``name=value`` and ``name<<DELIMITER`` ... ``DELIMITER`` entries, as the runner reads them."""
    outputs: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            outputs[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        else:
            name, _, value = line.partition("=")
            outputs[name] = value
            i += 1
    return outputs


def run_action(
    workspace: Path, runner_temp: Path, event_name: str, payload: dict[str, Any], inputs: dict[str, str], **env: str
) -> ActionRun:
    """Run every step of action.yml for one event; ``env`` adds or overrides ``GITHUB_*`` variables."""
    work = runner_temp / "_work"
    work.mkdir(parents=True, exist_ok=True)
    event_path = work / "event.json"
    event_path.write_text(json.dumps(payload), encoding="utf-8")
    summary = work / "step_summary.md"
    summary.touch()
    declared = ACTION["inputs"]
    unknown = set(inputs) - set(declared)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    context: dict[str, Any] = {
        "github": {
            "action_path": str(ROOT),
            "token": "test-token",
            "workspace": str(workspace),
            "event_name": event_name,
            "ref": env.get("GITHUB_REF", ""),
            "event": payload,
        },
        "runner": {"temp": str(runner_temp), "os": "Linux"},
        "steps": {},
    }
    context["inputs"] = {name: substitute(str(spec.get("default", "")), context) for name, spec in declared.items()}
    context["inputs"].update(inputs)
    base_env = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_REPOSITORY": "octo/project",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_JOB": "tokens",
        "GITHUB_SERVER_URL": "https://github.example",
        "RUNNER_TEMP": str(runner_temp),
        **env,
    }
    result = ActionRun()
    for number, step in enumerate(ACTION["runs"]["steps"]):
        condition = _EXPR.sub(r"\1", str(step.get("if", "")))
        if result.failed and not _STATUS.search(condition):
            break  # an implicit success(): a step runs after a failure only when its if: says so
        if condition and not evaluate(condition, context):
            continue
        if "uses" in step:
            outputs = _cache_step(step, workspace, CacheStore(runner_temp / "_actions_cache"), context)
            result.steps.append(StepRun(step.get("name", ""), 0, json.dumps(outputs), ""))
            if "id" in step:
                context["steps"][step["id"]] = {"outputs": outputs}
            continue
        output = work / f"output-{number}"
        output.write_text("")
        step_env = {name: substitute(str(value), context) for name, value in (step.get("env") or {}).items()}
        cwd = workspace / substitute(str(step.get("working-directory", ".")), context)
        script = work / f"step-{number}.sh"
        script.write_text(step["run"], encoding="utf-8")
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env={**base_env, **step_env, "GITHUB_OUTPUT": str(output)},
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        result.steps.append(StepRun(step.get("name", ""), done.returncode, done.stdout, done.stderr))
        if "id" in step:
            context["steps"][step["id"]] = {"outputs": read_outputs(output)}
    result.outputs = {name: substitute(str(spec["value"]), context) for name, spec in ACTION["outputs"].items()}
    result.summary = summary.read_text(encoding="utf-8")
    return result


def _cache_step(step: dict[str, Any], workspace: Path, store: CacheStore, context: dict[str, Any]) -> dict[str, str]:
    """An actions/cache/restore or actions/cache/save step; no other action can run here."""
    uses = str(step["uses"])
    spec = {name: substitute(str(value), context) for name, value in (step.get("with") or {}).items()}
    if uses.startswith("actions/cache/restore@"):
        return store.restore(workspace, spec)
    if uses.startswith("actions/cache/save@"):
        return store.save(workspace, spec)
    raise AssertionError(f"the harness cannot run `uses: {uses}` (step {step.get('name')})")

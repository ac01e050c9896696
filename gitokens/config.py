"""The team's settings: ``.gitokens.yml`` at the root of the work tree, committed and shared.

Read with PyYAML's safe loader and checked node by node, so that every mistake (a misspelled key, a
price that is not a number, a time zone that does not exist) is reported with the file and line it is
on. A missing file means the defaults. Nothing here knows about git or prices: ``pricing.py`` reads
``Config.prices``, ``Config.aliases``, ``Config.split`` and ``Config.default_model``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeVar

from gitokens.errors import UsageError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import yaml

CONFIG_NAME = ".gitokens.yml"
BUDGET_SCOPES = ("pull_request", "branch", "month")
_SPLIT_TOLERANCE = 1e-9
_T = TypeVar("_T")


class ConfigError(UsageError):
    """``.gitokens.yml`` cannot be read or has a value gitokens cannot use; the message names file and line."""


@dataclass(frozen=True)
class ModelPrices:
    """A price override in USD per million tokens; a cache rate left out means those tokens cost the input rate."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None
    cache_write_1h: float | None = None  # left out: 1-hour cache writes cost the cache write rate


@dataclass(frozen=True)
class Split:
    """How a record that only knows its total is divided between input and output (fractions summing to 1)."""

    input: float = 0.8
    output: float = 0.2


@dataclass(frozen=True)
class Database:
    """Where ``git tokens publish`` sends this repository's records, and under which name and team."""

    url: str | None = None  # a sqlite:/// URL (a relative path is from the work tree's root); never a password
    repository: str | None = None  # the repository's name in the database (default: its normalised origin URL)
    team: str | None = None


@dataclass(frozen=True)
class Budget:
    """A spending limit for one scope (pull request, branch or month): dollars, tokens, or both."""

    usd: float | None = None
    tokens: int | None = None


def _frozen(mapping: Mapping[str, _T] | None = None) -> Mapping[str, _T]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Config:
    """Validated settings; ``Config()`` is what a repository without ``.gitokens.yml`` gets."""

    path: Path | None = None
    default_branch: str | None = None
    timezone: str | None = None
    prices: Mapping[str, ModelPrices] = field(default_factory=_frozen)
    aliases: Mapping[str, str] = field(default_factory=_frozen)
    split: Split = field(default_factory=Split)
    budgets: Mapping[str, Budget] = field(default_factory=_frozen)
    database: Database = field(default_factory=Database)
    # The model a record without one is priced as (``git tokens add 54161`` names none); it may be a
    # ``prices:`` entry of the team's own, which is how a blended rate is given.
    default_model: str | None = None

    @property
    def tzinfo(self) -> ZoneInfo | None:
        """The configured time zone (None: the local one)."""
        if self.timezone is None:
            return None
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.timezone)


def load_config(root: Path | None) -> Config:
    """Read ``.gitokens.yml`` from the work tree root ``root``; defaults when ``root`` is None or the file is absent."""
    if root is None:
        return Config()
    path = root / CONFIG_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        misnamed = root / ".gitokens.yaml"
        if misnamed.is_file():
            raise ConfigError(
                f"{misnamed}: gitokens reads its settings from {CONFIG_NAME}, not {misnamed.name}",
                hint=f"rename it: git mv {misnamed.name} {CONFIG_NAME}",
            ) from None
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}", hint="fix or remove the file") from None
    return parse_config(text, path)


_FLAT = "the settings are a few levels deep at most: see the README's .gitokens.yml example"


def parse_config(text: str, path: Path) -> Config:
    """Validate the YAML ``text`` of ``path`` (named in error messages) into a Config."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(
            f"{where}: not valid YAML: {exc.problem or exc.context}",
            hint="check the indentation and quoting on that line",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}", hint="check the file's syntax") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to read", hint=_FLAT) from None
    try:
        return _Reader(path).config(root)
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to read", hint=_FLAT) from None


class _Reader:
    """Turns the composed YAML node tree into a Config, raising ConfigError at the first bad node."""

    def __init__(self, path: Path) -> None:
        import yaml

        self.path = path
        self._yaml = yaml
        self._constructor = yaml.SafeLoader("")

    # -- errors --------------------------------------------------------------------------------------

    def error(self, node: yaml.Node, message: str, hint: str) -> ConfigError:
        return ConfigError(f"{self.path}:{node.start_mark.line + 1}: {message}", hint=hint)

    # -- nodes ---------------------------------------------------------------------------------------

    def mapping(self, node: yaml.Node, where: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """The (key, key node, value node) entries of a mapping node; keys are their text, duplicates refused."""
        if not isinstance(node, self._yaml.MappingNode):
            raise self.error(
                node, f"{where}: expected a mapping of keys to values", hint="write it as `key: value` lines"
            )
        entries: list[tuple[str, yaml.Node, yaml.Node]] = []
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, self._yaml.ScalarNode):
                raise self.error(key_node, f"{where}: a key must be plain text", hint="remove the brackets or braces")
            key = str(key_node.value)
            if key in seen:
                raise self.error(key_node, f"{where}: {key!r} is given twice", hint="keep one of them")
            seen.add(key)
            entries.append((key, key_node, value_node))
        return entries

    def fixed(self, node: yaml.Node, where: str, known: tuple[str, ...]) -> dict[str, yaml.Node]:
        """A mapping whose keys must be among ``known``: an unknown key is an error suggesting the closest."""
        out: dict[str, yaml.Node] = {}
        for key, key_node, value_node in self.mapping(node, where):
            if key not in known:
                import difflib  # only for a mistake

                close = difflib.get_close_matches(key, known, n=1)
                allowed = ", ".join(known)
                hint = f"did you mean {close[0]!r}? (allowed: {allowed})" if close else f"allowed keys: {allowed}"
                label = f"unknown key {key!r}" if where == "top level" else f"unknown key {key!r} in {where}"
                raise self.error(key_node, label, hint=hint)
            out[key] = value_node
        return out

    def value(self, node: yaml.Node, where: str) -> object:
        if not isinstance(node, self._yaml.ScalarNode):
            return node
        try:
            return self._constructor.construct_object(node, deep=True)
        except self._yaml.YAMLError as exc:  # e.g. a !!python tag, which the safe loader refuses
            problem = getattr(exc, "problem", None) or exc
            raise self.error(
                node, f"{where}: cannot read this value: {problem}", hint="write a plain number or text"
            ) from None

    def is_null(self, node: yaml.Node | None) -> bool:
        return node is None or (isinstance(node, self._yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null")

    def text(self, node: yaml.Node, where: str) -> str:
        value = self.value(node, where)
        if not isinstance(value, str) or not value.strip():
            raise self.error(node, f"{where}: expected text, got {_describe(value)}", hint="quote it if it is a name")
        return value.strip()

    def number(self, node: yaml.Node, where: str) -> float:
        value = self.value(node, where)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.error(node, f"{where}: expected a number, got {_describe(value)}", hint="write it like 3 or 0.3")
        if value < 0:
            raise self.error(node, f"{where}: cannot be negative, got {value}", hint="use 0 or more")
        return float(value)

    def whole(self, node: yaml.Node, where: str) -> int:
        value = self.value(node, where)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(
                node, f"{where}: expected a whole number, got {_describe(value)}", hint="write it like 2_000_000"
            )
        if value < 0:
            raise self.error(node, f"{where}: cannot be negative, got {value}", hint="use 0 or more")
        return value

    def section(self, nodes: dict[str, yaml.Node], key: str, read: Callable[[yaml.Node], _T], default: _T) -> _T:
        node = nodes.get(key)
        if node is None or self.is_null(node):
            return default
        return read(node)

    # -- the file ------------------------------------------------------------------------------------

    def config(self, root: yaml.Node | None) -> Config:
        if self.is_null(root):
            return Config(path=self.path)
        assert root is not None
        known = ("default_branch", "timezone", "prices", "aliases", "split", "budgets", "database", "default_model")
        nodes = self.fixed(root, "top level", known)
        prices: dict[str, ModelPrices] = self.section(nodes, "prices", self.prices, {})
        aliases: dict[str, str] = self.section(nodes, "aliases", lambda n: self.aliases(n, prices), {})
        budgets: dict[str, Budget] = self.section(nodes, "budgets", self.budgets, {})
        return Config(
            path=self.path,
            default_branch=self.section(nodes, "default_branch", lambda n: self.text(n, "default_branch"), None),
            timezone=self.section(nodes, "timezone", self.timezone, None),
            prices=_frozen(prices),
            aliases=_frozen(aliases),
            split=self.section(nodes, "split", self.split, Split()),
            budgets=_frozen(budgets),
            database=self.section(nodes, "database", self.database, Database()),
            default_model=self.section(nodes, "default_model", lambda n: self.text(n, "default_model"), None),
        )

    def database(self, node: yaml.Node) -> Database:
        fields = self.fixed(node, "database", ("url", "repository", "team"))
        given = {
            name: self.text(value, f"database.{name}") for name, value in fields.items() if not self.is_null(value)
        }
        url = given.get("url", "")
        if url and "@" in url.split("://", 1)[-1].split("/", 1)[0]:
            raise self.error(
                fields["url"],
                "database.url: a URL with credentials does not belong in a committed file",
                hint="set GITOKENS_DATABASE_URL (a CI secret) instead, or pass the URL to git tokens publish",
            )
        return Database(**given)

    def timezone(self, node: yaml.Node) -> str:
        from zoneinfo import ZoneInfo

        name = self.text(node, "timezone")
        try:
            ZoneInfo(name)
        except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError; malformed names are ValueErrors
            raise self.error(
                node, f"timezone: {name!r} is not a known time zone", hint="use an IANA name like Europe/Paris or UTC"
            ) from None
        return name

    def prices(self, node: yaml.Node) -> dict[str, ModelPrices]:
        out: dict[str, ModelPrices] = {}
        lowered: dict[str, str] = {}
        for model, key_node, value_node in self.mapping(node, "prices"):
            if model.lower() in lowered:
                raise self.error(
                    key_node, f"prices: {model!r} and {lowered[model.lower()]!r} name the same model", hint="keep one"
                )
            lowered[model.lower()] = model
            where = f"prices.{model}"
            fields = self.fixed(value_node, where, ("input", "output", "cache_read", "cache_write", "cache_write_1h"))
            for required in ("input", "output"):
                if required not in fields:
                    raise self.error(
                        key_node,
                        f"{where}: {required!r} is missing",
                        hint="give at least input and output, in USD per million tokens",
                    )
            rates = {
                name: self.number(rate, f"{where}.{name}") for name, rate in fields.items() if not self.is_null(rate)
            }
            if "input" not in rates or "output" not in rates:
                raise self.error(key_node, f"{where}: input and output need a price", hint="write 0 for free")
            out[model] = ModelPrices(**rates)
        return out

    def aliases(self, node: yaml.Node, prices: Mapping[str, ModelPrices]) -> dict[str, str]:
        entries = [
            (model, key_node, self.text(target, f"aliases.{model}"))
            for model, key_node, target in self.mapping(node, "aliases")
        ]
        names = {model for model, _, _ in entries}
        for model, key_node, target in entries:
            if target == model:
                raise self.error(key_node, f"aliases.{model}: a model cannot be an alias of itself", hint="remove it")
            if target in names:
                raise self.error(
                    key_node,
                    f"aliases.{model}: {target!r} is itself an alias",
                    hint=f"point {model!r} at the model {target!r} is priced as",
                )
            if model in prices:
                raise self.error(
                    key_node, f"aliases.{model}: {model!r} also has prices", hint="keep either its prices or its alias"
                )
        return {model: target for model, _, target in entries}

    def split(self, node: yaml.Node) -> Split:
        fields = self.fixed(node, "split", ("input", "output"))
        given = {name: self.number(value, f"split.{name}") for name, value in fields.items() if not self.is_null(value)}
        for name, value in given.items():
            if value > 1:
                raise self.error(fields[name], f"split.{name}: {value} is more than 1", hint="write fractions like 0.8")
        if not given:
            return Split()
        # Round the complement so that `input: 0.7` gives output 0.3, not 0.30000000000000004.
        inp = given.get("input", round(1.0 - given.get("output", 0.0), 12))
        out = given.get("output", round(1.0 - inp, 12))
        if abs(inp + out - 1.0) > _SPLIT_TOLERANCE:
            raise self.error(
                node,
                f"split: input {inp} and output {out} add up to {inp + out}, not 1",
                hint="e.g. input: 0.8, output: 0.2",
            )
        return Split(input=inp, output=out)

    def budgets(self, node: yaml.Node) -> dict[str, Budget]:
        out: dict[str, Budget] = {}
        for scope, value_node in self.fixed(node, "budgets", BUDGET_SCOPES).items():
            where = f"budgets.{scope}"
            if self.is_null(value_node):
                continue
            fields = self.fixed(value_node, where, ("usd", "tokens"))
            usd = self.number(fields["usd"], f"{where}.usd") if not self.is_null(fields.get("usd")) else None
            tokens = self.whole(fields["tokens"], f"{where}.tokens") if not self.is_null(fields.get("tokens")) else None
            out[scope] = Budget(usd=usd, tokens=tokens)
        return out


def _describe(value: object) -> str:
    kind = type(value).__name__
    if value is None:
        return "nothing"
    if kind == "SequenceNode":
        return "a list"
    if kind == "MappingNode":
        return "a mapping"
    return f"{kind} {value!r}" if isinstance(value, str) else f"{kind} {value}"

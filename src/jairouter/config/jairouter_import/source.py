"""Reading JAiRouter's YAML the way Spring Boot binds it, noting every key the import leaves out.

Spring binds property names loosely ("relaxed binding"): `failure-threshold`, `failureThreshold`
and `failure_threshold` are one property. A `Section` reads one mapping by kebab-case names,
remembers what it read, and `finish` reports the rest, each at its file:line:column. Values are
read as Spring converts them (`"100"` is a number, `"true"` a boolean), placeholders included.
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from jairouter.config.jairouter_import.placeholders import convert, default_of
from jairouter.config.jairouter_import.report import Report

Position = tuple[int | None, int | None]

_TRUE = ("true", "yes", "y", "on")
_FALSE = ("false", "no", "n", "off")
_UNKNOWN = "not a JAiRouter setting (Spring ignored it too); not imported"
_WHY_NOT: dict[str, str] = {
    "instance-id": "JAiRouter's instance id; jairouter knows an instance by its model and URL",
    "id": "JAiRouter's instance id; jairouter knows an instance by its model and URL",
    "healthy": "runtime health state, not a setting; jairouter checks health itself",
    "hash-algorithm": "jairouter's ip-hash uses its own hash; the algorithm is not configurable",
    "virtual-nodes": "jairouter's ip-hash has no virtual nodes setting",
    "ewma-alpha": "jairouter has no latency-weighted balancer",
    "sticky": "no session stickiness; `load_balance: ip-hash` keeps a client on one instance",
    "vendor": "usage normalisation per vendor has no equivalent",
    "channel-id": "compute-platform channels have no equivalent",
    "key": "custom rate-limit keys have no equivalent; `scope` chooses the key",
}


def kebab(name: str) -> str:
    """A property name as Spring's canonical form: `failureThreshold` -> `failure-threshold`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).replace("_", "-").lower()


class Section:
    """One mapping of the source file, read key by key."""

    def __init__(self, data: CommentedMap, path: str, report: Report) -> None:
        self.data = data
        self.path = path
        self.report = report
        self._names: dict[str, Any] = {}
        for key in data:
            self._names.setdefault(kebab(str(key)), key)
        self._read: set[str] = set()

    def has(self, name: str) -> bool:
        return name in self._names

    def was_read(self, name: str) -> bool:
        return name in self._read

    def names(self) -> list[str]:
        """Every key of the section, canonical (kebab case), in file order."""
        return list(self._names)

    def key(self, name: str) -> str:
        """The dotted source path of `name`, spelt as the file spells it."""
        spelt = str(self._names.get(name, name))
        return f"{self.path}.{spelt}" if self.path else spelt

    def position(self, name: str | None = None) -> Position:
        """Where `name` is written (the section itself when None), 1-based."""
        if name is None or name not in self._names:
            try:
                return self.data.lc.line + 1, self.data.lc.col + 1
            except (AttributeError, TypeError):
                return None, None
        return _key_position(self.data, self._names[name])

    def raw(self, name: str) -> Any:
        """The value as written, marked as read; None when absent."""
        self._read.add(name)
        return self.data.get(self._names[name]) if name in self._names else None

    def leave_out(self, name: str, reason: str) -> None:
        """Report `name` (when the section has it) as left out or changed, and mark it read."""
        if name in self._names:
            self.report.leave_out(self.key(name), self.position(name), reason)
        self._read.add(name)

    def finish(self, reason: str | None = None) -> None:
        """Report every key not read so far, with `reason` or why JAiRouter's key is left out."""
        for name in self._names:
            if name not in self._read:
                self.leave_out(name, reason or _WHY_NOT.get(name, _UNKNOWN))

    def skip(self, reason: str) -> None:
        """Report the whole section once and ignore its keys."""
        self.report.leave_out(self.path, self.position(), reason)
        self._read.update(self._names)

    def section(self, name: str) -> Section | None:
        value = self.raw(name)
        if value is None:
            return None
        if not isinstance(value, CommentedMap):
            self.leave_out(name, "expected a mapping of settings; not imported")
            return None
        return Section(value, self.key(name), self.report)

    def items(self, name: str) -> list[Section]:
        """The mappings listed under `name` (e.g. `instances`), each as a section."""
        value = self.raw(name)
        if value is None:
            return []
        if not isinstance(value, CommentedSeq):
            self.leave_out(name, "expected a list; not imported")
            return []
        found: list[Section] = []
        for index, item in enumerate(value):
            path = f"{self.key(name)}[{index}]"
            if isinstance(item, CommentedMap):
                found.append(Section(item, path, self.report))
            else:
                where = _item_position(value, index)
                self.report.leave_out(path, where, "expected a mapping of settings; not imported")
        return found

    def text(self, name: str) -> str | None:
        """A string setting with its placeholders converted; losses are reported."""
        value = self.raw(name)
        if value is None:
            return None
        converted, problems = convert(str(value))
        for problem in problems:
            self.report.leave_out(self.key(name), self.position(name), problem)
        return converted

    def word(self, name: str) -> str | None:
        """An enumerated value (`type`, `algorithm`, …), lower case with dashes as JAiRouter
        compares them."""
        value = self.text(name)
        return None if value is None else value.strip().lower().replace("_", "-")

    def strings(self, name: str) -> dict[str, str]:
        """A map of free names to strings (e.g. `headers`), names kept as written."""
        value = self.raw(name)
        if value is None:
            return {}
        if not isinstance(value, CommentedMap):
            self.leave_out(name, "expected a mapping; not imported")
            return {}
        found: dict[str, str] = {}
        for key, item in value.items():
            converted, problems = convert("" if item is None else str(item))
            for problem in problems:
                where = _key_position(value, key)
                self.report.leave_out(f"{self.key(name)}.{key}", where, problem)
            found[str(key)] = converted
        return found

    def number(self, name: str) -> int | float | None:
        """A number (int when whole); a placeholder gives its default. None when absent or not a
        number (reported)."""
        value = self.raw(name)
        if value is None or isinstance(value, bool):
            if isinstance(value, bool):
                self.leave_out(name, f"expected a number, not {value!r}; not imported")
            return None
        if isinstance(value, int | float):
            return _plain(value)
        text = str(value)
        default = default_of(text)
        if default != text:
            if default is None:
                self.leave_out(name, f"{text} has no default and jairouter needs a number here")
                return None
            self.report.leave_out(
                self.key(name),
                self.position(name),
                f"{text}: the number is fixed to its default {default}; edit it if you set it",
            )
        try:
            return _plain(float(default or ""))
        except ValueError:
            self.leave_out(name, f"expected a number, not {text!r}; not imported")
            return None

    def boolean(self, name: str) -> bool | None:
        """A boolean as Spring reads one (`true`, `"false"`, and YAML 1.1's `yes`/`on`, as
        Spring's parser reads YAML 1.1); None when absent or not one."""
        value = self.raw(name)
        if value is None or isinstance(value, bool):
            return value
        text = (default_of(str(value)) or "").strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        self.leave_out(name, f"expected true or false, not {value!r}; not imported")
        return None


def _plain(value: float) -> int | float:
    # ruamel's number subclasses carry formatting; the output wants plain numbers
    return int(value) if float(value).is_integer() else float(value)


def _key_position(mapping: CommentedMap, key: Any) -> Position:
    try:
        line, column = mapping.lc.key(key)
    except (AttributeError, KeyError, TypeError):  # merged (`<<:`) keys have no position
        return None, None
    return line + 1, column + 1


def _item_position(seq: CommentedSeq, index: int) -> Position:
    try:
        line, column = seq.lc.item(index)
    except (AttributeError, KeyError, TypeError):
        return None, None
    return line + 1, column + 1

"""Spring's `${NAME:default}` placeholders rewritten as jairouter's `${NAME:-default}`.

Spring resolves a placeholder from its own properties as well as from the environment, and a
default may itself be a placeholder (`${A:${B:x}}`). jairouter reads the environment only and
takes a plain default, so a property name is replaced by its default, a nested fallback keeps
only its innermost default, and each such loss is returned for the caller to report. Any `${`
that is not a placeholder is escaped (`$${`), as jairouter would otherwise reject it.
"""

from __future__ import annotations

import re

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def convert(value: str) -> tuple[str, list[str]]:
    """`value` in jairouter's syntax, and why any placeholder could not be kept as it was."""
    out: list[str] = []
    problems: list[str] = []
    index = 0
    while (start := value.find("${", index)) >= 0:
        out.append(value[index:start])
        end = _closing(value, start + 2)
        if end < 0:
            problems.append("an unterminated `${` is kept as plain text")
            out.append(value[start:].replace("${", "$${"))
            return "".join(out), problems
        out.append(_placeholder(value[start + 2 : end], problems))
        index = end + 1
    out.append(value[index:])
    return "".join(out), problems


def default_of(value: str) -> str | None:
    """The default of a value that is one placeholder (its innermost one, if nested)."""
    text = value.strip()
    while text.startswith("${") and _closing(text, 2) == len(text) - 1:
        _, colon, default = text[2:-1].partition(":")
        if not colon:
            return None
        text = default
    return text


def _placeholder(body: str, problems: list[str]) -> str:
    name, colon, default = body.partition(":")
    fallback: str | None = default if colon else None
    if fallback is not None and "${" in fallback:
        innermost = default_of(fallback)
        problems.append(
            f"the fallback `{fallback}` inside ${{{name}}} has no equivalent; "
            + (f"its default {innermost!r} is used" if innermost else "it is dropped")
        )
        fallback = innermost
    if _ENV_NAME.fullmatch(name) is None:
        kept = f"its default {fallback!r} is used" if fallback else "the value is left empty"
        problems.append(f"${{{name}}} names a Spring property, not an environment variable; {kept}")
        return (fallback or "").replace("${", "$${")
    if fallback is None:
        return f"${{{name}}}"
    return f"${{{name}:-{fallback}}}"


def _closing(text: str, start: int) -> int:
    """Index of the `}` closing a placeholder whose body starts at `start`; -1 when none."""
    depth = 1
    for index in range(start, len(text)):
        if text.startswith("${", index):
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1

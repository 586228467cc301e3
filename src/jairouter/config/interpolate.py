"""`${VAR}` references in config strings, so secrets live in the environment, not the file.

    ${VAR}            the variable's value; an error when it is unset
    ${VAR:-default}   the default when VAR is unset or empty (as in a POSIX shell)
    $${               a literal `${`

Only the loader expands references; the store edits the file with the references intact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_REFERENCE = re.compile(
    r"""
    \$\$\{                                        # escaped: a literal ${
    | \$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)
          (?::-(?P<default>[^}]*))?\}             # ${VAR} or ${VAR:-default}
    | (?P<bad>\$\{)                               # any other ${ is a mistake
    """,
    re.VERBOSE,
)


class UnresolvedReference(ValueError):
    """A `${...}` that cannot be expanded; the message says which and why."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def expand(text: str, env: Mapping[str, str]) -> str:
    """`text` with every reference replaced from `env`; raises `UnresolvedReference`."""

    def replace(match: re.Match[str]) -> str:
        if match.group("bad"):
            raise UnresolvedReference(
                f"malformed reference at {text[match.start() :]!r}",
                "write ${NAME} or ${NAME:-default}, or $${ for a literal ${",
            )
        name = match.group("name")
        if name is None:
            return "${"
        value = env.get(name, "")
        default = match.group("default")
        if value:
            return value
        if default is not None:
            return default
        if name in env:
            return value
        raise UnresolvedReference(
            f"environment variable {name} is not set",
            f"export {name}=..., or give a default: ${{{name}:-value}}",
        )

    return _REFERENCE.sub(replace, text)

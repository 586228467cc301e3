"""The imported config as commented YAML text, laid out like the files `jairouter init` writes."""

from __future__ import annotations

import io
import textwrap

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

_WIDTH = 96


def render(data: CommentedMap, source: str, unmapped: int, notes: list[str]) -> str:
    """`data` as YAML under a header naming `source` and explaining each approximation."""
    one = unmapped == 1
    left_out = (
        f"{unmapped} setting{'' if one else 's'} {'was' if one else 'were'} left out or "
        "changed; the command listed them (`--json` lists them as JSON)."
        if unmapped
        else "Every setting found was carried over."
    )
    intro = (
        f"Imported from {source} by `jairouter config import-jairouter`: JAiRouter's `model:` "
        f"section, translated. {left_out} Check the result with `jairouter config validate`; "
        "every key is described in docs/configuration.md."
    )
    header = textwrap.wrap(intro, _WIDTH)
    if notes:
        header += ["", "Approximations:"]
        for note in notes:
            header += textwrap.wrap(note, _WIDTH, initial_indent="- ", subsequent_indent="  ")
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never fold a long value (a URL, a key) over two lines
    out = io.StringIO()
    yaml.dump(data, out)
    lines = "".join(f"# {line}".rstrip() + "\n" for line in header)
    return f"{lines}\n{out.getvalue()}"

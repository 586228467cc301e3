"""Finding places in YAML text from parser nodes, and splicing lines in and out there.

ruamel's composed nodes carry exact start and end marks; editing the text at those marks (rather
than re-dumping the document) leaves every byte outside the edited lines as the user wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from jairouter.config.syntax import dump_yaml

_NULL = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class Style:
    """How the file indents, so inserted lines look like their neighbours."""

    indent: int = 2  # columns a nested mapping's keys sit right of its parent key
    dash: int = 2  # columns a list's "-" sits right of its key (0 is common too)
    gap: int = 2  # columns from a "-" to the item's first key


def detect_style(root: Node | None) -> Style:
    """The first nested mapping's indent and the first list's layout in the document."""
    indent = dash = gap = None
    for key, value in _pairs(root):
        if is_block(value) and value.start_mark.line > key.start_mark.line:
            step = value.start_mark.column - key.start_mark.column
            if isinstance(value, MappingNode) and indent is None and step > 0:
                indent = step
            if isinstance(value, SequenceNode) and dash is None:
                dash = step
                gap = value.value[0].start_mark.column - value.start_mark.column
    return Style(indent or 2, 2 if dash is None else dash, max(gap or 2, 2))


def entry(mapping: MappingNode, key: str) -> tuple[ScalarNode, Node] | None:
    """The key and value nodes of `key` in a mapping node, if present."""
    for key_node, value in mapping.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return key_node, value
    return None


def is_placeholder(node: Node) -> bool:
    """An empty value the CLI may replace by a block: nothing, `~`, `null`, `[]` or `{}`."""
    if isinstance(node, ScalarNode):
        return str(node.tag) == _NULL
    return isinstance(node, MappingNode | SequenceNode) and bool(node.flow_style) and not node.value


def clear_placeholder(text: str, key: ScalarNode, value: Node) -> tuple[str, int]:
    """`text` without the placeholder `value`, and where the block replacing it goes."""
    if isinstance(value, ScalarNode) and value.value == "":
        # An absent value's marks point at whatever follows; only its key's line is reliable.
        return text, line_end(text, key.end_mark.index)
    start, end = value.start_mark.index, value.end_mark.index
    if end == len(text) or text[end] in "\r\n":
        while start > 0 and text[start - 1] == " ":  # leave no trailing blanks behind
            start -= 1
    text = text[:start] + text[end:]
    return text, line_end(text, start)


def end_of(text: str, node: Node) -> int:
    """Where a line inserted right after `node` starts: after its last line that holds content.

    Comments and blank lines that follow stay below the insertion, with what they introduce.
    """
    if is_block(node) and isinstance(node, MappingNode):
        key, value = node.value[-1]
        if isinstance(value, ScalarNode) and value.value == "" and str(value.tag) == _NULL:
            return line_end(text, key.end_mark.index)
        return end_of(text, value)
    if is_block(node) and isinstance(node, SequenceNode):
        return end_of(text, node.value[-1])
    mark = node.end_mark
    # A block scalar (`|`, `>`) ends at the start of the line after it; others end mid-line.
    return mark.index if mark.column == 0 else line_end(text, mark.index)


def item_start(text: str, item: Node) -> int:
    """The start of the line holding the `-` that introduces list item `item`."""
    dash = text.rfind("-", 0, item.start_mark.index)
    if dash < 0 or text[dash + 1 : item.start_mark.index].strip():
        raise ValueError("list item without its own `-`")
    start = line_start(text, dash)
    if text[start:dash].strip():
        raise ValueError("list item shares its line with other content")
    return start


def render_item(fields: dict[str, str | int], column: int, gap: int) -> list[str]:
    """A list item holding `fields`, its "-" at `column`, quoted as YAML needs."""
    first, *rest = dump_yaml(fields).splitlines()
    pad = " " * (column + gap)
    return [" " * column + "-" + " " * (gap - 1) + first, *(pad + line for line in rest)]


def insert_lines(text: str, at: int, lines: list[str]) -> str:
    """`text` with `lines` inserted at offset `at` (a line start), in the file's line ending."""
    newline = "\r\n" if "\r\n" in text else "\n"
    block = "".join(line + newline for line in lines)
    if at == len(text) and text and not text.endswith("\n"):
        block = newline + block
    return text[:at] + block + text[at:]


def line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def line_end(text: str, index: int) -> int:
    """The start of the line after the one holding `index` (or the end of the text)."""
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


def is_block(node: Node) -> bool:
    """A non-empty block-style mapping or list: the shapes edited by adding lines."""
    return isinstance(node, MappingNode | SequenceNode) and not node.flow_style and bool(node.value)


def _pairs(node: Node | None) -> list[tuple[Node, Node]]:
    """Every (key, value) pair of every mapping under `node`, in document order."""
    found: list[tuple[Node, Node]] = []
    if isinstance(node, MappingNode):
        for key, value in node.value:
            found.append((key, value))
            found.extend(_pairs(value))
    elif isinstance(node, SequenceNode):
        for item in node.value:
            found.extend(_pairs(item))
    return found

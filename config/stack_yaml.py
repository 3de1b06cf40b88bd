"""Reading a stack or project file: a safe YAML loader with bounded alias expansion, errors with file:line:column.

A stack file may come from anyone (a fork's pull request runs the offline
check), so reading it must not run code, exhaust memory or end in a
traceback. PyYAML's SafeLoader constructs no Python objects beyond plain data
(`!!python/object` is an error), but shares aliased nodes: a 505-byte "billion
laughs" document loads fine and explodes only when expanded (into the JSON
text the engine hands the program). So the node graph is measured as if
expanded, before anything is constructed: too many nodes, too deep, or an
alias that contains itself is refused, with the place it starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

MAX_NODES = 100_000
"""Nodes of a document once aliases are expanded (a full prod stack file has about 400)."""
MAX_DEPTH = 40
"""Nesting of mappings and lists (prod's deepest setting is 6 levels down)."""
MAX_BYTES = 1_000_000
"""A stack file is a few kilobytes; a megabyte is not a site's settings."""


class StackFileError(Exception):
    """A stack or project file cannot be read; `where` is file:line:column."""

    def __init__(self, where: str, message: str, value: str = "nothing") -> None:
        self.where, self.message, self.value = where, message, value
        super().__init__(f"{where}: {message}")


def mark(path: Path, node_or_mark: Any) -> str:
    """file:line:column (1-based) of a node or a PyYAML mark."""
    m = getattr(node_or_mark, "start_mark", node_or_mark)
    if m is None:
        return str(path)
    return f"{path}:{m.line + 1}:{m.column + 1}"


def _expanded(node: yaml.Node, path: Path) -> None:
    """Refuse a node graph whose expansion is too large, too deep, or infinite."""
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    active: set[int] = set()

    def walk(current: yaml.Node) -> tuple[int, int]:
        key = id(current)
        if key in sizes:
            return sizes[key], depths[key]
        if key in active:
            raise StackFileError(mark(path, current), "an alias refers to a node that contains it (infinite document)")
        active.add(key)
        if isinstance(current, yaml.SequenceNode):
            children: list[yaml.Node] = list(current.value)
        elif isinstance(current, yaml.MappingNode):
            children = [n for pair in current.value for n in pair]
        else:
            children = []
        size, depth = 1, 0
        for child in children:
            child_size, child_depth = walk(child)
            size += child_size
            depth = max(depth, child_depth)
            if size > MAX_NODES:
                raise StackFileError(
                    mark(path, current),
                    f"expands to more than {MAX_NODES} values (aliases repeated inside aliases); "
                    "expected a stack file without alias bombs",
                )
        depth += 1 if children else 0
        if depth > MAX_DEPTH:
            raise StackFileError(mark(path, current), f"nested more than {MAX_DEPTH} levels deep")
        active.discard(key)
        sizes[key], depths[key] = size, depth
        return size, depth

    walk(node)


def load_yaml_file(path: Path) -> tuple[Any, yaml.Node | None]:
    """(data, root node) of a YAML file with one document; raises StackFileError with file:line:column."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise StackFileError(str(path), f"larger than {MAX_BYTES} bytes; expected a stack file of a few kilobytes")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise StackFileError(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise StackFileError(str(path), f"cannot be read ({exc.strerror})") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _expanded(node, path)
        return loader.construct_document(node), node
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        at = exc.problem_mark or exc.context_mark
        line = text.splitlines()[at.line] if at is not None and at.line < len(text.splitlines()) else ""
        raise StackFileError(mark(path, at), f"not valid YAML: {problem}{context}", json.dumps(line)) from None
    except yaml.YAMLError as exc:
        raise StackFileError(str(path), str(exc).splitlines()[0]) from None
    except RecursionError:
        raise StackFileError(str(path), f"nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()


def mapping_items(node: yaml.Node | None) -> dict[str, yaml.Node]:
    """A mapping node's string keys -> their key nodes (for the place of each key)."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: k for k, _ in node.value if isinstance(k, yaml.ScalarNode)}


def value_node(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)

"""The one place configuration data becomes text."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml


class _NoAliasDumper(yaml.SafeDumper):
    """Plain YAML: no &anchors/*aliases, which some tools (and readers) handle badly."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


def to_json(data: Any, indent: int | None = 2) -> str:
    return json.dumps(data, indent=indent, sort_keys=True) + "\n"


# ---------------------------------------------------------------------------------- Grafana Alloy syntax
@dataclass(frozen=True)
class AlloyRef:
    """A reference to another component's export, written bare (e.g. loki.write.default.receiver)."""

    path: str

    def __post_init__(self) -> None:
        if not _ALLOY_PATH.match(self.path):
            raise ValueError(f"not an Alloy reference: {self.path!r}")


@dataclass(frozen=True)
class AlloyBlock:
    """A block: `name "label" { attribute = value ... nested-block ... }`; body items keep their order."""

    name: str
    label: str | None = None
    body: tuple[tuple[str, Any] | AlloyBlock, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not _ALLOY_PATH.match(self.name):
            raise ValueError(f"not an Alloy block name: {self.name!r}")
        for item in self.body:
            if isinstance(item, tuple) and not _ALLOY_IDENT.match(item[0]):
                raise ValueError(f"not an Alloy attribute name: {item[0]!r}")


_ALLOY_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ALLOY_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _alloy_scalar(value: Any) -> str | None:
    if isinstance(value, AlloyRef):
        return value.path
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # JSON string escapes are a subset of the Go escapes Alloy's string literals accept.
        return json.dumps(value)
    return None


def _alloy_value(value: Any, indent: int) -> str:
    scalar = _alloy_scalar(value)
    if scalar is not None:
        return scalar
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_alloy_value(v, indent) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        pad = "  " * (indent + 1)
        items = [f"{pad}{json.dumps(str(k))} = {_alloy_value(v, indent + 1)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + "\n" + "  " * indent + "}"
    raise TypeError(f"no Alloy syntax for {type(value).__name__}")


def _alloy_block(block: AlloyBlock, indent: int) -> list[str]:
    pad = "  " * indent
    head = f"{pad}{block.name}" + (f" {json.dumps(block.label)}" if block.label is not None else "") + " {"
    lines = [head]
    for item in block.body:
        if isinstance(item, AlloyBlock):
            lines.extend(_alloy_block(item, indent + 1))
        else:
            key, value = item
            lines.append(f"{pad}  {key} = {_alloy_value(value, indent + 1)}")
    lines.append(pad + "}")
    return lines


def to_alloy(blocks: list[AlloyBlock]) -> str:
    """Grafana Alloy configuration syntax for a list of top-level blocks."""
    return "\n\n".join("\n".join(_alloy_block(block, 0)) for block in blocks) + "\n"

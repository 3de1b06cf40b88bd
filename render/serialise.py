"""The one place configuration data becomes text."""

from __future__ import annotations

import json
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

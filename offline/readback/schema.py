"""How a Terraform-bridged provider diffs the next inputs against the state its Read left.

pulumi-docker and pulumi-random are Terraform providers behind pulumi-terraform-bridge, which plans with the
Terraform SDK's rules (hashicorp/terraform-plugin-sdk v2, helper/schema/schema.go `diff`): an attribute the
configuration leaves out takes its `Default`, or, if it is `Computed`, keeps whatever state holds; otherwise it is
compared with the zero value (null, "", 0, false and an empty collection are equal). A difference in a `ForceNew`
attribute replaces the resource; any other difference is an update. Sets compare without order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from offline.secret import Secret

Suppress = Callable[[Any, Any], bool]
"""(state value, config value) -> True when the provider's DiffSuppressFunc hides the difference."""


@dataclass(frozen=True)
class Attr:
    """One attribute of a provider's schema, under its Pulumi (camelCase) name."""

    force_new: bool = False
    computed: bool = False
    default: Any = None
    kind: str = "scalar"
    """scalar, set (unordered), list, map, block (a MaxItems=1 nested block)."""
    block: Mapping[str, Attr] = field(default_factory=dict)
    """For set/list/block of nested objects: the attributes of one element."""
    suppress: Suppress | None = None


@dataclass(frozen=True)
class Change:
    urn: str
    name: str
    type: str
    field: str
    state: Any
    config: Any
    replace: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "name": self.name,
            "type": self.type,
            "field": self.field,
            "state": self.state,
            "config": self.config,
            "action": "replace" if self.replace else "update",
        }


def plain(value: Any) -> Any:
    """Secrets unwrapped: the provider sees (and stores) the value itself."""
    if isinstance(value, Secret):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _empty(value: Any) -> bool:
    if isinstance(value, (list, dict, str)):
        return not value
    return value is None or value is False or value == 0


def _with_defaults(value: Any, attrs: Mapping[str, Attr]) -> Any:
    if not isinstance(value, dict) or not attrs:
        return value
    out = dict(value)
    for name, attr in attrs.items():
        if out.get(name) is None and attr.default is not None:
            out[name] = attr.default
    return out


def _canonical(value: Any, attr: Attr) -> Any:
    """A comparable form: nested defaults filled, sets sorted, empty values dropped from objects."""
    if attr.kind in ("set", "list", "block") and attr.block:
        items = value if isinstance(value, list) else ([value] if isinstance(value, dict) else [])
        canon = []
        for raw in items:
            item = _with_defaults(raw, attr.block)
            canon.append(
                {
                    k: _canonical(v, attr.block.get(k, Attr()))
                    for k, v in sorted(item.items())
                    if not _empty(v) and (k in attr.block or not attr.block)
                }
            )
        if attr.kind == "set":
            canon.sort(key=lambda x: json.dumps(x, sort_keys=True))
        return canon
    if attr.kind == "set" and isinstance(value, list):
        return sorted(value, key=lambda x: json.dumps(x, sort_keys=True))
    if attr.kind == "map" and isinstance(value, dict):
        return {k: v for k, v in sorted(value.items())}
    return value


def diff_attrs(
    schema: Mapping[str, Attr], config: Mapping[str, Any], state: Mapping[str, Any]
) -> list[tuple[str, Any, Any, bool]]:
    """(attribute, state value, config value, replaces) for each attribute the next plan would change."""
    out = []
    for name, attr in sorted(schema.items()):
        want = config.get(name)
        have = state.get(name)
        if want is None:
            if attr.computed:
                continue
            want = attr.default
        if attr.kind == "block" and attr.computed and isinstance(want, dict):
            # A configured Optional+Computed block is compared field by field, defaults filled in.
            want = _with_defaults(want, attr.block)
        canon_want, canon_have = _canonical(want, attr), _canonical(have, attr)
        if _empty(canon_want) and _empty(canon_have):
            continue
        if canon_want == canon_have:
            continue
        if attr.suppress is not None and attr.suppress(have, want):
            continue
        out.append((name, have, want, attr.force_new))
    return out

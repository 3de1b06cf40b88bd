"""Shared helpers for the monitoring tests: site settings of the stacks, and what a query uses."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import promql_parser as pp

from config.problems import NAMESPACE
from config.settings import Settings
from config.stack import SECRET_KEYS, load_stack_file, parse_settings
from offline.runner import ROOT
from tests.conftest import minimal_config

# Grafana's macros, replaced by plain durations so the real PromQL parser can read the query.
GRAFANA_MACROS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$__auto": "5m"}
_LOKI_SELECTOR = re.compile(r"\{([^{}]*)\}")
_LOKI_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')


def stack_settings(stack: str) -> Settings:
    """The validated settings of Pulumi.<stack>.yaml (secret keys left out, as the loader does)."""
    config = load_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    raw: dict[str, Any] = {}
    for key, value in config.values.items():
        namespace, _, name = key.partition(":")
        if namespace != NAMESPACE or name in SECRET_KEYS:
            continue
        raw[name] = json.loads(value) if value[:1] in "{[" else value
    return parse_settings(raw)


def site(**overrides: Any) -> Settings:
    return parse_settings(minimal_config(**overrides))


@dataclass
class QueryUse:
    """What one PromQL expression reads: selectors (name, matcher labels), grouping labels, labels it makes."""

    selectors: list[tuple[str | None, set[str]]] = field(default_factory=list)
    grouping: set[str] = field(default_factory=set)
    created: set[str] = field(default_factory=set)


def promql_use(expr: str) -> QueryUse:
    for macro, value in GRAFANA_MACROS.items():
        expr = expr.replace(macro, value)
    use = QueryUse()

    def visit(node: Any) -> None:
        if isinstance(node, pp.VectorSelector):
            use.selectors.append((node.name, {m.name for m in node.matchers.matchers} - {"__name__"}))
        elif isinstance(node, pp.AggregateExpr) and node.modifier is not None:
            use.grouping.update(node.modifier.labels)
        elif isinstance(node, pp.BinaryExpr) and node.modifier is not None:
            if node.modifier.matching is not None:
                use.grouping.update(node.modifier.matching.labels)
            use.grouping.update(node.modifier.group_labels or [])
        elif isinstance(node, pp.Call) and node.func.name in ("label_replace", "label_join"):
            use.created.add(node.args[1].val)

    pp.walk(pp.parse(expr), pre_visit=visit)
    return use


def loki_selectors(expr: str) -> list[dict[str, str]]:
    """The stream selectors of a LogQL query: label -> value (any match operator)."""
    found = []
    for inner in _LOKI_SELECTOR.findall(expr):
        matchers = {}
        rest = inner
        while rest.strip():
            match = _LOKI_MATCHER.match(rest)
            if match is None:
                raise AssertionError(f"not a LogQL stream selector: {{{inner}}}")
            matchers[match.group(1)] = match.group(3)
            rest = rest[match.end() :]
        found.append(matchers)
    return found


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])

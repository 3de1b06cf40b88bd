"""What the offline check prints: a readable summary, or one JSON document."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from pulumi_policy import EnforcementLevel
from rich.console import Console
from rich.table import Table
from rich.text import Text

from offline.gate import Verdict
from offline.readback import SecondUp
from offline.recorder import Recorded, Secret
from offline.runner import CONTAINER, RunResult

SECRET_MARKER = "[secret]"  # noqa: S105 - the redaction marker


def redact(value: Any) -> Any:
    if isinstance(value, Secret):
        return SECRET_MARKER
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _short(urn: str | None) -> str | None:
    return urn.rsplit("::", 1)[-1] if urn else None


def _resource_doc(res: Recorded, types: dict[str, str]) -> dict[str, Any]:
    return {
        "type": res.type,
        "name": res.name,
        "urn": res.urn,
        "parent": res.parent,
        "parentType": types.get(res.parent or ""),
        "provider": res.provider,
        "custom": res.custom,
        "additionalSecretOutputs": res.additional_secret_outputs,
        "inputs": redact(res.inputs),
    }


def to_json(result: RunResult, extra: dict[str, Any] | None = None) -> str:
    types = {r.urn: r.type for r in result.resources}
    doc: dict[str, Any] = {
        "stack": result.stack,
        "ok": result.ok,
        "problems": [{"key": p.key, "value": p.value, "message": p.message} for p in result.problems],
        "resources": [_resource_doc(r, types) for r in result.resources],
        "exports": redact(result.exports),
    }
    doc.update(extra or {})
    return json.dumps(doc, indent=2, sort_keys=True, default=str)


def _label(res: Recorded, key: str) -> str:
    for item in res.inputs.get("labels", []) or []:
        if isinstance(item, dict) and item.get("label") == key:
            return str(item.get("value"))
    return ""


def print_summary(result: RunResult, console: Console, urls: dict[str, str]) -> None:
    if not result.ok:
        console.print(f"[bold red]stack {result.stack}: {len(result.problems)} problem(s); nothing registered[/]")
        for problem in result.problems:
            console.print(f"  - {problem}", markup=False, highlight=False)
        return
    types = {r.urn: r.type for r in result.resources}
    console.print(f"[bold]stack {result.stack}[/]: {len(result.resources)} resources")

    by_type = Table(title="Resources by type and component", show_lines=False)
    by_type.add_column("type")
    by_type.add_column("component")
    by_type.add_column("count", justify="right")
    counts = Counter((r.type, types.get(r.parent or "", "(stack)")) for r in result.resources)
    for (typ, parent), count in sorted(counts.items()):
        by_type.add_row(typ, parent, str(count))
    console.print(by_type)

    services = Table(title="Services")
    for column in ("service", "tier", "url", "networks", "image"):
        services.add_column(column)
    for res in sorted(result.of_type(CONTAINER), key=lambda r: (_label(r, "media-server.tier"), r.name)):
        service = _label(res, "media-server.service")
        nets = res.inputs.get("networksAdvanced") or []
        net_names = ", ".join(str(n.get("name", "")).rsplit("-", 1)[-1] for n in nets if isinstance(n, dict))
        if not net_names:
            net_names = str(res.inputs.get("networkMode", ""))
        image = str(res.inputs.get("image", ""))
        services.add_row(service, _label(res, "media-server.tier"), urls.get(service, ""), net_names, image[:60])
    console.print(services)
    print_routes(result, console)


def print_routes(result: RunResult, console: Console) -> None:
    """The `routes` export (ProxyLayer): every router with its auth policy."""
    rows = result.exports.get("routes")
    if not isinstance(rows, list) or not rows:
        return
    table = Table(title="Routes (Traefik routers and their Authelia policy)")
    for column in ("router", "hosts", "path", "policy", "backend"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(str(row.get(c, "")) for c in ("router", "hosts", "path", "policy", "backend")))
    console.print(table)
    policies = Counter(str(row.get("policy")) for row in rows)
    summary = ", ".join(f"{count} {policy}" for policy, count in sorted(policies.items()))
    console.print(f"{len(rows)} routes: {summary}")


def print_policy(verdict: Verdict, console: Console) -> None:
    """Every violation (rule, level, resource, message), then the verdict line."""
    if verdict.violations:
        table = Table(title="Policy violations", show_lines=False)
        for column in ("rule", "level", "resource", "message"):
            table.add_column(column, overflow="fold")
        ordered = sorted(verdict.violations, key=lambda v: (v.level != "mandatory", v.rule, v.resource, v.message))
        for v in ordered:  # Text, not markup: messages quote config such as ['ALL']
            table.add_row(v.rule, v.level, Text(v.resource), Text(v.message))
        console.print(table)
    for error in verdict.config_errors:
        console.print(f"  - policy config: {error}", markup=False, highlight=False)
    for note in verdict.not_run:
        console.print(f"  - not run (value unknown until deploy): {note}", markup=False, highlight=False)
    mandatory = ", ".join(verdict.rule_ids(EnforcementLevel.MANDATORY)) or "none"
    advisory = ", ".join(verdict.rule_ids(EnforcementLevel.ADVISORY)) or "none"
    outcome = "PASS" if verdict.ok else "FAIL"
    console.print(
        f"[bold]policy: {outcome}[/]: {len(verdict.mandatory)} mandatory ({mandatory}), "
        f"{len(verdict.advisory)} advisory ({advisory})"
        + (f", {len(verdict.config_errors)} config error(s)" if verdict.config_errors else "")
    )


def print_second_up(second: SecondUp, console: Console) -> None:
    """What a second `pulumi up` would change (offline.readback): each field with state and config values."""
    if second.changes:
        table = Table(title="Second up: changes against the providers' read-back state")
        for column in ("resource", "field", "state (read back)", "config (next up)", "action"):
            table.add_column(column, overflow="fold")
        for c in second.changes:
            action = "replace" if c.replace else "update"
            table.add_row(
                Text(c.name), c.field, Text(json.dumps(redact(c.state))), Text(json.dumps(redact(c.config))), action
            )
        console.print(table)
    for gap in second.unmodelled:
        console.print(f"  - no read-back model for {gap}", markup=False, highlight=False)
    n = len(second.resources)
    console.print(f"[bold]second up: {n} resources would change[/]" if n else "[bold]second up: 0 changes[/]")

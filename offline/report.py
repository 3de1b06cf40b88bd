"""What the offline check prints: a readable summary, or one JSON document."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel
from rich.console import Console
from rich.table import Table
from rich.text import Text

from offline.gate import Verdict, Violation
from offline.readback import SecondUp
from offline.recorder import Recorded, Secret
from offline.runner import RunResult

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


@dataclass(frozen=True)
class Column:
    header: str
    whole: bool = False
    """Never wrapped (URLs, image references): only a cell's later lines (a digest) may fold."""


def _first_line(cell: str) -> str:
    return cell.split("\n", 1)[0]


MIN_FOLDED = 10
"""Narrowest a folding column may get before the table is stacked instead."""


def _widths(columns: list[Column], rows: list[list[str]]) -> list[int]:
    return [max(len(c.header), *(len(_first_line(r[i])) for r in rows)) for i, c in enumerate(columns)]


def fits(console: Console, columns: list[Column], rows: list[list[str]]) -> bool:
    """Whether a table of these rows fits the terminal with its whole columns unwrapped."""
    needed = sum(w if c.whole else min(w, MIN_FOLDED) for w, c in zip(_widths(columns, rows), columns, strict=True))
    return needed + 3 * len(columns) + 1 <= console.width


def print_table(console: Console, title: str, columns: list[Column], rows: list[list[str]]) -> None:
    """A table at the terminal's width whose whole columns keep their values on one line; on a terminal too
    narrow for that, one block per row (first cell, then `header: value` lines)."""
    if not rows:
        return
    widths = _widths(columns, rows)
    if fits(console, columns, rows):
        table = Table(title=title, title_justify="left")
        for column, width in zip(columns, widths, strict=True):
            table.add_column(column.header, width=width if column.whole else None, overflow="fold")
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        console.print(table)
        return
    console.print(Text(title, style="bold"))
    for row in rows:
        console.print(Text(row[0], style="bold"), overflow="fold")
        for column, cell in zip(columns[1:], row[1:], strict=True):
            if not cell:
                continue
            indent = " " * (len(column.header) + 4)
            if column.whole and len(indent) + len(_first_line(cell)) > console.width:
                console.print(Text(f"  {column.header}:"))  # the value on a line of its own, whole if it fits
                indent = ""
                console.print(Text(cell), overflow="fold")
            else:
                console.print(Text(f"  {column.header}: " + cell.replace("\n", "\n" + indent)), overflow="fold")


def _line(console: Console, text: str, style: str = "") -> None:
    console.print(Text(text, style=style), overflow="fold")


def print_plan(plan: dict[str, Any], result: RunResult, console: Console) -> None:
    """The opening summary: apps, login, DNS, host paths, GPU, backups."""
    edge = plan["edge"]
    _line(console, f"stack {result.stack}: {plan['domain']} on {plan['dockerHost']}", "bold")
    _line(console, f"  Cloudflare: {edge['cloudflare']}")
    _line(console, f"  certificates: {edge['acme']}")
    rows = []
    for app in plan["apps"]:
        url = "\n".join([app["url"], *(f"https://{h}" for h in app["otherHosts"])])
        bypass = app["bypassPaths"]
        rows.append(
            [
                app["app"],
                url,
                f"{app['policy']} ({app['who']})",
                f"{bypass} path{'s' if bypass > 1 else ''}" if bypass else "",
                app["reached"],
            ]
        )
    columns = [
        Column("app", whole=True),
        Column("url", whole=True),
        Column("access"),
        Column("bypass"),
        Column("reached"),
    ]
    print_table(console, "Apps", columns, rows)
    login = plan["login"]
    if login is not None:
        _line(console, "Sign in", "bold")
        _line(
            console,
            f"  portal {login['portal']}: user {login['admin']} (group {login['adminGroup']}, "
            f"{login['backend']} backend)",
        )
        if login["passwordCommand"]:
            _line(console, f"  password: {login['passwordCommand']}")
        _line(console, f"  second factor: {login['secondFactor']}")
    if plan["secretOutputs"]:
        _line(console, "Secret outputs (read once, keep safe)", "bold")
        for name, out in plan["secretOutputs"].items():
            if name == "autheliaUsers" and login is not None:
                continue  # shown under Sign in
            _line(console, f"  {name}: {out['what']}")
            _line(console, f"    {out['command']}")
    records = [
        [r["name"], r["type"], r["content"], "proxied" if r["proxied"] else "DNS-only"] for r in plan["dnsRecords"]
    ]
    print_table(
        console,
        "DNS records (Cloudflare)",
        [Column("name", whole=True), Column("type"), Column("content"), Column("proxy")],
        records,
    )
    paths = plan["paths"]
    _line(console, "Host paths", "bold")
    for key, value in paths.items():
        _line(console, f"  {key}: {value}")
    gpu = plan["gpu"]
    if gpu["kind"] == "none":
        _line(console, "GPU: none (software transcoding)")
    else:
        devices = f" ({', '.join(gpu['devices'])})" if gpu["devices"] else ""
        _line(console, f"GPU: {gpu['kind']}{devices} for {', '.join(gpu['apps']) or 'no app'}")
    search = plan.get("search")
    if search is not None:
        indexed = [s["source"] for s in search["sources"] if s["indexed"]]
        _line(console, f"Search ({search['engine']}): indexes {', '.join(indexed) or 'nothing yet'}", "bold")
        for source in search["sources"]:
            if not source["indexed"]:
                _line(console, f"  {source['source']}: {source['reason']}")
    backups = plan["backups"]
    if not backups["enabled"]:
        _line(console, "Backups: off (tiers.backup)")
    else:
        title = f"Backups (restic; cron in {backups['timezone']})" + (
            " PAUSED: no schedule installed" if backups["paused"] else ""
        )
        rows = [
            [s["set"], s["schedule"], ", ".join(f"{n} {k}" for k, n in s["keep"].items()), ", ".join(s["destinations"])]
            for s in backups["sets"]
        ]
        print_table(
            console, title, [Column("set"), Column("schedule", whole=True), Column("keeps"), Column("to")], rows
        )


def _image_cell(image: str) -> str:
    """repository:tag on the first line (kept whole); the digest or the build context below it."""
    ref, _, digest = image.partition("@")
    ref, _, built = ref.partition(" (")
    return "\n".join([ref, *([f"@{digest}"] if digest else []), *([f"({built}"] if built else [])])


def print_resources(plan: dict[str, Any], result: RunResult, console: Console, verbose: bool = False) -> None:
    """Containers with the image each pulls, then resource counts (by type and component with VERBOSE=1)."""
    title = "Containers (image as pulled)"
    containers = plan["containers"]
    columns = [Column("service", whole=True), Column("networks"), Column("image", whole=True)]
    rows = [[c["service"], c["networks"], _image_cell(c["image"])] for c in containers]
    if not fits(console, columns, rows):  # narrower: the networks under each service's name
        columns = [Column("service", whole=True), Column("image", whole=True)]
        rows = [[f"{c['service']}\n {c['networks']}", _image_cell(c["image"])] for c in containers]
    print_table(console, title, columns, rows)
    types = {r.urn: r.type for r in result.resources}
    if verbose:
        counts = Counter((r.type, types.get(r.parent or "", "(stack)")) for r in result.resources)
        print_table(
            console,
            "Resources by type and component",
            [Column("type"), Column("component"), Column("count", whole=True)],
            [[typ, parent, str(n)] for (typ, parent), n in sorted(counts.items())],
        )
        print_routes(result, console)
    else:
        by_type = Counter(r.type for r in result.resources)
        print_table(
            console,
            "Resources by type",
            [Column("type"), Column("count", whole=True)],
            [[typ, str(n)] for typ, n in sorted(by_type.items())],
        )
    _line(
        console,
        f"{len(result.resources)} resources" + ("" if verbose else " (VERBOSE=1: by component, and every route)"),
        "bold",
    )


def print_problems(result: RunResult, console: Console) -> None:
    console.print(f"[bold red]stack {result.stack}: {len(result.problems)} problem(s); nothing registered[/]")
    for problem in result.problems:
        console.print(f"  - {problem}", markup=False, highlight=False)


def print_routes(result: RunResult, console: Console) -> None:
    """The `routes` export (ProxyLayer): every router with its auth policy."""
    rows = result.exports.get("routes")
    if not isinstance(rows, list) or not rows:
        return
    keys = ("router", "hosts", "path", "policy", "backend")
    print_table(
        console,
        "Routes (Traefik routers and their Authelia policy)",
        [Column(k, whole=k == "router") for k in keys],
        [[str(row.get(k, "")) for k in keys] for row in rows],
    )
    policies = Counter(str(row.get("policy")) for row in rows)
    summary = ", ".join(f"{count} {policy}" for policy, count in sorted(policies.items()))
    console.print(f"{len(rows)} routes: {summary}")


def _print_violations(console: Console, title: str, violations: list[Violation]) -> None:
    """One entry per violation: rule, level and resource on its first line, so it greps."""
    if not violations:
        return
    _line(console, title, "bold")
    for v in violations:
        text = f"{v.rule} {v.level} {v.resource}: {v.message}"
        wrapped = textwrap.wrap(text, width=console.width, initial_indent="  ", subsequent_indent="      ")
        console.print(Text("\n".join(wrapped)), overflow="fold")


def print_policy(verdict: Verdict, console: Console, verbose: bool = False) -> None:
    """Mandatory violations one by one; advisories one line per rule (count and one example) unless verbose;
    then the verdict line."""
    ordered = sorted(verdict.violations, key=lambda v: (v.level != "mandatory", v.rule, v.resource, v.message))
    if verbose:
        _print_violations(console, "Policy violations", ordered)
    else:
        _print_violations(console, "Policy violations (mandatory: the gate fails)", verdict.mandatory)
        by_rule: dict[str, list[Violation]] = {}
        for v in ordered:
            if v.level != "mandatory":
                by_rule.setdefault(v.rule, []).append(v)
        print_table(
            console,
            "Advisories by rule (VERBOSE=1 lists each)",
            [Column("rule", whole=True), Column("count", whole=True), Column("example")],
            [[rule, str(len(found)), f"{found[0].resource}: {found[0].message}"] for rule, found in by_rule.items()],
        )
    for error in verdict.config_errors:
        console.print(f"  - policy config: {error}", markup=False, highlight=False)
    for note in verdict.not_run:
        console.print(f"  - not run (value unknown until deploy): {note}", markup=False, highlight=False)
    mandatory = ", ".join(verdict.rule_ids(EnforcementLevel.MANDATORY)) or "none"
    advisory_rules = len(verdict.rule_ids(EnforcementLevel.ADVISORY))
    outcome = "PASS" if verdict.ok else "FAIL"
    # One line whatever the width (soft wrap): CI logs and scripts grep the verdict.
    console.print(
        Text(
            f"policy: {outcome}: {len(verdict.mandatory)} mandatory ({mandatory}), "
            f"{len(verdict.advisory)} advisory ({advisory_rules} rule{'' if advisory_rules == 1 else 's'})"
            + (f", {len(verdict.config_errors)} config error(s)" if verdict.config_errors else ""),
            style="bold",
        ),
        soft_wrap=True,
    )


def print_second_up(second: SecondUp, console: Console) -> None:
    """What a second `pulumi up` would change (offline.readback): each field with state and config values."""
    if second.changes:
        # One line per change, never wrapped: a resource name or a value folded across lines cannot be searched.
        console.print("Second up: changes against the providers' read-back state", style="bold")
        for c in second.changes:
            action = "replace" if c.replace else "update"
            state, config = json.dumps(redact(c.state)), json.dumps(redact(c.config))
            line = f"  {c.name}  {c.field}: {state} (read back) -> {config} ({action})"
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    for gap in second.unmodelled:
        console.print(f"  - no read-back model for {gap}", markup=False, highlight=False)
    n = len(second.resources)
    console.print(f"[bold]second up: {n} resources would change[/]" if n else "[bold]second up: 0 changes[/]")

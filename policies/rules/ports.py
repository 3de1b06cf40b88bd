"""Published host ports (MS-012, MS-013)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .common import (
    CONTAINER,
    KINDS_PROPERTY,
    MANDATORY,
    Report,
    Resource,
    allowlist_entry,
    allowlist_property,
    entry_strings,
    fmt,
    get_path,
    items,
    kind_of,
    number,
    resource_rule,
    text,
    truthy,
)

ALL_INTERFACES = ("", "0.0.0.0", "::", "[::]")  # noqa: S104 - what the rule looks for


@dataclass(frozen=True)
class Published:
    external: float | None
    internal: float | None
    protocol: str
    ip: str

    @property
    def key(self) -> str:
        port = self.external if self.external is not None else self.internal
        return f"{fmt(port) if port is not None else '?'}/{self.protocol}"


def published(res: Resource) -> list[Published]:
    out = []
    for port in items(res.props.get("ports")):
        out.append(
            Published(
                external=number(get_path(port, "external")),
                internal=number(get_path(port, "internal")),
                protocol=(text(get_path(port, "protocol")) or "tcp").lower(),
                ip=text(get_path(port, "ip")).strip(),
            )
        )
    return out


# ------------------------------------------------------------------ MS-012
def _host_ports(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    entry = allowlist_entry(config, res.service, report)
    allowed = {p.lower() for p in entry_strings(entry, "ports")}
    if truthy(res.props.get("publishAllPorts")):
        report(f"{res.service} publishes every exposed port on all interfaces; fix: remove publishAllPorts")
    for port in published(res):
        if port.key in allowed:
            continue
        if port.external is None:
            report(f"{res.service} publishes {port.key} on a random host port; fix: do not publish it")
            continue
        if port.external < 1024:
            report(
                f"{res.service} publishes privileged host port {port.key}; fix: do not publish it (only the "
                f"ingress's 80/443 are allowlisted)"
            )
        if port.ip in ALL_INTERFACES:
            report(
                f"{res.service} publishes {port.key} on all interfaces; fix: bind it to one address (ip: 127.0.0.1) "
                f"or route it through Traefik"
            )


ms_012 = resource_rule(
    "ms-012-host-ports",
    "No published host port below 1024 and none on all interfaces, except allowlisted ingress and VPN ports "
    "(CIS 5.8, 5.14).",
    MANDATORY,
    (CONTAINER,),
    _host_ports,
    "Route the service through Traefik instead of publishing it; allowlist only the ingress and VPN ports.",
    config={
        "allowlist": allowlist_property(
            "Host ports ('<port>/<protocol>', e.g. '443/tcp') a service may publish on all interfaces.",
            {"ports": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]+/(tcp|udp|sctp)$"}}},
        )
    },
)


# ------------------------------------------------------------------ MS-013
BACKEND_KINDS = frozenset({"database", "cache", "search", "auth", "monitoring"})


def _backend_unpublished(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    kind = kind_of(res, config.get("kinds") or {})
    if kind not in BACKEND_KINDS:
        return
    ports = published(res)
    if ports or truthy(res.props.get("publishAllPorts")):
        shown = ", ".join(p.key for p in ports) or "every exposed port"
        report(
            f"{res.service} is a {kind} backend and publishes {shown}; fix: publish nothing, its clients reach it on "
            f"the internal network"
        )


ms_013 = resource_rule(
    "ms-013-backends-unpublished",
    "Databases, caches, search, auth and monitoring backends publish no host port at all (CIS 5.9).",
    MANDATORY,
    (CONTAINER,),
    _backend_unpublished,
    "Remove the published port; reach the backend over its Docker network.",
    config={"kinds": KINDS_PROPERTY},
)

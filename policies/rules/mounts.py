"""Bind mounts of the host: the Docker socket and system directories (MS-003, MS-004)."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource

from .common import (
    ADVISORY,
    CONTAINER,
    MANDATORY,
    NETWORK,
    Check,
    Report,
    Resource,
    allowlist_entry,
    allowlist_property,
    at,
    containers,
    entry_strings,
    get_path,
    items,
    of_type,
    resource_rule,
    stack_rule,
    text,
    truthy,
)


@dataclass(frozen=True)
class Bind:
    host: str
    target: str
    read_only: bool


def binds(res: Resource) -> list[Bind]:
    """Host paths bound into the container, from `volumes` (hostPath) and `mounts` (type bind)."""
    out = []
    for vol in items(res.props.get("volumes")):
        host = text(get_path(vol, "hostPath"))
        if host:
            out.append(Bind(_norm(host), text(get_path(vol, "containerPath")), truthy(get_path(vol, "readOnly"))))
    for mount in items(res.props.get("mounts")):
        if text(get_path(mount, "type")) == "bind" and text(get_path(mount, "source")):
            out.append(Bind(_norm(text(mount.get("source"))), text(mount.get("target")), truthy(mount.get("readOnly"))))
    return out


def _norm(path: str) -> str:
    return posixpath.normpath(path) if path.startswith("/") else path


# ------------------------------------------------------------------ MS-003
_SOCKET_DIRS = ("/var/run", "/run")


def exposes_socket(bind: Bind) -> bool:
    """The Docker socket itself, or a directory that contains it."""
    return bind.host.endswith("/docker.sock") or bind.host in _SOCKET_DIRS or bind.host == "/var/run/docker"


def _internal_networks(resources: Sequence[PolicyResource]) -> set[str]:
    return {text(n.props.get("name")) for n in of_type(resources, NETWORK) if truthy(n.props.get("internal"))}


def _joined_networks(res: Resource) -> list[str]:
    names = [text(get_path(n, "name")) for n in items(res.props.get("networksAdvanced"))]
    mode = text(res.props.get("networkMode"))
    # With networks_advanced the provider leaves the default bridge right after create (terraform-provider-docker
    # resource_docker_container_funcs.go:462-468), so "bridge" there is no network the container is on.
    if mode and mode not in names and not mode.startswith("container:") and not (names and mode == "bridge"):
        names.append(mode)
    return names


def _socket_proxy_only(resources: Sequence[PolicyResource], config: Mapping[str, Any], report: Report) -> None:
    internal = _internal_networks(resources)
    holders: list[str] = []
    for res in containers(resources):
        sockets = [b for b in binds(res) if exposes_socket(b)]
        entry = allowlist_entry(config, res.service, at(report, res.urn))
        if not sockets:
            continue
        holders.append(res.service)
        if entry is None:
            report(
                f"{res.service} mounts the Docker socket ({sockets[0].host}), which is root on the host; fix: remove "
                f"the mount and talk to a read-only socket proxy, or allowlist this service as that one proxy",
                res.urn,
            )
            continue
        if not all(b.read_only for b in sockets):
            report(f"socket proxy {res.service} mounts the Docker socket read-write; fix: mount it read-only", res.urn)
        if items(res.props.get("ports")) or truthy(res.props.get("publishAllPorts")):
            report(f"socket proxy {res.service} publishes ports; fix: publish none", res.urn)
        joined = _joined_networks(res)
        outside = [n for n in joined if n not in internal]
        if outside or not joined:
            report(
                f"socket proxy {res.service} is on a network that is not internal ({', '.join(outside) or 'none'}); "
                f"fix: attach it only to an internal network shared with its clients",
                res.urn,
            )
        if "clients" in entry:
            _only_clients(resources, res, set(joined), set(entry_strings(entry, "clients")), report)
    if len(holders) > 1:
        report(
            f"{len(holders)} containers mount the Docker socket ({', '.join(sorted(holders))}); fix: keep exactly one "
            f"socket proxy and point the others at it"
        )


def _only_clients(
    resources: Sequence[PolicyResource], proxy: Resource, networks: set[str], clients: set[str], report: Report
) -> None:
    """The Docker API shows every container's environment: only the proxy's declared clients may reach it."""
    namespace = f"container:{text(proxy.props.get('name'))}"
    for other in containers(resources):
        if other.urn == proxy.urn or other.service in clients:
            continue
        shared = sorted(networks & set(_joined_networks(other)))
        if text(other.props.get("networkMode")) == namespace:
            shared.append(f"{namespace}, its own namespace")
        if shared:
            report(
                f"{other.service} shares the socket proxy's network ({', '.join(shared)}) but is not one of its "
                f"clients ({', '.join(sorted(clients)) or 'none'}); fix: take it off that network, or list it in "
                f"the proxy's allowlist entry (clients) with a reason",
                other.urn,
            )


ms_003 = stack_rule(
    "ms-003-no-docker-socket",
    "No container mounts the Docker socket, read-only included, except one allowlisted socket proxy that is "
    "read-only, publishes no port and sits on internal networks only, shared with no container but its clients "
    "(CIS 5.32, KICS d6355c88).",
    MANDATORY,
    _socket_proxy_only,
    "Remove the docker.sock mount; use one read-only socket proxy on an internal network.",
    config={
        "allowlist": allowlist_property(
            "The one socket proxy (catalog name); `clients`, when given, are the only containers that may share "
            "its networks.",
            {"clients": {"type": "array", "items": {"type": "string"}}},
        )
    },
)


# ------------------------------------------------------------------ MS-004
SENSITIVE = ("/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr")


def sensitive(path: str) -> str | None:
    """The sensitive system directory a host path is (or lies under); `/` counts only as itself."""
    for root in SENSITIVE:
        if path == root or (root != "/" and path.startswith(root + "/")):
            return root
    return None


def _system_binds(read_only: bool) -> Check:
    def check(res: Resource, config: Mapping[str, Any], report: Report) -> None:
        for bind in binds(res):
            root = sensitive(bind.host)
            if root is None or bind.read_only != read_only:
                continue
            mode = "read-only" if read_only else "read-write"
            report(
                f"{res.service} binds the host's {bind.host} ({root}) {mode} at {bind.target}; fix: mount only the "
                f"data it needs from a non-system path" + ("" if read_only else ", and never read-write")
            )

    return check


ms_004_rw = resource_rule(
    "ms-004-no-system-dirs-read-write",
    "No container binds /, /boot, /dev, /etc, /lib, /proc, /sys or /usr of the host read-write (CIS 5.6).",
    MANDATORY,
    (CONTAINER,),
    _system_binds(read_only=False),
    "Remove the bind, or bind a narrower non-system path.",
)

ms_004_ro = resource_rule(
    "ms-004-no-system-dirs-read-only",
    "Containers avoid binding host system directories even read-only (CIS 5.6).",
    ADVISORY,
    (CONTAINER,),
    _system_binds(read_only=True),
    "Bind a narrower path, or accept the advisory for monitoring agents that must read the host.",
)

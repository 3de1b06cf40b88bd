"""How the program reaches the Docker daemon (MS-017)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .common import DOCKER_PROVIDER, MANDATORY, Report, Resource, is_list, items, resource_rule, text


def _ssh_opts(value: object) -> list[str]:
    """The engine sends a provider's non-string inputs as JSON text; programs may send a list."""
    if isinstance(value, str):
        try:
            decoded: object = json.loads(value)
        except json.JSONDecodeError:
            return [value]
        value = decoded
    return [text(v) for v in items(value)] if is_list(value) else []


_NO_HOST_CHECK = re.compile(r"stricthostkeychecking\s*=?\s*(no|off)|userknownhostsfile\s*=?\s*/dev/null")


def _daemon_access(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    host = text(res.props.get("host")).strip()
    scheme = host.split("://", 1)[0].lower() if "://" in host else ""
    if scheme == "ssh":
        joined = " ".join(_ssh_opts(res.props.get("sshOpts"))).lower()
        if _NO_HOST_CHECK.search(joined):
            report(f"docker provider {res.name} turns off SSH host key checking; fix: remove that ssh option")
        return
    if scheme == "unix":
        return
    if scheme == "tcp":
        material = all(text(res.props.get(k)) for k in ("caMaterial", "certMaterial", "keyMaterial"))
        if not (material or text(res.props.get("certPath"))):
            report(
                f"docker provider {res.name} talks to {host} over plain TCP; fix: use ssh://, or give it TLS client "
                f"material (caMaterial, certMaterial, keyMaterial or certPath)"
            )
        return
    shown = host or "unset (DOCKER_HOST decides)"
    report(f"docker provider {res.name} has host {shown}; fix: set host to ssh://user@host (or unix:// in dev)")


ms_017 = resource_rule(
    "ms-017-docker-host-transport",
    "The Docker provider reaches the daemon over ssh:// (host keys checked), unix:// (dev), or tcp:// only "
    "with TLS material (CIS 2.7).",
    MANDATORY,
    (DOCKER_PROVIDER,),
    _daemon_access,
    "Set host.mode ssh (the default) in the stack settings.",
)

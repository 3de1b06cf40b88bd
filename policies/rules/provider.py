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


_OPTION = re.compile(r"\s*(?P<key>[A-Za-z]+)\s*(?:=|\s)\s*(?P<value>.*?)\s*")
_RUNS_COMMANDS = ("proxycommand", "localcommand", "knownhostscommand", "proxyjump")


def _ssh_view(opts: list[str]) -> tuple[dict[str, str], list[str]]:
    """What ssh makes of the options: the first value of each `-o` keyword (ssh keeps the first it obtains,
    ssh_config(5)), and the config files named by `-F`."""
    options: dict[str, str] = {}
    config_files: list[str] = []
    pending = ""
    for item in opts:
        if pending:
            argument, flag, pending = item, pending, ""
        elif item in ("-o", "-F"):
            pending = item
            continue
        elif item.startswith(("-o", "-F")):
            flag, argument = item[:2], item[2:]
        else:
            continue
        if flag == "-F":
            config_files.append(argument)
            continue
        match = _OPTION.fullmatch(argument)
        if match:
            options.setdefault(match["key"].lower(), match["value"])
    return options, config_files


def _ssh_problems(opts: list[str]) -> list[str]:
    options, config_files = _ssh_view(opts)
    problems = []
    checking = options.get("stricthostkeychecking", "unset (ask)")
    if checking.lower() != "yes":
        problems.append(f"does not pin the host key (StrictHostKeyChecking is {checking})")
    known_hosts = options.get("userknownhostsfile", "")
    if not known_hosts or known_hosts.split()[0] in ("/dev/null", "none"):
        shown = known_hosts or "unset"
        problems.append(f"names no known_hosts file holding the pinned key (UserKnownHostsFile is {shown})")
    for keyword in _RUNS_COMMANDS:
        if keyword in options:
            problems.append(f"sets {keyword} (runs a command or another connection)")
    if options.get("permitlocalcommand", "no").lower() != "no":
        problems.append("sets PermitLocalCommand")
    problems.extend(f"reads ssh config file {path} (-F)" for path in config_files if path != "none")
    return problems


def _daemon_access(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    host = text(res.props.get("host")).strip()
    scheme = host.split("://", 1)[0].lower() if "://" in host else ""
    if scheme == "ssh":
        for problem in _ssh_problems(_ssh_opts(res.props.get("sshOpts"))):
            report(
                f"docker provider {res.name} {problem}; fix: let the program generate ssh_opts from host.hostKey "
                "(StrictHostKeyChecking=yes, UserKnownHostsFile with the pinned key, no command options)"
            )
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
    "The Docker provider reaches the daemon over ssh:// with the host key pinned (StrictHostKeyChecking=yes and a "
    "known_hosts file, no command-running ssh option), unix:// (dev), or tcp:// only with TLS material (CIS 2.7).",
    MANDATORY,
    (DOCKER_PROVIDER,),
    _daemon_access,
    "Set host.mode ssh (the default) with host.hostKey in the stack settings; the program pins that key.",
)

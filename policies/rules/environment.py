"""A container's environment cannot undo what the other rules check in its files and props (MS-032).

Apps read their environment over (or instead of) their configuration files, so
env is a second way to set what the pack checks elsewhere: a linuxserver image
with PUID=0 runs as root whatever `user` says, Authelia takes
AUTHELIA_ACCESS_CONTROL_DEFAULT_POLICY=bypass over the access rules MS-022
reads, PostgreSQL's image writes `host all all all trust` for
POSTGRES_HOST_AUTH_METHOD=trust. The settings refuse such overrides before
anything is registered; this rule reads what was registered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .common import CONTAINER, MANDATORY, Report, Resource, allowlist_entry, allowlist_property, resource_rule, truthy

_IDS = ("PUID", "PGID", "UID", "GID")
_PASSWORD_METHODS = ("scram-sha-256",)
_TRUST = re.compile(r"--auth(?:-host|-local)?[= ]\s*(?:trust|password|ident|peer)\b", re.IGNORECASE)
_RUNS_CODE = ("DOCKER_MODS", "LD_PRELOAD", "LD_LIBRARY_PATH")


Check = Callable[[str, str], bool]
"""(NAME upper-cased, value) -> whether the pair weakens the container."""

_CHECKS: tuple[tuple[Check, str], ...] = (
    (lambda n, v: n in _IDS and v.strip() == "0", "{name}=0 makes the image run its app as root; fix: the site's "
     "puid/pgid (never 0)"),
    (lambda n, v: n.startswith("AUTHELIA_") and not n.endswith("_FILE"), "{name} overrides Authelia's generated "
     "configuration (which MS-022/023 check) from the environment; fix: remove it (only *_FILE secret paths belong "
     "in Authelia's env)"),
    (lambda n, v: n.startswith("X_AUTHELIA_CONFIG_FILTERS"), "{name} lets the environment rewrite Authelia's "
     "configuration through templates; fix: remove it"),
    (lambda n, v: n.endswith("_HOST_AUTH_METHOD") and v.strip().lower() not in _PASSWORD_METHODS, "{name}={value} "
     "lets clients in without a (SCRAM) password; fix: remove it (the image's default is scram-sha-256)"),
    (lambda n, v: n == "POSTGRES_INITDB_ARGS" and _TRUST.search(v) is not None, "{name} initialises the cluster "
     "with password-less authentication; fix: remove the --auth option"),
    (lambda n, v: "INSECURE" in n and truthy(v), "{name}={value} turns a security check off; fix: remove it"),
    (lambda n, v: n in _RUNS_CODE and bool(v.strip()), "{name} makes the container load or download code it was "
     "not built with; fix: remove it"),
)  # fmt: skip


def _weakenings(name: str, value: str) -> str | None:
    """Why NAME=value weakens the container, or None."""
    upper = name.upper()
    return next((why.format(name=name, value=value) for weakens, why in _CHECKS if weakens(upper, value)), None)


def _environment(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    found = [(name, why) for name, value in res.envs if (why := _weakenings(name, value)) is not None]
    if not found:
        return
    entry = allowlist_entry(config, res.service, report)
    allowed = {str(n) for n in (entry.get("names") or [])} if entry is not None else set()
    for name, why in found:
        if name not in allowed:
            report(f"{res.service}: {why}")


ms_032 = resource_rule(
    "ms-032-env-cannot-weaken",
    "A container's environment does not undo the pack's other guarantees: no PUID/PGID 0, no Authelia settings "
    "but *_FILE secrets, no password-less database authentication, no *INSECURE* switch, no code injected at "
    "start (DOCKER_MODS, LD_PRELOAD).",
    MANDATORY,
    (CONTAINER,),
    _environment,
    "Remove the variable (services.<name>.env refuses it in the settings); the setting that drives the value is the "
    "way to change it.",
    config={
        "allowlist": allowlist_property(
            "Environment names a service may set despite the rule, by catalog name.",
            {"names": {"type": "array", "items": {"type": "string"}}},
        )
    },
)

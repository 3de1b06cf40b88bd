"""Which environment variables a site may add to an app (`services.<name>.env`), and why the rest are refused.

An app reads its environment over (or instead of) its configuration file, so
an override could undo what the program guarantees and the policy gate checks
in the files: `PUID=0` runs a linuxserver image as root,
`AUTHELIA_ACCESS_CONTROL_DEFAULT_POLICY=bypass` turns single sign-on off,
`POSTGRES_HOST_AUTH_METHOD=trust` lets anyone on the data network in. So an
override may not set

- a name the deployed entry already sets (the program's own value stands; the setting that drives it is the way
  to change it),
- a security-relevant name (`DENIED`, matched case-insensitively, since several apps read env that way),
- anything at all for an app whose environment is its security boundary (`ServiceSpec.env_locked`:
  the Docker socket proxy's environment is its API allowlist).

The pack's MS-032 reads the deployed containers' env again, so a program change
cannot reintroduce what these checks refuse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from config.catalog import CATALOG
from config.problems import ProblemSpec
from config.tailoring import tailor

if TYPE_CHECKING:
    from config.settings import Settings

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
"""A POSIX environment variable name (what every image's shell and runtime accept)."""


@dataclass(frozen=True)
class Denied:
    """A family of environment names no override may set, and why."""

    label: str
    matches: Callable[[str], bool]
    why: str


def _exact(*names: str) -> Callable[[str], bool]:
    return lambda name: name in names


def _prefix(*prefixes: str) -> Callable[[str], bool]:
    return lambda name: name.startswith(prefixes)


def _contains(*parts: str) -> Callable[[str], bool]:
    return lambda name: any(part in name for part in parts)


DENIED: tuple[Denied, ...] = (
    Denied(
        "PUID, PGID, UID, GID, UMASK, USER",
        _exact("PUID", "PGID", "UID", "GID", "UMASK", "USER"),
        "the identity apps run as comes from the site's puid, pgid and umask (never 0)",
    ),
    Denied("TZ", _exact("TZ"), "every container's time zone comes from the site's timezone"),
    Denied(
        "AUTHELIA_*, X_AUTHELIA_*",
        _prefix("AUTHELIA_", "X_AUTHELIA_"),
        "Authelia reads its environment over the generated configuration the policy gate checks "
        "(AUTHELIA_ACCESS_CONTROL_DEFAULT_POLICY=bypass would turn single sign-on off)",
    ),
    Denied(
        "*AUTH*",
        _contains("AUTH"),
        "it decides who may sign in (POSTGRES_HOST_AUTH_METHOD=trust, GF_AUTH_ANONYMOUS_ENABLED)",
    ),
    Denied("*INSECURE*, *SKIP_VERIFY*", _contains("INSECURE", "SKIP_VERIFY"), "it turns a security check off"),
    Denied(
        "*PROXY*, *TRUSTED*, *WHITELIST*, *ALLOWLIST*, *FORWARDED*, *REAL_IP*",
        _contains("PROXY", "PROXIES", "TRUSTED", "WHITELIST", "ALLOWLIST", "FORWARDED", "REAL_IP", "REALIP"),
        "it decides whose forwarded headers (client address, signed-in user) the app believes, which only the "
        "program sets, to Traefik's address (ND_REVERSEPROXYWHITELIST=0.0.0.0/0 lets anyone be anyone)",
    ),
    Denied(
        "*PASSWORD*, *SECRET*, *TOKEN*, *_KEY, *_FILE",
        lambda name: (
            any(part in name for part in ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "PRIVATE_KEY", "API_KEY"))
            or name.endswith(("_KEY", "_FILE"))
        ),
        "secrets come from secret config (pulumi config set --secret), never plain stack config, and the files "
        "they are read from are the program's",
    ),
    Denied(
        "DOCKER_MODS, DOCKER_HOST, S6_*, LD_*, PATH",
        lambda name: name in ("DOCKER_MODS", "DOCKER_HOST", "PATH") or name.startswith(("S6_", "LD_")),
        "it changes what code the container runs (DOCKER_MODS downloads and runs code as root at start)",
    ),
    Denied(
        "*FIREWALL*, VPN_*",
        lambda name: "FIREWALL" in name or name.startswith("VPN_"),
        "gluetun's kill switch and tunnel come from media.vpn; a change could send downloads around the VPN",
    ),
    Denied("*ANONYMOUS*, *ADMIN*", _contains("ANONYMOUS", "ADMIN"), "it grants access or administrator rights"),
)


def denial(name: str) -> Denied | None:
    """The denied family a name belongs to (matched upper-cased), if any."""
    upper = name.upper()
    return next((d for d in DENIED if d.matches(upper)), None)


def env_problems(settings: Settings) -> list[ProblemSpec]:
    """Every env override the site may not make, each with the service, the name and the reason."""
    problems: list[ProblemSpec] = []
    for service, override in settings.services.items():
        if not override.env:
            continue
        spec = CATALOG[service]
        key = ("services", service, "env")
        if spec.env_locked:
            problems.append((key, sorted(override.env), f"{service} takes no environment overrides: {spec.env_locked}"))
            continue
        own = tailor(spec, settings).env
        for name, value in sorted(override.env.items()):
            where = (*key, name)
            if not ENV_NAME.fullmatch(name):
                problems.append(
                    (where, name, "not an environment variable name; expected letters, digits and _, not first a digit")
                )
            elif (denied := denial(name)) is not None:
                problems.append(
                    (
                        where,
                        value,
                        f"{name} is security-relevant ({denied.label}) and cannot be overridden: {denied.why}",
                    )
                )
            elif name in own:
                problems.append(
                    (
                        where,
                        value,
                        f"the program sets {name} for {service} itself ({own[name]!r}); change the setting that "
                        "drives it instead of overriding it",
                    )
                )
    return problems

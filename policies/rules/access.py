"""Who may claim an identity, and which paths skip single sign-on (MS-029, MS-030).

MS-029: a request header that names the user (Remote-User and the rest of
forward-auth's answer) is deleted at the edge before any forward-auth runs, on
every route to an app that believes such a header, and that app believes it
only from Traefik's own address.

MS-030: every route that skips forward-auth is narrow: its PathRegexp is one
RE2 expression anchored at both ends, it does not match the start page,
/index.html or /admin, the app has a login of its own, and Authelia's bypass
resources for the host match no more than the path (no part of them may
consume the `?` that starts the query Authelia also sees).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import re2
from pulumi_policy import PolicyResource

from .common import MANDATORY, Report, containers, get_path, is_map, items, stack_rule, text
from .edge import Edge, Router, access_rules, as_list, edge_of, middleware_kinds

IDENTITY_HEADERS = ("Remote-User", "Remote-Groups", "Remote-Email", "Remote-Name")
HEADER_TRUST = {"navidrome": {"header": "Remote-User", "env": "ND_REVERSEPROXYWHITELIST"}}
"""Apps that sign in whoever a header names, when the peer is in the env's list (navidrome v0.58.0 server/auth.go)."""
WITHOUT_LOGIN = ("traefik", "prometheus", "alertmanager", "homepage")
"""Apps with no login of their own: a path that skips SSO makes them public."""
ALWAYS_SSO = ("/", "/index.html", "/admin")


# ------------------------------------------------------------------ MS-029
def _stripped(edge: Edge, router: Router) -> set[str]:
    """Header names (lower case) deleted by the router's chain before its first forward-auth."""
    assert edge.traefik is not None
    defined = {k.lower(): v for k, v in edge.traefik.section("http", "middlewares").items()}
    deleted: set[str] = set()
    for name in router.middlewares:
        if middleware_kinds(edge.traefik, [name]) & {"forward-auth", "crowdsec", "basic-auth"}:
            break
        custom = get_path(defined.get(name.lower()), "headers", "customRequestHeaders")
        if is_map(custom):
            deleted |= {str(k).lower() for k, v in custom.items() if text(v) == ""}
    return deleted


def _addresses(traefik: Any, networks: set[str]) -> list[str]:
    """Traefik's fixed addresses on the given networks."""
    return [
        text(get_path(n, "ipv4Address"))
        for n in items(traefik.props.get("networksAdvanced"))
        if text(get_path(n, "name")) in networks and text(get_path(n, "ipv4Address"))
    ]


def _joined(res: Any) -> set[str]:
    return {text(get_path(n, "name")) for n in items(res.props.get("networksAdvanced"))} - {""}


def _trust_problem(value: str, allowed: list[str]) -> str | None:
    """Why a trusted-proxy list is wider than Traefik's own addresses, or None."""
    wide = []
    for entry in as_list(value):
        try:
            net = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            wide.append(entry)
            continue
        if not any(net.subnet_of(ipaddress.ip_network(a)) for a in allowed if ipaddress.ip_network(a).version == 4):  # type: ignore[arg-type]
            wide.append(entry)
    if not wide:
        return None
    where = ", ".join(allowed) or "none: Traefik has no fixed address on a shared network"
    return f"trusts {', '.join(wide)}, wider than Traefik's own address ({where})"


def _identity_stripped(resources: Sequence[PolicyResource], config: Mapping[str, Any], report: Report) -> None:
    found = containers(resources)
    edge = edge_of(found)
    if edge.traefik is None:
        return
    trust = config.get("headerTrust") or HEADER_TRUST
    identity = {h.lower() for h in (config.get("identityHeaders") or IDENTITY_HEADERS)}
    traefik = edge.traefik.resource
    for app, spec in sorted(trust.items()):
        container = next((c for c in found if c.service == app), None)
        if container is None:
            continue
        header = text(spec.get("header")).lower()
        for router in edge.routers():
            if edge.app(router) != app:
                continue
            missing = sorted((identity | {header}) - _stripped(edge, router))
            if missing:
                report(
                    f"router {router.name} reaches {app}, which signs in whoever {spec.get('header')} names, without "
                    f"deleting {', '.join(missing)} before forward-auth; fix: a headers middleware with "
                    f"customRequestHeaders <name>: '' first on the entry point (or the router)",
                    traefik.urn,
                )
        value = dict(container.envs).get(text(spec.get("env")))
        if value is None or value == "":
            continue
        allowed = [f"{a}/32" for a in _addresses(traefik, _joined(container) & _joined(traefik))]
        problem = _trust_problem(value, allowed)
        if problem:
            report(
                f"{app} ({spec.get('env')}) {problem}: any container beside it can claim any user; fix: give Traefik "
                f"a fixed ipv4Address on the proxy network and trust only that /32",
                container.urn,
            )


ms_029 = stack_rule(
    "ms-029-identity-headers-stripped",
    "Identity headers (Remote-User and the rest of forward-auth's answer) are deleted at the edge before "
    "forward-auth on every route to an app that trusts such a header, and that app trusts only Traefik's address.",
    MANDATORY,
    _identity_stripped,
    "Put a headers middleware that sets each identity header to '' first on the entry point; give Traefik a fixed "
    "address on the proxy network and set the app's trusted-proxy list to that /32.",
    config={
        "headerTrust": {
            "type": "object",
            "description": "Apps that trust an identity header: catalog name -> {header, env (trusted proxies)}.",
            "default": HEADER_TRUST,
        },
        "identityHeaders": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Headers that name the user and must never come from a client.",
            "default": list(IDENTITY_HEADERS),
        },
    },
)


# ------------------------------------------------------------------ MS-030
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_QUERY = "(\\?.*)?$"


def _narrow_problem(pattern: str) -> str | None:
    """Why a PathRegexp is not one anchored RE2 expression that keeps the start page behind SSO, or None."""
    try:
        compiled = re2.compile(pattern, _OPTIONS)
        tree = list(sre_parse.parse(pattern))
    except (re2.error, re.error):
        return "is not a plain RE2 path regex"
    at = sre_constants.AT
    anchored = (
        len(tree) > 2
        and tree[0] == (at, sre_constants.AT_BEGINNING)
        and tree[-1] == (at, sre_constants.AT_END)
        and not any(op is sre_constants.BRANCH for op, _ in tree)
    )
    if not anchored:
        return "is not anchored as a whole (^...$ with no top-level |), so it matches more than the path it names"
    opened = next((p for p in ALWAYS_SSO if compiled.search(p)), None)
    return f"matches {opened}" if opened else None


def _consumes_query(resource: str) -> bool:
    """Whether an Authelia resource can match a `?` before its optional query suffix (so a query widens it)."""
    body = resource.removesuffix(_QUERY) if resource.endswith(_QUERY) else resource
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            if body[i + 1 : i + 2] in ("?", "S", "W", "D", "P", "p", "x", "C", "Q"):
                return True
            i += 2
        elif char == "[":
            end = body.find("]", i + 2)
            cls = body[i : end + 1] if end > 0 else body[i:]
            if cls.startswith("[^") and not cls.startswith("[^\\?") and "?" not in cls:
                return True
            if not cls.startswith("[^") and "?" in cls:
                return True
            i = len(body) if end < 0 else end + 1
        elif char == ".":
            return True
        else:
            i += 1
    return False


def _bypass_narrow(resources: Sequence[PolicyResource], config: Mapping[str, Any], report: Report) -> None:
    edge = edge_of(containers(resources))
    if edge.traefik is None:
        return
    urn = edge.traefik.resource.urn
    without_login = set(config.get("withoutLogin") or WITHOUT_LOGIN)
    portals = edge.portals()
    for router in edge.routers():
        app = edge.app(router)
        kinds = edge.kinds(router)
        if "forward-auth" in kinds or app in portals or router.service == "noop@internal" or not router.paths:
            continue
        if "redirect" in kinds and router.service.endswith("@internal"):
            continue
        if app in without_login:
            report(
                f"router {router.name} lets paths of {app} skip forward-auth, but {app} has no login of its own, so "
                f"they are public; fix: remove the bypass path",
                urn,
            )
        for fn, arg in router.paths:
            problem = _narrow_problem(arg) if fn == "PathRegexp" else None
            if fn == "PathPrefix" or (fn == "Path" and arg in ALWAYS_SSO):
                problem = f"{fn}({arg}) reaches beyond one API path" if fn == "PathPrefix" else f"is {arg}"
            if problem:
                report(
                    f"router {router.name} skips forward-auth for {fn}({arg}) of {app}, which {problem}; fix: an "
                    f"anchored API path such as ^/api/.*$",
                    urn,
                )
    if edge.authelia is None:
        return
    for rule in access_rules(edge.authelia):
        if rule.policy != "bypass":
            continue
        for resource in rule.resources:
            if _consumes_query(resource):
                report(
                    f"Authelia bypasses {resource} on {', '.join(rule.domains)}: part of it can match the '?' and "
                    f"query Authelia sees but Traefik's PathRegexp does not, so a query widens the bypass; fix: "
                    f"write . as [^?\\n] and end with (\\?.*)?$",
                    edge.authelia.resource.urn,
                )


ms_030 = stack_rule(
    "ms-030-bypass-paths-narrow",
    "Routes that skip forward-auth are one anchored RE2 path regex each, never the start page, /index.html or "
    "/admin, only for apps with a login of their own, and Authelia's bypass resources cannot be widened by a query.",
    MANDATORY,
    _bypass_narrow,
    "Declare bypass paths as ^/api/...$ in the catalog; remove bypass paths of apps without a login; let the edge "
    "layer write Authelia's resources (render/authelia.py).",
    config={
        "withoutLogin": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Catalog names of apps with no login of their own (no path of theirs may skip SSO).",
            "default": list(WITHOUT_LOGIN),
        },
    },
)

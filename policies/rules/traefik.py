"""Traefik: API and providers, TLS, forwarded headers, what guards each route, origin lockdown (MS-018 to MS-021,
MS-031)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from pulumi_policy import PolicyResource

from .common import (
    ADVISORY,
    CONTAINER,
    DNS_RECORD,
    HOST_FILES,
    MANDATORY,
    NETWORK,
    Report,
    Resource,
    allowlist_entry,
    allowlist_property,
    at,
    ci_get,
    ci_path,
    containers,
    entry_strings,
    get_path,
    is_map,
    items,
    number,
    of_type,
    resource_rule,
    stack_rule,
    text,
    truthy,
)
from .edge import (
    Edge,
    Router,
    Traefik,
    as_list,
    bypass_resources,
    crowdsec_forward_auths,
    crowdsec_plugins,
    edge_of,
    enabled,
    middleware_kinds,
    routers,
    traefik_of,
)

# Cloudflare's published proxy ranges (https://www.cloudflare.com/ips-v4/ and /ips-v6/).
CLOUDFLARE_RANGES = (
    "173.245.48.0/20", "103.21.244.0/22", "103.22.200.0/22", "103.31.4.0/22", "141.101.64.0/18",
    "108.162.192.0/18", "190.93.240.0/20", "188.114.96.0/20", "197.234.240.0/22", "198.41.128.0/17",
    "162.158.0.0/15", "104.16.0.0/13", "104.24.0.0/14", "172.64.0.0/13", "131.0.72.0/22",
    "2400:cb00::/32", "2606:4700::/32", "2803:f800::/32", "2405:b500::/32", "2405:8100::/32",
    "2a06:98c0::/29", "2c0f:f248::/32",
)  # fmt: skip

FIX_CONFIG = "fix the generated Traefik configuration"


# ------------------------------------------------------------------ MS-018
def _false(value: object) -> bool:
    return value is False or text(value).strip().lower() == "false"


def _api_and_providers(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    cfg = traefik_of(res)
    if cfg is None or not cfg.present:
        return
    for error in cfg.errors:
        report(f"Traefik configuration {error}; fix: render it with render/serialise.py from a dict")
    if truthy(ci_path(cfg.static, "api", "insecure")):
        report("Traefik serves its API and dashboard unauthenticated (api.insecure); fix: remove api.insecure")
    providers = ci_get(cfg.static, "providers")
    for name in ("docker", "swarm"):
        if enabled(providers, name) and not _false(ci_path(providers, name, "exposedByDefault")):
            report(
                f"Traefik's {name} provider exposes every container by default; fix: set "
                f"providers.{name}.exposedByDefault: false and opt services in with traefik.enable"
            )
    api_on = enabled(cfg.static, "api")
    if not api_on or _false(ci_path(cfg.static, "api", "dashboard")):
        return
    for router in routers(cfg):
        if router.service in ("api@internal", "dashboard@internal"):
            kinds = middleware_kinds(cfg, router.middlewares)
            if not kinds & {"forward-auth", "basic-auth"}:
                report(
                    f"router {router.name} serves the Traefik dashboard/API without authentication; fix: add the "
                    f"forward-auth middleware to it"
                )


ms_018 = resource_rule(
    "ms-018-traefik-api-and-providers",
    "Traefik never runs api.insecure, no Docker provider exposes containers by default, and the dashboard is "
    "only reachable behind authentication (Traefik docs).",
    MANDATORY,
    (CONTAINER, HOST_FILES),
    _api_and_providers,
    "Serve the dashboard through a router with forward-auth; keep exposedByDefault false.",
)


# ------------------------------------------------------------------ MS-019
_TLS_VERSIONS = {"versiontls10": 10, "versiontls11": 11, "versiontls12": 12, "versiontls13": 13}


def _tls_versions(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    cfg = traefik_of(res)
    if cfg is None or not cfg.present:
        return
    for name, option in sorted(cfg.section("tls", "options").items()):
        for key in ("minVersion", "maxVersion"):
            value = text(ci_get(option, key))
            if value and _TLS_VERSIONS.get(value.lower(), 0) < 12:
                report(f"TLS options {name!r} set {key} {value}; fix: use VersionTLS12 or VersionTLS13")


ms_019_version = resource_rule(
    "ms-019-traefik-tls-min-version",
    "Traefik TLS options never allow a protocol below TLS 1.2 (Traefik TLS options).",
    MANDATORY,
    (CONTAINER, HOST_FILES),
    _tls_versions,
    "Set tls.options.default.minVersion: VersionTLS12 in the dynamic configuration.",
)


def _sni_strict(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    cfg = traefik_of(res)
    if cfg is None or not cfg.present:
        return
    default = ci_get(cfg.section("tls", "options"), "default")
    if not truthy(ci_get(default, "sniStrict")):
        report(
            "Traefik answers TLS without a matching SNI (default certificate); fix: set tls.options.default.sniStrict"
        )


ms_019_sni = resource_rule(
    "ms-019-traefik-sni-strict",
    "Traefik's default TLS options are sniStrict, so unknown host names get no certificate (Traefik TLS options).",
    ADVISORY,
    (CONTAINER, HOST_FILES),
    _sni_strict,
    "Set tls.options.default.sniStrict: true in the dynamic configuration.",
)


# ------------------------------------------------------------------ MS-020
_EVERYWHERE = ("0.0.0.0/0", "::/0")


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def _within(value: str, allowed: Sequence[str]) -> bool:
    net = _network(value)
    if net is None:
        return False
    for base in allowed:
        other = _network(base)
        if other is not None and other.version == net.version and net.subnet_of(other):  # type: ignore[arg-type]
            return True
    return False


def _canonical(values: Sequence[str]) -> set[str]:
    return {str(n) if (n := _network(v)) else v for v in values}


BOUNCER_TRUSTED_ENV = "TRUSTED_PROXIES"
"""The forward-auth bouncer's (fbonalair/traefik-crowdsec-bouncer) trusted proxies; unset, it trusts 0.0.0.0/0."""


def _entry_points_trust(cfg: Traefik, allowed: Sequence[str], report: Report) -> set[str]:
    """Check every entry point's forwarded-header trust; return the set the entry points trust."""
    trusted: set[str] = set()
    for ep_name, ep in sorted(cfg.entry_points.items()):
        for section in ("forwardedHeaders", "proxyProtocol"):
            node = ci_get(ep, section)
            if node is None:
                continue
            if truthy(ci_get(node, "insecure")):
                report(f"entry point {ep_name} trusts {section} from anyone (insecure); fix: list trustedIPs instead")
            ips = as_list(ci_get(node, "trustedIPs"))
            for ip in ips:
                if ip.strip() in _EVERYWHERE or not _within(ip, allowed):
                    report(
                        f"entry point {ep_name} trusts {section} from {ip}, outside the configured proxy ranges; "
                        "fix: trust only Cloudflare's ranges, or in tunnel mode the network Traefik shares with the "
                        "tunnel connector (or allowlist the range with a justification)"
                    )
            if section == "forwardedHeaders":
                trusted |= _canonical(ips)
    return trusted


def _plugin_bouncers(cfg: Traefik, trusted: set[str], report: Report) -> None:
    for name, settings in crowdsec_plugins(cfg):
        bouncer = _canonical(as_list(ci_get(settings, "forwardedHeadersTrustedIPs")))
        if bouncer != trusted:
            report(
                f"the CrowdSec bouncer ({name}) trusts forwarded headers from {sorted(bouncer) or 'nobody'} but the "
                f"entry points trust {sorted(trusted) or 'nobody'}; fix: give forwardedHeadersTrustedIPs the same set"
            )
        for ip in as_list(ci_get(settings, "clientTrustedIPs")):
            if ip.strip() in _EVERYWHERE:
                report(f"the CrowdSec bouncer ({name}) never blocks anyone (clientTrustedIPs {ip}); fix: remove it")


def _subnets(resources: Sequence[PolicyResource]) -> dict[str, list[str]]:
    """Docker network name -> its subnets."""
    return {
        text(net.props.get("name")): [text(get_path(c, "subnet")) for c in items(net.props.get("ipamConfigs"))]
        for net in of_type(resources, NETWORK)
    }


def _joined(res: Resource) -> set[str]:
    names = {text(get_path(n, "name")) for n in items(res.props.get("networksAdvanced"))}
    return names | {text(res.props.get("networkMode"))} - {""}


def _service_bouncers(
    resources: Sequence[PolicyResource], cfg: Traefik, trusted: set[str], config: Mapping[str, Any], report: Report
) -> None:
    """A bouncer service behind forward-auth sees Traefik as its peer: it must trust Traefik's network (or it bans
    nobody) plus exactly the entry points' set (more lets clients pick their address, less bans Cloudflare)."""
    found = containers(resources)
    subnets = _subnets(resources)
    for middleware, address in crowdsec_forward_auths(cfg):
        host = (urlsplit(address).hostname or "").lower()
        bouncer = next((c for c in found if host in (c.service, text(c.props.get("hostname")).lower())), None)
        if bouncer is None:
            continue  # not deployed by this stack: its settings are not visible here
        hop = [s for n in sorted(_joined(cfg.resource) & _joined(bouncer)) for s in subnets.get(n, []) if s]
        value = dict(bouncer.envs).get(BOUNCER_TRUSTED_ENV)
        if value is None:
            report(
                f"the CrowdSec bouncer {bouncer.service} (middleware {middleware}) sets no {BOUNCER_TRUSTED_ENV}, so "
                f"it believes X-Forwarded-For from anyone (its default 0.0.0.0/0); fix: set it to Traefik's network "
                f"plus the entry points' trusted ranges",
                bouncer.urn,
            )
            continue
        ranges = as_list(value)
        entry = allowlist_entry(config, bouncer.service, at(report, bouncer.urn))
        extra_allowed = hop + entry_strings(entry, "ranges")
        got = _canonical(ranges)
        everywhere = sorted(r for r in ranges if r.strip() in _EVERYWHERE)
        extra = sorted(r for r in got - trusted if r not in _EVERYWHERE and not _within(r, extra_allowed))
        missing = sorted(trusted - got)
        if everywhere:
            report(
                f"the CrowdSec bouncer {bouncer.service} trusts X-Forwarded-For from {', '.join(everywhere)}, so any "
                f"client picks the address it is judged by; fix: list only Traefik's network and the trusted ranges",
                bouncer.urn,
            )
        if extra or missing:
            report(
                f"the CrowdSec bouncer {bouncer.service} trusts forwarded headers from a different set than the "
                f"entry points (besides Traefik's network {', '.join(hop) or 'unknown'}): extra "
                f"{', '.join(extra) or 'none'}, missing {', '.join(missing) or 'none'}; fix: give "
                f"{BOUNCER_TRUSTED_ENV} Traefik's network plus exactly the entry points' trustedIPs",
                bouncer.urn,
            )
        if hop and not all(_within(h, ranges) for h in hop):
            report(
                f"the CrowdSec bouncer {bouncer.service} does not trust Traefik's network ({', '.join(hop)}), so it "
                f"takes Traefik for the client and bans nobody; fix: add it to {BOUNCER_TRUSTED_ENV}",
                bouncer.urn,
            )


def _tunnel_ranges(resources: Sequence[PolicyResource], cfg: Traefik, config: Mapping[str, Any]) -> list[str]:
    """In tunnel mode the proxy is the tunnel connector, not Cloudflare's edge: Traefik sees requests arrive from
    the connector's address on a network both join, so that network's subnet is a proxy range (and only when a
    connector is deployed)."""
    connectors = {str(c) for c in (config.get("tunnelConnectors") or [])}
    subnets = _subnets(resources)
    ranges: list[str] = []
    for connector in containers(resources):
        if connector.service not in connectors:
            continue
        for name in sorted(_joined(cfg.resource) & _joined(connector)):
            ranges.extend(s for s in subnets.get(name, []) if s)
    return ranges


def _forwarded_headers(resources: Sequence[PolicyResource], config: Mapping[str, Any], report: Report) -> None:
    # Traefik alone (not edge_of): Authelia's config, rendered from generated secrets, may be unknown at preview.
    cfg = next((t for t in map(traefik_of, containers(resources)) if t is not None and t.present), None)
    if cfg is None:
        return
    at_traefik = at(report, cfg.resource.urn)
    entry = allowlist_entry(config, cfg.resource.service, at_traefik)
    allowed = [
        *(str(r) for r in (config.get("trustedRanges") or [])),
        *entry_strings(entry, "ranges"),
        *_tunnel_ranges(resources, cfg, config),
    ]
    trusted = _entry_points_trust(cfg, allowed, at_traefik)
    _plugin_bouncers(cfg, trusted, at_traefik)
    # Last: a bouncer's env holds its API key, a generated secret not known at the first preview.
    _service_bouncers(resources, cfg, trusted, config, report)


ms_020 = stack_rule(
    "ms-020-traefik-forwarded-headers",
    "Forwarded headers are trusted only from the configured proxy ranges (Cloudflare's), never insecure or "
    "0.0.0.0/0, and the CrowdSec bouncer trusts the same set (Authelia Traefik guide, CrowdSec bouncer docs).",
    MANDATORY,
    _forwarded_headers,
    "Set entryPoints.<name>.forwardedHeaders.trustedIPs to Cloudflare's ranges, and the bouncer's trusted proxies "
    "(plugin forwardedHeadersTrustedIPs, or the bouncer service's TRUSTED_PROXIES plus Traefik's network) to the "
    "same list.",
    config={
        "trustedRanges": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Proxy ranges forwarded headers may come from (default: Cloudflare's published ranges).",
            "default": list(CLOUDFLARE_RANGES),
        },
        "tunnelConnectors": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Catalog names of tunnel connectors (Cloudflare Tunnel's cloudflared): when one is "
            "deployed, the networks it shares with Traefik are proxy ranges too, since tunnelled requests reach "
            "Traefik from it.",
            "default": ["cloudflared"],
        },
        "allowlist": allowlist_property(
            "Extra ranges the ingress (or its bouncer service) may trust, by catalog name.",
            {"ranges": {"type": "array", "items": {"type": "string"}}},
        ),
    },
)


# ------------------------------------------------------------------ MS-021
def _covered(fn: str, arg: str, declared: set[str]) -> bool:
    if fn == "PathRegexp":
        return arg in declared
    if fn == "Path":
        return any(_fullmatch(d, arg) for d in declared)
    prefix = {f"^{re.escape(arg)}.*$", f"^{re.escape(arg)}.*", f"^{arg}.*$", f"^{arg}.*"}
    return bool(prefix & declared)


def _fullmatch(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False


def _public(edge: Edge, app: str, config: Mapping[str, Any], report: Report, urn: str) -> bool:
    if app in edge.portals():
        return True
    entry = allowlist_entry(config, app, at(report, urn))
    return entry is not None and entry.get("public") is True


def _content_routers(edge: Edge) -> list[tuple[Router, str, set[str]]]:
    """Routers that serve an app (not HTTP->HTTPS redirects), with the app and their middleware kinds."""
    out = []
    for router in edge.routers():
        kinds = edge.kinds(router)
        if router.service == "noop@internal" or ("redirect" in kinds and router.service.endswith("@internal")):
            continue
        out.append((router, edge.app(router), kinds))
    return out


def _routes_guarded(resources: Sequence[PolicyResource], config: Mapping[str, Any], report: Report) -> None:
    edge = edge_of(containers(resources))
    if edge.traefik is None:
        return
    urn = edge.traefik.resource.urn
    for router, app, kinds in _content_routers(edge):
        if _public(edge, app, config, report, urn):
            continue
        if "crowdsec" not in kinds:
            report(f"router {router.name} ({app}) has no CrowdSec middleware; fix: add the bouncer middleware", urn)
        if "forward-auth" in kinds:
            continue
        if not router.path_limited:
            report(
                f"router {router.name} serves {app} without forward-auth; fix: add the Authelia forward-auth "
                f"middleware (only the catalog's bypass paths may skip it, on Host && PathRegexp routers)",
                urn,
            )
            continue
        entry = allowlist_entry(config, app, at(report, urn))
        declared = set(entry_strings(entry, "bypassPaths"))
        for host in router.hosts:
            declared |= bypass_resources(edge.authelia, host)
        for fn, arg in router.paths:
            if not _covered(fn, arg, declared):
                report(
                    f"router {router.name} lets {fn}({arg}) of {app} skip forward-auth, but that path is not a "
                    f"declared bypass path; fix: declare it in the catalog (bypass_paths) so Authelia's bypass rules "
                    f"list it, or remove the router",
                    urn,
                )


ms_021_auth = stack_rule(
    "ms-021-routes-forward-auth",
    "Every router of a non-public app has forward-auth and the CrowdSec middleware; routers that skip forward-auth "
    "are limited to the catalog's declared bypass paths (Authelia default_policy deny).",
    MANDATORY,
    _routes_guarded,
    "Attach the forward-auth and CrowdSec middlewares to every app router (or to the entry point).",
    config={
        "allowlist": allowlist_property(
            "Apps reachable without SSO (public: true) or extra bypass path regexes, by catalog name.",
            {"public": {"type": "boolean"}, "bypassPaths": {"type": "array", "items": {"type": "string"}}},
        )
    },
)


def _routes_headers(resources: Sequence[PolicyResource], config: Mapping[str, Any], report: Report) -> None:
    edge = edge_of(containers(resources))
    if edge.traefik is None:
        return
    for router, app, kinds in _content_routers(edge):
        if "headers" not in kinds:
            report(
                f"router {router.name} ({app}) sends no security headers; fix: add a headers middleware with "
                f"stsSeconds, contentTypeNosniff and frameDeny",
                edge.traefik.resource.urn,
            )


ms_021_headers = stack_rule(
    "ms-021-routes-security-headers",
    "Every app router sends the security headers (HSTS, nosniff, frame denial).",
    ADVISORY,
    _routes_headers,
    "Add a headers middleware (stsSeconds, contentTypeNosniff, frameDeny) to the entry point or each router.",
)


# ------------------------------------------------------------------ MS-031
def _allow_list_problem(cfg: Traefik, router: Router, allowed: Sequence[str]) -> str | None:
    """Why the router does not admit Cloudflare's addresses alone (judged on the direct peer), or None."""
    defined = {str(k).lower(): v for k, v in cfg.section("http", "middlewares").items()}
    for name in router.middlewares:
        middleware = defined.get(name.lower())
        allow = ci_get(middleware, "ipAllowList") if is_map(middleware) else None
        if allow is None and is_map(middleware):
            allow = ci_get(middleware, "ipWhiteList")
        if not is_map(allow):
            continue
        strategy = ci_get(allow, "ipStrategy")
        if (number(ci_get(strategy, "depth")) or 0) > 0 or as_list(ci_get(strategy, "excludedIPs")):
            return "judges the source by X-Forwarded-For (ipStrategy depth or excludedIPs), which a client writes"
        ranges = as_list(ci_get(allow, "sourceRange"))
        wide = [r for r in ranges if r.strip() in _EVERYWHERE or not _within(r, allowed)]
        if wide or not ranges:
            return f"admits {', '.join(wide) or 'nobody listed'}, not only Cloudflare's ranges"
        return None
    return "admits any source address, so the origin can be reached around Cloudflare's WAF and rate limits"


def _origin_locked(resources: Sequence[PolicyResource], config: Mapping[str, Any], report: Report) -> None:
    edge = edge_of(containers(resources))
    if edge.traefik is None or not items(edge.traefik.resource.props.get("ports")):
        return  # no published port (tunnel mode): cloudflared is the only way in
    proxied = {
        text(r.props.get("name")).lower().rstrip(".")
        for r in of_type(resources, DNS_RECORD)
        if truthy(r.props.get("proxied"))
    }
    allowed = [str(r) for r in (config.get("cloudflareRanges") or CLOUDFLARE_RANGES)]
    for router, app, _ in _content_routers(edge):
        hosts = sorted(set(router.hosts) & proxied)
        problem = _allow_list_problem(edge.traefik, router, allowed) if hosts else None
        if problem:
            report(
                f"router {router.name} serves {', '.join(hosts)} ({app}), proxied by Cloudflare, but {problem}; fix: "
                f"an ipAllowList middleware with Cloudflare's ranges and no ipStrategy first on the router",
                edge.traefik.resource.urn,
            )


ms_031 = stack_rule(
    "ms-031-origin-cloudflare-only",
    "A hostname proxied by Cloudflare is served by the published Traefik only to Cloudflare's addresses, judged on "
    "the direct peer (Cloudflare origin protection guidance).",
    MANDATORY,
    _origin_locked,
    "Put an ipAllowList middleware with Cloudflare's published ranges (no ipStrategy) on every router of a proxied "
    "hostname.",
    config={
        "cloudflareRanges": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Cloudflare's published ranges (https://www.cloudflare.com/ips/).",
            "default": list(CLOUDFLARE_RANGES),
        }
    },
)

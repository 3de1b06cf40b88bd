"""Cloudflare in front: zone TLS settings, WAF and rate limits, media off the CDN, bots (MS-025 to MS-028)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_policy import PolicyResource

from .common import (
    ADVISORY,
    BOT_MANAGEMENT,
    DNS_RECORD,
    MANDATORY,
    PROJECT,
    RULESET,
    ZONE_SETTING,
    Report,
    containers,
    get_path,
    is_map,
    items,
    justified,
    of_type,
    stack_rule,
    text,
    truthy,
)
from .edge import Edge, bypass_resources, edge_of, portal_hosts


@dataclass(frozen=True)
class Record:
    urn: str
    zone: str
    host: str
    proxied: bool


def records(resources: Sequence[PolicyResource]) -> list[Record]:
    return [
        Record(
            urn=r.urn,
            zone=text(r.props.get("zoneId")),
            host=text(r.props.get("name")).lower().rstrip("."),
            proxied=truthy(r.props.get("proxied")),
        )
        for r in of_type(resources, DNS_RECORD)
    ]


def proxied_zones(resources: Sequence[PolicyResource]) -> dict[str, list[Record]]:
    zones: dict[str, list[Record]] = {}
    for rec in records(resources):
        if rec.proxied:
            zones.setdefault(rec.zone, []).append(rec)
    return zones


def record_app(host: str, apps: Mapping[str, str]) -> str:
    """The catalog name behind a DNS name: through Traefik's routers, else the first label."""
    if host in apps:
        return apps[host]
    for full, app in apps.items():
        if full.startswith(host + "."):
            return app
    return host.split(".", 1)[0]


# ------------------------------------------------------------------ MS-025
REQUIRED_SETTINGS = {
    "ssl": ({"strict"}, "SSL/TLS mode Full (strict)", "strict"),
    "min_tls_version": ({"1.2", "1.3"}, "minimum TLS version 1.2", "1.2"),
    "always_use_https": ({"on"}, "Always Use HTTPS", "on"),
}


def _setting_value(value: object) -> str:
    if is_map(value):
        value = value.get("value")  # type: ignore[attr-defined]
    return text(value).strip().lower() if isinstance(value, str) else str(value).lower()


def _zone_tls(resources: Sequence[PolicyResource], config: Mapping[str, Any], report: Report) -> None:
    settings: dict[tuple[str, str], tuple[str, str]] = {}
    for res in of_type(resources, ZONE_SETTING):
        key = (text(res.props.get("zoneId")), text(res.props.get("settingId")))
        settings[key] = (_setting_value(res.props.get("value")), res.urn)
    for zone, recs in sorted(proxied_zones(resources).items()):
        for setting, (good, what, want) in REQUIRED_SETTINGS.items():
            found = settings.get((zone, setting))
            if found is None:
                report(
                    f"zone {zone} proxies {recs[0].host} but does not manage {setting}; fix: add a ZoneSetting "
                    f"{setting} = {want} ({what})",
                    recs[0].urn,
                )
            elif found[0] not in good:
                report(f"zone {zone} sets {setting} to {found[0]}; fix: set it to {want} ({what})", found[1])


ms_025 = stack_rule(
    "ms-025-cloudflare-zone-tls",
    "Every zone with a proxied record runs SSL Full (strict), minimum TLS 1.2 and Always Use HTTPS "
    "(Cloudflare SSL docs).",
    MANDATORY,
    _zone_tls,
    "Manage ZoneSetting ssl=strict, min_tls_version=1.2 and always_use_https=on for the zone.",
)


# ------------------------------------------------------------------ MS-026
@dataclass(frozen=True)
class RuleView:
    phase: str
    expression: str
    rate_limited: bool


def _ruleset_rules(resources: Sequence[PolicyResource], zone: str) -> list[RuleView]:
    out = []
    for res in of_type(resources, RULESET):
        if text(res.props.get("zoneId")) != zone:
            continue
        phase = text(res.props.get("phase"))
        for rule in items(res.props.get("rules")):
            if not is_map(rule) or rule.get("enabled") is False:
                continue
            out.append(RuleView(phase, text(rule.get("expression")), is_map(rule.get("ratelimit"))))
    return out


def _portal_hosts(edge: Edge) -> set[str]:
    portals = edge.portals()
    return portal_hosts(edge.authelia) | {h for h, app in edge.host_apps().items() if app in portals}


def _covers(expression: str, host: str) -> bool:
    """A rule covers a host when it names it, or does not filter on the host at all."""
    return host in expression or "http.host" not in expression


# Cloudflare no longer populates the threat score: it is always 0, so a rule on it never fires
# (cloudflare-docs src/content/partials/waf/threat-score-definition.mdx).
_DEAD_FIELDS = re.compile(r"\bcf\.threat_score\b")


def _waf_and_rate_limit(resources: Sequence[PolicyResource], config: Mapping[str, Any], report: Report) -> None:
    portals = _portal_hosts(edge_of(containers(resources)))
    for zone, recs in sorted(proxied_zones(resources).items()):
        rules = _ruleset_rules(resources, zone)
        urn = recs[0].urn
        for rule in rules:
            if _DEAD_FIELDS.search(rule.expression):
                report(
                    f"zone {zone} has a {rule.phase} rule on cf.threat_score, which Cloudflare no longer populates "
                    "(always 0), so it never matches; fix: remove it or match on something Cloudflare still sets",
                    urn,
                )
        if not any(r.phase == "http_request_firewall_custom" for r in rules):
            report(f"zone {zone} has no WAF custom rules; fix: add a http_request_firewall_custom Ruleset", urn)
        limits = [r for r in rules if r.phase == "http_ratelimit" and r.rate_limited]
        served = {p for p in portals if any(rec.host == p for rec in recs)} or (set() if portals else {"*"})
        for portal in sorted(served):
            if not any(portal == "*" or _covers(r.expression, portal) for r in limits):
                shown = "the auth portal" if portal == "*" else portal
                report(
                    f"zone {zone} has no rate-limit rule covering {shown}; fix: add a http_ratelimit Ruleset rule "
                    f"for the portal's login endpoints",
                    urn,
                )


ms_026 = stack_rule(
    "ms-026-cloudflare-waf-rate-limit",
    "Each proxied zone has a WAF custom ruleset and a rate-limit rule covering the auth portal, and no rule on "
    "cf.threat_score, which is always 0 now (Cloudflare WAF docs).",
    ADVISORY,
    _waf_and_rate_limit,
    "Add Ruleset resources for phases http_request_firewall_custom and http_ratelimit (the portal's host).",
)


# ------------------------------------------------------------------ MS-027
MEDIA_SERVICES = ("jellyfin", "navidrome", "audiobookshelf", "immich-server")
"""The catalog's streaming apps (a test keeps this in step with config/catalog.py)."""


def acknowledged_media() -> dict[str, str]:
    """Streaming apps the site accepts proxying, from stack settings `media-server:policy.acknowledgeProxiedMedia`.

    The engine gives policy packs the stack's config; the offline gate runs with it set.
    """
    try:
        doc = pulumi.Config(PROJECT).get_object("policy")
    except Exception:  # an unreadable setting acknowledges nothing
        return {}
    acks = get_path(doc, "acknowledgeProxiedMedia")
    return {str(k): str(v) for k, v in acks.items() if justified(v)} if isinstance(acks, Mapping) else {}


def _media_dns_only(resources: Sequence[PolicyResource], config: Mapping[str, Any], report: Report) -> None:
    media = {str(s) for s in (config.get("mediaServices") or MEDIA_SERVICES)}
    apps = edge_of(containers(resources)).host_apps()
    acknowledged = acknowledged_media()
    for rec in records(resources):
        app = record_app(rec.host, apps)
        if rec.proxied and app in media and app not in acknowledged:
            report(
                f"{rec.host} ({app}) streams media through Cloudflare's proxy, which its CDN terms restrict; fix: make "
                f"the record DNS-only, or acknowledge it in stack settings policy.acknowledgeProxiedMedia.{app} with "
                f"a justification",
                rec.urn,
            )


ms_027 = stack_rule(
    "ms-027-cloudflare-media-dns-only",
    "Video and large-media apps get no proxied DNS record unless the site acknowledges it in its settings "
    "(Cloudflare CDN service terms).",
    MANDATORY,
    _media_dns_only,
    "Set proxied=False for streaming apps, or acknowledge it in media-server:policy.acknowledgeProxiedMedia.",
    config={
        "mediaServices": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Catalog names of apps that stream video or large media.",
            "default": list(MEDIA_SERVICES),
        }
    },
)


# ------------------------------------------------------------------ MS-028
def _fight_mode_zones(resources: Sequence[PolicyResource]) -> dict[str, str]:
    zones = {
        text(r.props.get("zoneId")): r.urn
        for r in of_type(resources, BOT_MANAGEMENT)
        if truthy(r.props.get("fightMode"))
    }
    for res in of_type(resources, ZONE_SETTING):
        if text(res.props.get("settingId")) == "bot_fight_mode" and _setting_value(res.props.get("value")) == "on":
            zones[text(res.props.get("zoneId"))] = res.urn
    return zones


def _serves_api_clients(edge: Edge, recs: list[Record]) -> bool:
    """Apps with SSO bypass paths (mobile apps, API clients) behind the zone; unknown edge config counts as yes."""
    if edge.traefik is None and edge.authelia is None:
        return True
    hosts = {r.host for r in recs}
    if any(bypass_resources(edge.authelia, h) for h in hosts):
        return True
    return any(
        router.path_limited and "forward-auth" not in edge.kinds(router) and set(router.hosts) & hosts
        for router in edge.routers()
    )


def _bot_fight_mode(resources: Sequence[PolicyResource], config: Mapping[str, Any], report: Report) -> None:
    edge = edge_of(containers(resources))
    zones = proxied_zones(resources)
    for zone, urn in sorted(_fight_mode_zones(resources).items()):
        if zone in zones and _serves_api_clients(edge, zones[zone]):
            report(
                f"zone {zone} has Bot Fight Mode on but serves API and mobile clients, which it blocks and which no "
                f"WAF rule can exempt; fix: turn fight mode off and rate-limit instead",
                urn,
            )


ms_028 = stack_rule(
    "ms-028-cloudflare-bot-fight-mode",
    "Bot Fight Mode stays off on zones that serve API or mobile clients (Cloudflare bots docs).",
    ADVISORY,
    _bot_fight_mode,
    "Turn Bot Fight Mode off; use WAF custom and rate-limit rules for automated traffic.",
)

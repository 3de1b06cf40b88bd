"""Cloudflare's side of the site, as data: DNS records, WAF, rate-limit and cache rules, zone settings.

components/edge.py turns these into pulumi-cloudflare resources. Rule
expressions use Cloudflare's Rules language (fields and functions available
on every plan).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config.settings import Settings
from render.routes import auth_portal_host, hosts_of, routed_services

EXPLOIT_PATHS = (
    "/wp-login.php",
    "/wp-admin",
    "/xmlrpc.php",
    "/.env",
    "/.git/",
    "/.aws/",
    "/phpmyadmin",
    "/cgi-bin/",
    "/vendor/phpunit",
    "/boaform/",
    "/actuator/",
    "/hnap1",
)
STATIC_EXTENSIONS = ("css", "js", "mjs", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "woff", "woff2", "ttf")
THREAT_SCORE_CHALLENGE = 14
ZONE_SETTINGS = {"ssl": "strict", "always_use_https": "on", "min_tls_version": "1.2", "tls_1_3": "on"}
AUTH_LOGIN_PATH = "/api/firstfactor"


@dataclass(frozen=True, order=True)
class Record:
    name: str
    """Fully qualified host name."""
    app: str
    proxied: bool


def dns_records(settings: Settings) -> list[Record]:
    """One record per routed host: each app's subdomain, and the apex for the dashboard."""
    return [
        Record(name=host, app=spec.name, proxied=settings.cloudflare_proxied(spec))
        for spec in routed_services(settings)
        for host in hosts_of(spec, settings)
    ]


def _set(values: list[str] | tuple[str, ...]) -> str:
    return "{" + " ".join(f'"{v}"' for v in values) + "}"


def waf_rules(settings: Settings) -> list[dict[str, Any]]:
    """Custom rules (phase http_request_firewall_custom), in the order Cloudflare evaluates them."""
    cloudflare = settings.cloudflare
    rules: list[dict[str, Any]] = []
    if cloudflare.block_countries:
        rules.append(
            {
                "description": "Block requests from the countries in cloudflare.blockCountries",
                "expression": f"(ip.src.country in {_set(sorted(cloudflare.block_countries))})",
                "action": "block",
            }
        )
    if cloudflare.challenge_countries:
        rules.append(
            {
                "description": "Challenge requests from the countries in cloudflare.challengeCountries",
                "expression": f"(ip.src.country in {_set(sorted(cloudflare.challenge_countries))})",
                "action": "managed_challenge",
            }
        )
    probes = " or ".join(f'(lower(http.request.uri.path) contains "{path}")' for path in EXPLOIT_PATHS)
    rules.append({"description": "Block common exploit and scanner paths", "expression": probes, "action": "block"})
    portal = auth_portal_host(settings)
    rules.append(
        {
            "description": "Challenge the auth portal on a high threat score",
            "expression": f'(http.host eq "{portal}" and cf.threat_score gt {THREAT_SCORE_CHALLENGE})',
            "action": "managed_challenge",
        }
    )
    return rules


def rate_limit_rules(settings: Settings) -> list[dict[str, Any]]:
    """Rate limiting (phase http_ratelimit): the auth portal's login API, per client and data centre."""
    portal = auth_portal_host(settings)
    return [
        {
            "description": "Rate-limit logins at the auth portal",
            "expression": f'(http.host eq "{portal}" and http.request.uri.path eq "{AUTH_LOGIN_PATH}")',
            "action": "block",
            "ratelimit": {
                "characteristics": ["cf.colo.id", "ip.src"],
                "period": 10,
                "requests_per_period": settings.cloudflare.auth_rate_limit,
                "mitigation_timeout": 10,
            },
        }
    ]


def cache_rules(settings: Settings) -> list[dict[str, Any]]:
    """Cache rules (phase http_request_cache_settings): static assets only, for as long as the origin says."""
    return [
        {
            "description": "Cache static assets (as long as the origin allows)",
            "expression": f"(http.request.uri.path.extension in {_set(STATIC_EXTENSIONS)})",
            "action": "set_cache_settings",
            "action_parameters": {
                "cache": True,
                "edge_ttl": {"mode": "respect_origin"},
                "browser_ttl": {"mode": "respect_origin"},
            },
        }
    ]


def tunnel_ingress(settings: Settings) -> list[dict[str, Any]]:
    """cloudflared's ingress: every routed host to Traefik's TLS entry point, then 404."""
    ingress: list[dict[str, Any]] = [
        {
            "hostname": record.name,
            "service": "https://traefik:443",
            "origin_request": {"origin_server_name": record.name, "http2_origin": True},
        }
        for record in dns_records(settings)
    ]
    return [*ingress, {"service": "http_status:404"}]

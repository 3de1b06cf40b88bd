"""Cloudflare's side of the site, as data: DNS records, WAF, rate-limit and cache rules, zone settings.

components/edge.py turns these into pulumi-cloudflare resources. Rule
expressions use Cloudflare's Rules language, within what the zone's plan
allows (`cloudflare.plan`; the limits and their sources are in
config/data/cloudflare_plans.py): `plan_problems` checks the rendered rules
against them before anything is deployed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from config.data.cloudflare_plans import PLANS
from config.problems import NAMESPACE, Problem
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
    # No rule on cf.threat_score: Cloudflare no longer populates it (always 0), so such a rule never fires
    # (cloudflare-docs src/content/partials/waf/threat-score-definition.mdx).
    return rules


def rate_limit_rules(settings: Settings) -> list[dict[str, Any]]:
    """Rate limiting (phase http_ratelimit): the auth portal's login API, per client and data centre.

    On the free plan a rate limiting expression may use only the path and verified-bot fields, so the rule
    matches the login path on every host of the zone (only Authelia serves it); from pro on it names the portal.
    """
    cloudflare = settings.cloudflare
    path = f'http.request.uri.path eq "{AUTH_LOGIN_PATH}"'
    if "http.host" in PLANS[cloudflare.plan].rate_limit_fields:
        expression = f'(http.host eq "{auth_portal_host(settings)}" and {path})'
    else:
        expression = f"({path})"
    return [
        {
            "description": "Rate-limit logins at the auth portal",
            "expression": expression,
            "action": "block",
            "ratelimit": {
                "characteristics": ["cf.colo.id", "ip.src"],
                "period": cloudflare.auth_rate_limit_period,
                "requests_per_period": cloudflare.auth_rate_limit,
                "mitigation_timeout": cloudflare.auth_rate_limit_timeout,
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


@dataclass(frozen=True)
class PhaseRuleset:
    role: str
    """The resource name suffix in components/edge.py (`edge-<role>`)."""
    phase: str
    title: str
    rules: list[dict[str, Any]]


def rulesets(settings: Settings) -> list[PhaseRuleset]:
    """The zone's entry-point rulesets, one per phase. A zone has at most one entry-point ruleset per phase, so
    creating one where it exists fails: `make check` prints the `pulumi import` commands that adopt them."""
    return [
        PhaseRuleset("waf", "http_request_firewall_custom", "WAF custom rules", waf_rules(settings)),
        PhaseRuleset("ratelimit", "http_ratelimit", "Rate limits", rate_limit_rules(settings)),
        PhaseRuleset("cache", "http_request_cache_settings", "Cache rules", cache_rules(settings)),
    ]


_FIELD = re.compile(r"(?<![\w.\"])((?:http|ip|cf|ssl|raw)\.[a-z0-9_.]*[a-z0-9_])")


def expression_fields(expression: str) -> set[str]:
    """The Rules-language fields an expression reads (outside string literals)."""
    return set(_FIELD.findall(re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)))


def plan_problems(settings: Settings) -> list[Problem]:
    """The rendered rules checked against the plan's limits, as config problems naming cloudflare.plan."""
    cloudflare = settings.cloudflare
    if not cloudflare.enabled:
        return []
    limits = PLANS[cloudflare.plan]
    key, plan = f"{NAMESPACE}:cloudflare.plan", cloudflare.plan
    by_phase = {ruleset.phase: ruleset.rules for ruleset in rulesets(settings)}
    custom, limited = by_phase["http_request_firewall_custom"], by_phase["http_ratelimit"]
    problems: list[Problem] = []
    if len(custom) > limits.custom_rules:
        problems.append(
            Problem(key, plan, f"{len(custom)} WAF custom rules; the {plan} plan allows {limits.custom_rules}")
        )
    for rule in custom:
        if not limits.custom_rules_regex and re.search(r"\bmatches\b|~", rule["expression"]):
            problems.append(Problem(key, plan, f"custom rule {rule['description']!r} uses a regex; {plan} has none"))
    if len(limited) > limits.rate_limit_rules:
        problems.append(
            Problem(key, plan, f"{len(limited)} rate limiting rules; the {plan} plan allows {limits.rate_limit_rules}")
        )
    for rule in limited:
        name, ratelimit = rule["description"], rule["ratelimit"]
        refused = sorted(expression_fields(rule["expression"]) - limits.rate_limit_fields)
        if refused:
            allowed = ", ".join(sorted(limits.rate_limit_fields))
            problems.append(
                Problem(
                    key,
                    plan,
                    f"rate limiting rule {name!r} uses {', '.join(refused)}, which the {plan} plan does not allow "
                    f"in rate limiting expressions (allowed: {allowed})",
                )
            )
        odd = sorted(set(ratelimit["characteristics"]) - limits.rate_limit_characteristics)
        if odd or "cf.colo.id" not in ratelimit["characteristics"]:
            problems.append(
                Problem(
                    key,
                    plan,
                    f"rate limiting rule {name!r} counts by {ratelimit['characteristics']}; the {plan} "
                    "plan counts by cf.colo.id and ip.src only",
                )
            )
        if ratelimit["period"] not in limits.rate_limit_periods:
            problems.append(Problem(key, plan, f"rate limiting rule {name!r} counts over {ratelimit['period']} s"))
        if ratelimit["mitigation_timeout"] not in limits.mitigation_timeouts:
            problems.append(
                Problem(key, plan, f"rate limiting rule {name!r} blocks for {ratelimit['mitigation_timeout']} s")
            )
    return problems


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

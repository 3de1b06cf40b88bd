"""Golden edge configuration for the Traefik, Authelia and Cloudflare rules: the edge layer's real output.

Traefik's static and dynamic files, Authelia's configuration, users database
and secret files, the CrowdSec bouncer's trusted proxies and the Cloudflare
rules are what render/traefik.py, render/authelia.py and render/cloudflare.py
produce for a small site (Traefik, Authelia, Jellyfin, Sonarr, Cloudflare
proxying), at the paths and in the shapes components/ records them. Each test
mutates a fresh copy, so a rule that reads a key the real configuration spells
differently fails here, not in production. Secrets are test data.
"""

from __future__ import annotations

import copy
from typing import Any

from config.catalog import CATALOG
from config.settings import Settings
from config.stack import parse_settings
from offline.recorder import Secret
from policies.rules.common import BOT_MANAGEMENT, DNS_RECORD, NETWORK, RULESET, ZONE_SETTING
from render import authelia as render_authelia
from render import cloudflare as render_cloudflare
from render import traefik as render_traefik
from render.serialise import to_yaml
from tests.policy_harness import Res, container

DOMAIN = "media.example.org"
ZONE = "0123456789abcdef0123456789abcdef"
APPS = ("jellyfin", "sonarr")
PROXY_NETWORK = "ms-test-proxy"
"""The network every harness container joins (tests.policy_harness.container)."""


def _site() -> Settings:
    media_off = {
        name: {"enabled": False}
        for name, spec in CATALOG.items()
        if spec.tier.value == "media" and name not in APPS and spec.enabled_by_default
    }
    return parse_settings(
        {
            "domain": DOMAIN,
            "host": {"mode": "local"},
            "tiers": {"edge": True, "media": True, "monitoring": False, "backup": False},
            "services": media_off,
            "cloudflare": {
                "enabled": True,
                "zone": "example.org",
                "zoneId": ZONE,
                "publicAddress": "203.0.113.10",
                "advancedCertificates": True,
            },
        }
    )


SITE = _site()


def host(sub: str) -> str:
    return f"{sub}.{DOMAIN}"


# ------------------------------------------------------------------ Traefik
def traefik_static() -> dict[str, Any]:
    return copy.deepcopy(render_traefik.render_static(SITE))


def traefik_dynamic() -> dict[str, Any]:
    return copy.deepcopy(render_traefik.render_dynamic(SITE))


def app_middlewares() -> list[str]:
    """What the edge layer puts on every forward-auth router of a proxied host: the Cloudflare-only allow-list,
    headers, the bouncer, Authelia."""
    return [render_traefik.CLOUDFLARE_ONLY, render_traefik.HEADERS, render_traefik.CROWDSEC, render_traefik.AUTHELIA]


def traefik(static: dict[str, Any] | None = None, dynamic: dict[str, Any] | None = None, **changes: Any) -> Res:
    uploads = [
        {"file": render_traefik.STATIC_PATH, "content": to_yaml(static if static is not None else traefik_static())},
        {
            "file": render_traefik.DYNAMIC_PATH,
            "content": to_yaml(dynamic if dynamic is not None else traefik_dynamic()),
        },
    ]
    return container(
        "traefik",
        "edge",
        uploads=uploads,
        healthcheck={"tests": ["CMD", "traefik", "healthcheck", "--ping"]},
        **changes,
    )


BOUNCER_KEY = "Vq3rT8wX1zL6nB4mK9pJ2sD7fH0gY5cE1aR3tU8iO6pQ2wZx"


def bouncer_trusted() -> list[str]:
    return render_traefik.bouncer_trusted_proxies(SITE)


def bouncer(trusted: list[str] | None = None, set_trusted: bool = True, **changes: Any) -> Res:
    """The forward-auth bouncer (crowdsec-bouncer) as components/proxy.py runs it; envs secret (its API key)."""
    envs = ["CROWDSEC_AGENT_HOST=crowdsec:8080", "GIN_MODE=release", f"CROWDSEC_BOUNCER_API_KEY={BOUNCER_KEY}"]
    if set_trusted:
        envs.append("TRUSTED_PROXIES=" + ",".join(bouncer_trusted() if trusted is None else trusted))
    res = container(
        "crowdsec-bouncer",
        "edge",
        envs=Secret(envs),
        healthcheck={"tests": ["CMD", "/app", "healthcheck"]},
        **changes,
    )
    res.secret_outputs = ("envs",)
    return res


def proxy_network() -> Res:
    cidr = SITE.networks.proxy.cidr
    return Res(
        NETWORK,
        "networks-proxy",
        {"name": PROXY_NETWORK, "driver": "bridge", "internal": False, "ipamConfigs": [{"subnet": cidr}]},
    )


# ------------------------------------------------------------------ Authelia
SECRETS = {
    "session": "k3Q9vT2mXw8LrN5pZ1cY7bF4hJ6sD0aGeUiOqWxRtYuIoPlKjHgFdSaZxCvBnM12",
    "jwt": "Pq7Wm2Xc9Vb4Nz1Lk8Jh3Gf6Ds5Ar0TyUiOpAsDfGhJkLzXcVbNmQwErTyUiOp34",
    "storage-encryption-key": "Zx8Cv2Bn5Mq1Wr7Et4Yu9Io3Pa6Sd0Fg",
    "postgres-password": "Hn4Jm8Kq2Lw6Pe0Rt3Yu7Io1As5Df9Gh",
    "redis-password": "Bv6Nc2Mx8Zl4Kj0Hg5Fd1Sa7Qw3Er9Ty",
}
ARGON2_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"


def authelia_config() -> dict[str, Any]:
    # A copy: the rendered document shares module constants (the argon2 parameters) that tests must not change.
    return copy.deepcopy(render_authelia.render_configuration(SITE, "authelia", "authelia"))


def users_database(digest: str = ARGON2_HASH) -> dict[str, Any]:
    digests = {user["username"]: digest for user in render_authelia.users(SITE)}
    return copy.deepcopy(render_authelia.render_users(SITE, digests))


def secret_path(name: str) -> str:
    return render_authelia.secret_files(SITE)[name]


def authelia(
    config: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    users: dict[str, Any] | None = None,
    **changes: Any,
) -> Res:
    files = {**SECRETS, **(secrets or {})}
    uploads = [
        {
            "file": render_authelia.CONFIG_PATH,
            "content": to_yaml(config if config is not None else authelia_config()),
        },
        {"file": render_authelia.USERS_PATH, "content": to_yaml(users if users is not None else users_database())},
        *({"file": path, "content": files[name]} for name, path in sorted(render_authelia.secret_files(SITE).items())),
    ]
    envs = ["TZ=Etc/UTC", *(f"{k}={v}" for k, v in sorted(render_authelia.config_env(SITE).items()))]
    base: dict[str, Any] = {
        "uploads": uploads,
        "envs": envs,
        "healthcheck": {"tests": ["CMD", "wget", "-q", "--spider", "http://127.0.0.1:9091/api/health"]},
    }
    base.update(changes)
    return container("authelia", "auth", **base)


def access_rule_index(config: dict[str, Any], domain: str, bypass: bool = False) -> int:
    """Index of the first access rule for a host: its bypass (path) rule, or its app rule."""
    for i, rule in enumerate(config["access_control"]["rules"]):
        if domain in rule["domain"] and ("resources" in rule) == bypass:
            return i
    raise KeyError(domain)


# ------------------------------------------------------------------ Cloudflare
def dns(sub: str, proxied: bool, zone: str = ZONE) -> Res:
    return Res(
        DNS_RECORD,
        f"edge-dns-{sub}",
        {"zoneId": zone, "name": host(sub), "type": "A", "content": "203.0.113.10", "ttl": 1, "proxied": proxied},
    )


def zone_setting(setting: str, value: Any, zone: str = ZONE) -> Res:
    return Res(ZONE_SETTING, f"edge-zone-{setting}", {"zoneId": zone, "settingId": setting, "value": value})


def zone_tls(zone: str = ZONE) -> list[Res]:
    return [zone_setting(setting, value, zone) for setting, value in render_cloudflare.ZONE_SETTINGS.items()]


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def _recorded_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A rendered rule as the engine records the Ruleset input (camelCase, enabled)."""
    out: dict[str, Any] = {_camel(k): v for k, v in rule.items() if k != "ratelimit"}
    if "ratelimit" in rule:
        out["ratelimit"] = {_camel(k): v for k, v in rule["ratelimit"].items()}
    return {**out, "enabled": True}


def waf(zone: str = ZONE) -> Res:
    return Res(
        RULESET,
        "edge-waf",
        {
            "zoneId": zone,
            "kind": "zone",
            "name": "media-server waf custom rules",
            "phase": "http_request_firewall_custom",
            "rules": [_recorded_rule(r) for r in render_cloudflare.waf_rules(SITE)],
        },
    )


def rate_limit(expression: str | None = None, zone: str = ZONE) -> Res:
    (rule,) = (_recorded_rule(r) for r in render_cloudflare.rate_limit_rules(SITE))
    if expression is not None:
        rule["expression"] = expression
    return Res(
        RULESET,
        "edge-rate-limit",
        {
            "zoneId": zone,
            "kind": "zone",
            "name": "media-server rate limits",
            "phase": "http_ratelimit",
            "rules": [rule],
        },
    )


def bot_management(fight_mode: bool, zone: str = ZONE) -> Res:
    return Res(BOT_MANAGEMENT, "edge-bots", {"zoneId": zone, "fightMode": fight_mode})


def cloudflare() -> list[Res]:
    """The site's zone: a record per routed host (streaming apps DNS-only), TLS settings, WAF and rate limit."""
    records = [dns(r.name.removesuffix(f".{DOMAIN}"), r.proxied) for r in render_cloudflare.dns_records(SITE)]
    return [*records, *zone_tls(), waf(), rate_limit(), bot_management(False)]


def edge() -> list[Res]:
    """The whole golden edge: Traefik, its bouncer and network, Authelia, and the Cloudflare zone."""
    return [traefik(), bouncer(), proxy_network(), authelia(), *cloudflare()]


def deep(value: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(value)

"""Golden edge configuration for the Traefik, Authelia and Cloudflare rules.

Written in the real formats (Traefik v3 static and file-provider schema,
Authelia 4.39 schema) at the paths the edge layer uses; each test mutates a
deep copy. Secrets here are test data, not real credentials.
"""

from __future__ import annotations

import copy
from typing import Any

from policies.rules.common import BOT_MANAGEMENT, DNS_RECORD, RULESET, ZONE_SETTING
from policies.rules.traefik import CLOUDFLARE_RANGES
from render.serialise import to_yaml
from tests.policy_harness import Res, container

DOMAIN = "media.example.org"
ZONE = "0123456789abcdef0123456789abcdef"


def host(sub: str) -> str:
    return f"{sub}.{DOMAIN}"


def traefik_static() -> dict[str, Any]:
    return {
        "entryPoints": {
            "web": {
                "address": ":80",
                "http": {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https"}}},
            },
            "websecure": {
                "address": ":443",
                "forwardedHeaders": {"trustedIPs": list(CLOUDFLARE_RANGES)},
                "http": {"middlewares": ["crowdsec@file", "security-headers@file"], "tls": {}},
            },
        },
        "api": {"dashboard": True},
        "ping": {},
        "providers": {"file": {"directory": "/etc/traefik/dynamic", "watch": True}},
        "experimental": {
            "plugins": {
                "crowdsec-bouncer": {
                    "moduleName": "github.com/maxlerebourg/crowdsec-bouncer-traefik-plugin",
                    "version": "v1.4.5",
                }
            }
        },
    }


def _router(sub: str, service: str, middlewares: list[str] | None = None, rule: str | None = None) -> dict[str, Any]:
    router: dict[str, Any] = {"rule": rule or f"Host(`{host(sub)}`)", "service": service, "entryPoints": ["websecure"]}
    if middlewares:
        router["middlewares"] = middlewares
    return router


def _backend(name: str, port: int) -> dict[str, Any]:
    return {"loadBalancer": {"servers": [{"url": f"http://{name}:{port}"}]}}


def traefik_dynamic() -> dict[str, Any]:
    return {
        "http": {
            "routers": {
                "traefik": _router("traefik", "api@internal", ["authelia@file"]),
                "authelia": _router("auth", "authelia"),
                "jellyfin": _router("jellyfin", "jellyfin", ["authelia@file"]),
                "jellyfin-bypass": _router(
                    "jellyfin",
                    "jellyfin",
                    rule=f"Host(`{host('jellyfin')}`) && PathRegexp(`^/Users/AuthenticateByName$`)",
                ),
                "sonarr": _router("sonarr", "sonarr", ["authelia@file"]),
            },
            "services": {
                "authelia": _backend("authelia", 9091),
                "jellyfin": _backend("jellyfin", 8096),
                "sonarr": _backend("sonarr", 8989),
            },
            "middlewares": {
                "authelia": {
                    "forwardAuth": {
                        "address": "http://authelia:9091/api/authz/forward-auth",
                        "trustForwardHeader": True,
                        "authResponseHeaders": ["Remote-User", "Remote-Groups", "Remote-Email", "Remote-Name"],
                    }
                },
                "crowdsec": {
                    "plugin": {
                        "crowdsec-bouncer": {
                            "enabled": True,
                            "crowdsecLapiHost": "crowdsec:8080",
                            "crowdsecLapiKeyFile": "/etc/traefik/secrets/crowdsec-lapi-key",
                            "forwardedHeadersTrustedIPs": list(CLOUDFLARE_RANGES),
                        }
                    }
                },
                "security-headers": {
                    "headers": {
                        "stsSeconds": 31536000,
                        "stsIncludeSubdomains": True,
                        "contentTypeNosniff": True,
                        "frameDeny": True,
                        "referrerPolicy": "same-origin",
                    }
                },
            },
        },
        "tls": {"options": {"default": {"minVersion": "VersionTLS12", "sniStrict": True}}},
    }


def traefik(static: dict[str, Any] | None = None, dynamic: dict[str, Any] | None = None, **changes: Any) -> Res:
    uploads = [
        {"file": "/etc/traefik/traefik.yml", "content": to_yaml(static if static is not None else traefik_static())},
        {
            "file": "/etc/traefik/dynamic/routes.yml",
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


SESSION_SECRET = "k3Q9vT2mXw8LrN5pZ1cY7bF4hJ6sD0aGeUiOqWxRtYuIoPlKjHgFdSaZxCvBnM12"
JWT_SECRET = "Pq7Wm2Xc9Vb4Nz1Lk8Jh3Gf6Ds5Ar0TyUiOpAsDfGhJkLzXcVbNmQwErTyUiOp34"
ENCRYPTION_KEY = "Zx8Cv2Bn5Mq1Wr7Et4Yu9Io3Pa6Sd0Fg"
SECRETS_DIR = "/config/secrets"
ARGON2_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"


def authelia_config() -> dict[str, Any]:
    return {
        "server": {"address": "tcp://:9091/"},
        "log": {"level": "info"},
        "authentication_backend": {
            "file": {
                "path": "/config/users_database.yml",
                "password": {
                    "algorithm": "argon2",
                    "argon2": {
                        "variant": "argon2id",
                        "iterations": 3,
                        "memory": 65536,
                        "parallelism": 4,
                        "key_length": 32,
                        "salt_length": 16,
                    },
                },
            }
        },
        "access_control": {
            "default_policy": "deny",
            "rules": [
                {"domain": host("auth"), "policy": "bypass"},
                {"domain": host("jellyfin"), "resources": ["^/Users/AuthenticateByName$"], "policy": "bypass"},
                {"domain": host("jellyfin"), "policy": "one_factor"},
                {"domain": [host("traefik"), host("sonarr")], "policy": "two_factor"},
            ],
        },
        "session": {
            "cookies": [{"domain": DOMAIN, "authelia_url": f"https://{host('auth')}"}],
            "redis": {"host": "redis", "port": 6379},
        },
        "regulation": {"max_retries": 3, "find_time": "2m", "ban_time": "5m"},
        "storage": {"postgres": {"address": "tcp://postgres:5432", "database": "authelia", "username": "authelia"}},
        "notifier": {"filesystem": {"filename": "/config/notification.txt"}},
    }


def users_database(digest: str = ARGON2_HASH) -> dict[str, Any]:
    return {"users": {"admin": {"displayname": "Admin", "password": digest, "email": f"admin@{DOMAIN}"}}}


def authelia(
    config: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    users: dict[str, Any] | None = None,
    **changes: Any,
) -> Res:
    files = {
        "session_secret": SESSION_SECRET,
        "jwt_secret": JWT_SECRET,
        "storage_encryption_key": ENCRYPTION_KEY,
        **(secrets or {}),
    }
    uploads = [
        {"file": "/config/configuration.yml", "content": to_yaml(config if config is not None else authelia_config())},
        {"file": "/config/users_database.yml", "content": to_yaml(users if users is not None else users_database())},
        *({"file": f"{SECRETS_DIR}/{name}", "content": value + "\n"} for name, value in sorted(files.items())),
    ]
    envs = [
        "TZ=Etc/UTC",
        f"AUTHELIA_SESSION_SECRET_FILE={SECRETS_DIR}/session_secret",
        f"AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET_FILE={SECRETS_DIR}/jwt_secret",
        f"AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE={SECRETS_DIR}/storage_encryption_key",
    ]
    base: dict[str, Any] = {
        "uploads": uploads,
        "envs": envs,
        "healthcheck": {"tests": ["CMD", "/app/healthcheck.sh"]},
        "networkMode": "ms-test-proxy",
    }
    base.update(changes)
    return container("authelia", "auth", **base)


def dns(sub: str, proxied: bool, zone: str = ZONE) -> Res:
    return Res(
        DNS_RECORD,
        f"edge-dns-{sub}",
        {"zoneId": zone, "name": host(sub), "type": "A", "content": "203.0.113.10", "ttl": 1, "proxied": proxied},
    )


def zone_setting(setting: str, value: Any, zone: str = ZONE) -> Res:
    return Res(ZONE_SETTING, f"edge-zone-{setting}", {"zoneId": zone, "settingId": setting, "value": value})


def zone_tls(zone: str = ZONE) -> list[Res]:
    return [
        zone_setting("ssl", "strict", zone),
        zone_setting("min_tls_version", "1.2", zone),
        zone_setting("always_use_https", "on", zone),
    ]


def waf(zone: str = ZONE) -> Res:
    return Res(
        RULESET,
        "edge-waf",
        {
            "zoneId": zone,
            "kind": "zone",
            "name": "media-server custom rules",
            "phase": "http_request_firewall_custom",
            "rules": [{"action": "managed_challenge", "expression": "(cf.threat_score gt 14)", "enabled": True}],
        },
    )


def rate_limit(expression: str = f'(http.host eq "{host("auth")}" and http.request.uri.path eq "/api/firstfactor")',
               zone: str = ZONE) -> Res:  # fmt: skip
    return Res(
        RULESET,
        "edge-rate-limit",
        {
            "zoneId": zone,
            "kind": "zone",
            "name": "auth portal",
            "phase": "http_ratelimit",
            "rules": [
                {
                    "action": "block",
                    "expression": expression,
                    "ratelimit": {
                        "characteristics": ["ip.src", "cf.colo.id"],
                        "period": 60,
                        "requestsPerPeriod": 10,
                        "mitigationTimeout": 600,
                    },
                }
            ],
        },
    )


def bot_management(fight_mode: bool, zone: str = ZONE) -> Res:
    return Res(BOT_MANAGEMENT, "edge-bots", {"zoneId": zone, "fightMode": fight_mode})


def cloudflare() -> list[Res]:
    """A compliant zone: proxied app records, DNS-only media, TLS settings, WAF and rate limit."""
    return [
        dns("auth", True),
        dns("sonarr", True),
        dns("jellyfin", False),
        *zone_tls(),
        waf(),
        rate_limit(),
        bot_management(False),
    ]


def edge() -> list[Res]:
    """The whole golden edge: Traefik, Authelia and the Cloudflare zone."""
    return [traefik(), authelia(), *cloudflare()]


def deep(value: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(value)

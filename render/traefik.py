"""Traefik's static and dynamic (file provider) configuration, as data.

Pure functions of settings + catalog; components/proxy.py serialises them
with render.serialise and uploads them into the Traefik container. Traefik
itself validates them in tests/realtool/test_traefik.py.
"""

from __future__ import annotations

from typing import Any

from config.data.cloudflare_ips import cloudflare_ranges
from config.settings import Settings
from render.routes import DASHBOARD_SERVICE, Route, behind_cloudflare, site_routes

STATIC_PATH = "/etc/traefik/traefik.yml"
DYNAMIC_DIR = "/etc/traefik/dynamic"
DYNAMIC_PATH = f"{DYNAMIC_DIR}/site.yml"
ACCESS_LOG = "/var/log/traefik/access.log"
ACME_STORAGE = "/etc/traefik/acme.json"
CLOUDFLARE_TOKEN_FILE = "/etc/traefik/secrets/cloudflare-dns-token"  # noqa: S105 - a path, not a secret
METRICS_PORT = 8082
RESOLVER = "letsencrypt"
STAGING_CA = "https://acme-staging-v02.api.letsencrypt.org/directory"

WEB, WEBSECURE, METRICS = "web", "websecure", "metrics"
HEADERS, CROWDSEC, AUTHELIA, NOT_FOUND = "security-headers", "crowdsec", "authelia", "not-found"
STRIP_IDENTITY = "strip-identity"
CLOUDFLARE_ONLY, LOGIN_LIMIT = "cloudflare-only", "login-rate-limit"
LOGIN_RATE = {"average": 10, "period": "1m", "burst": 5}
"""Login attempts per client address on a DNS-only host: 10 a minute on average, bursts of 5 (Traefik rateLimit)."""
AUTHELIA_AUTHZ = "http://authelia:9091/api/authz/forward-auth"
BOUNCER_AUTHZ = "http://crowdsec-bouncer:8080/api/v1/forwardAuth"
AUTH_RESPONSE_HEADERS = ["Remote-User", "Remote-Groups", "Remote-Email", "Remote-Name"]
AUTH_BODY_LIMIT = 1024 * 1024  # an auth server's answer (a redirect or a short page) is far smaller

# Modern TLS 1.2 suites (AEAD, forward secrecy); TLS 1.3 suites are not configurable in Go.
CIPHER_SUITES = [
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
]
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"


def identity_headers(settings: Settings) -> list[str]:
    """Headers that name the user: forward-auth's answer, and every header an enabled app trusts."""
    trusted = {spec.header_trust.header for spec in settings.enabled_services() if spec.header_trust is not None}
    return [*AUTH_RESPONSE_HEADERS, *sorted(trusted - set(AUTH_RESPONSE_HEADERS))]


def trusted_proxies(settings: Settings) -> list[str]:
    """Sources whose X-Forwarded-* headers Traefik (and the bouncer behind it) believe.

    Cloudflare's published ranges when records are proxied; the proxy network
    (where cloudflared runs) in tunnel mode; nobody otherwise.
    """
    cloudflare = settings.cloudflare
    if not (settings.tiers.edge and cloudflare.enabled):
        return []
    if cloudflare.mode == "tunnel":
        return [settings.networks.proxy.cidr]
    return cloudflare_ranges()


def _acme(settings: Settings) -> dict[str, Any]:
    acme: dict[str, Any] = {"storage": ACME_STORAGE}
    if settings.edge.acme.email:
        acme["email"] = settings.edge.acme.email
    if settings.edge.acme.staging:
        acme["caServer"] = STAGING_CA
    if settings.cloudflare.enabled:
        # DNS-01 through Cloudflare: works in tunnel mode and yields one wildcard certificate.
        acme["dnsChallenge"] = {"provider": "cloudflare", "resolvers": ["1.1.1.1:53", "1.0.0.1:53"]}
    else:
        acme["httpChallenge"] = {"entryPoint": WEB}
    return acme


def _websecure_tls(settings: Settings) -> dict[str, Any]:
    tls: dict[str, Any] = {"certResolver": RESOLVER}
    if settings.cloudflare.enabled:
        tls["domains"] = [{"main": settings.domain, "sans": [f"*.{settings.domain}"]}]
    return tls


def render_static(settings: Settings) -> dict[str, Any]:
    """traefik.yml: entry points, providers, ACME, logs, metrics. No Docker provider, no insecure API."""
    forwarded = {"trustedIPs": trusted_proxies(settings)}
    # Header names that alias a managed header (X_Forwarded_For for X-Forwarded-For) are dropped, not passed on.
    strict = {
        "aliasHeadersStrategy": "delete",
        "encodedCharacters": {"allowEncodedNullCharacter": False, "allowEncodedBackSlash": False},
    }
    return {
        "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
        "entryPoints": {
            WEB: {
                "address": ":80",
                "forwardedHeaders": forwarded,
                "http": {
                    "redirections": {"entryPoint": {"to": WEBSECURE, "scheme": "https", "permanent": True}},
                    "middlewares": [f"{STRIP_IDENTITY}@file", f"{HEADERS}@file"],
                    **strict,
                },
            },
            WEBSECURE: {
                "address": ":443",
                "forwardedHeaders": forwarded,
                # Entry-point middlewares run first on every router: no client-sent identity header gets past
                # Traefik, and forward-auth (authResponseHeaders) then sets them from Authelia's answer alone.
                "http": {"tls": _websecure_tls(settings), "middlewares": [f"{STRIP_IDENTITY}@file"], **strict},
                # Large uploads (photos, audiobooks) need longer than Traefik's 60 s default read timeout.
                "transport": {"respondingTimeouts": {"readTimeout": "600s", "idleTimeout": "180s"}},
            },
            METRICS: {"address": f":{METRICS_PORT}", "http": {"aliasHeadersStrategy": "delete"}},
        },
        "providers": {"file": {"directory": DYNAMIC_DIR, "watch": True}},
        "api": {"dashboard": True, "insecure": False, "disableDashboardAd": True},
        "ping": {"entryPoint": METRICS},
        "metrics": {
            "prometheus": {"entryPoint": METRICS, "addRoutersLabels": True, "addServicesLabels": True},
        },
        "log": {"level": "INFO", "format": "json"},
        "accessLog": {
            "filePath": ACCESS_LOG,
            "format": "json",
            "fields": {
                "defaultMode": "keep",
                "headers": {
                    "defaultMode": "drop",
                    "names": {"User-Agent": "keep", "Referer": "keep", "Content-Type": "keep"},
                },
            },
        },
        "certificatesResolvers": {RESOLVER: {"acme": _acme(settings)}},
    }


def _rule(route: Route) -> str:
    hosts = " || ".join(f"Host(`{host}`)" for host in route.hosts)
    host_rule = f"({hosts})" if len(route.hosts) > 1 else hosts
    if route.login is not None:
        return f"{host_rule} && Path(`{route.login}`)"
    if route.path is None:
        return host_rule
    return f"{host_rule} && PathRegexp(`{route.path}`)"


def origin_locked(settings: Settings, route: Route) -> bool:
    """Whether the route's hosts are proxied by Cloudflare in dns mode: then only Cloudflare may connect.

    (In tunnel mode cloudflared is the only peer and the host publishes no web port.)"""
    cloudflare = settings.cloudflare
    spec = settings.service(route.app)
    return cloudflare.mode == "dns" and behind_cloudflare(spec, settings)


def router_middlewares(route: Route, settings: Settings) -> list[str]:
    # The allow-list first: a request that did not come through Cloudflare is refused before anything else runs.
    middlewares = [CLOUDFLARE_ONLY] if origin_locked(settings, route) else []
    middlewares += [HEADERS, CROWDSEC]
    if route.login is not None:
        middlewares.append(LOGIN_LIMIT)
    return [*middlewares, AUTHELIA] if route.forward_auth else middlewares


def _middlewares(settings: Settings) -> dict[str, Any]:
    return {
        # An empty value deletes the request header (Traefik pkg/middlewares/headers, customRequestHeaders).
        STRIP_IDENTITY: {"headers": {"customRequestHeaders": dict.fromkeys(identity_headers(settings), "")}},
        HEADERS: {
            "headers": {
                "stsSeconds": settings.edge.hsts_seconds,
                "stsIncludeSubdomains": True,
                "stsPreload": settings.edge.hsts_preload,
                "contentTypeNosniff": True,
                "frameDeny": True,
                "referrerPolicy": "strict-origin-when-cross-origin",
                "permissionsPolicy": PERMISSIONS_POLICY,
                "customResponseHeaders": {"X-Powered-By": "", "Server": ""},
            }
        },
        CROWDSEC: {
            "forwardAuth": {
                "address": BOUNCER_AUTHZ,
                "trustForwardHeader": True,
                "maxResponseBodySize": AUTH_BODY_LIMIT,
            }
        },
        AUTHELIA: {
            "forwardAuth": {
                "address": AUTHELIA_AUTHZ,
                "trustForwardHeader": True,
                "authResponseHeaders": AUTH_RESPONSE_HEADERS,
                "maxResponseBodySize": AUTH_BODY_LIMIT,
            }
        },
        # The direct peer (no ipStrategy: the connection's remote address, never X-Forwarded-For) must be one of
        # Cloudflare's published addresses: nobody reaches a proxied hostname around Cloudflare's WAF and limits.
        CLOUDFLARE_ONLY: {"ipAllowList": {"sourceRange": cloudflare_ranges()}},
        # Per client address (the direct peer: these hosts are DNS-only, so the peer is the client).
        LOGIN_LIMIT: {"rateLimit": dict(LOGIN_RATE)},
        # A catch-all answers unknown hosts: noop@internal says 418, rewritten to 404, with the headers above.
        NOT_FOUND: {
            "errors": {"status": ["418"], "statusRewrites": {"418": 404}, "service": "noop@internal", "query": "/"}
        },
    }


def render_dynamic(settings: Settings) -> dict[str, Any]:
    """The file provider's document: one router per route, middlewares, services, TLS options."""
    routes = site_routes(settings)
    routers: dict[str, Any] = {}
    services: dict[str, Any] = {}
    for route in routes:
        service = route.backend if route.backend == DASHBOARD_SERVICE else route.app
        router: dict[str, Any] = {
            "rule": _rule(route),
            "entryPoints": [WEBSECURE],
            "middlewares": router_middlewares(route, settings),
            "service": service,
        }
        if route.path is not None:
            # Bypass routers must win over the app's SSO router for their paths.
            router["priority"] = 1000 + len(_rule(route))
        if route.login is not None:
            # A login endpoint wins over the bypass path that may cover it.
            router["priority"] = 3000 + len(_rule(route))
        routers[route.name] = router
        if route.backend != DASHBOARD_SERVICE:
            services[route.app] = {"loadBalancer": {"servers": [{"url": route.backend}], "passHostHeader": True}}
    routers["unknown-host"] = {
        "rule": "PathPrefix(`/`)",
        "priority": 1,
        "entryPoints": [WEBSECURE],
        "middlewares": [HEADERS, NOT_FOUND],
        "service": "noop@internal",
    }
    return {
        "http": {"routers": routers, "middlewares": _middlewares(settings), "services": services},
        "tls": {
            "options": {
                "default": {
                    "minVersion": "VersionTLS12",
                    "sniStrict": True,
                    "cipherSuites": CIPHER_SUITES,
                    "curvePreferences": ["X25519", "CurveP256", "CurveP384"],
                }
            }
        },
    }


def bouncer_trusted_proxies(settings: Settings) -> list[str]:
    """The bouncer sees Traefik (proxy network) as its peer, then the same trusted set as Traefik."""
    return [settings.networks.proxy.cidr, *(r for r in trusted_proxies(settings) if r != settings.networks.proxy.cidr)]

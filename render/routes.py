"""Routes: the one projection of catalog + settings that Traefik, Authelia and Cloudflare all read.

Every enabled app with a subdomain gets a route on `<subdomain>.<domain>`
(and the apex when its entry says so) with the entry's effective auth policy;
every bypass path the entry declares gets its own route with policy bypass.
Nothing else skips single sign-on. An app whose record is not proxied by
Cloudflare (DNS-only, or no Cloudflare at all) also gets a route per login
endpoint of its own, which Traefik rate-limits: Cloudflare's limit never sees
those requests.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.pathregex import matches
from config.settings import Settings
from config.spec import AuthPolicy, ServiceSpec

DASHBOARD_SERVICE = "api@internal"
"""Traefik's own API and dashboard: the traefik entry routes here, never to a port."""


def admins_group(settings: Settings) -> str:
    """The group whose members may use admin apps: LLDAP's built-in admin group, or the file backend's."""
    return "lldap_admin" if settings.edge.auth.backend == "ldap" else "admins"


@dataclass(frozen=True, order=True)
class Route:
    name: str
    """Router name: the app's catalog name, or `<app>-bypass-<n>`."""
    app: str
    hosts: tuple[str, ...]
    path: str | None
    """URL path regex (RE2) for a bypass route; None = every path of the hosts."""
    policy: AuthPolicy
    backend: str
    """Traefik service target: http://<alias>:<port>, or api@internal for the dashboard."""
    admin: bool
    login: str | None = None
    """For a login route: the exact path of the app's login endpoint (rate-limited); its policy is the one the
    path already has (bypass when a bypass path covers it)."""

    @property
    def forward_auth(self) -> bool:
        return self.policy is not AuthPolicy.BYPASS


def hosts_of(spec: ServiceSpec, settings: Settings) -> tuple[str, ...]:
    hosts = (f"{spec.subdomain}.{settings.domain}",)
    return (*hosts, settings.domain) if spec.apex else hosts


def backend_of(spec: ServiceSpec) -> str:
    if spec.name == "traefik":
        return DASHBOARD_SERVICE
    # An app sharing another container's network namespace is reached through that container's alias.
    return f"http://{spec.route_via or spec.name}:{spec.port}"


def routed_services(settings: Settings) -> list[ServiceSpec]:
    """Enabled apps with a web route (an app whose tier is off has none)."""
    return [spec for spec in settings.enabled_services() if spec.routed]


def _route(
    spec: ServiceSpec, settings: Settings, name: str, path: str | None, policy: AuthPolicy, login: str | None = None
) -> Route:
    return Route(
        name=name,
        app=spec.name,
        hosts=hosts_of(spec, settings),
        path=path,
        policy=policy,
        backend=backend_of(spec),
        admin=spec.admin,
        login=login,
    )


def behind_cloudflare(spec: ServiceSpec, settings: Settings) -> bool:
    """Whether every request for the app's hosts comes through Cloudflare's proxy (orange cloud or tunnel)."""
    return settings.tiers.edge and settings.cloudflare.enabled and settings.cloudflare_proxied(spec)


def _login_routes(spec: ServiceSpec, settings: Settings) -> list[Route]:
    if behind_cloudflare(spec, settings):
        return []
    routes = []
    for i, path in enumerate(spec.login_paths, start=1):
        bypassed = any(matches(pattern, path) for pattern in spec.bypass_paths)
        policy = AuthPolicy.BYPASS if bypassed else spec.effective_auth
        routes.append(_route(spec, settings, f"{spec.name}-login-{i}", None, policy, login=path))
    return routes


def site_routes(settings: Settings) -> list[Route]:
    """Every route of the site, apps in catalog order, each app's bypass routes after it."""
    routes: list[Route] = []
    for spec in routed_services(settings):
        routes.append(_route(spec, settings, spec.name, None, spec.effective_auth))
        if spec.effective_auth is not AuthPolicy.BYPASS:
            routes.extend(
                _route(spec, settings, f"{spec.name}-bypass-{i}", path, AuthPolicy.BYPASS)
                for i, path in enumerate(spec.bypass_paths, start=1)
            )
        routes.extend(_login_routes(spec, settings))
    return routes


def auth_portal_host(settings: Settings) -> str:
    """Authelia's portal: the public app of the auth tier."""
    spec = settings.service("authelia")
    return f"{spec.subdomain}.{settings.domain}"


def route_table(routes: list[Route]) -> list[dict[str, str]]:
    """Plain rows for reports and the stack's `routes` export."""
    return [
        {
            "router": r.name,
            "hosts": ", ".join(r.hosts),
            "path": r.login or r.path or "/*",
            "policy": r.policy.value,
            "backend": r.backend,
        }
        for r in routes
    ]

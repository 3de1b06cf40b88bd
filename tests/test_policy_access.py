"""MS-029 (identity headers stripped, trusted only from Traefik) and MS-030 (bypass paths narrow), over the edge
layer's real configuration for the prod site, one mutation at a time."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from config.ingress import ingress_address, ingress_trust
from render import authelia as render_authelia
from render import traefik as render_traefik
from tests import policy_fixtures as fx
from tests.edge_support import stack_settings
from tests.policy_harness import Res, check, container

SITE = stack_settings("prod")
PROXY = fx.PROXY_NETWORK


def _traefik(
    static: dict[str, Any] | None = None, dynamic: dict[str, Any] | None = None, address: str | None = None
) -> Res:
    proxy = {"name": PROXY, "aliases": ["traefik"]}
    if address is not None:
        proxy["ipv4Address"] = address
    return fx.traefik(
        static=static if static is not None else render_traefik.render_static(SITE),
        dynamic=dynamic if dynamic is not None else render_traefik.render_dynamic(SITE),
        networksAdvanced=[proxy],
    )


def _navidrome(trusted: str | None) -> Res:
    envs = ["TZ=Etc/UTC", "ND_MUSICFOLDER=/music"] + ([f"ND_REVERSEPROXYWHITELIST={trusted}"] if trusted else [])
    return container("navidrome", "media", envs=envs)


def _authelia(config: dict[str, Any] | None = None) -> Res:
    return fx.authelia(config=config or render_authelia.render_configuration(SITE, "authelia", "authelia"))


def stack(
    traefik: Res | None = None, trusted: str | None = "default", authelia_config: dict[str, Any] | None = None
) -> list[Res]:
    value = ingress_trust(SITE) if trusted == "default" else trusted
    return [
        traefik or _traefik(address=ingress_address(SITE)),
        _navidrome(value),
        fx.proxy_network(),
        _authelia(authelia_config),
    ]


def found(resources: list[Res], rule: str) -> list[str]:
    return [v.message for v in check(*resources).violations if v.rule == rule]


def test_the_prod_edge_passes_both_rules() -> None:
    assert found(stack(), "MS-029") == [] and found(stack(), "MS-030") == []


def test_routes_to_navidrome_without_the_strip_fail() -> None:
    static = render_traefik.render_static(SITE)
    for entry_point in static["entryPoints"].values():
        entry_point.get("http", {}).pop("middlewares", None)
    messages = found(stack(traefik=_traefik(static=static, address=ingress_address(SITE))), "MS-029")
    routers = {m.split()[1] for m in messages}
    assert routers == {"navidrome", "navidrome-bypass-1", "navidrome-bypass-2", "navidrome-login-1"}
    assert all("Remote-Email, Remote-Groups, Remote-Name, Remote-User" in m.title() for m in messages)


def test_a_strip_after_forward_auth_does_not_count() -> None:
    static = render_traefik.render_static(SITE)
    static["entryPoints"]["websecure"]["http"].pop("middlewares")
    dynamic = render_traefik.render_dynamic(SITE)
    router = dynamic["http"]["routers"]["navidrome"]
    router["middlewares"] = [*router["middlewares"], render_traefik.STRIP_IDENTITY]
    dynamic["http"]["routers"]["navidrome-bypass-1"]["middlewares"].insert(0, render_traefik.STRIP_IDENTITY)
    dynamic["http"]["routers"]["navidrome-bypass-2"]["middlewares"].insert(0, render_traefik.STRIP_IDENTITY)
    messages = found(stack(traefik=_traefik(static=static, dynamic=dynamic, address=ingress_address(SITE))), "MS-029")
    assert [m.split()[1] for m in messages] == ["navidrome", "navidrome-login-1"]


@pytest.mark.parametrize("trusted", ["0.0.0.0/0", SITE.networks.proxy.cidr, "10.10.0.1/32"])
def test_a_trust_list_wider_than_traefik_fails(trusted: str) -> None:
    (message,) = found(stack(trusted=trusted), "MS-029")
    assert f"trusts {trusted}" in message and ingress_address(SITE) in message


def test_traefik_without_a_fixed_address_fails() -> None:
    (message,) = found(stack(traefik=_traefik(address=None)), "MS-029")
    assert "Traefik has no fixed address" in message


def test_navidrome_without_a_trust_list_trusts_no_header() -> None:
    assert found(stack(trusted=None), "MS-029") == []


@pytest.mark.parametrize(
    ("path", "words"),
    [("^/api|.*", "not anchored as a whole"), ("^/.*$", "matches /"), ("^/rest", "not anchored"), ("^/(a|.*)$", "/")],
)
def test_a_wide_bypass_router_fails(path: str, words: str) -> None:
    dynamic = render_traefik.render_dynamic(SITE)
    router = dynamic["http"]["routers"]["navidrome-bypass-1"]
    router["rule"] = f"Host(`music.{SITE.domain}`) && PathRegexp(`{path}`)"
    messages = found(stack(traefik=_traefik(dynamic=dynamic, address=ingress_address(SITE))), "MS-030")
    assert len(messages) == 1 and words in messages[0] and "navidrome-bypass-1" in messages[0]


def test_a_bypass_on_an_app_without_login_fails() -> None:
    dynamic = render_traefik.render_dynamic(SITE)
    routers = dynamic["http"]["routers"]
    bypass = copy.deepcopy(routers["navidrome-bypass-1"])
    bypass["rule"] = f"Host(`prometheus.{SITE.domain}`) && PathRegexp(`^/api/v1/query$`)"
    bypass["service"] = "prometheus"
    routers["prometheus-bypass-1"] = bypass
    (message,) = found(stack(traefik=_traefik(dynamic=dynamic, address=ingress_address(SITE))), "MS-030")
    assert "prometheus has no login of its own" in message


def test_an_authelia_resource_a_query_can_widen_fails() -> None:
    config = render_authelia.render_configuration(SITE, "authelia", "authelia")
    rules = config["access_control"]["rules"]
    (jellyfin_assets,) = [r for r in rules if "resources" in r and "web/" in r["resources"][0]]
    jellyfin_assets["resources"] = [r"^/(Items|web/.*\.(js|css))(/.*)?(\?.*)?$"]
    (message,) = found(stack(authelia_config=config), "MS-030")
    assert "a query widens the bypass" in message


MS_029 = "ms-029-identity-headers-stripped"


def _trust_messages(trusted: str, config: dict[str, Any] | None = None, *extra: Res) -> list[str]:
    resources = [*stack(trusted=trusted), *extra]
    return [v.message for v in check(*resources, config=config).violations if v.rule == "MS-029"]


def test_every_entry_of_a_trust_list_is_judged_even_after_one_that_is_no_address() -> None:
    address = ingress_address(SITE)
    (message,) = _trust_messages(f"traefik,0.0.0.0/0,{address}/32")
    assert message.startswith(
        f"navidrome (ND_REVERSEPROXYWHITELIST) trusts traefik, 0.0.0.0/0, wider than Traefik's own address "
        f"({address}/32): any container beside it can claim any user"
    )


def test_an_app_not_deployed_or_without_a_trust_list_does_not_end_the_check() -> None:
    trust = {
        "audiobookshelf": {"header": "X-Remote-User", "env": "ABS_TRUSTED_PROXIES"},  # not deployed
        "jellyfin": {"header": "Remote-User", "env": "JELLYFIN_TRUSTED_PROXIES"},  # deployed, no list
        "navidrome": {"header": "Remote-User", "env": "ND_REVERSEPROXYWHITELIST"},
    }
    jellyfin = container("jellyfin", "media")
    (message,) = _trust_messages("0.0.0.0/0", {MS_029: {"headerTrust": trust}}, jellyfin)
    assert message.startswith("navidrome (ND_REVERSEPROXYWHITELIST) trusts 0.0.0.0/0,")


@pytest.mark.parametrize("path", ["^(/api/.*)$", "^/rest/.*$", "^/share/[a-z0-9]+(\\?.*)?$"])
def test_a_narrow_bypass_router_passes(path: str) -> None:
    dynamic = render_traefik.render_dynamic(SITE)
    router = dynamic["http"]["routers"]["navidrome-bypass-1"]
    router["rule"] = f"Host(`music.{SITE.domain}`) && PathRegexp(`{path}`)"
    assert found(stack(traefik=_traefik(dynamic=dynamic, address=ingress_address(SITE))), "MS-030") == []


@pytest.mark.parametrize(
    ("matcher", "why"),
    [("PathPrefix(`/rest`)", "PathPrefix(/rest) reaches beyond one API path"), ("Path(`/admin`)", "is /admin")],
)
def test_a_prefix_or_an_sso_path_bypass_says_why(matcher: str, why: str) -> None:
    dynamic = render_traefik.render_dynamic(SITE)
    router = dynamic["http"]["routers"]["navidrome-bypass-1"]
    router["rule"] = f"Host(`music.{SITE.domain}`) && {matcher}"
    fn, arg = matcher.rstrip("`)").split("(`")
    assert found(stack(traefik=_traefik(dynamic=dynamic, address=ingress_address(SITE))), "MS-030") == [
        f"router navidrome-bypass-1 skips forward-auth for {fn}({arg}) of navidrome, which {why}; fix: an anchored "
        "API path such as ^/api/.*$"
    ]


def test_an_internal_service_route_without_forward_auth_is_judged() -> None:
    dynamic = render_traefik.render_dynamic(SITE)
    routers = dynamic["http"]["routers"]
    routers["traefik-bypass-1"] = {
        **routers["traefik"],
        "rule": f"Host(`traefik.{SITE.domain}`) && PathRegexp(`^/api/.*$`)",
        "middlewares": ["security-headers", "crowdsec"],
    }
    (message,) = found(stack(traefik=_traefik(dynamic=dynamic, address=ingress_address(SITE))), "MS-030")
    assert message.startswith("router traefik-bypass-1 lets paths of traefik skip forward-auth, but traefik has no")


@pytest.mark.parametrize(
    ("resource", "widened"),
    [
        ("^/api/.*$", True),  # . matches ?
        ("^/a\\?b(\\?.*)?$", True),  # an escaped ? is a ?
        ("^/a\\Sb$", True),
        ("^/a\\Db$", True),
        ("^/[^/]+$", True),  # a negated class without ?
        ("^/[a?]$", True),  # a class with ?
        ("^/[ab].x$", True),  # . right after a class
        ("^/[a]/[^/]+$", True),  # the second class is read from its own [
        ("^/[^/?]+(\\?.*)?$", False),
        ("^/[^\\?/]+$", False),
        ("^/[-_.]+/x$", False),  # . inside a class is a literal .
        ("^/a\\.b\\/c$", False),  # escaped . and /
        ("^/a\\.", False),  # an escaped . at the very end
        ("^/[a-z]+/[0-9]+(\\?.*)?$", False),
    ],
)
def test_which_authelia_resources_a_query_can_widen(resource: str, widened: bool) -> None:
    from policies.rules.access import _consumes_query

    assert _consumes_query(resource) is widened

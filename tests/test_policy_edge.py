"""Traefik and Authelia rules (MS-018 to MS-024) over the edge layer's real configuration, one mutation at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from render.routes import site_routes
from tests import policy_fixtures as fx
from tests.policy_harness import Res, check, container, labels, messages, rules

WHY = "the documented reason for this exception"


def ingress(traefik: Res | None = None, bouncer: Res | None = None) -> list[Res]:
    """Traefik, its forward-auth bouncer and the network they share."""
    return [traefik or fx.traefik(), bouncer or fx.bouncer(), fx.proxy_network()]


def with_static(mutate: Callable[[dict[str, Any]], None]) -> list[Res]:
    static = fx.traefik_static()
    mutate(static)
    return [*ingress(fx.traefik(static=static)), fx.authelia()]


def with_dynamic(mutate: Callable[[dict[str, Any]], None]) -> list[Res]:
    dynamic = fx.traefik_dynamic()
    mutate(dynamic)
    return [*ingress(fx.traefik(dynamic=dynamic)), fx.authelia()]


def with_authelia(mutate: Callable[[dict[str, Any]], None]) -> list[Res]:
    config = fx.authelia_config()
    mutate(config)
    return [*ingress(), fx.authelia(config=config)]


def with_bouncer(bouncer: Res) -> list[Res]:
    return [*ingress(bouncer=bouncer), fx.authelia()]


def test_golden_edge_passes_every_rule() -> None:
    verdict = check(*fx.edge())
    assert verdict.violations == [] and verdict.not_run == []


def test_golden_edge_is_the_edge_layers_own_output() -> None:
    """The shapes the rules must read: routers carry their middlewares, the bouncer is a forward-auth service,
    Authelia's bypass resources also match a query string."""
    dynamic = fx.traefik_dynamic()
    assert dynamic["http"]["routers"]["sonarr"]["middlewares"] == fx.app_middlewares()
    assert "forwardAuth" in dynamic["http"]["middlewares"]["crowdsec"]
    assert dynamic["http"]["routers"][BYPASS]["rule"].endswith("PathRegexp(`^/Users/AuthenticateByName$`)")
    config = fx.authelia_config()
    bypass = config["access_control"]["rules"][fx.access_rule_index(config, fx.host("jellyfin"), bypass=True)]
    assert bypass["resources"] == [r"^/Users/AuthenticateByName(\?.*)?$"]


def test_absent_edge_configuration_passes() -> None:
    """The edge layer may not have landed: Traefik and Authelia containers without config are not judged."""
    bare = [container("traefik", "edge"), container("authelia", "auth")]
    assert check(*bare).violations == []


def _set(path: list[str], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value

    return mutate


def _drop(path: list[str]) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


# ------------------------------------------------------------------ MS-018
@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(with_static(_set(["api", "insecure"], True)), id="api.insecure"),
        pytest.param(with_static(_set(["providers", "docker"], {})), id="docker provider exposes by default"),
        pytest.param(
            with_static(_set(["providers", "docker"], {"exposedByDefault": True})), id="exposedByDefault true"
        ),
        pytest.param(with_static(_set(["providers", "swarm"], {"endpoint": "tcp://x:2375"})), id="swarm provider"),
        pytest.param(with_dynamic(_drop(["http", "routers", "traefik", "middlewares"])), id="dashboard without auth"),
        pytest.param([fx.traefik(command=["--api.insecure=true"]), fx.authelia()], id="cli api.insecure"),
        pytest.param([fx.traefik(envs=["TRAEFIK_API_INSECURE=true"]), fx.authelia()], id="env api.insecure"),
    ],
)
def test_traefik_api_and_providers(resources: list[Res]) -> None:
    found = rules(*resources)
    # An *INSECURE* switch in env is also MS-032's (a container's env cannot weaken it).
    assert "MS-018" in found and found <= {"MS-018", "MS-021", "MS-032"}


def test_docker_provider_with_exposed_by_default_false_passes() -> None:
    assert rules(*with_static(_set(["providers", "docker"], {"exposedByDefault": False}))) == set()


def test_dashboard_behind_basic_auth_passes_ms_018() -> None:
    def basic(doc: dict[str, Any]) -> None:
        doc["http"]["middlewares"]["admin-auth"] = {"basicAuth": {"usersFile": "/etc/traefik/users"}}
        doc["http"]["routers"]["traefik"]["middlewares"] = ["admin-auth"]

    assert "MS-018" not in rules(*with_dynamic(basic))


def test_invalid_traefik_yaml_is_reported() -> None:
    res = fx.traefik()
    res.inputs["uploads"][1]["content"] = "http: [unclosed"
    assert "MS-018" in rules(res)


# ------------------------------------------------------------------ MS-019
@pytest.mark.parametrize("version", ["VersionTLS10", "VersionTLS11", "VersionSSL30"])
def test_tls_below_1_2_is_mandatory(version: str) -> None:
    verdict = check(*with_dynamic(_set(["tls", "options", "default", "minVersion"], version)))
    assert [(v.rule, v.level) for v in verdict.violations] == [("MS-019", "mandatory")]


def test_tls_max_version_below_1_2_is_mandatory() -> None:
    assert rules(*with_dynamic(_set(["tls", "options", "legacy"], {"maxVersion": "VersionTLS11"}))) == {"MS-019"}


def test_sni_strict_is_advisory() -> None:
    verdict = check(*with_dynamic(_set(["tls", "options", "default", "sniStrict"], False)))
    assert [(v.rule, v.level) for v in verdict.violations] == [("MS-019", "advisory")]
    verdict = check(*with_dynamic(_drop(["tls"])))
    assert [(v.rule, v.level) for v in verdict.violations] == [("MS-019", "advisory")]


# ------------------------------------------------------------------ MS-020
WEBSECURE = ["entryPoints", "websecure"]
CLOUDFLARE = [r for r in fx.bouncer_trusted() if r != fx.SITE.networks.proxy.cidr]


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(with_static(_set([*WEBSECURE, "forwardedHeaders", "insecure"], True)), id="insecure"),
        pytest.param(with_static(_set([*WEBSECURE, "proxyProtocol"], {"insecure": True})), id="proxyProtocol"),
        pytest.param(
            with_static(_set([*WEBSECURE, "forwardedHeaders", "trustedIPs"], ["0.0.0.0/0"])), id="everyone trusted"
        ),
        pytest.param(
            with_static(_set([*WEBSECURE, "forwardedHeaders", "trustedIPs"], ["192.168.1.0/24"])), id="not cloudflare"
        ),
        pytest.param(with_bouncer(fx.bouncer(set_trusted=False)), id="bouncer trusts everyone by default"),
        pytest.param(with_bouncer(fx.bouncer([*fx.bouncer_trusted(), "0.0.0.0/0"])), id="bouncer trusts 0.0.0.0/0"),
        pytest.param(with_bouncer(fx.bouncer([fx.SITE.networks.proxy.cidr])), id="bouncer misses cloudflare"),
        pytest.param(with_bouncer(fx.bouncer(CLOUDFLARE)), id="bouncer misses traefik's network"),
        pytest.param(
            with_bouncer(fx.bouncer([*fx.bouncer_trusted(), "192.168.1.0/24"])), id="bouncer trusts another range"
        ),
    ],
)
def test_forwarded_headers_trusted_only_from_proxy_ranges(resources: list[Res]) -> None:
    assert rules(*resources) == {"MS-020"}


def test_bouncer_without_traefiks_network_bans_nobody() -> None:
    verdict = check(*with_bouncer(fx.bouncer(CLOUDFLARE)))
    assert [v.resource for v in verdict.violations] == ["edge-crowdsec-bouncer-container"]
    assert "takes Traefik for the client and bans nobody" in verdict.violations[0].message


def test_bouncer_set_may_be_written_in_another_order_or_form() -> None:
    shuffled = [*reversed(CLOUDFLARE), "10.10.0.0/24"]
    assert rules(*with_bouncer(fx.bouncer(shuffled))) == set()


def test_bouncer_not_deployed_by_the_stack_is_not_judged() -> None:
    """An external bouncer's settings are not visible: only Traefik's side is checked."""
    assert rules(*ingress()[::2], fx.authelia()) == set()


def _plugin_bouncer(dynamic: dict[str, Any]) -> None:
    """The other bouncer shape the rule reads: Traefik's CrowdSec plugin instead of a forward-auth service."""
    dynamic["http"]["middlewares"]["crowdsec"] = {
        "plugin": {
            "crowdsec-bouncer": {
                "enabled": True,
                "crowdsecLapiHost": "crowdsec:8080",
                "forwardedHeadersTrustedIPs": CLOUDFLARE,
            }
        }
    }


def with_plugin(change: Callable[[dict[str, Any]], None] | None = None) -> list[Res]:
    static = fx.traefik_static()
    static["experimental"] = {
        "plugins": {"crowdsec-bouncer": {"moduleName": "github.com/maxlerebourg/crowdsec-bouncer-traefik-plugin",
                                         "version": "v1.4.5"}}
    }  # fmt: skip
    dynamic = fx.traefik_dynamic()
    _plugin_bouncer(dynamic)
    if change is not None:
        change(dynamic)
    return [fx.traefik(static=static, dynamic=dynamic), fx.authelia()]


PLUGIN = ["http", "middlewares", "crowdsec", "plugin", "crowdsec-bouncer"]


def test_plugin_bouncer_trusting_the_same_set_passes() -> None:
    assert rules(*with_plugin()) == set()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_set([*PLUGIN, "forwardedHeadersTrustedIPs"], []), id="plugin trusts another set"),
        pytest.param(_set([*PLUGIN, "clientTrustedIPs"], ["::/0"]), id="plugin exempts everyone"),
    ],
)
def test_plugin_bouncer_trusts_the_entry_points_set(change: Callable[[dict[str, Any]], None]) -> None:
    assert rules(*with_plugin(change)) == {"MS-020"}


def test_extra_trusted_range_needs_a_justified_entry_for_the_proxy() -> None:
    lan = "192.168.50.0/24"
    static = fx.traefik_static()
    static["entryPoints"]["websecure"]["forwardedHeaders"]["trustedIPs"].append(lan)
    resources = [*ingress(fx.traefik(static=static), fx.bouncer([*fx.bouncer_trusted(), lan])), fx.authelia()]
    assert rules(*resources) == {"MS-020"}
    entry = {"ranges": ["192.168.0.0/16"], "justification": WHY}
    assert rules(*resources, config={"ms-020-traefik-forwarded-headers": {"allowlist": {"traefik": entry}}}) == set()
    other = {"ms-020-traefik-forwarded-headers": {"allowlist": {"crowdsec": entry}}}
    assert rules(*resources, config=other) == {"MS-020"}


def test_extra_bouncer_range_needs_a_justified_entry_for_the_bouncer() -> None:
    resources = with_bouncer(fx.bouncer([*fx.bouncer_trusted(), "10.10.9.0/24"]))
    assert rules(*resources) == {"MS-020"}
    entry = {"ranges": ["10.10.9.0/24"], "justification": WHY}
    config = {"ms-020-traefik-forwarded-headers": {"allowlist": {"crowdsec-bouncer": entry}}}
    assert rules(*resources, config=config) == set()


# ------------------------------------------------------------------ MS-021
def _middlewares(router: str, middlewares: list[str]) -> Callable[[dict[str, Any]], None]:
    return _set(["http", "routers", router, "middlewares"], middlewares)


def test_router_without_forward_auth_or_crowdsec_is_mandatory() -> None:
    no_auth = check(*with_dynamic(_middlewares("sonarr", ["security-headers", "crowdsec"])))
    assert [(v.rule, v.level) for v in no_auth.violations] == [("MS-021", "mandatory")]
    assert "router sonarr serves sonarr without forward-auth" in no_auth.violations[0].message

    verdict = check(*with_dynamic(_middlewares("sonarr", ["security-headers", "authelia"])))
    assert [(v.rule, v.level) for v in verdict.violations] == [("MS-021", "mandatory")]
    assert "router sonarr (sonarr) has no CrowdSec middleware" in verdict.violations[0].message


def test_bypass_router_still_needs_crowdsec() -> None:
    verdict = check(*with_dynamic(_middlewares("jellyfin-bypass-1", ["security-headers"])))
    assert [(v.rule, v.level) for v in verdict.violations] == [("MS-021", "mandatory")]
    assert "no CrowdSec middleware" in verdict.violations[0].message


def test_middlewares_on_the_entry_point_count() -> None:
    def on_entry_point(dynamic: dict[str, Any]) -> None:
        dynamic["http"]["routers"]["sonarr"]["middlewares"] = ["authelia"]

    static = fx.traefik_static()
    static["entryPoints"]["websecure"]["http"]["middlewares"] = ["security-headers@file", "crowdsec@file"]
    dynamic = fx.traefik_dynamic()
    on_entry_point(dynamic)
    assert rules(*ingress(fx.traefik(static=static, dynamic=dynamic)), fx.authelia()) == set()


def test_middleware_chains_count() -> None:
    def chained(doc: dict[str, Any]) -> None:
        doc["http"]["middlewares"]["secure-app"] = {"chain": {"middlewares": ["crowdsec", "authelia"]}}
        doc["http"]["routers"]["sonarr"]["middlewares"] = ["security-headers", "secure-app@file"]

    assert rules(*with_dynamic(chained)) == set()


def test_security_headers_are_advisory() -> None:
    verdict = check(*with_dynamic(_middlewares("sonarr", ["crowdsec", "authelia"])))
    assert {(v.rule, v.level) for v in verdict.violations} == {("MS-021", "advisory")}


BYPASS = "jellyfin-bypass-1"
"""The edge layer's router for Jellyfin's login API, Host && PathRegexp of a catalog bypass path."""


def test_bypass_router_only_for_declared_paths() -> None:
    rule = ["http", "routers", BYPASS, "rule"]
    undeclared = f"Host(`{fx.host('jellyfin')}`) && PathPrefix(`/`)"
    verdict = check(*with_dynamic(_set(rule, undeclared)))
    assert verdict.rule_ids() == ["MS-021", "MS-030"]  # MS-030: PathPrefix(`/`) is no API path either
    assert "not a declared bypass path" in messages(verdict, "MS-021")[0]
    wider = f"Host(`{fx.host('jellyfin')}`) || PathRegexp(`^/Users/AuthenticateByName$`)"
    assert rules(*with_dynamic(_set(rule, wider))) == {"MS-021"}
    other = f"Host(`{fx.host('jellyfin')}`) && PathRegexp(`^/Users/.*$`)"
    assert rules(*with_dynamic(_set(rule, other))) == {"MS-021"}
    paths = "PathRegexp(`^/Users/AuthenticateByName$`) || Path(`/Users/AuthenticateByName`)"
    several = f"Host(`{fx.host('jellyfin')}`) && ({paths})"
    assert rules(*with_dynamic(_set(rule, several))) == set()


def test_bypass_path_declared_for_another_host_does_not_count() -> None:
    sonarr_api = f"Host(`{fx.host('jellyfin')}`) && PathRegexp(`^/api/v[0-9]+/.*$`)"
    assert rules(*with_dynamic(_set(["http", "routers", BYPASS, "rule"], sonarr_api))) == {"MS-021"}


def test_authelia_resource_matches_the_path_with_or_without_a_query() -> None:
    """Authelia matches path and query, Traefik the path: `^/x(\\?.*)?$` and `^/x$` declare the same path."""

    def plain(config: dict[str, Any]) -> None:
        i = fx.access_rule_index(config, fx.host("jellyfin"), bypass=True)
        config["access_control"]["rules"][i]["resources"] = ["^/Users/AuthenticateByName$"]

    assert rules(*with_authelia(plain)) == set()


def test_bypass_paths_come_from_authelia_or_a_justified_entry() -> None:
    def no_jellyfin_bypass(config: dict[str, Any]) -> None:
        config["access_control"]["rules"] = [
            r
            for r in config["access_control"]["rules"]
            if not ("resources" in r and fx.host("jellyfin") in r["domain"])
        ]

    resources = with_authelia(no_jellyfin_bypass)
    verdict = check(*resources)
    # Both Jellyfin bypass routers, and its login route (DNS-only), which skips SSO because a bypass covers it.
    assert verdict.rule_ids() == ["MS-021"] and len(verdict.violations) == 3
    paths = [r.path for r in site_routes(fx.SITE) if r.app == "jellyfin" and r.path]
    entry = {"bypassPaths": paths, "justification": WHY}
    assert rules(*resources, config={"ms-021-routes-forward-auth": {"allowlist": {"jellyfin": entry}}}) == set()
    assert rules(*resources, config={"ms-021-routes-forward-auth": {"allowlist": {"sonarr": entry}}}) == {"MS-021"}


def test_public_app_needs_a_justified_entry() -> None:
    def status_page(doc: dict[str, Any]) -> None:
        doc["http"]["routers"]["status"] = {
            "rule": f"Host(`{fx.host('status')}`)",
            "service": "uptime",
            "middlewares": ["security-headers"],
        }
        doc["http"]["services"]["uptime"] = {"loadBalancer": {"servers": [{"url": "http://uptime:3001"}]}}

    resources = with_dynamic(status_page)
    assert rules(*resources) == {"MS-021"}
    public = {"public": True, "justification": WHY}
    assert rules(*resources, config={"ms-021-routes-forward-auth": {"allowlist": {"uptime": public}}}) == set()
    assert rules(*resources, config={"ms-021-routes-forward-auth": {"allowlist": {"jellyfin": public}}}) == {"MS-021"}


def test_label_routers_count_when_the_docker_provider_is_on() -> None:
    static = fx.traefik_static()
    static["providers"]["docker"] = {"exposedByDefault": False}
    labelled = container("whoami", "media")
    labelled.inputs["labels"] += [
        {"label": "traefik.enable", "value": "true"},
        {"label": "traefik.http.routers.whoami.rule", "value": f"Host(`{fx.host('whoami')}`)"},
    ]
    verdict = check(*ingress(fx.traefik(static=static)), fx.authelia(), labelled)
    assert verdict.rule_ids() == ["MS-021"]
    assert any("router whoami serves whoami without forward-auth" in m for m in messages(verdict, "MS-021"))


# ------------------------------------------------------------------ MS-022
@pytest.mark.parametrize(
    ("secrets", "fragment"),
    [
        ({"session": "s" * 10 + "abcdefghijklmnop"}, "has 26 characters"),
        ({"jwt": fx.SECRETS["session"]}, "reuses the session secret"),
        ({"storage-encryption-key": "short-key-0123"}, "has 14 characters"),
        ({"session": "insecure_session_secret_" + "x" * 50}, "does not look generated"),
        ({"session": "ab" * 40}, "does not look generated"),
    ],
)
def test_authelia_secrets_long_and_generated(secrets: dict[str, str], fragment: str) -> None:
    verdict = check(*ingress(), fx.authelia(secrets=secrets))
    assert verdict.rule_ids() == ["MS-022"]
    assert any(fragment in m for m in messages(verdict, "MS-022"))


def test_authelia_secret_missing_or_not_uploaded() -> None:
    res = fx.authelia()
    res.inputs["envs"] = [e for e in res.inputs["envs"] if not e.startswith("AUTHELIA_SESSION_SECRET_FILE")]
    assert rules(*ingress(), res) == {"MS-022"}
    res = fx.authelia()
    res.inputs["uploads"] = [u for u in res.inputs["uploads"] if u["file"] != fx.secret_path("jwt")]
    verdict = check(*ingress(), res)
    assert verdict.rule_ids() == ["MS-022"] and "not among the container's uploads" in verdict.violations[0].message


def test_authelia_secret_inline_in_configuration_is_checked_too() -> None:
    config = fx.authelia_config()
    config["session"]["secret"] = "too-short"
    res = fx.authelia(config=config)
    res.inputs["envs"] = [e for e in res.inputs["envs"] if "SESSION_SECRET" not in e]
    assert rules(*ingress(), res) == {"MS-022"}
    config["session"]["secret"] = f'{{{{ secret "{fx.secret_path("session")}" }}}}'
    res = fx.authelia(config=config)
    res.inputs["envs"] = [e for e in res.inputs["envs"] if "SESSION_SECRET" not in e]
    assert rules(*ingress(), res) == set()


# ------------------------------------------------------------------ MS-023
def _app_rule(config: dict[str, Any], app: str) -> dict[str, Any]:
    rule: dict[str, Any] = config["access_control"]["rules"][fx.access_rule_index(config, fx.host(app))]
    return rule


def _sonarr_api_one_factor(config: dict[str, Any]) -> None:
    config["access_control"]["rules"][fx.access_rule_index(config, fx.host("sonarr"), bypass=True)]["policy"] = (
        "one_factor"
    )


@pytest.mark.parametrize(
    ("mutate", "fragment", "also"),
    [
        (_set(["access_control", "default_policy"], "one_factor"), "default_policy is one_factor", []),
        (_set(["regulation", "max_retries"], 0), "regulation is off", []),
        (lambda c: _app_rule(c, "sonarr").update(policy="one_factor"), "reachable with policy one_factor", []),
        # Its API is then no bypass path either: the bypass router is undeclared (MS-021).
        (_sonarr_api_one_factor, "has paths with one_factor", ["MS-021"]),
    ],
)
def test_authelia_access_control(mutate: Callable[[dict[str, Any]], None], fragment: str, also: list[str]) -> None:
    config = fx.authelia_config()
    mutate(config)
    verdict = check(*ingress(), fx.authelia(config=config))
    assert verdict.rule_ids() == sorted(["MS-023", *also])
    assert any(fragment in m for m in messages(verdict, "MS-023"))


def test_wildcard_rule_before_admin_rule_is_caught() -> None:
    def wildcard_first(config: dict[str, Any]) -> None:
        config["access_control"]["rules"].insert(0, {"domain": f"*.{fx.DOMAIN}", "policy": "one_factor"})

    verdict = check(*with_authelia(wildcard_first))
    assert verdict.rule_ids() == ["MS-023"]
    assert {m.split(" (")[0] for m in messages(verdict, "MS-023")} == {"admin app sonarr", "admin app traefik"}


def test_admin_rule_limited_to_a_group_does_not_cover_everyone() -> None:
    """The edge layer limits admin apps to the admins group: a later rule must not let everyone else in."""

    def one_factor_for_the_rest(config: dict[str, Any]) -> None:
        assert _app_rule(config, "sonarr")["subject"] == ["group:admins"]
        config["access_control"]["rules"].append({"domain": fx.host("sonarr"), "policy": "one_factor"})

    assert rules(*with_authelia(one_factor_for_the_rest)) == {"MS-023"}


# ------------------------------------------------------------------ MS-024
def test_password_hashing_argon2id_at_default_cost() -> None:
    weak = fx.authelia_config()
    weak["authentication_backend"]["file"]["password"]["argon2"]["memory"] = 1024
    assert [(v.rule, v.level) for v in check(*ingress(), fx.authelia(config=weak)).violations] == [
        ("MS-024", "advisory")
    ]
    bcrypt = fx.authelia_config()
    bcrypt["authentication_backend"]["file"]["password"] = {"algorithm": "bcrypt"}
    assert rules(*ingress(), fx.authelia(config=bcrypt)) == {"MS-024"}
    for digest in ("$2a$09$" + "x" * 53, "$6$rounds=5000$salt$" + "x" * 86, "$1$salt$" + "x" * 22, "hunter2"):
        assert rules(*ingress(), fx.authelia(users=fx.users_database(digest))) == {"MS-024"}, digest


def test_generated_passwords_bcrypt_is_accepted() -> None:
    """The program's own users file holds pulumi-random's bcrypt (cost 10) of a generated password, which
    Authelia 4.39 verifies (go-crypt decodes $2a$/$2b$/$2y$); the rule must not flag it."""
    for prefix in ("$2a$10$", "$2b$12$", "$2y$10$"):
        users = fx.users_database(prefix + "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"[:53])
        assert rules(*ingress(), fx.authelia(users=users)) == set(), prefix
    users = fx.users_database("$2a$10$" + "x" * 53 + "\n")  # full match: nothing may trail the hash
    assert rules(*ingress(), fx.authelia(users=users)) == {"MS-024"}


def test_ldap_backend_is_not_judged_by_ms_024() -> None:
    config = fx.authelia_config()
    config["authentication_backend"] = {"ldap": {"address": "ldap://lldap:3890"}}
    assert rules(*ingress(), fx.authelia(config=config)) == set()


# ------------------------------------------------------------------ files written on the host (HostFiles)
def _on_host(res: Res) -> list[Res]:
    """The same container, its files delivered as ContainerService does for a read-only root: a HostFiles
    resource beside it, shaped like its uploads and labelled with its service."""
    files = Res(
        "media-server:app:HostFiles",
        f"{res.name}-files",
        {
            "uploads": res.inputs["uploads"],
            "labels": [x for x in res.inputs["labels"] if x["label"].endswith("service")],
        },
    )
    bare = Res(res.type, res.name, {k: v for k, v in res.inputs.items() if k != "uploads"})
    return [bare, files]


def test_golden_edge_passes_with_its_files_written_on_the_host() -> None:
    resources = [r for res in fx.edge() for r in (_on_host(res) if "uploads" in res.inputs else [res])]
    verdict = check(*resources)
    assert verdict.violations == [] and verdict.not_run == []


def test_rules_read_files_written_on_the_host() -> None:
    insecure = fx.traefik_static()
    insecure.setdefault("api", {})["insecure"] = True
    assert "MS-018" in rules(*_on_host(fx.traefik(static=insecure)), fx.authelia())
    res = fx.authelia()
    res.inputs["uploads"] = [u for u in res.inputs["uploads"] if u["file"] != fx.secret_path("jwt")]
    assert "MS-022" in rules(*ingress(), *_on_host(res))


# ------------------------------------------------------------------ what the rules recognise, and how
def test_traefik_and_authelia_are_recognised_by_their_config_paths_under_another_name() -> None:
    """A renamed Traefik or Authelia container is judged all the same: its config files give it away."""
    proxy = with_static(_set(["api", "insecure"], True))[0]
    proxy.inputs["labels"] = labels("edge-proxy", "edge")
    assert "MS-018" in rules(proxy, fx.bouncer(), fx.proxy_network(), fx.authelia())
    portal = fx.authelia(secrets={"session": "s" * 10 + "abcdefghijklmnop"})
    portal.inputs["labels"] = labels("sso", "auth")
    assert any("has 26 characters" in m for m in messages(check(*ingress(), portal), "MS-022"))


def test_unparsable_traefik_yaml_is_named_by_the_parsers_first_line() -> None:
    res = fx.traefik()
    res.inputs["uploads"][1]["content"] = "http: [unclosed"
    (message,) = messages(check(res), "MS-018")
    assert "while parsing a flow sequence" in message, message


WEAK_HEADERS = {
    "no HSTS": {"stsSeconds": 0},
    "no nosniff": {"contentTypeNosniff": False},
    "no frame denial": {"frameDeny": False},
}
FRAME_DENIALS = {
    "frame options": {"frameDeny": False, "customFrameOptionsValue": "SAMEORIGIN"},
    "CSP frame-ancestors": {"frameDeny": False, "contentSecurityPolicy": "frame-ancestors 'none'"},
}


@pytest.mark.parametrize("change", WEAK_HEADERS.values(), ids=WEAK_HEADERS.keys())
def test_a_headers_middleware_counts_only_with_hsts_nosniff_and_frame_denial(change: dict[str, Any]) -> None:
    def weaken(doc: dict[str, Any]) -> None:
        doc["http"]["middlewares"]["security-headers"]["headers"].update(change)

    verdict = check(*with_dynamic(weaken))
    assert {(v.rule, v.level) for v in verdict.violations} == {("MS-021", "advisory")}
    assert "sends no security headers" in verdict.violations[0].message


@pytest.mark.parametrize("change", FRAME_DENIALS.values(), ids=FRAME_DENIALS.keys())
def test_frame_denial_by_frame_options_or_csp_counts(change: dict[str, Any]) -> None:
    def reframe(doc: dict[str, Any]) -> None:
        doc["http"]["middlewares"]["security-headers"]["headers"].update(change)

    assert rules(*with_dynamic(reframe)) == set()


def test_access_rule_domains_match_exactly_or_by_wildcard() -> None:
    from policies.rules.edge import AccessRule

    def rule(*domains: str) -> AccessRule:
        return AccessRule(domains=domains, regexes=(), policy="two_factor", resources=())

    assert rule("*.media.example.org").matches("Sonarr.media.example.org")
    assert not rule("*.media.example.org").matches("media.example.org")
    assert rule("sonarr.media.example.org").matches("sonarr.media.example.org")
    assert not rule("xsonarr.media.example.org").matches("sonarr.media.example.org")


def test_traefik_found_after_other_containers_and_by_static_config_alone() -> None:
    """The rules find Traefik wherever it is in the stack, and judge a static file without a dynamic one."""
    assert check(container("sonarr"), *fx.edge()).violations == []
    static = fx.traefik_static()
    static["api"]["insecure"] = True
    only_static = fx.traefik(static=static)
    only_static.inputs["uploads"] = only_static.inputs["uploads"][:1]
    assert "MS-018" in rules(container("sonarr"), only_static, fx.bouncer(), fx.proxy_network(), fx.authelia())


def test_docker_provider_switched_on_or_off_by_a_boolean_is_judged_so() -> None:
    assert "MS-018" in rules(*with_static(_set(["providers", "docker"], True)))
    assert "MS-018" not in rules(*with_static(_set(["providers", "docker"], False)))
    assert "MS-018" in rules(fx.traefik(command=["--providers.docker=true"]), fx.authelia())


def test_traefik_with_only_a_dynamic_file_is_judged() -> None:
    dynamic = fx.traefik_dynamic()
    dynamic["tls"]["options"]["default"]["minVersion"] = "VersionTLS10"
    only_dynamic = fx.traefik(dynamic=dynamic)
    only_dynamic.inputs["uploads"] = only_dynamic.inputs["uploads"][1:]
    assert "MS-019" in rules(only_dynamic, fx.bouncer(), fx.proxy_network(), fx.authelia())


def test_authelia_configured_by_environment_alone_is_judged() -> None:
    portal = container("authelia", "auth", envs=["AUTHELIA_JWT_SECRET=abc"])
    assert any("from env AUTHELIA_JWT_SECRET has 3 characters" in m for m in messages(check(portal), "MS-022"))


def test_one_second_of_hsts_counts_as_hsts() -> None:
    def short(doc: dict[str, Any]) -> None:
        doc["http"]["middlewares"]["security-headers"]["headers"]["stsSeconds"] = 1

    assert rules(*with_dynamic(short)) == set()


def test_trusted_ips_that_are_not_networks_are_refused() -> None:
    resources = with_static(_set([*WEBSECURE, "forwardedHeaders", "trustedIPs"], ["not-a-network"]))
    assert "MS-020" in rules(*resources)


def test_a_router_with_a_redirect_that_still_serves_an_app_is_guarded() -> None:
    def redirect_only(doc: dict[str, Any]) -> None:
        doc["http"]["middlewares"]["to-https"] = {"redirectScheme": {"scheme": "https"}}
        doc["http"]["routers"]["sonarr"]["middlewares"] = ["to-https"]

    verdict = check(*with_dynamic(redirect_only))
    assert ("MS-021", "mandatory") in {(v.rule, v.level) for v in verdict.violations}


def test_portal_hosts_come_from_the_session_cookies() -> None:
    from policies.rules.edge import Authelia, portal_hosts

    cookies = [{"authelia_url": "https://Auth.Example.org/"}, {"authelia_url": ""}, {"domain": "example.org"}]
    portal = Authelia(resource=None, config={"session": {"cookies": cookies}})  # type: ignore[arg-type]
    assert portal_hosts(portal) == {"auth.example.org"}
    assert portal_hosts(None) == set()


def test_a_trusted_ip_that_is_no_network_is_named_at_its_entry_point() -> None:
    resources = with_static(_set([*WEBSECURE, "forwardedHeaders", "trustedIPs"], ["not-a-network"]))
    assert (
        "entry point websecure trusts forwardedHeaders from not-a-network, outside the configured proxy ranges; fix: "
        "trust only Cloudflare's ranges, or in tunnel mode the network Traefik shares with the tunnel connector (or "
        "allowlist the range with a justification)"
    ) in messages(check(*resources), "MS-020")


def _network(name: str, subnet: str) -> Res:
    from policies.rules.common import NETWORK

    return Res(NETWORK, f"networks-{name}", {"name": f"ms-test-{name}", "driver": "bridge", "internal": False,
                                              "ipamConfigs": [{"subnet": subnet}]})  # fmt: skip


def _attached(*names: str) -> dict[str, Any]:
    return {"networkMode": f"ms-test-{names[0]}", "networksAdvanced": [{"name": f"ms-test-{n}"} for n in names]}


def test_every_bouncer_behind_forward_auth_is_judged() -> None:
    dynamic = fx.traefik_dynamic()
    middlewares = dynamic["http"]["middlewares"]
    middlewares["a-external"] = {"forwardAuth": {"address": "https://bouncer.example.net/api/v1/forwardAuth"}}
    middlewares["b-second"] = {"forwardAuth": {"address": "http://second-bouncer:8080/api/v1/forwardAuth"}}
    second = container("second-bouncer", "edge", envs=["GIN_MODE=release"], **_attached("proxy"))
    resources = [*ingress(fx.traefik(dynamic=dynamic), fx.bouncer(CLOUDFLARE)), second, fx.authelia()]
    found = messages(check(*resources), "MS-020")
    assert sorted(m.split(", so")[0] for m in found) == [
        "the CrowdSec bouncer crowdsec-bouncer does not trust Traefik's network (10.10.0.0/24)",
        "the CrowdSec bouncer second-bouncer (middleware b-second) sets no TRUSTED_PROXIES",  # deployed, none set
    ]


def test_traefiks_network_is_the_one_it_shares_with_the_bouncer() -> None:
    traefik = fx.traefik(**_attached("proxy", "admin"))
    bouncer = fx.bouncer(CLOUDFLARE, **_attached("admin"))
    resources = [traefik, bouncer, fx.proxy_network(), _network("admin", "10.10.2.0/24"), fx.authelia()]
    assert [m.split(";")[0] for m in messages(check(*resources), "MS-020")] == [
        "the CrowdSec bouncer crowdsec-bouncer does not trust Traefik's network (10.10.2.0/24), so it takes Traefik "
        "for the client and bans nobody",
    ]


def test_in_tunnel_mode_the_network_shared_with_the_connector_is_a_proxy_range() -> None:
    tunnel = "10.10.7.0/24"
    static = fx.traefik_static()
    static["entryPoints"]["websecure"]["forwardedHeaders"]["trustedIPs"] = [tunnel]
    traefik = fx.traefik(static=static, **_attached("proxy", "tunnel"))
    connector = container("cloudflared", "edge", **_attached("tunnel"))
    resources = [
        *ingress(traefik, fx.bouncer([tunnel, fx.SITE.networks.proxy.cidr])),
        _network("tunnel", tunnel),
        connector,
        fx.authelia(),
    ]
    assert messages(check(*resources), "MS-020") == []
    not_a_connector = {"ms-020-traefik-forwarded-headers": {"tunnelConnectors": ["another"]}}
    assert [m.split(",")[0] for m in messages(check(*resources, config=not_a_connector), "MS-020")] == [
        f"entry point {name} trusts forwardedHeaders from {tunnel}" for name in ("web", "websecure")
    ]


def test_an_authelia_resource_python_cannot_compile_declares_nothing() -> None:
    config = fx.authelia_config()
    i = fx.access_rule_index(config, fx.host("jellyfin"), bypass=True)
    config["access_control"]["rules"][i]["resources"].insert(0, "^/Users/(?<name>x)$")  # RE2 syntax, not Python's
    dynamic = fx.traefik_dynamic()
    for path, declared in (("/Users/AuthenticateByName", True), ("/System/Logs", False)):
        dynamic["http"]["routers"][BYPASS]["rule"] = f"Host(`{fx.host('jellyfin')}`) && Path(`{path}`)"
        found = messages(check(*ingress(fx.traefik(dynamic=dynamic)), fx.authelia(config=config)), "MS-021")
        assert [m.split(" of ")[0] for m in found] == ([] if declared else [f"router {BYPASS} lets Path({path})"])


@pytest.mark.parametrize(
    ("name", "label", "key", "minimum"),
    [
        ("session", "session secret", "AUTHELIA_SESSION_SECRET", 64),
        ("jwt", "reset-password JWT secret", "AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET", 64),
        ("storage-encryption-key", "storage encryption key", "AUTHELIA_STORAGE_ENCRYPTION_KEY", 20),
    ],
)
def test_authelia_secret_lengths_at_their_boundary(name: str, label: str, key: str, minimum: int) -> None:
    value = fx.SECRETS[name][:minimum]
    assert messages(check(*ingress(), fx.authelia(secrets={name: value})), "MS-022") == []
    short = value[:-1]
    assert messages(check(*ingress(), fx.authelia(secrets={name: short})), "MS-022") == [
        f"Authelia's {label} from {fx.secret_path(name)} has {minimum - 1} characters; fix: generate at least "
        f"{minimum} (RandomPassword length)"
    ]


def test_authelias_legacy_top_level_jwt_secret_is_read() -> None:
    config = fx.authelia_config()
    config.get("identity_validation", {}).get("reset_password", {}).pop("jwt_secret", None)
    config["jwt_secret"] = fx.SECRETS["jwt"]
    res = fx.authelia(config=config)
    res.inputs["envs"] = [e for e in res.inputs["envs"] if "JWT_SECRET" not in e]
    assert messages(check(*ingress(), res), "MS-022") == []


def test_an_admin_apps_first_unconditional_rule_decides() -> None:
    def two_factor_for_all_then_one_factor(config: dict[str, Any]) -> None:
        del _app_rule(config, "sonarr")["subject"]
        config["access_control"]["rules"].append({"domain": fx.host("sonarr"), "policy": "one_factor"})

    assert messages(check(*with_authelia(two_factor_for_all_then_one_factor)), "MS-023") == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"salt_length": 15}, "Authelia's argon2 salt_length is 15, below the default 16; fix: raise it"),
        ({"iterations": 2}, "Authelia's argon2 iterations is 2, below the default 3; fix: raise it"),
        ({"variant": "argon2i"}, "Authelia's argon2 variant is argon2i; fix: use argon2id"),
    ],
)
def test_argon2_settings_below_authelias_defaults(change: dict[str, Any], message: str) -> None:
    config = fx.authelia_config()
    config["authentication_backend"]["file"]["password"]["argon2"].update(change)
    assert messages(check(*ingress(), fx.authelia(config=config)), "MS-024") == [message]


@pytest.mark.parametrize("cost", ["m=65535,t=3,p=4", "m=65536,t=2,p=4", "m=65536,t=3,p=3"])
def test_each_argon2id_hash_parameter_below_the_default_is_reported(cost: str) -> None:
    digest = fx.ARGON2_HASH.replace("m=65536,t=3,p=4", cost)
    users = fx.users_database(digest)
    assert messages(check(*ingress(), fx.authelia(users=users)), "MS-024") == [
        "user admin's argon2id hash is weaker than Authelia's default (m=65536,t=3,p=4); fix: rehash"
    ]


def test_an_unreadable_users_database_is_reported() -> None:
    res = fx.authelia()
    (users,) = [u for u in res.inputs["uploads"] if u["file"] == fx.render_authelia.USERS_PATH]
    users["content"] = "users: [unclosed\n"
    (message,) = messages(check(*ingress(), res), "MS-024")
    assert message.startswith("Authelia's the users database ") and message.endswith(
        "; fix: render it with render/serialise.py"
    )


def test_a_domain_regex_rule_before_an_admin_rule_is_caught() -> None:
    def regex_first(config: dict[str, Any]) -> None:
        rule = {"domain_regex": [r"^(?P<app>[a-z]+)\.media\.example\.org$"], "policy": "one_factor"}
        config["access_control"]["rules"].insert(0, rule)

    verdict = check(*with_authelia(regex_first))
    assert {m.split(" (")[0] for m in messages(verdict, "MS-023")} == {"admin app sonarr", "admin app traefik"}

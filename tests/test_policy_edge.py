"""Traefik and Authelia rules (MS-018 to MS-024) over golden edge configuration, one mutation at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests import policy_fixtures as fx
from tests.policy_harness import Res, check, container, messages, rules

WHY = "the documented reason for this exception"


def with_static(mutate: Callable[[dict[str, Any]], None]) -> list[Res]:
    static = fx.traefik_static()
    mutate(static)
    return [fx.traefik(static=static), fx.authelia()]


def with_dynamic(mutate: Callable[[dict[str, Any]], None]) -> list[Res]:
    dynamic = fx.traefik_dynamic()
    mutate(dynamic)
    return [fx.traefik(dynamic=dynamic), fx.authelia()]


def with_authelia(mutate: Callable[[dict[str, Any]], None]) -> list[Res]:
    config = fx.authelia_config()
    mutate(config)
    return [fx.traefik(), fx.authelia(config=config)]


def test_golden_edge_passes_every_rule() -> None:
    verdict = check(*fx.edge())
    assert verdict.violations == [] and verdict.not_run == []


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
    assert "MS-018" in found and found <= {"MS-018", "MS-021"}


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
        pytest.param(
            with_dynamic(
                _set(
                    ["http", "middlewares", "crowdsec", "plugin", "crowdsec-bouncer", "forwardedHeadersTrustedIPs"], []
                )
            ),
            id="bouncer trusts another set",
        ),
        pytest.param(
            with_dynamic(
                _set(["http", "middlewares", "crowdsec", "plugin", "crowdsec-bouncer", "clientTrustedIPs"], ["::/0"])
            ),
            id="bouncer exempts everyone",
        ),
    ],
)
def test_forwarded_headers_trusted_only_from_proxy_ranges(resources: list[Res]) -> None:
    assert rules(*resources) == {"MS-020"}


def test_extra_trusted_range_needs_a_justified_entry_for_the_proxy() -> None:
    def lan(static: dict[str, Any]) -> None:
        static["entryPoints"]["websecure"]["forwardedHeaders"]["trustedIPs"].append("10.10.0.0/24")

    def bouncer_lan(dynamic: dict[str, Any]) -> None:
        dynamic["http"]["middlewares"]["crowdsec"]["plugin"]["crowdsec-bouncer"]["forwardedHeadersTrustedIPs"].append(
            "10.10.0.0/24"
        )

    static = fx.traefik_static()
    lan(static)
    dynamic = fx.traefik_dynamic()
    bouncer_lan(dynamic)
    resources = [fx.traefik(static=static, dynamic=dynamic), fx.authelia()]
    assert rules(*resources) == {"MS-020"}
    entry = {"ranges": ["10.10.0.0/16"], "justification": WHY}
    assert rules(*resources, config={"ms-020-traefik-forwarded-headers": {"allowlist": {"traefik": entry}}}) == set()
    other = {"ms-020-traefik-forwarded-headers": {"allowlist": {"crowdsec": entry}}}
    assert rules(*resources, config=other) == {"MS-020"}


# ------------------------------------------------------------------ MS-021
def test_router_without_forward_auth_or_crowdsec_is_mandatory() -> None:
    no_auth = check(*with_dynamic(_drop(["http", "routers", "sonarr", "middlewares"])))
    assert [(v.rule, v.level) for v in no_auth.violations] == [("MS-021", "mandatory")]
    assert "without forward-auth" in no_auth.violations[0].message

    def no_crowdsec(static: dict[str, Any]) -> None:
        static["entryPoints"]["websecure"]["http"]["middlewares"] = ["security-headers@file"]

    verdict = check(*with_static(no_crowdsec))
    assert verdict.rule_ids() == ["MS-021"]
    assert all("no CrowdSec middleware" in m for m in messages(verdict, "MS-021"))


def test_middleware_chains_count() -> None:
    def chained(doc: dict[str, Any]) -> None:
        doc["http"]["middlewares"]["secure-app"] = {"chain": {"middlewares": ["authelia"]}}
        doc["http"]["routers"]["sonarr"]["middlewares"] = ["secure-app@file"]

    assert rules(*with_dynamic(chained)) == set()


def test_security_headers_are_advisory() -> None:
    def no_headers(static: dict[str, Any]) -> None:
        static["entryPoints"]["websecure"]["http"]["middlewares"] = ["crowdsec@file"]

    verdict = check(*with_static(no_headers))
    assert {(v.rule, v.level) for v in verdict.violations} == {("MS-021", "advisory")}


def test_bypass_router_only_for_declared_paths() -> None:
    undeclared = f"Host(`{fx.host('jellyfin')}`) && PathPrefix(`/`)"
    verdict = check(*with_dynamic(_set(["http", "routers", "jellyfin-bypass", "rule"], undeclared)))
    assert verdict.rule_ids() == ["MS-021"] and "not a declared bypass path" in verdict.violations[0].message
    wider = f"Host(`{fx.host('jellyfin')}`) || PathRegexp(`^/Users/AuthenticateByName$`)"
    assert rules(*with_dynamic(_set(["http", "routers", "jellyfin-bypass", "rule"], wider))) == {"MS-021"}
    paths = "PathRegexp(`^/Users/AuthenticateByName$`) || Path(`/Users/AuthenticateByName`)"
    several = f"Host(`{fx.host('jellyfin')}`) && ({paths})"
    assert rules(*with_dynamic(_set(["http", "routers", "jellyfin-bypass", "rule"], several))) == set()


def test_bypass_paths_come_from_authelia_or_a_justified_entry() -> None:
    def no_authelia_bypass(config: dict[str, Any]) -> None:
        del config["access_control"]["rules"][1]

    resources = with_authelia(no_authelia_bypass)
    assert rules(*resources) == {"MS-021"}
    entry = {"bypassPaths": ["^/Users/AuthenticateByName$"], "justification": WHY}
    assert rules(*resources, config={"ms-021-routes-forward-auth": {"allowlist": {"jellyfin": entry}}}) == set()
    assert rules(*resources, config={"ms-021-routes-forward-auth": {"allowlist": {"sonarr": entry}}}) == {"MS-021"}


def test_public_app_needs_a_justified_entry() -> None:
    def status_page(doc: dict[str, Any]) -> None:
        doc["http"]["routers"]["status"] = {"rule": f"Host(`{fx.host('status')}`)", "service": "uptime"}
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
    verdict = check(fx.traefik(static=static), fx.authelia(), labelled)
    assert verdict.rule_ids() == ["MS-021"]
    assert "router whoami serves whoami without forward-auth" in messages(verdict, "MS-021")[0]


# ------------------------------------------------------------------ MS-022
@pytest.mark.parametrize(
    ("secrets", "fragment"),
    [
        ({"session_secret": "s" * 10 + "abcdefghijklmnop"}, "has 26 characters"),
        ({"jwt_secret": fx.SESSION_SECRET}, "reuses the session secret"),
        ({"storage_encryption_key": "short-key-0123"}, "has 14 characters"),
        ({"session_secret": "insecure_session_secret_" + "x" * 50}, "does not look generated"),
        ({"session_secret": "ab" * 40}, "does not look generated"),
    ],
)
def test_authelia_secrets_long_and_generated(secrets: dict[str, str], fragment: str) -> None:
    verdict = check(fx.traefik(), fx.authelia(secrets=secrets))
    assert verdict.rule_ids() == ["MS-022"]
    assert any(fragment in m for m in messages(verdict, "MS-022"))


def test_authelia_secret_missing_or_not_uploaded() -> None:
    res = fx.authelia()
    res.inputs["envs"] = [e for e in res.inputs["envs"] if not e.startswith("AUTHELIA_SESSION_SECRET_FILE")]
    assert rules(fx.traefik(), res) == {"MS-022"}
    res = fx.authelia()
    res.inputs["uploads"] = [u for u in res.inputs["uploads"] if not u["file"].endswith("/jwt_secret")]
    verdict = check(fx.traefik(), res)
    assert verdict.rule_ids() == ["MS-022"] and "not among the container's uploads" in verdict.violations[0].message


def test_authelia_secret_inline_in_configuration_is_checked_too() -> None:
    config = fx.authelia_config()
    config["session"]["secret"] = "too-short"
    res = fx.authelia(config=config)
    res.inputs["envs"] = [e for e in res.inputs["envs"] if "SESSION_SECRET" not in e]
    assert rules(fx.traefik(), res) == {"MS-022"}
    config["session"]["secret"] = '{{ secret "/config/secrets/session_secret" }}'
    assert rules(fx.traefik(), fx.authelia(config=config)) == set()


# ------------------------------------------------------------------ MS-023
@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (_set(["access_control", "default_policy"], "one_factor"), "default_policy is one_factor"),
        (_set(["regulation", "max_retries"], 0), "regulation is off"),
        (_set(["access_control", "rules", 3, "policy"], "one_factor"), "reachable with policy one_factor"),
    ],
)
def test_authelia_access_control(mutate: Callable[[dict[str, Any]], None], fragment: str) -> None:
    config = fx.authelia_config()
    if fragment.startswith("reachable"):
        config["access_control"]["rules"][3]["policy"] = "one_factor"
    else:
        mutate(config)
    verdict = check(fx.traefik(), fx.authelia(config=config))
    assert verdict.rule_ids() == ["MS-023"] and any(fragment in m for m in messages(verdict, "MS-023"))


def test_wildcard_rule_before_admin_rule_is_caught() -> None:
    def wildcard_first(config: dict[str, Any]) -> None:
        config["access_control"]["rules"].insert(0, {"domain": f"*.{fx.DOMAIN}", "policy": "one_factor"})

    verdict = check(*with_authelia(wildcard_first))
    assert verdict.rule_ids() == ["MS-023"]
    assert {m.split(" (")[0] for m in messages(verdict, "MS-023")} == {"admin app sonarr", "admin app traefik"}


def test_admin_rule_limited_to_a_group_does_not_cover_everyone() -> None:
    def group_then_one_factor(config: dict[str, Any]) -> None:
        rules_ = config["access_control"]["rules"]
        rules_[3]["subject"] = ["group:admins"]
        rules_.append({"domain": fx.host("sonarr"), "policy": "one_factor"})

    assert rules(*with_authelia(group_then_one_factor)) == {"MS-023"}


# ------------------------------------------------------------------ MS-024
def test_password_hashing_argon2id_at_default_cost() -> None:
    weak = fx.authelia_config()
    weak["authentication_backend"]["file"]["password"]["argon2"]["memory"] = 1024
    assert [(v.rule, v.level) for v in check(fx.traefik(), fx.authelia(config=weak)).violations] == [
        ("MS-024", "advisory")
    ]
    bcrypt = fx.authelia_config()
    bcrypt["authentication_backend"]["file"]["password"] = {"algorithm": "bcrypt"}
    assert rules(fx.traefik(), fx.authelia(config=bcrypt)) == {"MS-024"}
    users = fx.users_database("$2a$10$" + "x" * 53)
    assert rules(fx.traefik(), fx.authelia(users=users)) == {"MS-024"}


def test_ldap_backend_is_not_judged_by_ms_024() -> None:
    config = fx.authelia_config()
    config["authentication_backend"] = {"ldap": {"address": "ldap://lldap:3890"}}
    assert rules(fx.traefik(), fx.authelia(config=config)) == set()

"""Cloudflare rules (MS-025 to MS-028) over a golden zone, one mutation at a time."""

from __future__ import annotations

import json

import pytest
from pulumi.runtime import config as runtime_config

from config.stack import StackConfig
from offline.gate import evaluate
from tests import policy_fixtures as fx
from tests.policy_harness import Res, check, messages, rules, run


def without(resources: list[Res], name: str) -> list[Res]:
    return [r for r in resources if r.name != name]


def replace(resources: list[Res], new: Res) -> list[Res]:
    return [new if r.name == new.name else r for r in resources]


def test_golden_zone_passes() -> None:
    assert check(*fx.edge()).violations == []
    assert check(*fx.cloudflare()).violations == []  # without Traefik/Authelia config as well


# ------------------------------------------------------------------ MS-025
@pytest.mark.parametrize("setting", ["ssl", "min_tls_version", "always_use_https"])
def test_proxied_zone_needs_each_tls_setting(setting: str) -> None:
    verdict = check(*without(fx.edge(), f"edge-zone-{setting}"))
    assert [(v.rule, v.level) for v in verdict.violations] == [("MS-025", "mandatory")]
    assert setting in verdict.violations[0].message


@pytest.mark.parametrize(
    ("setting", "value"), [("ssl", "full"), ("min_tls_version", "1.0"), ("always_use_https", "off")]
)
def test_weak_tls_setting_is_mandatory(setting: str, value: str) -> None:
    assert rules(*replace(fx.edge(), fx.zone_setting(setting, value))) == {"MS-025"}


def test_zone_without_proxied_records_is_not_judged() -> None:
    records = [fx.dns("sonarr", False), fx.dns("auth", False)]
    assert rules(*records) == set()


# ------------------------------------------------------------------ MS-026
def test_waf_and_rate_limit_are_advisory() -> None:
    verdict = check(*without(fx.edge(), "edge-waf"))
    assert [(v.rule, v.level) for v in verdict.violations] == [("MS-026", "advisory")]
    verdict = check(*without(fx.edge(), "edge-rate-limit"))
    assert [(v.rule, v.level) for v in verdict.violations] == [("MS-026", "advisory")]
    assert fx.host("auth") in verdict.violations[0].message


def test_rate_limit_must_cover_the_portal() -> None:
    other_host = replace(fx.edge(), fx.rate_limit(f'(http.host eq "{fx.host("sonarr")}")'))
    assert rules(*other_host) == {"MS-026"}
    zone_wide = replace(fx.edge(), fx.rate_limit('(http.request.uri.path eq "/api/firstfactor")'))
    assert rules(*zone_wide) == set()


def test_a_rule_on_the_dead_threat_score_is_reported() -> None:
    dead = fx.waf()
    dead.inputs["rules"] = [
        *dead.inputs["rules"],
        {"action": "managed_challenge", "expression": "(cf.threat_score gt 14)", "enabled": True},
    ]
    verdict = check(*replace(fx.edge(), dead))
    assert [(v.rule, v.level) for v in verdict.violations] == [("MS-026", "advisory")]
    assert "cf.threat_score, which Cloudflare no longer populates" in verdict.violations[0].message


# ------------------------------------------------------------------ MS-027
def test_proxied_media_record_is_mandatory(engine_config: dict[str, str]) -> None:
    resources = replace(fx.edge(), fx.dns("jellyfin", True))
    verdict = check(*resources)
    assert [(v.rule, v.level, v.resource) for v in verdict.violations] == [("MS-027", "mandatory", "edge-dns-jellyfin")]


def test_media_found_through_traefik_routers_not_only_by_name(engine_config: dict[str, str]) -> None:
    dynamic = fx.traefik_dynamic()
    dynamic["http"]["routers"]["music"] = {"rule": f"Host(`{fx.host('music')}`)", "service": "navidrome",
                                           "middlewares": fx.app_middlewares()}  # fmt: skip
    dynamic["http"]["services"]["navidrome"] = {"loadBalancer": {"servers": [{"url": "http://navidrome:4533"}]}}
    resources = [fx.traefik(dynamic=dynamic), *fx.edge()[1:], fx.dns("music", True)]
    verdict = check(*resources)
    assert verdict.rule_ids() == ["MS-027"] and "(navidrome)" in verdict.violations[0].message


def test_site_acknowledgement_in_stack_settings(engine_config: dict[str, str]) -> None:
    resources = replace(fx.edge(), fx.dns("jellyfin", True))
    reason = "Small household; we accept Cloudflare's terms for Jellyfin traffic."
    engine_config["media-server:policy"] = json.dumps({"acknowledgeProxiedMedia": {"jellyfin": reason}})
    assert rules(*resources) == set()
    engine_config["media-server:policy"] = json.dumps({"acknowledgeProxiedMedia": {"navidrome": reason}})
    assert rules(*resources) == {"MS-027"}
    engine_config["media-server:policy"] = json.dumps({"acknowledgeProxiedMedia": {"jellyfin": ""}})
    assert rules(*resources) == {"MS-027"}


def test_gate_reads_the_acknowledgement_from_the_stack_it_checks(engine_config: dict[str, str]) -> None:
    resources = replace(fx.edge(), fx.dns("jellyfin", True))
    reason = "Small household; we accept Cloudflare's terms for Jellyfin traffic."
    stack = StackConfig(
        name="test",
        values={"media-server:policy": json.dumps({"acknowledgeProxiedMedia": {"jellyfin": reason}})},
        secret_keys=[],
    )
    assert evaluate(run(resources), config={}, stack=stack).violations == []
    assert runtime_config.CONFIG.get() == {}  # the gate restored the caller's config


# ------------------------------------------------------------------ MS-028
def _without_bypass(apps: set[str]) -> list[Res]:
    """The golden edge with these apps' SSO bypass paths gone (Authelia rules and Traefik routers alike)."""
    config = fx.authelia_config()
    hosts = {fx.host(app) for app in apps}
    config["access_control"]["rules"] = [
        r for r in config["access_control"]["rules"] if not ("resources" in r and hosts & set(r["domain"]))
    ]
    dynamic = fx.traefik_dynamic()
    for app in apps:
        # The login route of a DNS-only app skips SSO only because a bypass path covers it: it goes too.
        for name in [n for n in dynamic["http"]["routers"] if n.startswith((f"{app}-bypass-", f"{app}-login-"))]:
            del dynamic["http"]["routers"][name]
    edge = fx.edge()
    return replace(replace(edge, fx.traefik(dynamic=dynamic)), fx.authelia(config=config))


def test_bot_fight_mode_on_a_zone_serving_api_clients_is_advisory() -> None:
    """Sonarr's API (mobile apps, Prowlarr) bypasses SSO on a proxied host: fight mode would block it."""
    edge = fx.edge()
    assert check(*edge).violations == []
    verdict = check(*replace(edge, fx.bot_management(True)))
    assert [(v.rule, v.level) for v in verdict.violations] == [("MS-028", "advisory")]
    fight_setting = [*without(edge, "edge-bots"), fx.zone_setting("bot_fight_mode", "on")]
    assert rules(*fight_setting) == {"MS-028"}
    # Jellyfin's API paths alone do not count: its record is DNS-only, so Cloudflare never sees those clients.
    assert rules(*replace(_without_bypass({"sonarr"}), fx.bot_management(True))) == set()


def test_bot_fight_mode_is_fine_where_no_api_client_is_served() -> None:
    resources = replace(_without_bypass({"sonarr", "jellyfin"}), fx.bot_management(True))
    assert rules(*resources) == set()
    assert messages(check(*resources), "MS-028") == []


# ------------------------------------------------------------------ exact findings, where they point
Z = fx.ZONE


def test_a_missing_setting_points_at_the_record_it_names() -> None:
    verdict = check(*without(fx.edge(), "edge-zone-ssl"))
    assert [(v.resource, v.message) for v in verdict.violations] == [
        (
            "edge-dns-traefik",  # the zone's first proxied record
            f"zone {Z} proxies {fx.host('traefik')} but does not manage ssl; fix: add a ZoneSetting ssl = strict "
            "(SSL/TLS mode Full (strict))",
        )
    ]


def test_a_weak_setting_points_at_the_setting_and_names_its_value() -> None:
    verdict = check(*replace(fx.edge(), fx.zone_setting("ssl", {"value": "Full"})))
    assert [(v.resource, v.message) for v in verdict.violations] == [
        ("edge-zone-ssl", f"zone {Z} sets ssl to full; fix: set it to strict (SSL/TLS mode Full (strict))")
    ]


def test_zone_findings_point_at_the_zones_first_proxied_record() -> None:
    verdict = check(*without(fx.edge(), "edge-waf"))
    assert [(v.resource, v.message) for v in verdict.violations] == [
        ("edge-dns-traefik", f"zone {Z} has no WAF custom rules; fix: add a http_request_firewall_custom Ruleset")
    ]


def _no_rate_limit(shown: str) -> str:
    return (
        f"zone {Z} has no rate-limit rule covering {shown}; fix: add a http_ratelimit Ruleset rule for the "
        "portal's login endpoints"
    )


def test_the_portal_is_found_through_traefik_without_authelia() -> None:
    resources = without(without(fx.edge(), "edge-rate-limit"), fx.authelia().name)
    assert messages(check(*resources), "MS-026") == [_no_rate_limit(fx.host("auth"))]
    # with neither, any rate limit at all is asked for
    assert messages(check(*without(fx.cloudflare(), "edge-rate-limit")), "MS-026") == [
        _no_rate_limit("the auth portal")
    ]


def test_a_rate_limit_phase_rule_without_a_rate_limit_does_not_count() -> None:
    unlimited = fx.rate_limit()
    del unlimited.inputs["rules"][0]["ratelimit"]
    assert messages(check(*replace(fx.edge(), unlimited)), "MS-026") == [_no_rate_limit(fx.host("auth"))]


def test_a_portal_the_zone_does_not_proxy_needs_no_rate_limit_there() -> None:
    resources = replace(without(fx.edge(), "edge-rate-limit"), fx.dns("auth", False))
    assert messages(check(*resources), "MS-026") == []


def test_a_media_record_without_traefik_is_known_by_its_first_label(engine_config: dict[str, str]) -> None:
    verdict = check(*replace(fx.cloudflare(), fx.dns("jellyfin", True)))
    assert [(v.rule, v.resource) for v in verdict.violations] == [("MS-027", "edge-dns-jellyfin")]
    assert verdict.violations[0].message.startswith(f"{fx.host('jellyfin')} (jellyfin) streams media")


def test_a_record_named_relative_to_the_zone_is_matched_to_its_router(engine_config: dict[str, str]) -> None:
    dynamic = fx.traefik_dynamic()
    dynamic["http"]["routers"]["music"] = {"rule": f"Host(`{fx.host('music')}`)", "service": "navidrome",
                                           "middlewares": fx.app_middlewares()}  # fmt: skip
    dynamic["http"]["services"]["navidrome"] = {"loadBalancer": {"servers": [{"url": "http://navidrome:4533"}]}}
    relative = fx.dns("music", True)
    relative.inputs["name"] = "music"  # Cloudflare accepts names relative to the zone
    verdict = check(fx.traefik(dynamic=dynamic), *fx.edge()[1:], relative)
    assert [(v.rule, v.message.split(" streams")[0]) for v in verdict.violations] == [("MS-027", "music (navidrome)")]


def test_the_media_services_are_configurable(engine_config: dict[str, str]) -> None:
    config = {"ms-027-cloudflare-media-dns-only": {"mediaServices": ["sonarr"]}}
    verdict = check(*replace(fx.edge(), fx.dns("jellyfin", True)), config=config)
    assert [(v.rule, v.resource) for v in verdict.violations] == [("MS-027", "edge-dns-sonarr")]


def test_bot_fight_mode_without_edge_config_counts_as_serving_api_clients() -> None:
    assert rules(*replace(fx.cloudflare(), fx.bot_management(True))) == {"MS-028"}
    # Traefik alone is edge config enough: without bypass routers, no API client is served
    resources = replace(without(_without_bypass({"sonarr", "jellyfin"}), fx.authelia().name), fx.bot_management(True))
    assert rules(*resources) == set()

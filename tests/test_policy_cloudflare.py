"""Cloudflare rules (MS-025 to MS-028) over a golden zone, one mutation at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator

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
@pytest.fixture
def stack_settings() -> Iterator[dict[str, str]]:
    """Stack config as the engine hands it to policy packs; restored afterwards."""
    values: dict[str, str] = {}
    token = runtime_config.CONFIG.set(values)
    yield values
    runtime_config.CONFIG.reset(token)


def test_proxied_media_record_is_mandatory(stack_settings: dict[str, str]) -> None:
    resources = replace(fx.edge(), fx.dns("jellyfin", True))
    verdict = check(*resources)
    assert [(v.rule, v.level, v.resource) for v in verdict.violations] == [("MS-027", "mandatory", "edge-dns-jellyfin")]


def test_media_found_through_traefik_routers_not_only_by_name(stack_settings: dict[str, str]) -> None:
    dynamic = fx.traefik_dynamic()
    dynamic["http"]["routers"]["music"] = {"rule": f"Host(`{fx.host('music')}`)", "service": "navidrome",
                                           "middlewares": fx.app_middlewares()}  # fmt: skip
    dynamic["http"]["services"]["navidrome"] = {"loadBalancer": {"servers": [{"url": "http://navidrome:4533"}]}}
    resources = [fx.traefik(dynamic=dynamic), *fx.edge()[1:], fx.dns("music", True)]
    verdict = check(*resources)
    assert verdict.rule_ids() == ["MS-027"] and "(navidrome)" in verdict.violations[0].message


def test_site_acknowledgement_in_stack_settings(stack_settings: dict[str, str]) -> None:
    resources = replace(fx.edge(), fx.dns("jellyfin", True))
    reason = "Small household; we accept Cloudflare's terms for Jellyfin traffic."
    stack_settings["media-server:policy"] = json.dumps({"acknowledgeProxiedMedia": {"jellyfin": reason}})
    assert rules(*resources) == set()
    stack_settings["media-server:policy"] = json.dumps({"acknowledgeProxiedMedia": {"navidrome": reason}})
    assert rules(*resources) == {"MS-027"}
    stack_settings["media-server:policy"] = json.dumps({"acknowledgeProxiedMedia": {"jellyfin": ""}})
    assert rules(*resources) == {"MS-027"}


def test_gate_reads_the_acknowledgement_from_the_stack_it_checks(stack_settings: dict[str, str]) -> None:
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

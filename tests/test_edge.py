"""Cloudflare under mocks: records per routed app, DNS-only streaming, WAF and rate limits, zone settings."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from config.problems import SettingsError
from offline.recorder import Secret
from offline.runner import RunResult, run_program
from render.routes import routed_services
from tests.conftest import PROD_SECRETS, as_stack, containers
from tests.edge_support import container, env, stack_raw, stack_settings, unwrap

RECORD = "cloudflare:index/dnsRecord:DnsRecord"
RULESET = "cloudflare:index/ruleset:Ruleset"
SETTING = "cloudflare:index/zoneSetting:ZoneSetting"
SECRETS = PROD_SECRETS
REASON = "private family server; the account owner accepts Cloudflare's terms on video"
ACKNOWLEDGED_MEDIA = {app: REASON for app in ("jellyfin", "navidrome", "audiobookshelf", "immich-server")}


def _records(result: RunResult) -> dict[str, dict[str, Any]]:
    return {r.inputs["name"]: r.inputs for r in result.of_type(RECORD)}


@pytest.fixture(scope="module")
def tunnel() -> RunResult:
    raw = stack_raw("prod")
    raw["cloudflare"] = {**raw["cloudflare"], "mode": "tunnel"}
    raw["policy"] = {"acknowledgeProxiedMedia": ACKNOWLEDGED_MEDIA}
    result = run_program(as_stack(raw, name="tunnel", secrets=SECRETS))
    assert result.ok, result.problems
    return result


def test_one_record_per_routed_app_and_the_apex(prod: RunResult) -> None:
    settings = stack_settings("prod")
    records = _records(prod)
    expected = {f"{s.subdomain}.{settings.domain}" for s in routed_services(settings)} | {settings.domain}
    assert set(records) == expected
    assert len(records) == len(routed_services(settings)) + 1
    for record in records.values():
        assert record["type"] == "A" and record["content"] == "203.0.113.10"
        assert record["ttl"] == 1 and record["zoneId"] == "0123456789abcdef0123456789abcdef"


def test_streaming_apps_are_dns_only_and_the_rest_proxied(prod: RunResult) -> None:
    settings = stack_settings("prod")
    records = _records(prod)
    for spec in routed_services(settings):
        record = records[f"{spec.subdomain}.{settings.domain}"]
        assert record["proxied"] is (not spec.streams_media), spec.name
    assert {n for n, r in records.items() if not r["proxied"]} == {
        "jellyfin.media.example.org",
        "music.media.example.org",
        "audiobooks.media.example.org",
        "photos.media.example.org",
    }


def test_waf_rate_limit_and_cache_rulesets(prod: RunResult) -> None:
    rulesets = {r.inputs["phase"]: r.inputs for r in prod.of_type(RULESET)}
    assert set(rulesets) == {"http_request_firewall_custom", "http_ratelimit", "http_request_cache_settings"}
    assert all(r["kind"] == "zone" for r in rulesets.values())
    waf = rulesets["http_request_firewall_custom"]["rules"]
    assert any("/wp-login.php" in r["expression"] and r["action"] == "block" for r in waf)
    assert not [r for r in waf if "cf.threat_score" in r["expression"]]  # always 0 now: a dead rule
    (limit,) = rulesets["http_ratelimit"]["rules"]
    # prod is on the free plan: a rate limiting expression may use the path (and verified bot) only.
    assert limit["expression"] == '(http.request.uri.path eq "/api/firstfactor")'
    assert limit["ratelimit"]["period"] == 10 and limit["ratelimit"]["requestsPerPeriod"] == 10
    (cache,) = rulesets["http_request_cache_settings"]["rules"]
    assert "http.request.uri.path.extension" in cache["expression"] and cache["actionParameters"]["cache"] is True


def test_zone_settings(prod: RunResult) -> None:
    values = {r.inputs["settingId"]: r.inputs["value"] for r in prod.of_type(SETTING)}
    assert values["ssl"] == "strict" and values["always_use_https"] == "on" and values["min_tls_version"] == "1.2"


def test_every_cloudflare_resource_uses_the_token_provider(prod: RunResult) -> None:
    (provider,) = prod.of_type("pulumi:providers:cloudflare")
    assert isinstance(provider.inputs["apiToken"], Secret)
    for res in prod.resources:
        if res.type.startswith("cloudflare:"):
            assert res.provider == provider.urn, res.name


def test_dev_stack_has_no_cloudflare(dev: RunResult) -> None:
    assert not [r for r in dev.resources if "cloudflare" in r.type]


def test_country_rules_from_settings(run_site) -> None:  # type: ignore[no-untyped-def]
    raw = stack_raw("prod")
    raw["cloudflare"] = {**raw["cloudflare"], "blockCountries": ["RU", "T1"], "challengeCountries": ["CN"]}
    result = run_site(raw, secrets=SECRETS)
    (waf,) = [r for r in result.of_type(RULESET) if r.inputs["phase"] == "http_request_firewall_custom"]
    rules = {r["action"]: r["expression"] for r in waf.inputs["rules"][:2]}
    assert rules == {"block": '(ip.src.country in {"RU" "T1"})', "managed_challenge": '(ip.src.country in {"CN"})'}


def test_tunnel_mode_opens_no_web_port(tunnel: RunResult) -> None:
    records = _records(tunnel)
    (tunnel_res,) = tunnel.of_type("cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared")
    assert all(r["type"] == "CNAME" and r["proxied"] is True for r in records.values())
    assert {r["content"] for r in records.values()} == {f"{tunnel_res.id}.cfargotunnel.com"}
    assert not container(tunnel, "traefik").inputs.get("ports")
    published = [name for name, res in containers(tunnel).items() if res.inputs.get("ports")]
    assert published == ["wireguard"]
    cloudflared = container(tunnel, "cloudflared")
    token = json.loads(base64.b64decode(env(cloudflared)["TUNNEL_TOKEN"]))
    assert token["a"] == "fedcba9876543210fedcba9876543210" and token["t"] == tunnel_res.id
    assert isinstance(cloudflared.inputs["envs"], Secret)
    (config,) = tunnel.of_type("cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig")
    ingress = unwrap(config.inputs["config"])["ingresses"]
    assert ingress[-1] == {"service": "http_status:404"}
    assert {i["service"] for i in ingress[:-1]} == {"https://traefik:443"}
    assert len(ingress) == len(records) + 1


@pytest.mark.parametrize(
    ("cloudflare", "key", "message"),
    [
        ({"blockCountries": ["XY"]}, "cloudflare.blockCountries", "'XY' is not an ISO 3166 alpha-2 country code"),
        ({"challengeCountries": ["de"]}, "cloudflare.challengeCountries", "'de' is not an ISO 3166 alpha-2"),
        ({"mode": "tunnel", "accountId": None}, "cloudflare.accountId", "tunnel mode creates a Cloudflare Tunnel"),
        ({"proxied": {"jellyfin": True}}, "policy.acknowledgeProxiedMedia.jellyfin", "jellyfin streams media"),
        ({"publicAddress": None}, "cloudflare.publicAddress", "dns mode points records at the host"),
    ],
)
def test_bad_cloudflare_input(cloudflare: dict[str, Any], key: str, message: str) -> None:
    prod = stack_raw("prod")["cloudflare"]
    merged = {k: v for k, v in {**prod, **cloudflare}.items() if v is not None}
    with pytest.raises(SettingsError) as info:
        stack_settings("prod", cloudflare=merged)
    problems = [p for p in info.value.problems if p.key == f"media-server:{key}"]
    assert problems and message in problems[0].message, info.value
    assert len(info.value.problems) == 1, info.value


def test_proxying_a_streaming_app_with_acknowledgement() -> None:
    prod = stack_raw("prod")["cloudflare"]
    settings = stack_settings(
        "prod",
        cloudflare={**prod, "proxied": {"jellyfin": True}},
        policy={"acknowledgeProxiedMedia": {"jellyfin": REASON}},
    )
    assert settings.cloudflare_proxied(settings.service("jellyfin")) is True

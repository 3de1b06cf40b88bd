"""Cloudflare as the zone's plan allows (issue 15, finding 10): rule limits checked before deploy, no dead rule,
no proxied host Universal SSL does not cover, entry-point rulesets adoptable, Traefik on its own DNS-only token."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from typing import Any

import pytest

import render.cloudflare as render_cloudflare
from config.data.cloudflare_plans import PLANS
from config.problems import SettingsError
from config.stack import parse_settings
from offline.check import main as check_main
from offline.runner import RunResult, run_program
from render import traefik
from render.cloudflare import expression_fields, plan_problems, rate_limit_rules, rulesets, waf_rules
from tests.conftest import PROD_SECRETS, as_stack, minimal_config
from tests.edge_support import container, stack_raw, stack_settings, uploads

ZONE_ID = "0123456789abcdef0123456789abcdef"


def cloudflare(**overrides: Any) -> dict[str, Any]:
    return {"enabled": True, "zone": "example.org", "zoneId": ZONE_ID, "publicAddress": "203.0.113.10", **overrides}


def site(domain: str = "example.org", **overrides: Any) -> dict[str, Any]:
    return minimal_config(domain=domain, cloudflare=cloudflare(**overrides))


def problems_for(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(SettingsError) as info:
        parse_settings(raw)
    return [str(p) for p in info.value.problems]


# ------------------------------------------------------------------ the rules within the plan
@pytest.mark.parametrize("plan", sorted(PLANS))
def test_rendered_rules_fit_every_plan(plan: str) -> None:
    settings = parse_settings(site(plan=plan))
    assert plan_problems(settings) == []
    (limit,) = rate_limit_rules(settings)
    assert expression_fields(limit["expression"]) <= PLANS[plan].rate_limit_fields
    assert limit["ratelimit"]["characteristics"] == ["cf.colo.id", "ip.src"]


def test_free_plan_rate_limit_matches_the_path_only() -> None:
    """Cloudflare refuses http.host in a free zone's rate limiting rule: today's rule would fail on deploy."""
    (limit,) = rate_limit_rules(parse_settings(site()))
    assert "http.host" not in limit["expression"]
    assert limit["expression"] == '(http.request.uri.path eq "/api/firstfactor")'
    (pro,) = rate_limit_rules(parse_settings(site(plan="pro")))
    assert pro["expression"] == '(http.host eq "auth.example.org" and http.request.uri.path eq "/api/firstfactor")'


def test_expression_fields_ignore_string_literals() -> None:
    expression = '(http.host eq "cf.threat_score.example" and lower(http.request.uri.path) contains "/ip.src")'
    assert expression_fields(expression) == {"http.host", "http.request.uri.path"}


def test_no_rule_reads_the_dead_threat_score() -> None:
    for ruleset in rulesets(parse_settings(site(plan="business", blockCountries=["CN"]))):
        for rule in ruleset.rules:
            assert "cf.threat_score" not in expression_fields(rule["expression"]), rule


def test_a_rule_the_plan_refuses_stops_the_program_before_any_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard itself: a host-matching rate limit on free, a seventh custom rule, a 60 s period."""
    host_rule = {
        "description": "host",
        "expression": '(http.host eq "x.example.org")',
        "action": "block",
        "ratelimit": {"characteristics": ["cf.colo.id", "ip.src"], "period": 60, "mitigation_timeout": 10},
    }
    monkeypatch.setattr(render_cloudflare, "rate_limit_rules", lambda settings: [host_rule, host_rule])
    monkeypatch.setattr(
        render_cloudflare,
        "waf_rules",
        lambda settings: [{"description": "r", "expression": '(http.request.uri.path matches "^/x")'}] * 6,
    )
    settings = parse_settings(site())
    found = [p.message for p in plan_problems(settings)]
    assert "6 WAF custom rules; the free plan allows 5" in found
    assert "custom rule 'r' uses a regex; free has none" in found
    assert "2 rate limiting rules; the free plan allows 1" in found
    assert any(re.search(r"'host' uses http\.host, which the free plan does not allow", m) for m in found), found
    assert "rate limiting rule 'host' counts over 60 s" in found
    assert all(p.key == "media-server:cloudflare.plan" for p in plan_problems(settings))

    result = run_program(as_stack(site(), secrets={"cloudflareApiToken": "t", "cloudflareDnsToken": "d"}))
    assert result.problems and all(p.key == "media-server:cloudflare.plan" for p in result.problems)
    assert result.resources == []


@pytest.mark.parametrize(
    ("plan", "key", "value", "expected"),
    [
        ("free", "authRateLimitPeriod", 60, r"the free plan counts rate limits over 10 s only; expected one of"),
        ("pro", "authRateLimitPeriod", 600, r"the pro plan counts rate limits over 10 s, 60 s only"),
        ("free", "authRateLimitTimeout", 3600, r"the free plan blocks for 10 s only; expected one of"),
        ("pro", "authRateLimitTimeout", 86400, r"the pro plan blocks for 10 s, 60 s, 3600 s only"),
    ],
)
def test_rate_limit_period_and_timeout_follow_the_plan(plan: str, key: str, value: int, expected: str) -> None:
    (problem,) = problems_for(site(plan=plan, **{key: value}))
    assert problem.startswith(f"media-server:cloudflare.{key}: "), problem
    assert re.search(expected, problem) and f"(got {value})" in problem, problem


def test_plan_period_and_timeout_reach_the_rule() -> None:
    settings = parse_settings(site(plan="business", authRateLimitPeriod=600, authRateLimitTimeout=86400))
    (limit,) = rate_limit_rules(settings)
    assert limit["ratelimit"]["period"] == 600 and limit["ratelimit"]["mitigation_timeout"] == 86400
    assert plan_problems(settings) == []


def test_unknown_plan_is_refused() -> None:
    (problem,) = problems_for(site(plan="enterprise"))
    assert problem.startswith("media-server:cloudflare.plan: ") and "'free', 'pro' or 'business'" in problem


# ------------------------------------------------------------------ Universal SSL coverage
def test_proxied_hosts_two_levels_below_the_zone_are_refused() -> None:
    (problem,) = problems_for(site(domain="media.example.org"))
    assert problem.startswith("media-server:cloudflare.advancedCertificates: proxied hosts "), problem
    assert "more than one level below zone example.org, which Universal SSL does not cover" in problem


def test_deep_hosts_pass_with_advanced_certificates_or_dns_only_or_at_the_zone() -> None:
    parse_settings(site(domain="media.example.org", advancedCertificates=True))
    parse_settings(site(domain="example.org"))
    routed = [s.name for s in parse_settings(site()).enabled_services() if s.routed and not s.streams_media]
    parse_settings(site(domain="media.example.org", proxied=dict.fromkeys(routed, False)))


# ------------------------------------------------------------------ tokens
@pytest.fixture(scope="module")
def prod_with_secrets() -> RunResult:
    result = run_program(as_stack(stack_raw("prod"), name="prod", secrets=PROD_SECRETS))
    assert result.ok, result.problems
    return result


def test_traefik_gets_the_dns_token_and_the_provider_the_api_token(prod_with_secrets: RunResult) -> None:
    files = uploads(container(prod_with_secrets, "traefik"))
    assert files[traefik.CLOUDFLARE_TOKEN_FILE] == "placeholder-cloudflareDnsToken"
    assert not any("placeholder-cloudflareApiToken" in str(v) for v in files.values())
    (provider,) = prod_with_secrets.of_type("pulumi:providers:cloudflare")
    assert "placeholder-cloudflareApiToken" in str(provider.inputs["apiToken"])


def test_the_dns_token_is_required_when_traefik_needs_it() -> None:
    raw = site()
    result = run_program(as_stack(raw, secrets={"cloudflareApiToken": "t"}))
    assert [p.key for p in result.problems] == ["media-server:cloudflareDnsToken"]
    assert "Zone Read and DNS Edit" in result.problems[0].message and result.resources == []


# ------------------------------------------------------------------ entry-point rulesets
def test_check_prints_an_import_command_per_entry_point_ruleset() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        check_main(["--stack", "prod"])
    commands = [line.strip() for line in out.getvalue().splitlines() if line.strip().startswith("pulumi import")]
    phases = sorted(ruleset.phase for ruleset in rulesets(stack_settings("prod")))
    assert [re.search(r"phases/(\w+)/entrypoint", c)[1] for c in commands] == phases  # type: ignore[index]
    for command in commands:
        assert "cloudflare:index/ruleset:Ruleset edge-" in command
        assert "--parent edge=urn:pulumi:prod::media-server::media-server:edge:CloudflareZone::edge" in command
        assert "pulumi:pulumi:Stack" not in command
        assert f'"zones/{ZONE_ID}/$(curl -fsS' in command


def test_waf_rules_count_grows_with_country_lists_and_stays_within_free() -> None:
    settings = parse_settings(site(blockCountries=["CN"], challengeCountries=["RU"]))
    assert len(waf_rules(settings)) == 3 <= PLANS["free"].custom_rules

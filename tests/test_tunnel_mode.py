"""Tunnel mode passes the gate by design (issue 11, finding 9): the pack's proxy ranges follow the mode."""

from __future__ import annotations

import pytest
import yaml

from config.problems import SettingsError
from config.settings import ACK_PLACEHOLDER
from config.stack import load_stack_file, parse_settings
from offline.gate import evaluate, load_pack_config
from offline.runner import ROOT, RunResult, run_program
from render.traefik import trusted_proxies
from tests.conftest import make_check
from tests.edge_support import stack_raw

TUNNEL = ROOT / "tests" / "fixtures" / "tunnel" / "Pulumi.tunnel.yaml"


@pytest.fixture(scope="module")
def tunnel() -> RunResult:
    result = run_program(load_stack_file(TUNNEL))
    assert result.ok, result.problems
    return result


def _raw() -> dict[str, object]:
    return stack_raw(TUNNEL)


def test_make_check_on_a_tunnel_stack_exits_0() -> None:
    made = make_check(TUNNEL.relative_to(ROOT))
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr
    assert made.stdout.strip().splitlines()[-1].startswith("policy: PASS: 0 mandatory")


def test_traefik_trusts_the_tunnel_network_and_the_gate_accepts_it(tunnel: RunResult) -> None:
    settings = parse_settings(_raw())
    assert trusted_proxies(settings) == [settings.networks.proxy.cidr]
    verdict = evaluate(tunnel, stack=load_stack_file(TUNNEL))
    assert verdict.mandatory == [] and verdict.config_errors == []


def test_without_the_tunnel_connector_the_same_trust_is_a_violation(tunnel: RunResult) -> None:
    """The pass comes from the connector the stack deploys, not from a blanket exception: take cloudflared out of
    the rule's connectors and trusting the proxy network is MS-020 again."""
    config = load_pack_config()
    config["ms-020-traefik-forwarded-headers"] = {"tunnelConnectors": []}
    verdict = evaluate(tunnel, config=config)
    assert [v.rule for v in verdict.mandatory] == ["MS-020", "MS-020"]
    assert all("trusts forwardedHeaders from 10.10.0.0/24" in v.message for v in verdict.mandatory)


def test_a_connector_on_another_network_does_not_widen_trust(tunnel: RunResult) -> None:
    for res in tunnel.resources:
        if res.type == "docker:index/container:Container" and res.name.endswith("cloudflared-container"):
            # MS-020 is a stack policy: it reads what the engine stores (outputs), so move the connector there.
            moved = {
                "networksAdvanced": [{"name": "elsewhere", "aliases": ["cloudflared"]}],
                "networkMode": "elsewhere",
            }
            res.inputs = {**res.inputs, **moved}
            res.outputs = {**res.outputs, **moved}
    verdict = evaluate(tunnel)
    assert {v.rule for v in verdict.mandatory} == {"MS-020"}


def test_acknowledgement_error_shows_the_yaml_to_write() -> None:
    raw = _raw()
    raw.pop("policy")
    with pytest.raises(SettingsError) as info:
        parse_settings(raw)
    problems = info.value.problems
    assert [p.key for p in problems] == [
        f"media-server:policy.acknowledgeProxiedMedia.{n}"
        for n in ("audiobookshelf", "immich-server", "jellyfin", "navidrome")
    ]
    for problem in problems:
        assert "keep it DNS-only" not in problem.message  # impossible in tunnel mode
        assert "tunnel mode carries every app through Cloudflare" in problem.message
        line = problem.message.split("e.g. ", 1)[1]
        written = yaml.safe_load(line.replace(ACK_PLACEHOLDER, "a family site with a handful of streams a week"))
        assert set(written) == {"media-server:policy"}
        parse_settings({**raw, "policy": written["media-server:policy"]})  # what it says to write is enough


def test_dns_mode_message_offers_dns_only_and_keeps_existing_acknowledgements() -> None:
    raw = {
        "domain": "example.org",
        "host": {"mode": "local"},
        "cloudflare": {
            "enabled": True,
            "zone": "example.org",
            "zoneId": "0" * 32,
            "publicAddress": "203.0.113.10",
            "proxied": {"jellyfin": True, "navidrome": True},
        },
        "policy": {"acknowledgeProxiedMedia": {"navidrome": "a family site with a handful of streams a week"}},
    }
    with pytest.raises(SettingsError) as info:
        parse_settings(raw)
    (problem,) = info.value.problems
    assert "(cloudflare.proxied.jellyfin: false)" in problem.message
    written = yaml.safe_load(problem.message.split("e.g. ", 1)[1])
    assert written["media-server:policy"]["acknowledgeProxiedMedia"] == {
        "jellyfin": ACK_PLACEHOLDER,
        "navidrome": "a family site with a handful of streams a week",
    }

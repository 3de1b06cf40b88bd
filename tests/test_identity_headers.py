"""Identity headers: stripped at the edge on every route; header-trusting apps believe Traefik's address alone."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from config.catalog import CATALOG
from config.ingress import dynamic_pool, ingress_address
from config.problems import SettingsError
from offline.runner import RunResult
from render import traefik
from tests.conftest import containers
from tests.edge_support import stack_settings

NETWORK = "docker:index/network:Network"


def _env(inputs: dict[str, Any]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in inputs["envs"])


def test_navidrome_trusts_only_traefiks_fixed_address(prod: RunResult) -> None:
    settings = stack_settings("prod")
    found = containers(prod)
    address = ingress_address(settings)
    assert _env(found["navidrome"].inputs)["ND_REVERSEPROXYWHITELIST"] == f"{address}/32"
    (proxy,) = [n for n in found["traefik"].inputs["networksAdvanced"] if n["name"].endswith("-proxy")]
    assert proxy["ipv4Address"] == address
    (network,) = [n for n in prod.of_type(NETWORK) if n.inputs["name"].endswith("-proxy")]
    (ipam,) = network.inputs["ipamConfigs"]
    pool = ipaddress.IPv4Network(ipam["ipRange"])
    assert ipaddress.IPv4Address(address) in ipaddress.IPv4Network(ipam["subnet"])
    assert ipaddress.IPv4Address(address) not in pool, "Docker could hand Traefik's address to another container"
    others = [c for name, c in found.items() if name != "traefik"]
    assert not [c for c in others for n in c.inputs.get("networksAdvanced") or [] if n.get("ipv4Address")]


def test_an_env_override_cannot_widen_the_trusted_proxy() -> None:
    # The settings refuse the override outright (config/env_overrides.py); the program's value is Traefik's address.
    with pytest.raises(SettingsError) as info:
        stack_settings("prod", services={"navidrome": {"env": {"ND_REVERSEPROXYWHITELIST": "0.0.0.0/0"}}})
    assert [p.key for p in info.value.problems] == ["media-server:services.navidrome.env.ND_REVERSEPROXYWHITELIST"]
    settings = stack_settings("prod")
    assert settings.service("navidrome").env["ND_REVERSEPROXYWHITELIST"] == f"{ingress_address(settings)}/32"


def test_dynamic_pool_is_the_lower_half_even_on_the_smallest_network() -> None:
    assert dynamic_pool("10.10.0.0/24") == "10.10.0.0/25"
    assert dynamic_pool("10.20.0.0/29") == "10.20.0.0/30"
    small = stack_settings("prod", networks={"proxy": {"cidr": "10.20.0.0/29"}})
    assert ingress_address(small) == "10.20.0.6"


def test_every_entry_point_strips_the_identity_headers_first() -> None:
    for stack in ("dev", "prod"):
        settings = stack_settings(stack)
        static = traefik.render_static(settings)
        middlewares = traefik.render_dynamic(settings)["http"]["middlewares"]
        strip = middlewares[traefik.STRIP_IDENTITY]["headers"]["customRequestHeaders"]
        trusted = {s.header_trust.header for s in CATALOG.values() if s.header_trust is not None}
        assert set(strip) >= set(traefik.AUTH_RESPONSE_HEADERS) | trusted
        assert set(strip.values()) == {""}, "an empty value is what deletes a request header in Traefik"
        for name in ("web", "websecure"):
            assert static["entryPoints"][name]["http"]["middlewares"][0] == f"{traefik.STRIP_IDENTITY}@file"

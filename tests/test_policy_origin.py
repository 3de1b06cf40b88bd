"""MS-031: a hostname Cloudflare proxies is served only to Cloudflare's addresses, over the edge layer's real
configuration for the prod site, one mutation at a time."""

from __future__ import annotations

from typing import Any

import pytest

from policies.rules.common import DNS_RECORD
from render import traefik as render_traefik
from tests import policy_fixtures as fx
from tests.edge_support import stack_settings
from tests.policy_harness import Res, check

SITE = stack_settings("prod")
PUBLISHED = [{"internal": 443.0, "external": 443.0, "protocol": "tcp"}]


def _record(sub: str, proxied: bool) -> Res:
    name = f"{sub}.{SITE.domain}"
    inputs = {"zoneId": fx.ZONE, "name": name, "type": "A", "content": "203.0.113.10", "ttl": 1, "proxied": proxied}
    return Res(DNS_RECORD, f"edge-dns-{sub}", inputs)


def stack(dynamic: dict[str, Any] | None = None, ports: list[dict[str, Any]] | None = PUBLISHED) -> list[Res]:
    traefik = fx.traefik(
        static=render_traefik.render_static(SITE),
        dynamic=dynamic if dynamic is not None else render_traefik.render_dynamic(SITE),
        ports=ports,
    )
    return [traefik, _record("sonarr", True), _record("jellyfin", False), _record("auth", True)]


def found(resources: list[Res]) -> list[str]:
    return [v.message for v in check(*resources).violations if v.rule == "MS-031"]


def test_the_prod_edge_passes() -> None:
    assert found(stack()) == []


def test_a_proxied_host_without_the_allow_list_fails() -> None:
    dynamic = render_traefik.render_dynamic(SITE)
    dynamic["http"]["routers"]["sonarr"]["middlewares"].remove(render_traefik.CLOUDFLARE_ONLY)
    (message,) = found(stack(dynamic))
    assert message.startswith("router sonarr serves sonarr.") and "admits any source address" in message


@pytest.mark.parametrize(
    ("allow", "words"),
    [
        ({"sourceRange": ["0.0.0.0/0"]}, "admits 0.0.0.0/0"),
        ({"sourceRange": ["173.245.48.0/20", "198.51.100.0/24"]}, "admits 198.51.100.0/24"),
        ({"sourceRange": render_traefik.cloudflare_ranges(), "ipStrategy": {"depth": 1}}, "X-Forwarded-For"),
        ({"sourceRange": render_traefik.cloudflare_ranges(), "ipStrategy": {"excludedIPs": ["10.0.0.0/8"]}}, "X-Fo"),
    ],
)
def test_an_allow_list_wider_than_cloudflare_or_on_forwarded_headers_fails(allow: dict[str, Any], words: str) -> None:
    dynamic = render_traefik.render_dynamic(SITE)
    dynamic["http"]["middlewares"][render_traefik.CLOUDFLARE_ONLY] = {"ipAllowList": allow}
    messages = found(stack(dynamic))
    assert messages and all(words in m for m in messages)
    assert {m.split()[1] for m in messages} >= {"sonarr", "sonarr-bypass-1", "authelia"}


def test_dns_only_hosts_and_a_tunnel_need_no_allow_list() -> None:
    dynamic = render_traefik.render_dynamic(SITE)
    for router in dynamic["http"]["routers"].values():
        if render_traefik.CLOUDFLARE_ONLY in router["middlewares"]:
            router["middlewares"].remove(render_traefik.CLOUDFLARE_ONLY)
    assert {m.split()[1] for m in found(stack(dynamic))} == {"sonarr", "sonarr-bypass-1", "authelia"}  # no jellyfin
    assert found(stack(dynamic, ports=None)) == [], "no published port (tunnel mode): only cloudflared reaches it"

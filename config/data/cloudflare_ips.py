"""Cloudflare's published edge address ranges, as data.

Source: https://www.cloudflare.com/ips-v4 and https://www.cloudflare.com/ips-v6
(the same lists as the API's GET /client/v4/ips), as published when this file
was last checked (2026-11). Cloudflare announces changes ahead of time; refresh
both lists from those URLs when it does. Traefik trusts X-Forwarded-For only
from these sources, so a stale list means real clients appear as Cloudflare
addresses (new ranges) or a retired range keeps trust (removed ranges).
"""

from __future__ import annotations

import ipaddress

IPV4: tuple[str, ...] = (
    "173.245.48.0/20",
    "103.21.244.0/22",
    "103.22.200.0/22",
    "103.31.4.0/22",
    "141.101.64.0/18",
    "108.162.192.0/18",
    "190.93.240.0/20",
    "188.114.96.0/20",
    "197.234.240.0/22",
    "198.41.128.0/17",
    "162.158.0.0/15",
    "104.16.0.0/13",
    "104.24.0.0/14",
    "172.64.0.0/13",
    "131.0.72.0/22",
)

IPV6: tuple[str, ...] = (
    "2400:cb00::/32",
    "2606:4700::/32",
    "2803:f800::/32",
    "2405:b500::/32",
    "2405:8100::/32",
    "2a06:98c0::/29",
    "2c0f:f248::/32",
)


def cloudflare_ranges() -> list[str]:
    """Every published range, IPv4 first, validated as networks."""
    return [str(ipaddress.ip_network(cidr)) for cidr in (*IPV4, *IPV6)]

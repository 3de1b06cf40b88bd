"""Traefik's fixed place on the proxy network, the one address apps may trust for identity headers.

An app that takes the user from a proxy header (Navidrome's Remote-User)
must believe only Traefik: every other container on the proxy network could
otherwise send the header itself. Docker gives a container a fixed address
only inside the network's subnet, and its dynamic pool (ip_range) must not
hold that address, or another container started first could take it. So the
proxy network hands out dynamic addresses from the lower half of its subnet
and Traefik sits on the last host address of the upper half.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config.settings import Settings


def ingress_address(settings: Settings) -> str:
    """Traefik's IPv4 address on the proxy network: the subnet's last host address."""
    net = ipaddress.IPv4Network(settings.networks.proxy.cidr)
    return str(net.broadcast_address - 1)


def dynamic_pool(cidr: str) -> str:
    """The part of a subnet Docker assigns dynamic addresses from: its lower half (never the ingress address)."""
    net = ipaddress.IPv4Network(cidr)
    lower, _ = net.subnets(prefixlen_diff=1)
    return str(lower)


def ingress_trust(settings: Settings) -> str:
    """The one source a header-trusting app believes: Traefik's address as a /32."""
    return f"{ingress_address(settings)}/32"

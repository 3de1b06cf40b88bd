"""Address ranges across every network setting: private, clear of Docker's default bridge, and disjoint.

The bridges (networks.*), WireGuard's client range (edge.wireguard.clientCidr)
and the VPN provider's interface addresses (media.vpn.wireguardAddresses) all
end up in one host's routing table: two that overlap make one of them
unreachable (a VPN client handed an address on the admin network talks to
itself, not to Prometheus). A public range would shadow real hosts on the
internet; 172.17.0.0/16 is docker0, present on every Docker host: each range
is checked for those by its type (config.types.Cidr), the pairs here.
"""

from __future__ import annotations

import ipaddress
import itertools
from typing import TYPE_CHECKING

from config.problems import ProblemSpec
from config.spec import NetworkName

if TYPE_CHECKING:
    from config.settings import Settings


def site_ranges(settings: Settings) -> list[tuple[tuple[str | int, ...], ipaddress.IPv4Network]]:
    """(config location, network) of every range the site puts on the host."""
    ranges: list[tuple[tuple[str | int, ...], ipaddress.IPv4Network]] = [
        (("networks", name.value, "cidr"), ipaddress.IPv4Network(settings.networks.cidr(name))) for name in NetworkName
    ]
    ranges.append((("edge", "wireguard", "clientCidr"), ipaddress.IPv4Network(settings.edge.wireguard.client_cidr)))
    for i, address in enumerate(settings.media.vpn.wireguard_addresses):
        interface = ipaddress.ip_interface(address)
        if isinstance(interface, ipaddress.IPv4Interface):
            ranges.append((("media", "vpn", "wireguardAddresses", i), interface.network))
    return ranges


def _name(loc: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def overlap_problems(settings: Settings) -> list[ProblemSpec]:
    """Each pair of the site's ranges that overlaps (the bridges among themselves are NetworkSettings' check)."""
    problems: list[ProblemSpec] = []
    for (loc_a, a), (loc_b, b) in itertools.combinations(site_ranges(settings), 2):
        if loc_a[0] == loc_b[0] == "networks":
            continue
        if a.overlaps(b):
            problems.append((loc_b, str(b), f"overlaps {_name(loc_a)} ({a}); expected disjoint ranges"))
    return problems

"""The bridge networks; data and socket are internal (no route out)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from config.ingress import dynamic_pool
from config.settings import NetworkSettings
from config.spec import NetworkName

INTERNAL = frozenset({NetworkName.DATA, NetworkName.SOCKET})


@dataclass(frozen=True)
class BridgeNetworksArgs:
    networks: NetworkSettings
    prefix: str
    labels: dict[str, str]


class BridgeNetworks(pulumi.ComponentResource):
    """proxy / media / admin / data bridge networks with fixed subnets."""

    by_name: dict[NetworkName, docker.Network]
    names: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: BridgeNetworksArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:networks:BridgeNetworks", name, None, opts)
        self.by_name = {}
        for net in NetworkName:
            cidr = ipaddress.IPv4Network(args.networks.cidr(net))
            self.by_name[net] = docker.Network(
                f"{name}-{net.value}",
                docker.NetworkArgs(
                    name=f"{args.prefix}-{net.value}",
                    driver="bridge",
                    internal=net in INTERNAL,
                    ipam_configs=[
                        docker.NetworkIpamConfigArgs(
                            subnet=str(cidr),
                            gateway=str(cidr.network_address + 1),
                            # Dynamic addresses from the lower half: Traefik's fixed one is never handed out.
                            ip_range=dynamic_pool(str(cidr)) if net is NetworkName.PROXY else None,
                        )
                    ],
                    labels=[
                        docker.NetworkLabelArgs(label=key, value=value)
                        for key, value in sorted({**args.labels, "media-server.network": net.value}.items())
                    ],
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.names = pulumi.Output.all(**{n.value: r.name for n, r in self.by_name.items()})
        self.register_outputs({"names": self.names})

"""ProxyLayer: Traefik, CrowdSec and WireGuard: the only way in."""

from __future__ import annotations

import pulumi

from components.layer import LayerArgs, ServiceLayer
from config.spec import Tier


class ProxyLayer(ServiceLayer):
    tiers = (Tier.EDGE,)

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:proxy:ProxyLayer", name, args, opts)
        for spec in self.specs():
            self.deploy(spec)
        self.finish()

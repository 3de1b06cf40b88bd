"""AuthLayer: Authelia single sign-on (and optional LLDAP)."""

from __future__ import annotations

import pulumi

from components.layer import LayerArgs, ServiceLayer
from config.spec import Tier


class AuthLayer(ServiceLayer):
    tiers = (Tier.AUTH,)

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:auth:AuthLayer", name, args, opts)
        for spec in self.specs():
            self.deploy(spec)
        self.finish()

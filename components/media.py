"""MediaTier: Media servers, content managers, downloads and the dashboard."""

from __future__ import annotations

import pulumi

from components.layer import LayerArgs, ServiceLayer
from config.spec import Tier


class MediaTier(ServiceLayer):
    tiers = (Tier.MEDIA,)

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:apps:MediaTier", name, args, opts)
        for spec in self.specs():
            self.deploy(spec)
        self.finish()

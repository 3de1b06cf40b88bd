"""BackupTier: restic backups, database dumps and restore drills."""

from __future__ import annotations

import pulumi

from components.layer import LayerArgs, ServiceLayer
from config.spec import Tier


class BackupTier(ServiceLayer):
    tiers = (Tier.BACKUP,)

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:recovery:BackupTier", name, args, opts)
        for spec in self.specs():
            self.deploy(spec)
        self.finish()

"""MonitoringTier: Prometheus, Alertmanager, Grafana, Loki and exporters."""

from __future__ import annotations

import pulumi

from components.layer import LayerArgs, ServiceLayer
from config.spec import Tier


class MonitoringTier(ServiceLayer):
    tiers = (Tier.MONITORING,)

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:observability:MonitoringTier", name, args, opts)
        for spec in self.specs():
            self.deploy(spec)
        self.finish()

"""ServiceLayer: the shared shape of every tier component.

A layer deploys the enabled catalog entries of its tiers as ContainerServices
(children named `<layer>-<service>`), and tier modules add what is specific
to them (generated files, secrets, extra resources) through `deploy`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from components.secrets import SiteSecrets
from components.service import ContainerService, ContainerServiceArgs, SiteContext
from config.settings import Settings
from config.spec import ServiceSpec, Tier


@dataclass(frozen=True)
class LayerArgs:
    site: SiteContext
    generated: SiteSecrets
    """Generated credentials shared across layers (database logins, OIDC client secrets, ...)."""
    config_secrets: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    """Secret config values the program cannot generate, by config key (e.g. cloudflareApiToken)."""
    peers: Mapping[str, ContainerService] = field(default_factory=dict)
    """Services deployed by earlier layers, by catalog name."""


class ServiceLayer(pulumi.ComponentResource):
    """Base for tier components; subclasses pass their type token and tiers."""

    services: dict[str, ContainerService]
    tiers: Sequence[Tier] = ()

    def __init__(self, type_token: str, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(type_token, name, None, opts)
        self._layer_name = name
        self._args = args
        self.services = {}

    @property
    def settings(self) -> Settings:
        return self._args.site.settings

    def specs(self) -> list[ServiceSpec]:
        return [spec for tier in self.tiers for spec in self.settings.enabled_services(tier)]

    def deploy(self, spec: ServiceSpec, **kwargs: object) -> ContainerService:
        service = ContainerService(
            f"{self._layer_name}-{spec.name}",
            ContainerServiceArgs(spec=spec, site=self._args.site, **kwargs),  # type: ignore[arg-type]
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.services[spec.name] = service
        return service

    def finish(self, **outputs: pulumi.Input[object]) -> None:
        self.register_outputs(
            {"containers": {name: svc.container_name for name, svc in sorted(self.services.items())}, **outputs}
        )

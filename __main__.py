"""media-server: one typed description of a site -> a hardened self-hosted media platform.

Settings are read and validated once, here, before any resource exists;
layers are composed in dependency order; only secrets leave as secrets.
"""

from __future__ import annotations

from typing import TypeVar

import pulumi

from components.auth import AuthLayer
from components.backup import BackupTier
from components.data import DataTier
from components.host import RemoteHost, RemoteHostArgs
from components.layer import LayerArgs, ServiceLayer
from components.media import MediaTier
from components.monitoring import MonitoringTier
from components.networks import BridgeNetworks, BridgeNetworksArgs
from components.proxy import ProxyLayer
from components.secrets import SiteSecrets, SiteSecretsArgs
from components.service import SiteContext
from config.layout import directory_tree
from config.problems import SettingsError
from config.stack import load_site
from render.cloudflare import plan_problems as cloudflare_plan_problems

Layer = TypeVar("Layer", bound=ServiceLayer)

site = load_site()  # raises SettingsError listing every problem; nothing is registered before this
settings = site.settings
if plan_problems := cloudflare_plan_problems(settings):  # the rendered rules within the zone's plan, before any
    raise SettingsError(plan_problems)  # resource exists
stack = pulumi.get_stack()

host = RemoteHost(
    "host",
    RemoteHostArgs(
        host=settings.host,
        directories=directory_tree(settings),
        private_key=site.secret("sshPrivateKey"),
        stack=stack,
    ),
)
on_host = pulumi.ResourceOptions(providers={"docker": host.provider})

networks = BridgeNetworks(
    "networks",
    BridgeNetworksArgs(
        networks=settings.networks,
        prefix=f"ms-{stack}",
        labels={"media-server.project": "media-server", "media-server.stack": stack},
    ),
    opts=on_host,
)
context = SiteContext(
    settings=settings,
    stack=stack,
    networks=networks.by_name,
    ready=[host.prepared],
    private_key=site.secret("sshPrivateKey"),
)

generated = SiteSecrets("secrets", SiteSecretsArgs(settings=settings))
data = DataTier("data", LayerArgs(site=context, generated=generated, config_secrets=site.secrets), opts=on_host)
layers: list[ServiceLayer] = [data]
peers = dict(data.services)
if settings.tiers.edge and settings.cloudflare.enabled:
    from components.edge import CloudflareZone  # pulumi_cloudflare takes seconds to import: only when used

    edge = CloudflareZone(
        "edge", LayerArgs(site=context, generated=generated, config_secrets=site.secrets), opts=on_host
    )
    peers.update(edge.services)
    layers.append(edge)
for layer_type, tier_on in (
    (AuthLayer, settings.tiers.edge),
    (ProxyLayer, settings.tiers.edge),
    (MediaTier, settings.tiers.media),
    (MonitoringTier, settings.tiers.monitoring),
    (BackupTier, settings.tiers.backup),
):
    if not tier_on:
        continue
    name = layer_type.__name__.removesuffix("Layer").removesuffix("Tier").lower()
    layer = layer_type(
        name,
        LayerArgs(site=context, generated=generated, config_secrets=site.secrets, peers=dict(peers)),
        opts=on_host,
    )
    peers.update(layer.services)
    layers.append(layer)


def composed(kind: type[Layer]) -> Layer | None:
    return next((layer for layer in layers if isinstance(layer, kind)), None)


# ---------------------------------------------------------------- exports (secrets only as secrets)
pulumi.export("dockerHost", host.docker_host)
pulumi.export("networks", networks.names)
routed = settings.is_enabled("traefik")  # without Traefik nothing answers at an app's URL
pulumi.export(
    "urls",
    {
        spec.name: settings.url(spec)
        for spec in settings.enabled_services()
        if routed and spec.name in peers and spec.subdomain
    },
)
pulumi.export(
    "generatedSecrets",
    pulumi.Output.secret({"postgresSuperuser": generated.postgres_superuser, "redis": generated.redis_password}),
)
if (proxy := composed(ProxyLayer)) is not None:
    pulumi.export("routes", proxy.routes)
    if proxy.wireguard_password is not None:
        pulumi.export("wireguardAdminPassword", pulumi.Output.secret(proxy.wireguard_password))
if (auth := composed(AuthLayer)) is not None:
    pulumi.export("autheliaUsers", auth.user_passwords)
    # Apps configured in their own UI (Immich's OAuth settings) take their client secret from here.
    pulumi.export(
        "oidcClientSecrets",
        pulumi.Output.secret({app: client.result for app, client in sorted(generated.oidc_clients.items())}),
    )
if (monitoring := composed(MonitoringTier)) is not None:
    pulumi.export(
        "monitoring",
        {"scrapeTargets": monitoring.scrape_targets, "probes": monitoring.probes, "alertRules": monitoring.alert_rules},
    )
    if monitoring.grafana_admin_password is not None:
        pulumi.export("grafanaAdminPassword", pulumi.Output.secret(monitoring.grafana_admin_password))
if (backup := composed(BackupTier)) is not None:
    # Every backup is encrypted with it: README says to keep a copy outside the server.
    pulumi.export("backupRepositoryPassword", pulumi.Output.secret(backup.repository_password))

"""MediaTier: media servers, content managers, the VPN-bound download client and the dashboard.

What is specific here, beyond each entry's container:
- Immich's own PostgreSQL gets a generated password, shared with the server.
- The download client (route_via) lives in gluetun's network namespace:
  no network of its own, so no route out but the VPN; gluetun carries its
  name as a network alias, so Traefik and the other apps reach it there.
- gluetun gets the VPN credentials from secret config and, with port
  forwarding on, the script it runs on every (re)connect to hand the
  forwarded port to qBittorrent.
- The dashboard's configuration is rendered from the catalog.
- The search service gets its search.json and, as read-only secret files, the key of each source it
  indexes (and Elasticsearch's password with that engine); a source without its key is explained on
  its page, not deployed half-way.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pulumi

from components.layer import LayerArgs, ServiceLayer
from config.search import ELASTIC_PASSWORD_FILE, ELASTICSEARCH, SEARCH
from config.settings import Settings
from config.spec import ServiceSpec, Tier
from config.stack import vpn_secret_keys
from config.tailoring import PORT_FORWARD_SCRIPT
from render.homepage import render_files
from render.search import indexed_keys as search_key_files
from render.search import render_files as search_files

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts" / "media"
QBITTORRENT_INIT = "/custom-cont-init.d/50-media-server-localhost-auth.sh"
"""linuxserver.io runs scripts from /custom-cont-init.d as root after its own init."""

VPN_ENV = {
    "vpnWireguardPrivateKey": "WIREGUARD_PRIVATE_KEY",
    "vpnWireguardPresharedKey": "WIREGUARD_PRESHARED_KEY",
    "vpnUser": "OPENVPN_USER",
    "vpnPassword": "OPENVPN_PASSWORD",
}
"""Secret config key -> gluetun environment variable."""


def vpn_environment(settings: Settings, secrets: Mapping[str, pulumi.Output[str]]) -> dict[str, pulumi.Output[str]]:
    """gluetun's credentials for the configured VPN type (the settings loader refuses missing ones)."""
    missing = [key for key in vpn_secret_keys(settings) if key not in secrets]
    if missing:
        raise ValueError(
            f"gluetun needs secret config {', '.join(missing)} for media.vpn.type {settings.media.vpn.type}"
        )
    keys = [*vpn_secret_keys(settings)]
    if settings.media.vpn.type == "wireguard" and "vpnWireguardPresharedKey" in secrets:
        keys.append("vpnWireguardPresharedKey")
    return {VPN_ENV[key]: secrets[key] for key in keys}


def routed_through(name: str, specs: list[ServiceSpec]) -> list[str]:
    """Apps that live in this container's network namespace: they become its network aliases."""
    return [spec.name for spec in specs if spec.route_via == name]


class MediaTier(ServiceLayer):
    tiers = (Tier.MEDIA,)

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:apps:MediaTier", name, args, opts)
        specs = self.specs()
        # One password for Immich's own PostgreSQL, shared with the backup tier's dumps (SiteSecrets).
        immich_db = args.generated.immich_db_password
        # A container that shares another's network namespace comes after it.
        for spec in sorted(specs, key=lambda s: s.route_via is not None):
            aliases = routed_through(spec.name, specs)
            if spec.route_via is not None:
                self._routed(spec)
            elif spec.name == "gluetun":
                self._gluetun(spec, aliases)
            elif spec.name == "immich-postgres" and immich_db is not None:
                self.deploy(spec, secret_env={"POSTGRES_PASSWORD": immich_db})
            elif spec.name == "immich-server" and immich_db is not None:
                self.deploy(spec, secret_env={"DB_PASSWORD": immich_db})
            elif spec.name == "homepage":
                self.deploy(spec, files=render_files(self.settings))
            elif spec.name == SEARCH:
                self._search(spec)
            else:
                self.deploy(spec, aliases=aliases)
        self.finish()

    def _search(self, spec: ServiceSpec) -> None:
        """search.json (plain) and each indexed source's key as a file of its own (0400, read-only mount)."""
        secrets = self._args.config_secrets
        secret_files: dict[str, pulumi.Input[str]] = {
            path: secrets[key] for path, key in search_key_files(self.settings, secrets).items()
        }
        if self.settings.search.engine == ELASTICSEARCH:
            password = self._args.generated.elastic_password
            if password is None:
                raise ValueError("search.engine is elasticsearch but SiteSecrets made no password for it")
            secret_files[ELASTIC_PASSWORD_FILE] = password
        self.deploy(spec, files=search_files(self.settings, secrets), secret_files=secret_files)

    def _gluetun(self, spec: ServiceSpec, aliases: list[str]) -> None:
        files = {}
        if self.settings.media.vpn.port_forwarding:
            files[PORT_FORWARD_SCRIPT] = (SCRIPTS / "qbittorrent-port.sh").read_text()
        self.deploy(
            spec,
            aliases=aliases,
            files=files,
            secret_env=vpn_environment(self.settings, self._args.config_secrets),
        )

    def _routed(self, spec: ServiceSpec) -> None:
        assert spec.route_via is not None
        host = self.services.get(spec.route_via)
        if host is None:
            raise ValueError(f"{spec.name} is routed via {spec.route_via}, which this tier does not deploy")
        files = {}
        if spec.name == "qbittorrent" and self.settings.media.vpn.port_forwarding:
            files[QBITTORRENT_INIT] = (SCRIPTS / "qbittorrent-localhost-auth.sh").read_text()
        self.deploy(spec, network_container=host.container.id, files=files)

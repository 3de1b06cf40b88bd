"""The catalog's own invariants: every app present, pinned, consistent."""

from __future__ import annotations

import re

import pytest

from config.catalog import CATALOG
from config.spec import MountRole, StorageRoot, Tier

REQUIRED = {
    "traefik", "authelia", "crowdsec", "wireguard", "jellyfin", "navidrome", "audiobookshelf", "immich-server",
    "immich-machine-learning", "immich-postgres", "immich-redis", "kavita", "calibre-web", "sonarr", "radarr",
    "lidarr", "readarr", "mylar3", "prowlarr", "postgres", "redis", "elasticsearch", "prometheus", "alertmanager",
    "grafana", "loki", "alloy", "node-exporter", "cadvisor", "homepage", "backup",
}  # fmt: skip


def test_every_app_is_catalogued() -> None:
    assert set(CATALOG) >= REQUIRED


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_entry_is_pinned_and_consistent(name: str) -> None:
    spec = CATALOG[name]
    assert spec.image.tag.lower() != "latest"
    assert re.search(r"\d", spec.image.tag), f"{name}: tag {spec.image.tag} has no version number"
    assert spec.memory
    assert "SYS_ADMIN" not in spec.capabilities
    if spec.routed:
        assert spec.port is not None
    if spec.published:
        assert spec.tier is Tier.EDGE
    for mount in spec.mounts:
        if mount.role is MountRole.MEDIA and mount.root is StorageRoot.DATA and spec.tier is Tier.MEDIA:
            assert mount.target.startswith("/") and mount.target != "/"


def test_subdomains_unique() -> None:
    subdomains = [s.subdomain for s in CATALOG.values() if s.subdomain]
    assert len(subdomains) == len(set(subdomains))


def test_readarr_off_by_default() -> None:
    assert CATALOG["readarr"].enabled_by_default is False


def test_admin_apps_require_two_factor() -> None:
    for spec in CATALOG.values():
        if spec.admin:
            assert spec.effective_auth.value == "two_factor", spec.name


def test_databases_and_caches_publish_nothing() -> None:
    for spec in CATALOG.values():
        if spec.tier is Tier.DATA:
            assert not spec.published and not spec.subdomain and spec.healthcheck, spec.name


def test_content_managers_share_one_data_mount() -> None:
    movers = ["sonarr", "radarr", "lidarr", "readarr", "mylar3", "qbittorrent"]
    for name in movers:
        data = [m for m in CATALOG[name].mounts if m.root is StorageRoot.DATA]
        assert [(m.source, m.target, m.read_only) for m in data] == [("", "/data", False)], name


def test_readme_configuration_reference_is_current() -> None:
    from config.reference import BEGIN, END, render
    from offline.runner import ROOT

    text = (ROOT / "README.md").read_text()
    current = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert current == render(), "README's configuration reference is stale: run `make docs`"

"""Which connector reads which app: the service imports CONNECTORS and builds `CONNECTORS[app](config, timeout)`."""

from __future__ import annotations

from mediasearch.connectors.audiobookshelf import AudiobookshelfConnector
from mediasearch.connectors.calibre import CalibreConnector
from mediasearch.connectors.immich import ImmichConnector
from mediasearch.connectors.jellyfin import JellyfinConnector
from mediasearch.connectors.kavita import KavitaConnector
from mediasearch.connectors.navidrome import NavidromeConnector

CONNECTORS: dict[str, type] = {
    "jellyfin": JellyfinConnector,
    "navidrome": NavidromeConnector,
    "audiobookshelf": AudiobookshelfConnector,
    "kavita": KavitaConnector,
    "calibre-web": CalibreConnector,
    "immich": ImmichConnector,
}
"""Keyed by catalog app name (mediasearch.model.SOURCES)."""

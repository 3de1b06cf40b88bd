"""One connector per app: each reads the app's documented API (or, for Calibre, its metadata.db read-only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from mediasearch.config import SourceConfig
from mediasearch.model import Document


class ConnectorError(Exception):
    """A source could not be read; the message is shown on the page and counted in /metrics."""


class Connector(Protocol):
    config: SourceConfig

    def fetch(self, since: float | None) -> Iterator[Document]:
        """Every document of the source, or (with `since`, epoch seconds) those changed after it where the
        app can filter by change time. Raises ConnectorError on any failure (auth, timeout, bad answer)."""
        ...

    def cover(self, item_id: str) -> tuple[str, bytes]:
        """(content type, bytes) of the item's cover, fetched with the source's credentials. The server
        serves it at /cover/<app>/<id> (behind the same sign-on as the page), so no credential ever appears
        in a URL the browser sees. Raises ConnectorError when the app has none."""
        ...

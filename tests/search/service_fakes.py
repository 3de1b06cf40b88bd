"""Stand-ins for the service tests: an in-memory engine and scripted connectors.

The engine here is only a test double of the `Engine` protocol (a case-insensitive substring match, title
hits first); the real engines are tested by their own slice. The connectors follow the `Connector`
protocol: constructed as `(config, timeout)`, `fetch(since)` yields Documents, `cover(id)` answers bytes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from mediasearch.config import ServiceConfig, SourceConfig, parse
from mediasearch.connectors import ConnectorError
from mediasearch.model import Document, Hit, Kind

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\xa5\xf7\xa0\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
"""A valid 1x1 PNG."""


class MemoryEngine:
    def __init__(self) -> None:
        self.docs: dict[str, Document] = {}
        self.lock = threading.Lock()
        self.calls: list[tuple[str, str | None]] = []

    def replace_source(self, source: str, documents: Iterable[Document]) -> int:
        new = list(documents)
        with self.lock:
            self.calls.append(("replace_source", source))
            self.docs = {k: d for k, d in self.docs.items() if d.source != source}
            self.docs.update((d.key, d) for d in new)
        return len(new)

    def upsert(self, documents: Iterable[Document]) -> int:
        new = list(documents)
        with self.lock:
            self.calls.append(("upsert", new[0].source if new else None))
            self.docs.update((d.key, d) for d in new)
        return len(new)

    def search(self, query: str, *, kind: Kind | None = None, app: str | None = None, limit: int = 20) -> list[Hit]:
        words = query.casefold().split()
        hits = []
        with self.lock:
            for doc in self.docs.values():
                if (kind and doc.kind != kind) or (app and doc.source != app):
                    continue
                title = doc.title.casefold()
                rest = " ".join((*doc.creators, doc.description)).casefold()
                if all(w in title or w in rest for w in words):
                    hits.append(Hit(doc, 2.0 if all(w in title for w in words) else 1.0))
        hits.sort(key=lambda h: (-h.score, h.document.title))
        return hits[:limit]

    def counts(self) -> dict[str, int]:
        with self.lock:
            out: dict[str, int] = {}
            for doc in self.docs.values():
                out[doc.source] = out.get(doc.source, 0) + 1
            return out

    def close(self) -> None:
        pass


def doc(source: str, item: str, kind: Kind, title: str, **extra: Any) -> Document:
    base = {"jellyfin": "https://jellyfin.example.org", "navidrome": "https://music.example.org"}.get(
        source, f"https://{source}.example.org"
    )
    extra.setdefault("link", f"{base}/item/{item}")
    return Document(source=source, id=item, kind=kind, title=title, **extra)


class ScriptedConnector:
    """A connector whose behaviour the test sets per app through `ScriptedConnector.script`."""

    script: dict[str, Callable[[float | None], Iterator[Document]]] = {}
    covers: dict[tuple[str, str], tuple[str, bytes]] = {}
    seen: list[tuple[str, float | None]] = []

    def __init__(self, config: SourceConfig, timeout: float) -> None:
        self.config = config
        self.timeout = timeout

    def fetch(self, since: float | None) -> Iterator[Document]:
        type(self).seen.append((self.config.app, since))
        return self.script[self.config.app](since)

    def cover(self, item_id: str) -> tuple[str, bytes]:
        try:
            return self.covers[(self.config.app, item_id)]
        except KeyError:
            raise ConnectorError(f"{self.config.app} has no cover for {item_id}") from None


def connector_classes(**scripts: Callable[[float | None], Iterator[Document]]) -> dict[str, type]:
    """Fresh connector class (own script, covers and call log) for every app named."""
    cls = type("Scripted", (ScriptedConnector,), {"script": dict(scripts), "covers": {}, "seen": []})
    return {app: cls for app in scripts}


def raw_config(**overrides: Any) -> dict[str, Any]:
    """A valid configuration file's content: jellyfin and navidrome enabled, kavita without a key."""
    raw: dict[str, Any] = {
        "version": 1,
        "listen_port": 8080,
        "public_url": "https://search.example.org",
        "engine": {"kind": "sqlite", "path": "/index/search.db"},
        "incremental_seconds": 900,
        "full_seconds": 86400,
        "source_timeout_seconds": 60,
        "sources": [
            {
                "app": "jellyfin",
                "enabled": True,
                "url": "http://jellyfin:8096",
                "public_url": "https://jellyfin.example.org",
                "key_file": "/run/secrets/search/jellyfin",
                "user": None,
                "library": None,
                "reason": "",
            },
            {
                "app": "navidrome",
                "enabled": True,
                "url": "http://navidrome:4533",
                "public_url": "https://music.example.org",
                "key_file": "/run/secrets/search/navidrome",
                "user": "search",
                "library": None,
                "reason": "",
            },
            {
                "app": "kavita",
                "enabled": False,
                "url": "http://kavita:5000",
                "public_url": "https://kavita.example.org",
                "key_file": None,
                "user": None,
                "library": None,
                "reason": "no API key; set `media-server:searchKavitaApiKey`",
            },
        ],
    }
    raw.update(overrides)
    return raw


def service_config(**overrides: Any) -> ServiceConfig:
    return parse(raw_config(**overrides))


def write_config(path: Path, **overrides: Any) -> Path:
    path.write_text(json.dumps(raw_config(**overrides)), encoding="utf-8")
    return path

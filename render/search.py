"""The search service's configuration file (/config/search.json), as data.

The format is the service's own (images/search/mediasearch/config.py, `parse`); tests/test_search_platform.py
loads what is rendered here for each stack with that very function, so the two sides cannot drift. The file
holds no secret: each key is a file of its own under /run/secrets/search (secret_files), named by key_file.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from config.search import (
    BOOKS_DIR,
    CONFIG_FILE,
    ELASTIC_INDEX,
    ELASTIC_PASSWORD_FILE,
    ELASTIC_USER,
    ELASTICSEARCH,
    INDEX_FILE,
    LISTEN_PORT,
    SEARCH,
    SECRET_KEYS,
    key_file,
    missing_key_reason,
    source_plans,
)
from config.settings import Settings
from config.types import duration_seconds
from render.serialise import to_json

FORMAT_VERSION = 1
CALIBRE = "calibre-web"
LIBRARY = f"{BOOKS_DIR}/metadata.db"


def _source(settings: Settings, source: str, app: str, reason: str, keys: Collection[str]) -> dict[str, Any]:
    spec = settings.service(app)
    needs_key = source in SECRET_KEYS
    if not reason and needs_key and SECRET_KEYS[source][0] not in keys:
        reason = missing_key_reason(source)
    indexed = not reason
    user = settings.search.source(source).user if source == "navidrome" else None
    return {
        "app": source,
        "enabled": indexed,
        # Calibre's library is a file the service opens; every other source is read over the app's API on the
        # container network, never through the public edge.
        # Only for a source it indexes: an app that is off is addressed by nothing (tests/test_references.py).
        "url": None if source == CALIBRE or not indexed else f"http://{spec.route_via or spec.name}:{spec.port}",
        "public_url": settings.url(spec) or f"https://{settings.domain}",
        "key_file": key_file(source) if indexed and needs_key else None,
        "user": user,
        "library": LIBRARY if indexed and source == CALIBRE else None,
        "reason": reason,
    }


def _engine(settings: Settings) -> dict[str, Any]:
    if settings.search.engine == ELASTICSEARCH:
        port = 9200  # Elasticsearch's HTTP port; the data network is internal, security stays on
        return {
            "kind": ELASTICSEARCH,
            "url": f"http://{ELASTICSEARCH}:{port}",
            "index": ELASTIC_INDEX,
            "user": ELASTIC_USER,
            "password_file": ELASTIC_PASSWORD_FILE,
        }
    return {"kind": "sqlite", "path": INDEX_FILE}


def render_search_config(settings: Settings, keys: Collection[str]) -> dict[str, Any]:
    """search.json for this site; `keys` are the secret config keys the stack holds (their values never
    enter this file)."""
    search = settings.search
    return {
        "version": FORMAT_VERSION,
        "listen_port": LISTEN_PORT,
        "public_url": settings.url(settings.service(SEARCH)),
        "engine": _engine(settings),
        "incremental_seconds": int(duration_seconds(search.schedule.incremental)),
        "full_seconds": int(duration_seconds(search.schedule.full)),
        "source_timeout_seconds": int(duration_seconds(search.source_timeout)),
        "sources": [_source(settings, p.source, p.app, p.reason, keys) for p in source_plans(settings)],
    }


def indexed_keys(settings: Settings, keys: Collection[str]) -> dict[str, str]:
    """Container path of each key file the service reads -> the secret config key whose value goes there."""
    config = render_search_config(settings, keys)
    by_source = {source: key for source, (key, _) in SECRET_KEYS.items()}
    return {s["key_file"]: by_source[s["app"]] for s in config["sources"] if s["key_file"] is not None}


def render_files(settings: Settings, keys: Collection[str]) -> dict[str, str]:
    return {CONFIG_FILE: to_json(render_search_config(settings, keys))}

"""The service's configuration file, rendered by the Pulumi program (render/search.py) as JSON.

Stdlib only (the image carries no pydantic). Every field is checked on load with an error naming it; the
program's settings layer has already validated the stack's values, this is the service's own guard.

    {
      "version": 1,
      "listen_port": 8080,
      "public_url": "https://search.example.org",
      "engine": {"kind": "sqlite", "path": "/index/search.db"}
             | {"kind": "elasticsearch", "url": "http://elasticsearch:9200", "index": "media-search",
                "user": "elastic", "password_file": "/run/secrets/search/elasticsearch"},
      "incremental_seconds": 900,       # re-index changed items this often
      "full_seconds": 86400,            # rebuild every source this often (drops deleted items)
      "source_timeout_seconds": 60,     # one slow source never holds up the others
      "sources": [
        {"app": "jellyfin", "enabled": true, "url": "http://jellyfin:8096",
         "public_url": "https://jellyfin.example.org", "key_file": "/run/secrets/search/jellyfin",
         "user": null, "library": null, "reason": ""},
        {"app": "calibre-web", "enabled": true, "url": null, "public_url": "https://calibre.example.org",
         "key_file": null, "user": null, "library": "/books/metadata.db", "reason": ""},
        {"app": "kavita", "enabled": false, "url": "http://kavita:5000", "public_url": "...",
         "key_file": null, "user": null, "library": null,
         "reason": "no API key; set `media-server:searchKavitaApiKey`"}
      ]
    }

A source that is `enabled: false` carries in `reason` why (app off in the stack, source turned off, or no
key), in words the page shows as they are.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediasearch.model import SOURCES

_HTTP_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?")
_ABS_PATH = re.compile(r"/[A-Za-z0-9._/-]+")
_USER = re.compile(r"[A-Za-z0-9._@-]{1,64}")
_INDEX = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


_TOP_LEVEL = frozenset(
    {
        "version",
        "listen_port",
        "public_url",
        "engine",
        "incremental_seconds",
        "full_seconds",
        "source_timeout_seconds",
        "sources",
    }
)


class ConfigError(ValueError):
    """The configuration file is malformed; the message names the field."""


@dataclass(frozen=True, slots=True)
class SourceConfig:
    app: str
    enabled: bool
    url: str | None
    """The app's address on the container network (never the public one)."""
    public_url: str
    """Where the user's browser opens the app: deep links and covers are built on it."""
    key_file: str | None = None
    """File holding the API key (or, for Navidrome, the password); read at each run, never logged."""
    user: str | None = None
    """Login name where the app's API needs one (Navidrome's Subsonic API)."""
    library: str | None = None
    """Calibre's metadata.db, mounted read-only."""
    reason: str = ""

    def secret(self) -> str:
        """The key, read from its file now (so a rotated secret is used on the next run)."""
        if self.key_file is None:
            raise ConfigError(f"sources[{self.app}].key_file: none configured")
        return Path(self.key_file).read_text(encoding="utf-8").strip()


@dataclass(frozen=True, slots=True)
class EngineConfig:
    kind: str
    path: str | None = None
    url: str | None = None
    index: str | None = None
    user: str | None = None
    """Elasticsearch: the user the engine authenticates as (the platform's node runs with security on)."""
    password_file: str | None = None
    """Elasticsearch: file holding that user's password (read-only secret mount); never logged."""

    def password(self) -> str | None:
        """The password, read from its file now (a rotated secret is used on the next connection)."""
        if self.password_file is None:
            return None
        return Path(self.password_file).read_text(encoding="utf-8").strip()


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    listen_port: int
    public_url: str
    engine: EngineConfig
    incremental_seconds: int
    full_seconds: int
    source_timeout_seconds: int
    sources: tuple[SourceConfig, ...]

    def source(self, app: str) -> SourceConfig | None:
        return next((s for s in self.sources if s.app == app), None)


def _field(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, optional: bool = False) -> Any:
    if key not in obj or (optional and obj[key] is None):
        if optional:
            return None
        raise ConfigError(f"{where}{key}: missing")
    value = obj[key]
    if isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{where}{key}: {value!r} is not a {getattr(kind, '__name__', kind)}")
    if not isinstance(value, kind):
        raise ConfigError(f"{where}{key}: {value!r} is not a {getattr(kind, '__name__', kind)}")
    return value


def _match(pattern: re.Pattern[str], value: str | None, where: str, allowed: str) -> str | None:
    if value is not None and not pattern.fullmatch(value):
        raise ConfigError(f"{where}: {value!r} is not {allowed}")
    return value


def _seconds(obj: dict[str, Any], key: str, low: int, high: int) -> int:
    value = _field(obj, key, int, "")
    if not low <= value <= high:
        raise ConfigError(f"{key}: {value} is outside {low}..{high}")
    return int(value)


def _source(raw: Any, position: int) -> SourceConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"sources[{position}]: not an object")
    where = f"sources[{position}]."
    unknown = set(raw) - {"app", "enabled", "url", "public_url", "key_file", "user", "library", "reason"}
    if unknown:
        raise ConfigError(f"sources[{position}]: unknown field(s) {sorted(unknown)}")
    app = _field(raw, "app", str, where)
    if app not in SOURCES:
        raise ConfigError(f"{where}app: {app!r} is not one of {', '.join(SOURCES)}")
    url = _field(raw, "url", str, where, optional=True)
    public_url = _field(raw, "public_url", str, where)
    key_file = _field(raw, "key_file", str, where, optional=True)
    user = _field(raw, "user", str, where, optional=True)
    library = _field(raw, "library", str, where, optional=True)
    return SourceConfig(
        app=app,
        enabled=_field(raw, "enabled", bool, where),
        url=_match(_HTTP_URL, url, f"{where}url", "an http(s) URL"),
        public_url=str(_match(_HTTP_URL, public_url, f"{where}public_url", "an http(s) URL")),
        key_file=_match(_ABS_PATH, key_file, f"{where}key_file", "an absolute path"),
        user=_match(_USER, user, f"{where}user", "a login name (letters, digits, . _ @ -)"),
        library=_match(_ABS_PATH, library, f"{where}library", "an absolute path"),
        reason=_field(raw, "reason", str, where, optional=True) or "",
    )


def _engine(raw: Any) -> EngineConfig:
    if not isinstance(raw, dict):
        raise ConfigError("engine: not an object")
    kind = _field(raw, "kind", str, "engine.")
    if kind == "sqlite":
        path = _field(raw, "path", str, "engine.")
        return EngineConfig(kind=kind, path=_match(_ABS_PATH, path, "engine.path", "an absolute path"))
    if kind == "elasticsearch":
        url = _field(raw, "url", str, "engine.")
        index = _field(raw, "index", str, "engine.")
        user = _field(raw, "user", str, "engine.", optional=True)
        password_file = _field(raw, "password_file", str, "engine.", optional=True)
        if (user is None) != (password_file is None):
            raise ConfigError("engine.user, engine.password_file: give both (basic auth) or neither")
        return EngineConfig(
            kind=kind,
            url=_match(_HTTP_URL, url, "engine.url", "an http(s) URL"),
            index=_match(_INDEX, index, "engine.index", "an Elasticsearch index name (lower case)"),
            user=_match(_USER, user, "engine.user", "a login name (letters, digits, . _ @ -)"),
            password_file=_match(_ABS_PATH, password_file, "engine.password_file", "an absolute path"),
        )
    raise ConfigError(f"engine.kind: {kind!r} is not sqlite or elasticsearch")


def parse(raw: Any) -> ServiceConfig:
    if not isinstance(raw, dict):
        raise ConfigError("the configuration is not a JSON object")
    unknown = set(raw) - _TOP_LEVEL
    if unknown:
        raise ConfigError(f"unknown field(s) {sorted(unknown)}")
    if raw.get("version") != 1:
        raise ConfigError(f"version: {raw.get('version')!r} is not 1")
    port = _field(raw, "listen_port", int, "")
    if not 1024 <= port <= 65535:
        raise ConfigError(f"listen_port: {port} is outside 1024..65535 (the service runs unprivileged)")
    sources_raw = _field(raw, "sources", list, "")
    sources = tuple(_source(item, n) for n, item in enumerate(sources_raw))
    apps = [s.app for s in sources]
    if len(set(apps)) != len(apps):
        raise ConfigError(f"sources: an app is listed twice ({apps})")
    return ServiceConfig(
        listen_port=port,
        public_url=str(_match(_HTTP_URL, _field(raw, "public_url", str, ""), "public_url", "an http(s) URL")),
        engine=_engine(raw.get("engine")),
        incremental_seconds=_seconds(raw, "incremental_seconds", 60, 7 * 86400),
        full_seconds=_seconds(raw, "full_seconds", 300, 30 * 86400),
        source_timeout_seconds=_seconds(raw, "source_timeout_seconds", 1, 3600),
        sources=sources,
    )


def load(path: str | Path) -> ServiceConfig:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not JSON ({error})") from error
    return parse(raw)

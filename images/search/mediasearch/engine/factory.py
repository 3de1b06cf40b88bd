"""`open_engine`: the engine the service's configuration names."""

from __future__ import annotations

from mediasearch.config import EngineConfig
from mediasearch.engine import Engine
from mediasearch.engine.errors import EngineError


def open_engine(config: EngineConfig) -> Engine:
    """Open (and create or migrate) the configured index. Raises EngineError with the reason."""
    if config.kind == "sqlite":
        from mediasearch.engine.sqlite import SqliteEngine

        if not config.path:
            raise EngineError("engine.path: the sqlite engine needs the index file's path")
        return SqliteEngine(config.path)
    if config.kind == "elasticsearch":
        from mediasearch.engine.elasticsearch import ElasticsearchEngine

        if not config.url or not config.index:
            raise EngineError("engine.url and engine.index: the elasticsearch engine needs both")
        return ElasticsearchEngine(config.url, config.index, user=config.user, password=config.password())
    raise EngineError(f"engine.kind: {config.kind!r} is not sqlite or elasticsearch")

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
    raise EngineError(f"engine.kind: {config.kind!r} is not sqlite or elasticsearch")

"""The index. `sqlite` (embedded FTS5, the default) or `elasticsearch` (the catalog's, only when asked)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from mediasearch.model import Document, Hit, Kind


class Engine(Protocol):
    def replace_source(self, source: str, documents: Iterable[Document]) -> int:
        """A full rebuild of one source, atomically: readers see the old set until the new one is complete.
        Returns the number of documents indexed."""
        ...

    def upsert(self, documents: Iterable[Document]) -> int:
        """Add or update documents (incremental re-index). Returns the number written."""
        ...

    def search(self, query: str, *, kind: Kind | None = None, app: str | None = None, limit: int = 20) -> list[Hit]:
        """Best hits first: title matches rank above creator/description matches."""
        ...

    def counts(self) -> dict[str, int]:
        """Documents per source."""
        ...

    def close(self) -> None: ...


from mediasearch.engine.errors import EngineError  # noqa: E402
from mediasearch.engine.factory import open_engine  # noqa: E402

__all__ = ["Engine", "EngineError", "open_engine"]

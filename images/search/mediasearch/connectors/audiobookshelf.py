"""Audiobookshelf 2.30.0 (the catalog's pin): audiobooks, e-books and podcasts.

API facts (audiobookshelf v2.30.0 docs/openapi.json, tests/fixtures/search-apis/SOURCES.md, and its source):
- `GET /api/libraries` (getLibraries) -> {libraries: [library]}, each with `mediaType` book | podcast.
- `GET /api/libraries/{id}/items` (getLibraryItems) with `limit`, `page` (0-based: server/controllers/
  LibraryController.js getLibraryItems sets offset = page * limit) and `minified=1`; answers {results, total,
  limit, page, ...}. A minified book's media has metadata {title, authorName, publishedYear, seriesName},
  coverPath, numAudioFiles and ebookFormat (server/models/Book.js toOldJSONMinified); a podcast's has metadata
  {title, author, releaseDate} and coverPath (server/models/Podcast.js).
- Auth: security scheme BearerAuth, `Authorization: Bearer <API key>` (API keys are JWTs checked in
  server/auth/TokenManager.js).
- Cover: `GET /api/items/{id}/cover` (server/routers/ApiRouter.js; not in the OpenAPI document).
- Deep link: the web client is a Nuxt app whose router base is ROUTER_BASE_PATH, default `/audiobookshelf`
  (client/nuxt.config.js, index.js), page client/pages/item/_id: `/audiobookshelf/item/<id>`.
- The list has no changed-since filter or updatedAt sort (server/utils/queries/libraryItemsBookFilters.js
  getOrder); `since` keeps the items whose `updatedAt` (ms) is later.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mediasearch.config import SourceConfig
from mediasearch.connectors import ConnectorError
from mediasearch.connectors.documents import cover_path, link, names, need_list, need_obj, obj, quote, text, year_of
from mediasearch.connectors.http import HttpClient
from mediasearch.model import Document, Kind

APP = "audiobookshelf"
PAGE = 200
MAX_PAGES = 5000
MAX_LIBRARIES = 200


class AudiobookshelfConnector:
    def __init__(self, config: SourceConfig, timeout: float) -> None:
        self.config = config
        self.timeout = timeout

    def _client(self) -> HttpClient:
        return HttpClient(APP, self.config.url or "", self.timeout, {"Authorization": f"Bearer {self.config.secret()}"})

    def fetch(self, since: float | None) -> Iterator[Document]:
        client = self._client()
        answer = client.json("GET", "/api/libraries")
        libraries = need_list(obj(answer).get("libraries"), APP, "/api/libraries has no libraries list")
        for library in libraries[:MAX_LIBRARIES]:
            if not isinstance(library, dict) or not isinstance(library.get("id"), str):
                continue
            media_type = library.get("mediaType")
            if media_type not in ("book", "podcast"):
                continue
            yield from self._library(client, library["id"], media_type, since)

    def _library(self, client: HttpClient, library_id: str, media_type: str, since: float | None) -> Iterator[Document]:
        path = f"/api/libraries/{quote(library_id)}/items"
        for page in range(MAX_PAGES):
            answer = client.json("GET", path, query={"limit": PAGE, "page": page, "minified": 1})
            answer = need_obj(answer, APP, f"{path} is not an object")
            results = need_list(answer.get("results"), APP, f"{path} has no results list")
            for item in results[:PAGE]:
                document = self._document(item, media_type)
                if document is not None and (since is None or (document.updated or 0) > since):
                    yield document
            total = answer.get("total")
            if len(results) < PAGE or (isinstance(total, int) and (page + 1) * PAGE >= total):
                return
        raise ConnectorError(f"{APP}: more than {MAX_PAGES} pages of {path}; stopped")

    def _document(self, item: Any, media_type: str) -> Document | None:
        if not isinstance(item, dict):
            return None
        media = obj(item.get("media"))
        metadata = obj(media.get("metadata"))
        item_id = text(item.get("id"), 64)
        title = text(metadata.get("title"))
        if not item_id or not title or item.get("isMissing") is True:
            return None
        if media_type == "podcast":
            kind = Kind.PODCAST
            creators = names(metadata.get("author") or [])
            year = year_of(metadata.get("releaseDate"))
            description = text(metadata.get("description"), 200)
        else:
            audio = media.get("numAudioFiles")
            kind = (
                Kind.AUDIOBOOK if (isinstance(audio, int) and audio > 0) or not media.get("ebookFormat") else Kind.BOOK
            )
            creators = names([a.strip() for a in text(metadata.get("authorName")).split(",") if a.strip()])
            year = year_of(metadata.get("publishedYear"))
            description = text(metadata.get("seriesName"), 200)
        updated = item.get("updatedAt")
        return Document(
            source=APP,
            id=item_id,
            kind=kind,
            title=title,
            link=link(self.config.public_url, f"/audiobookshelf/item/{quote(item_id)}"),
            creators=creators,
            year=year,
            cover=cover_path(APP, item_id) if media.get("coverPath") else None,
            description=description,
            updated=updated / 1000 if isinstance(updated, int) and not isinstance(updated, bool) else None,
        )

    def cover(self, item_id: str) -> tuple[str, bytes]:
        return self._client().image("GET", f"/api/items/{quote(item_id)}/cover", query={"format": "jpeg", "width": 400})

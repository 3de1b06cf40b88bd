"""Jellyfin 10.11.3 (the catalog's pin): films, series, episodes, music albums, artists and audiobooks.

API facts, from Jellyfin's published OpenAPI document for 10.11.3 (tests/fixtures/search-apis/SOURCES.md):
- `GET /Items` (operation GetItems) with `recursive`, `includeItemTypes`, `fields`, `startIndex`/`limit` paging,
  `minDateLastSaved` (date-time) for changes since a time; answers BaseItemDtoQueryResult {Items,
  TotalRecordCount, StartIndex}. With an API key no `userId` is needed ("required when not using an API key").
- Auth: security scheme CustomAuthentication, the `Authorization` header; the key goes as
  `MediaBrowser Token="<key>"` (jellyfin v10.11.3 Jellyfin.Server.Implementations/Security/
  AuthorizationContext.cs: the Token parameter of a MediaBrowser-scheme Authorization header, read before the
  X-Emby-Token header and the `api_key` query parameter), never in the query string.
- Cover: `GET /Items/{itemId}/Images/{imageType}` with imageType Primary, when the item's ImageTags has Primary.
- Deep link: the web client's details page `/web/#/details?id=<id>&serverId=<ServerId>` (jellyfin-web 10.11).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from mediasearch.config import SourceConfig
from mediasearch.connectors import ConnectorError
from mediasearch.connectors.documents import (
    cover_path,
    epoch_of,
    link,
    names,
    need_list,
    need_obj,
    quote,
    text,
    year_of,
)
from mediasearch.connectors.documents import items as list_of
from mediasearch.connectors.http import HttpClient
from mediasearch.model import Document, Kind

APP = "jellyfin"
PAGE = 200
MAX_PAGES = 5000
"""1,000,000 items: a server that never stops paging (or lies about TotalRecordCount) stops here."""

KINDS: dict[str, Kind] = {
    "Movie": Kind.MOVIE,
    "Series": Kind.SERIES,
    "Episode": Kind.EPISODE,
    "MusicAlbum": Kind.ALBUM,
    "MusicArtist": Kind.ARTIST,
    "AudioBook": Kind.AUDIOBOOK,
    "Book": Kind.BOOK,
}
"""BaseItemKind values (the document's enum) -> our kinds. Single tracks (Audio) are Navidrome's to index: the
same music library served twice would only double every hit."""

FIELDS = ("DateCreated", "Overview", "People", "Studios")


class JellyfinConnector:
    def __init__(self, config: SourceConfig, timeout: float) -> None:
        self.config = config
        self.timeout = timeout

    def _client(self) -> HttpClient:
        token = self.config.secret().replace('"', "")
        return HttpClient(APP, self.config.url or "", self.timeout, {"Authorization": f'MediaBrowser Token="{token}"'})

    def fetch(self, since: float | None) -> Iterator[Document]:
        client = self._client()
        query: dict[str, Any] = {
            "recursive": True,
            "includeItemTypes": list(KINDS),
            "fields": list(FIELDS),
            "enableImageTypes": ["Primary"],
            "imageTypeLimit": 1,
            "enableUserData": False,
            "sortBy": ["SortName"],
            "limit": PAGE,
        }
        if since is not None:
            query["minDateLastSaved"] = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        start = 0
        for _ in range(MAX_PAGES):
            answer = client.json("GET", "/Items", query={**query, "startIndex": start})
            answer = need_obj(answer, APP, "/Items is not an object")
            items = need_list(answer.get("Items"), APP, "/Items has no Items list")[:PAGE]
            for item in items:
                document = self._document(item)
                if document is not None:
                    yield document
            start += len(items)
            total = answer.get("TotalRecordCount")
            if len(items) < PAGE or (isinstance(total, int) and start >= total):
                return
        raise ConnectorError(f"{APP}: more than {MAX_PAGES} pages of /Items; stopped")

    def _document(self, item: Any) -> Document | None:
        if not isinstance(item, dict):
            return None
        kind = KINDS.get(item.get("Type", ""))
        item_id = text(item.get("Id"), 64)
        title = text(item.get("Name"))
        if kind is None or not item_id or not title:
            return None
        creators: tuple[str, ...] = ()
        description = ""
        if kind in (Kind.ALBUM, Kind.AUDIOBOOK):
            creators = names(item.get("AlbumArtist") or item.get("Artists") or [])
        elif kind in (Kind.MOVIE, Kind.SERIES, Kind.EPISODE):
            people = list_of(item.get("People"))
            creators = names([p.get("Name") for p in people if isinstance(p, dict) and p.get("Type") == "Director"])
        if kind == Kind.EPISODE:
            season, number = item.get("ParentIndexNumber"), item.get("IndexNumber")
            where = f"S{season:02d}E{number:02d}" if isinstance(season, int) and isinstance(number, int) else ""
            description = " ".join(part for part in (text(item.get("SeriesName")), where) if part)
        elif kind == Kind.SERIES:
            studios = list_of(item.get("Studios"))
            creators = creators or names([s.get("Name") for s in studios if isinstance(s, dict)], 2)
        if not description:
            description = text(item.get("Overview"), 200)
        tags = item.get("ImageTags")
        server = text(item.get("ServerId"), 64)
        target = f"/web/#/details?id={quote(item_id)}" + (f"&serverId={quote(server)}" if server else "")
        return Document(
            source=APP,
            id=item_id,
            kind=kind,
            title=title,
            link=link(self.config.public_url, target),
            creators=creators,
            year=year_of(item.get("ProductionYear")) or year_of(item.get("PremiereDate")),
            cover=cover_path(APP, item_id) if isinstance(tags, dict) and "Primary" in tags else None,
            description=description,
            updated=epoch_of(item.get("DateCreated")),
        )

    def cover(self, item_id: str) -> tuple[str, bytes]:
        return self._client().image("GET", f"/Items/{quote(item_id)}/Images/Primary", query={"maxWidth": 400})

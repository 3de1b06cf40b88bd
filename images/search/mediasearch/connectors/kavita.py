"""Kavita (the catalog pins 0.8.8): series of books, comics and manga.

Kavita's repository as stored for this work ends at v0.8.3.2 (October 2024), so the API facts below are read
there: Kareadita/Kavita openapi.json ("Built against v0.8.3.2") and API/ source; SOURCES.md in
tests/fixtures/search-apis says so. Every endpoint used here is older than 0.8.3 and still served at 0.8.8.
- `POST /api/Plugin/authenticate?apiKey=<key>&pluginName=<name>` -> UserDto {token}: API/Controllers/
  PluginController.cs binds both as plain `[Required] string` parameters of an [ApiController], which ASP.NET
  Core reads from the query string only (the OpenAPI document says `in: query`). The key can be sent no other
  way, so it is passed to the HTTP helper as `secret_query`: added to the URL below the point where anything is
  logged or put into an error, and never into a Document.
- Then `Authorization: Bearer <token>` (security scheme Bearer).
- `GET /api/Library/libraries` -> [LibraryDto {id, name, type}] with type LibraryType (API/Entities/Enums/
  LibraryType.cs): 0 Manga, 1 Comic, 2 Book, 3 Image, 4 LightNovel, 5 ComicVine.
- `POST /api/Series/all-v2?PageNumber=&PageSize=` with a FilterV2Dto body -> [SeriesDto {id, name, libraryId,
  created, lastChapterAdded}]; PageNumber starts at 1 (API/Helpers/UserParams.cs).
- Cover: `GET /api/Image/series-cover?seriesId=&apiKey=` (API/Controllers/ImageController.cs; the key again only
  in the query string).
- Deep link: the Angular route `library/:libraryId/series/:seriesId` (UI/Web/src/app/app-routing.module.ts).
- SeriesDto carries no writer; creators stay empty rather than one metadata request per series.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mediasearch.config import SourceConfig
from mediasearch.connectors import ConnectorError
from mediasearch.connectors.documents import cover_path, epoch_of, expect, link, need_list, obj, text
from mediasearch.connectors.http import HttpClient
from mediasearch.model import Document, Kind

APP = "kavita"
PLUGIN_NAME = "media-server-search"
PAGE = 200
MAX_PAGES = 5000

LIBRARY_KINDS: dict[int, Kind] = {
    0: Kind.COMIC,
    1: Kind.COMIC,
    2: Kind.BOOK,
    3: Kind.COMIC,
    4: Kind.BOOK,
    5: Kind.COMIC,
}
"""LibraryType -> kind: manga, comics and image libraries are read as comics; books and light novels as books."""

SORT_BY_NAME = 1
"""SortField.SortName (API/DTOs/Filtering/SortField.cs)."""
COMBINE_AND = 1
"""FilterCombination.And (API/DTOs/Filtering/v2/FilterCombination.cs): with no statements, everything."""


class KavitaConnector:
    def __init__(self, config: SourceConfig, timeout: float) -> None:
        self.config = config
        self.timeout = timeout

    def _login(self) -> HttpClient:
        anonymous = HttpClient(APP, self.config.url or "", self.timeout)
        answer = anonymous.json(
            "POST",
            "/api/Plugin/authenticate",
            query={"pluginName": PLUGIN_NAME},
            secret_query={"apiKey": self.config.secret()},
        )
        token = obj(answer).get("token")
        expect(isinstance(token, str) and bool(token), APP, "/api/Plugin/authenticate returned no token")
        return HttpClient(APP, self.config.url or "", self.timeout, {"Authorization": f"Bearer {token}"})

    def fetch(self, since: float | None) -> Iterator[Document]:
        client = self._login()
        libraries = client.json("GET", "/api/Library/libraries")
        libraries = need_list(libraries, APP, "/api/Library/libraries is not a list")
        kinds = {
            lib["id"]: LIBRARY_KINDS.get(lib.get("type", -1), Kind.BOOK)
            for lib in libraries
            if isinstance(lib, dict) and isinstance(lib.get("id"), int)
        }
        body = {
            "statements": [],
            "combination": COMBINE_AND,
            "sortOptions": {"sortField": SORT_BY_NAME, "isAscending": True},
        }
        for page in range(1, MAX_PAGES + 1):
            series = client.json(
                "POST", "/api/Series/all-v2", query={"PageNumber": page, "PageSize": PAGE}, json_body=body
            )
            series = need_list(series, APP, "/api/Series/all-v2 is not a list")
            for entry in series[:PAGE]:
                document = self._document(entry, kinds)
                if document is not None and (since is None or (document.updated or 0) > since):
                    yield document
            if len(series) < PAGE:
                return
        raise ConnectorError(f"{APP}: more than {MAX_PAGES} pages of /api/Series/all-v2; stopped")

    def _document(self, entry: Any, kinds: dict[int, Kind]) -> Document | None:
        if not isinstance(entry, dict):
            return None
        series_id, library_id = entry.get("id"), entry.get("libraryId")
        title = text(entry.get("localizedName")) or text(entry.get("name"))
        if not isinstance(series_id, int) or not isinstance(library_id, int) or library_id not in kinds or not title:
            return None
        changes = [epoch_of(entry.get(key)) for key in ("created", "lastChapterAdded")]
        return Document(
            source=APP,
            id=str(series_id),
            kind=kinds[library_id],
            title=title,
            link=link(self.config.public_url, f"/library/{library_id}/series/{series_id}"),
            cover=cover_path(APP, str(series_id)),
            description=text(entry.get("libraryName"), 120),
            updated=max((c for c in changes if c is not None), default=None),
        )

    def cover(self, item_id: str) -> tuple[str, bytes]:
        if not item_id.isdigit():
            raise ConnectorError(f"{APP}: {item_id!r} is not a series id")
        client = HttpClient(APP, self.config.url or "", self.timeout)
        return client.image(
            "GET",
            "/api/Image/series-cover",
            query={"seriesId": int(item_id)},
            secret_query={"apiKey": self.config.secret()},
        )

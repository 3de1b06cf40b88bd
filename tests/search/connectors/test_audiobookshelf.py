"""Audiobookshelf connector against a stand-in held to audiobookshelf v2.30.0's docs/openapi.json."""

from __future__ import annotations

import uuid
from typing import Any

from mediasearch.connectors.audiobookshelf import PAGE, AudiobookshelfConnector
from mediasearch.model import Kind

from tests.search.connectors.conftest import SECRET
from tests.search.connectors.standin import Answer, Request, StandIn, document

COVER = {
    "parameters": [
        {"name": "id", "in": "path", "required": True, "schema": {"$ref": "#/components/schemas/libraryItemId"}}
    ],
    "get": {
        "operationId": "getLibraryItemCover",
        "parameters": [
            {"name": name, "in": "query", "schema": {"type": kind}}
            for name, kind in (("width", "integer"), ("height", "integer"), ("format", "string"), ("raw", "string"))
        ],
        "responses": {"200": {"description": "the cover image"}, "404": {"description": "no cover"}},
    },
}
"""The cover route the document lacks: audiobookshelf v2.30.0 server/routers/ApiRouter.js
`this.router.get('/items/:id/cover', LibraryItemController.getCover)`, whose query is {width, height, format, raw}
(server/controllers/LibraryItemController.js getCover); behind the same /api auth as the rest."""
DOC = document("audiobookshelf-2.30.0.openapi.json", supplement={"/api/items/{id}/cover": COVER})
BOOKS, PODCASTS = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))


def library(library_id: str, name: str, media_type: str) -> dict[str, Any]:
    return {"id": library_id, "name": name, "mediaType": media_type, "displayOrder": 1, "icon": "database"}


def book(n: int, title: str | None, authors: str = "", audio: int = 1, ebook: str | None = None, **extra: Any) -> dict:
    item = {
        "id": str(uuid.UUID(int=100 + n)),
        "libraryId": BOOKS,
        "mediaType": "book",
        "isMissing": False,
        "updatedAt": 1_700_000_000_000 + n,
        "media": {
            "metadata": {"title": title, "authorName": authors, "publishedYear": "1937", "seriesName": "Middle-earth"},
            "coverPath": f"/audiobooks/{n}/cover.jpg",
            "numAudioFiles": audio,
            "ebookFormat": ebook,
        },
    }
    item.update(extra)
    return item


def podcast(n: int, title: str) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=900 + n)),
        "libraryId": PODCASTS,
        "mediaType": "podcast",
        "updatedAt": 1_700_000_000_000,
        "media": {
            "metadata": {"title": title, "author": "BBC Radio 4", "releaseDate": "2001-05-01T00:00:00Z"},
            "coverPath": None,
        },
    }


class Audiobookshelf:
    def __init__(self, items: dict[str, list[dict[str, Any]]], server: list[StandIn]) -> None:
        self.items = items
        self.server = server
        self.seen: list[Request] = []

    def __call__(self, request: Request) -> Answer:
        self.seen.append(request)
        if request.operation_id == "getLibraries":
            return Answer(body={"libraries": [library(BOOKS, "Books", "book"), library(PODCASTS, "Pods", "podcast")]})
        if request.path.endswith("/cover"):
            return Answer(raw=b"\xff\xd8\xff\xe0cover", content_type="image/jpeg")
        library_id = request.path_params["id"]
        limit, page = int(request.param("limit") or 0), int(request.param("page") or 0)
        results = self.items[library_id][page * limit : (page + 1) * limit]
        for entry in results:
            if entry["mediaType"] == "book":  # the document's own minified item shape, stricter than the list's
                self.server[0].errors += self.server[0].check("#/components/schemas/libraryItemMinified", entry)
        body = {"results": results, "total": len(self.items[library_id]), "limit": limit, "page": page}
        return Answer(body={**body, "mediaType": "book" if library_id == BOOKS else "podcast", "minified": True})


def serve(standin, items: dict[str, list[dict[str, Any]]]) -> tuple[StandIn, Audiobookshelf]:
    holder: list[StandIn] = []
    app = Audiobookshelf(items, holder)
    holder.append(standin(DOC, app))
    return holder[0], app


def test_books_audiobooks_and_podcasts_over_several_pages(standin, source) -> None:
    books = [book(n, f"Book {n}", "A. Writer") for n in range(PAGE + 5)]
    books[0] = book(0, "The Hobbit", "J. R. R. Tolkien, Christopher Tolkien")
    books[1] = book(1, "The Silmarillion", "J. R. R. Tolkien", audio=0, ebook="epub")
    server, app = serve(standin, {BOOKS: books, PODCASTS: [podcast(1, "In Our Time")]})
    connector = AudiobookshelfConnector(source("audiobookshelf", server.url), timeout=5)

    docs = list(connector.fetch(None))

    assert len(docs) == len(books) + 1
    by_title = {d.title: d for d in docs}
    hobbit = by_title["The Hobbit"]
    assert hobbit.kind is Kind.AUDIOBOOK and hobbit.creators == ("J. R. R. Tolkien", "Christopher Tolkien")
    assert hobbit.year == 1937 and hobbit.description == "Middle-earth"
    assert hobbit.link == f"https://audiobookshelf.example.org/audiobookshelf/item/{books[0]['id']}"
    assert hobbit.cover == f"/cover/audiobookshelf/{books[0]['id']}"
    assert by_title["The Silmarillion"].kind is Kind.BOOK
    show = by_title["In Our Time"]
    assert (show.kind, show.creators, show.year, show.cover) == (Kind.PODCAST, ("BBC Radio 4",), 2001, None)
    pages = [(r.path, r.param("page")) for r in app.seen if r.operation_id == "getLibraryItems"]
    assert pages == [
        (f"/api/libraries/{BOOKS}/items", "0"),
        (f"/api/libraries/{BOOKS}/items", "1"),
        (f"/api/libraries/{PODCASTS}/items", "0"),
    ]
    assert all(r.headers["authorization"] == f"Bearer {SECRET}" and SECRET not in r.raw_url for r in app.seen)

    assert connector.cover(str(books[0]["id"])) == ("image/jpeg", b"\xff\xd8\xff\xe0cover")
    assert app.seen[-1].path == f"/api/items/{books[0]['id']}/cover"


def test_since_keeps_items_updated_after_it(standin, source) -> None:
    old = book(1, "Old", updatedAt=1_500_000_000_000)
    server, _ = serve(standin, {BOOKS: [old, book(2, "New")], PODCASTS: []})

    docs = list(AudiobookshelfConnector(source("audiobookshelf", server.url), timeout=5).fetch(1_600_000_000.0))

    assert [d.title for d in docs] == ["New"]


def test_missing_and_untitled_items_are_skipped_and_html_stays_text(standin, source) -> None:
    items = [book(1, None), book(2, "<img src=x onerror=alert(1)>"), book(3, "Gone", isMissing=True)]
    server, _ = serve(standin, {BOOKS: items, PODCASTS: []})

    docs = list(AudiobookshelfConnector(source("audiobookshelf", server.url), timeout=5).fetch(None))

    assert [d.title for d in docs] == ["<img src=x onerror=alert(1)>"]

"""Jellyfin connector against a stand-in held to Jellyfin 10.11.3's OpenAPI document."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
from mediasearch.connectors import ConnectorError
from mediasearch.connectors.jellyfin import PAGE, JellyfinConnector
from mediasearch.model import Kind

from tests.search.connectors.conftest import SECRET
from tests.search.connectors.standin import Answer, Request, document

DOC = document("jellyfin-10.11.3.openapi.json")
SERVER_ID = "f0e1d2c3b4a5968778695a4b3c2d1e0f"


def item(n: int, kind: str = "Movie", **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "Name": f"Item {n}",
        "ServerId": SERVER_ID,
        "Id": str(uuid.UUID(int=n + 1)),
        "Type": kind,
        "ProductionYear": 2000 + n % 20,
        "ImageTags": {"Primary": f"tag{n}"},
        "DateCreated": "2024-05-01T10:00:00.0000000Z",
    }
    body.update(extra)
    return body


def serve_items(items: list[dict[str, object]], seen: list[Request]) -> object:
    def handler(request: Request) -> Answer:
        seen.append(request)
        if request.path.startswith("/Items/"):
            return Answer(raw=b"\xff\xd8\xff\xe0jpeg", content_type="image/jpeg")
        start = int(request.param("startIndex") or 0)
        limit = int(request.param("limit") or 100)
        page = items[start : start + limit]
        return Answer(body={"Items": page, "TotalRecordCount": len(items), "StartIndex": start})

    return handler


def test_pages_through_every_item_with_the_key_in_the_header_only(standin, source) -> None:
    items = [item(n) for n in range(PAGE * 2 + 50)]
    items[0] = item(0, "Series", Name="Severance", Studios=[{"Name": "Apple TV+", "Id": str(uuid.UUID(int=99))}])
    items[1] = item(
        1, "Episode", Name="Good News About Hell", SeriesName="Severance", ParentIndexNumber=1, IndexNumber=1
    )
    items[2] = item(
        2,
        "Movie",
        Name="The Hobbit",
        People=[
            {"Name": "Peter Jackson", "Id": str(uuid.UUID(int=7)), "Type": "Director"},
            {"Name": "Martin Freeman", "Id": str(uuid.UUID(int=8)), "Type": "Actor"},
        ],
    )
    items[3] = item(3, "MusicAlbum", Name="OK Computer", AlbumArtist="Radiohead", ImageTags={})
    seen: list[Request] = []
    server = standin(DOC, serve_items(items, seen))
    connector = JellyfinConnector(source("jellyfin", server.url), timeout=5)

    docs = list(connector.fetch(None))

    assert len(docs) == len(items)
    assert [r.param("startIndex") for r in seen] == ["0", str(PAGE), str(PAGE * 2)]
    first = seen[0]
    assert first.headers["authorization"] == f'MediaBrowser Token="{SECRET}"'
    assert first.param("recursive") == "true"
    assert set(first.param("includeItemTypes").split(",")) >= {"Movie", "Series", "Episode", "MusicAlbum"}
    assert all(SECRET not in r.raw_url for r in seen)
    by_title = {d.title: d for d in docs}
    assert by_title["Severance"].kind is Kind.SERIES and by_title["Severance"].creators == ("Apple TV+",)
    episode = by_title["Good News About Hell"]
    assert episode.kind is Kind.EPISODE and episode.description == "Severance S01E01"
    hobbit = by_title["The Hobbit"]
    assert hobbit.creators == ("Peter Jackson",) and hobbit.year == 2002
    assert hobbit.link == f"https://jellyfin.example.org/web/#/details?id={items[2]['Id']}&serverId={SERVER_ID}"
    assert hobbit.cover == f"/cover/jellyfin/{items[2]['Id']}"
    album = by_title["OK Computer"]
    assert album.kind is Kind.ALBUM and album.creators == ("Radiohead",) and album.cover is None

    kind, data = connector.cover(str(items[2]["Id"]))
    assert kind == "image/jpeg" and data.startswith(b"\xff\xd8")
    assert seen[-1].path == f"/Items/{items[2]['Id']}/Images/Primary"


def test_since_asks_for_items_saved_after_it(standin, source) -> None:
    seen: list[Request] = []
    server = standin(DOC, serve_items([item(1)], seen))
    since = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC).timestamp()

    docs = list(JellyfinConnector(source("jellyfin", server.url), timeout=5).fetch(since))

    assert len(docs) == 1
    assert seen[0].param("minDateLastSaved") == "2025-03-04T05:06:07.000000Z"
    list(JellyfinConnector(source("jellyfin", server.url), timeout=5).fetch(None))
    assert seen[-1].param("minDateLastSaved") is None


def test_hostile_values_are_text_and_unknown_or_nameless_items_are_skipped(standin, source) -> None:
    items = [
        item(1, Name="<script>alert(1)</script>\x00 Title"),
        item(2, "Movie", Name=None),
        item(3, "Photo"),
        item(4, "Movie", ProductionYear=None, ImageTags=None, People=None, ServerId=None),
    ]
    server = standin(DOC, serve_items(items, []))

    docs = list(JellyfinConnector(source("jellyfin", server.url), timeout=5).fetch(None))

    assert [d.title for d in docs] == ["<script>alert(1)</script> Title", "Item 4"]
    bare = docs[1]
    assert bare.year is None and bare.cover is None and bare.creators == ()
    assert bare.link == f"https://jellyfin.example.org/web/#/details?id={items[3]['Id']}"


def test_a_page_larger_than_asked_is_cut_to_the_page_size(standin, source) -> None:
    items = [item(n) for n in range(PAGE * 3)]
    calls: list[int] = []

    def oversized(request: Request) -> Answer:
        start = int(request.param("startIndex") or 0)
        calls.append(start)
        return Answer(body={"Items": items[start:], "TotalRecordCount": len(items), "StartIndex": start})

    server = standin(DOC, oversized)
    docs = list(JellyfinConnector(source("jellyfin", server.url), timeout=5).fetch(None))

    assert calls == [0, PAGE, PAGE * 2]
    assert len(docs) == len(items) and len({d.id for d in docs}) == len(items)


def test_a_slow_server_times_out_with_a_connector_error(standin, source) -> None:
    def slow(request: Request) -> Answer:
        server.release.wait(30)
        return Answer(body={"Items": [], "TotalRecordCount": 0, "StartIndex": 0})

    server = standin(DOC, slow)
    started = time.monotonic()

    with pytest.raises(ConnectorError, match=r"^jellyfin: no answer from /Items within 0.3 s$"):
        list(JellyfinConnector(source("jellyfin", server.url), timeout=0.3).fetch(None))
    assert time.monotonic() - started < 10  # the server would have held it 30 s

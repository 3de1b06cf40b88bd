"""Immich connector against a stand-in held to Immich's OpenAPI document (2.3.1; SOURCES.md says why not 2.2.3)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from mediasearch.connectors import ConnectorError
from mediasearch.connectors.immich import PEOPLE_PAGE, REQUIRED_PERMISSIONS, ImmichConnector
from mediasearch.model import Kind

from tests.search.connectors.conftest import SECRET
from tests.search.connectors.standin import Answer, Request, document

DOC = document("immich-2.3.1.openapi.json", prefix="/api")
OWNER = {
    "avatarColor": "blue",
    "email": "ann@example.org",
    "id": str(uuid.UUID(int=1)),
    "name": "Ann",
    "profileChangedAt": "2024-01-01T00:00:00.000Z",
    "profileImagePath": "",
}


def uid(n: int) -> str:
    return str(uuid.UUID(int=n))


def album(n: int, name: str, **extra: Any) -> dict[str, Any]:
    body = {
        "albumName": name,
        "albumThumbnailAssetId": uid(1000 + n),
        "albumUsers": [],
        "assetCount": 3,
        "assets": [],
        "createdAt": "2024-01-01T00:00:00.000Z",
        "description": "",
        "hasSharedLink": False,
        "id": uid(100 + n),
        "isActivityEnabled": True,
        "owner": OWNER,
        "ownerId": OWNER["id"],
        "shared": False,
        "updatedAt": "2024-06-01T00:00:00.000Z",
        "startDate": "2019-07-14T09:00:00.000Z",
    }
    body.update(extra)
    return body


def person(n: int, name: str, **extra: Any) -> dict[str, Any]:
    body = {"birthDate": None, "id": uid(5000 + n), "isHidden": False, "name": name, "thumbnailPath": "/t.jpg"}
    body.update({"updatedAt": "2024-06-01T00:00:00.000Z", **extra})
    return body


def asset(n: int, city: str | None, state: str | None = None, country: str | None = None) -> dict[str, Any]:
    return {
        "checksum": "abc",
        "createdAt": "2024-01-01T00:00:00.000Z",
        "deviceAssetId": "d",
        "deviceId": "phone",
        "duration": "0:00:00.00000",
        "fileCreatedAt": "2024-01-01T00:00:00.000Z",
        "fileModifiedAt": "2024-01-01T00:00:00.000Z",
        "hasMetadata": True,
        "id": uid(9000 + n),
        "isArchived": False,
        "isFavorite": False,
        "isOffline": False,
        "isTrashed": False,
        "localDateTime": "2024-01-01T00:00:00.000Z",
        "originalFileName": f"IMG_{n}.jpg",
        "originalPath": f"/data/IMG_{n}.jpg",
        "ownerId": OWNER["id"],
        "thumbhash": None,
        "type": "IMAGE",
        "updatedAt": "2024-01-01T00:00:00.000Z",
        "visibility": "timeline",
        "exifInfo": {"city": city, "state": state, "country": country},
    }


class Immich:
    def __init__(self, albums: list[Any], people: list[Any], cities: list[Any]) -> None:
        self.albums, self.people, self.cities = albums, people, cities
        self.seen: list[Request] = []

    def __call__(self, request: Request) -> Answer:
        self.seen.append(request)
        if request.operation_id == "getAllAlbums":
            return Answer(body=self.albums)
        if request.operation_id == "getAlbumInfo":
            return Answer(body=next(a for a in self.albums if a["id"] == request.path_params["id"]))
        if request.operation_id == "getAllPeople":
            page, size = int(request.param("page") or 1), int(request.param("size") or 500)
            chunk = self.people[(page - 1) * size : page * size]
            more = page * size < len(self.people)
            return Answer(body={"people": chunk, "total": len(self.people), "hidden": 0, "hasNextPage": more})
        if request.operation_id == "getAssetsByCity":
            return Answer(body=self.cities)
        # The document types thumbnails as application/octet-stream; the server sends the file's own type
        # (thumbnails are WebP or JPEG), which is what the connector passes on.
        return Answer(raw=b"RIFF\x00\x00\x00\x00WEBPthumb", content_type="image/webp")


def test_albums_people_and_places_with_the_key_in_its_header(standin, source) -> None:
    people = [person(n, f"Person {n}") for n in range(PEOPLE_PAGE + 10)]
    people[3] = person(3, "")  # an unnamed face cluster
    people[4] = person(4, "Hidden Henry", isHidden=True)
    app = Immich(
        albums=[
            album(1, "Summer in Brittany", description="<b>sea</b>"),
            album(2, "No cover", albumThumbnailAssetId=None),
        ],
        people=people,
        cities=[
            asset(1, "Paris", "Île-de-France", "France"),
            asset(2, "Paris", "Île-de-France", "France"),
            asset(3, None),
        ],
    )
    server = standin(DOC, app)
    connector = ImmichConnector(source("immich", server.url), timeout=5)

    docs = list(connector.fetch(None))

    albums = [d for d in docs if d.kind is Kind.PHOTO_ALBUM]
    assert [(a.title, a.creators, a.year, a.description) for a in albums] == [
        ("Summer in Brittany", ("Ann",), 2019, "<b>sea</b>"),
        ("No cover", ("Ann",), 2019, ""),
    ]
    assert albums[0].link == f"https://immich.example.org/albums/{uid(101)}"
    assert albums[0].cover == f"/cover/immich/album%3A{uid(101)}" and albums[1].cover is None
    named = [d for d in docs if d.kind is Kind.PERSON]
    assert len(named) == len(people) - 2 and "Hidden Henry" not in {p.title for p in named}
    assert named[0].link == f"https://immich.example.org/people/{uid(5000)}"
    places = [d for d in docs if d.kind is Kind.PLACE]
    assert [(p.title, p.description, p.link) for p in places] == [
        ("Paris", "Île-de-France, France", f"https://immich.example.org/photos/{uid(9001)}")
    ]
    assert [r.param("page") for r in app.seen if r.operation_id == "getAllPeople"] == ["1", "2"]
    assert all(r.headers.get("x-api-key") == SECRET and SECRET not in r.raw_url for r in app.seen)

    before = len(app.seen)
    for item_id in (f"album:{uid(101)}", f"person:{uid(5000)}", f"place:{uid(9001)}"):
        assert connector.cover(item_id) == ("image/webp", b"RIFF\x00\x00\x00\x00WEBPthumb")
    assert [(r.path, r.param("size")) for r in app.seen[before:]] == [
        (f"/api/albums/{uid(101)}", None),
        (f"/api/assets/{uid(1001)}/thumbnail", "thumbnail"),
        (f"/api/people/{uid(5000)}/thumbnail", None),
        (f"/api/assets/{uid(9001)}/thumbnail", "thumbnail"),
    ]


def test_required_permissions_are_exactly_what_the_called_operations_need(standin, source) -> None:
    app = Immich(albums=[album(1, "A")], people=[person(1, "P")], cities=[asset(1, "Oslo")])
    server = standin(DOC, app)
    connector = ImmichConnector(source("immich", server.url), timeout=5)

    list(connector.fetch(None))
    for item_id in (f"album:{uid(101)}", f"person:{uid(5001)}", f"place:{uid(9001)}"):
        connector.cover(item_id)

    needed = {r.operation["x-immich-permission"] for r in app.seen}
    assert needed == set(REQUIRED_PERMISSIONS)


def test_cover_ids_are_checked_before_any_request(standin, source) -> None:
    app = Immich([], [], [])
    server = standin(DOC, app)
    connector = ImmichConnector(source("immich", server.url), timeout=5)

    for bad in ("album:../../admin", "person:1", "asset:" + uid(1), "place:" + uid(1) + "/x"):
        with pytest.raises(ConnectorError, match=r"is not an item id of this connector"):
            connector.cover(bad)
    assert app.seen == []


def test_since_keeps_what_changed_after_it_and_places_always(standin, source) -> None:
    app = Immich(
        albums=[album(1, "Old", updatedAt="2020-01-01T00:00:00.000Z"), album(2, "New")],
        people=[person(1, "Old Person", updatedAt="2020-01-01T00:00:00.000Z"), person(2, "New Person")],
        cities=[asset(1, "Oslo")],
    )
    server = standin(DOC, app)

    docs = list(ImmichConnector(source("immich", server.url), timeout=5).fetch(1_600_000_000.0))

    assert sorted(d.title for d in docs) == ["New", "New Person", "Oslo"]

"""Navidrome connector against a stand-in held to the OpenSubsonic OpenAPI description (search3, getCoverArt)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from mediasearch.connectors import ConnectorError
from mediasearch.connectors.navidrome import API_VERSION, CLIENT, PAGE, NavidromeConnector
from mediasearch.model import Kind

from tests.search.connectors.conftest import SECRET
from tests.search.connectors.standin import Answer, Request, document

DOC = document("opensubsonic/openapi/openapi.json")
CREDENTIALS = ("u", "t", "s", "p", "v", "c", "f", "apiKey")
"""navidrome v0.58.0 offers the formPost extension: every parameter, credentials included, may come in the
form body (server/subsonic/middlewares.go postFormToQueryParams)."""
USER = "listener"


def envelope(**result: Any) -> dict[str, Any]:
    base = {
        "status": "ok",
        "version": API_VERSION,
        "type": "navidrome",
        "serverVersion": "0.58.0",
        "openSubsonic": True,
    }
    return {"subsonic-response": {**base, **result}}


def album(n: int, name: str, artist: str = "Artist", **extra: Any) -> dict[str, Any]:
    body = {"id": f"al{n}", "name": name, "artist": artist, "songCount": 10, "duration": 2400}
    body.update({"created": "2024-01-01T00:00:00Z", "year": 1997, "coverArt": f"al-al{n}_0", **extra})
    return body


def song(n: int, title: str, **extra: Any) -> dict[str, Any]:
    body = {"id": f"tr{n}", "isDir": False, "title": title, "album": "OK Computer", "albumId": "al1"}
    body.update({"artist": "Radiohead", "year": 1997, "created": "2024-01-01T00:00:00Z", "coverArt": "mf-x", **extra})
    return body


class Navidrome:
    def __init__(self, artists: list[Any], albums: list[Any], songs: list[Any]) -> None:
        self.data = {"artist": artists, "album": albums, "song": songs}
        self.seen: list[Request] = []

    def __call__(self, request: Request) -> Answer:
        self.seen.append(request)
        expected = hashlib.md5((SECRET + (request.param("s") or "")).encode(), usedforsecurity=False).hexdigest()
        if request.param("u") != USER or request.param("t") != expected:
            return Answer(
                body={
                    "subsonic-response": {
                        **envelope()["subsonic-response"],
                        "status": "failed",
                        "error": {"code": 40, "message": "Wrong username or password"},
                    }
                }
            )
        if request.operation_id == "postGetCoverArt":
            return Answer(raw=b"\xff\xd8\xff\xe0art", content_type="image/jpeg")
        result = {}
        for kind, rows in self.data.items():
            count, offset = int(request.param(f"{kind}Count") or 20), int(request.param(f"{kind}Offset") or 0)
            result[kind] = rows[offset : offset + count]
        return Answer(body=envelope(searchResult3=result))


def test_everything_through_search3_with_the_credentials_in_the_form_body(standin, source) -> None:
    songs = [song(n, f"Track {n}") for n in range(PAGE + 20)]
    songs[0] = song(0, "Paranoid Android", artists=[{"id": "ar1", "name": "Radiohead"}])
    app = Navidrome(
        artists=[{"id": "ar1", "name": "Radiohead", "coverArt": "ar-ar1"}, {"id": "ar2", "name": "Björk"}],
        albums=[album(1, "OK Computer", "Radiohead")],
        songs=songs,
    )
    server = standin(DOC, app, form_post_credentials=CREDENTIALS)
    connector = NavidromeConnector(source("navidrome", server.url, user=USER), timeout=5)

    docs = list(connector.fetch(None))

    assert len(docs) == 2 + 1 + len(songs)
    calls = [r for r in app.seen if r.operation_id == "postSearch3"]
    assert [(r.param("songOffset"), r.param("songCount"), r.param("albumCount")) for r in calls] == [
        ("0", str(PAGE), str(PAGE)),
        (str(PAGE), str(PAGE), "0"),
    ]
    assert all(r.method == "POST" and r.query == {} for r in app.seen)  # nothing in any URL
    first = calls[0]
    assert (first.param("v"), first.param("c"), first.param("f"), first.param("query")) == (
        API_VERSION,
        CLIENT,
        "json",
        "",
    )
    assert len({r.param("s") for r in app.seen}) == len(app.seen)  # a fresh salt per request
    by_title = {d.title: d for d in docs}
    radiohead = by_title["Radiohead"]
    assert (radiohead.kind, radiohead.link) == (Kind.ARTIST, "https://navidrome.example.org/app/#/artist/ar1/show")
    assert radiohead.cover == "/cover/navidrome/artist%3Aar1" and by_title["Björk"].cover is None
    ok = by_title["OK Computer"]
    assert (ok.kind, ok.creators, ok.year) == (Kind.ALBUM, ("Radiohead",), 1997)
    assert ok.link == "https://navidrome.example.org/app/#/album/al1/show"
    paranoid = by_title["Paranoid Android"]
    assert (paranoid.kind, paranoid.description, paranoid.link) == (Kind.TRACK, "OK Computer", ok.link)

    assert connector.cover("album:al1") == ("image/jpeg", b"\xff\xd8\xff\xe0art")
    assert (app.seen[-1].path, app.seen[-1].param("id")) == ("/rest/getCoverArt", "al1")


def test_wrong_password_is_a_clear_error_without_secrets(standin, source) -> None:
    server = standin(DOC, Navidrome([], [], []), form_post_credentials=CREDENTIALS)
    config = source("navidrome", server.url, user="someone-else")

    with pytest.raises(ConnectorError) as failure:
        list(NavidromeConnector(config, timeout=5).fetch(None))
    message = str(failure.value)
    assert message == "navidrome: the API refused the login (wrong user name or password, Subsonic error 40)"


def test_no_user_configured(standin, source) -> None:
    server = standin(DOC, Navidrome([], [], []), form_post_credentials=CREDENTIALS)

    with pytest.raises(ConnectorError, match=r"search.sources.navidrome.user"):
        list(NavidromeConnector(source("navidrome", server.url), timeout=5).fetch(None))


def test_since_keeps_albums_and_tracks_created_after_it_and_every_artist(standin, source) -> None:
    old = {"created": "2019-01-01T00:00:00Z"}
    app = Navidrome(
        artists=[{"id": "ar1", "name": "Radiohead"}],
        albums=[album(1, "Old Album", **old), album(2, "New Album")],
        songs=[song(1, "Old Song", **old), song(2, "New Song")],
    )
    server = standin(DOC, app, form_post_credentials=CREDENTIALS)

    docs = list(NavidromeConnector(source("navidrome", server.url, user=USER), timeout=5).fetch(1_600_000_000.0))

    assert sorted(d.title for d in docs) == ["New Album", "New Song", "Radiohead"]


def test_hostile_entries(standin, source) -> None:
    app = Navidrome(
        artists=[{"id": "", "name": "No id"}],
        albums=[album(1, "<b>Bold</b>\n\tAlbum", year=0, coverArt=None) | {"coverArt": ""}],
        songs=[song(1, "Orphan", albumId="") | {"albumId": ""}],
    )
    server = standin(DOC, app, form_post_credentials=CREDENTIALS)

    docs = list(NavidromeConnector(source("navidrome", server.url, user=USER), timeout=5).fetch(None))

    assert [(d.title, d.year, d.cover) for d in docs] == [
        ("<b>Bold</b> Album", None, None),
        ("Orphan", 1997, "/cover/navidrome/track%3Atr1"),
    ]
    assert docs[1].link == "https://navidrome.example.org/app/"

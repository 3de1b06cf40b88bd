"""Kavita connector against a stand-in held to Kavita's openapi.json (v0.8.3.2; SOURCES.md says why not 0.8.8)."""

from __future__ import annotations

import pytest
from mediasearch.connectors import ConnectorError
from mediasearch.connectors.kavita import PAGE, PLUGIN_NAME, KavitaConnector
from mediasearch.model import Kind

from tests.search.connectors.conftest import SECRET
from tests.search.connectors.standin import Answer, Request, document

DOC = document("kavita-0.8.3.2.openapi.json")
JWT = "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"
ANONYMOUS = ("/api/Plugin/authenticate", "/api/Image/series-cover")
"""[AllowAnonymous] in Kavita v0.8.3.2 API/Controllers/PluginController.cs (Authenticate) and on the class of
API/Controllers/ImageController.cs: the key in the query is their only credential, which the document's global
Bearer security does not show."""


def series(n: int, name: str, library_id: int, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "id": n,
        "name": name,
        "localizedName": None,
        "libraryId": library_id,
        "libraryName": {1: "Comics", 2: "Books"}.get(library_id, "Other"),
        "created": "2024-01-01T00:00:00",
        "lastChapterAdded": "2024-02-01T00:00:00Z",
        "format": 1,
        "pages": 10,
    }
    body.update(extra)
    return body


class Kavita:
    def __init__(self, all_series: list[dict[str, object]]) -> None:
        self.series = all_series
        self.seen: list[Request] = []

    def __call__(self, request: Request) -> Answer:
        self.seen.append(request)
        if request.path == "/api/Plugin/authenticate":
            if request.param("apiKey") != SECRET:
                return Answer(status=401, body=None)
            return Answer(body={"username": "reader", "token": JWT, "refreshToken": "r", "apiKey": SECRET})
        if request.path == "/api/Image/series-cover":
            return Answer(raw=b"\x89PNG\r\n\x1a\ncover", content_type="image/png")
        assert request.headers.get("authorization") == f"Bearer {JWT}"
        if request.path == "/api/Library/libraries":
            return Answer(body=[{"id": 1, "name": "Comics", "type": 1}, {"id": 2, "name": "Books", "type": 2}])
        page, size = int(request.param("PageNumber") or 1), int(request.param("PageSize") or 0)
        return Answer(body=self.series[(page - 1) * size : page * size])


def test_logs_in_with_the_key_then_pages_through_series(standin, source) -> None:
    everything = [series(n, f"Series {n}", 1 + n % 2) for n in range(1, PAGE + 11)]
    everything[0] = series(1, "Saga", 1)
    everything[1] = series(2, "The Hobbit", 2, localizedName="Der Hobbit")
    app = Kavita(everything)
    server = standin(DOC, anonymous=ANONYMOUS, handler=app)
    connector = KavitaConnector(source("kavita", server.url), timeout=5)

    docs = list(connector.fetch(None))

    assert len(docs) == len(everything)
    login = app.seen[0]
    assert (login.method, login.path, login.param("pluginName")) == ("POST", "/api/Plugin/authenticate", PLUGIN_NAME)
    assert [r.param("PageNumber") for r in app.seen if r.path == "/api/Series/all-v2"] == ["1", "2"]
    saga, hobbit = docs[0], docs[1]
    assert (saga.kind, saga.link) == (Kind.COMIC, "https://kavita.example.org/library/1/series/1")
    assert (hobbit.kind, hobbit.title) == (Kind.BOOK, "Der Hobbit")
    assert saga.cover == "/cover/kavita/1" and saga.description == "Comics"
    # The key is sent only where Kavita takes it (the query of authenticate and of the cover), nowhere else.
    assert [r.path for r in app.seen if SECRET in r.raw_url] == ["/api/Plugin/authenticate"]

    assert connector.cover("1") == ("image/png", b"\x89PNG\r\n\x1a\ncover")
    assert app.seen[-1].param("seriesId") == "1"


def test_a_refused_key_never_appears_in_the_error(standin, source) -> None:
    server = standin(DOC, anonymous=ANONYMOUS, handler=Kavita([]))
    config = source("kavita", server.url)
    with open(str(config.key_file), "w", encoding="utf-8") as handle:
        handle.write("wrong-" + SECRET)

    with pytest.raises(ConnectorError) as failure:
        list(KavitaConnector(config, timeout=5).fetch(None))
    message = str(failure.value)
    assert message.startswith("kavita: the API refused the credentials (HTTP 401 on /api/Plugin/authenticate)")
    assert SECRET not in message and "apiKey" not in message


def test_since_keeps_series_with_a_later_chapter(standin, source) -> None:
    old = series(1, "Old", 2, created="2019-01-01T00:00:00", lastChapterAdded="2019-01-01T00:00:00Z")
    server = standin(DOC, anonymous=ANONYMOUS, handler=Kavita([old, series(2, "New", 2)]))

    docs = list(KavitaConnector(source("kavita", server.url), timeout=5).fetch(1_600_000_000.0))

    assert [d.title for d in docs] == ["New"]


def test_series_of_unknown_libraries_and_hostile_cover_ids_are_refused(standin, source) -> None:
    server = standin(DOC, anonymous=ANONYMOUS, handler=Kavita([series(1, "Orphan", 99), series(2, "Kept", 1)]))
    connector = KavitaConnector(source("kavita", server.url), timeout=5)

    assert [d.title for d in connector.fetch(None)] == ["Kept"]
    with pytest.raises(ConnectorError, match="is not a series id"):
        connector.cover("1&apiKey=x")

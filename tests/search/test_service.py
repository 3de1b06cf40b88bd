"""The search service's HTTP side on loopback: the JSON API's validation and shape, the page's files and
headers, OpenSearch, sources, covers, health. Engine and connectors are stand-ins (tests/search/service_fakes)."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from mediasearch.model import KIND_GROUPS, Kind
from mediasearch.server import MAX_COVER_BYTES, SECURITY_HEADERS, STATIC, Handler

from tests.search.service_fakes import PNG, MemoryEngine, connector_classes, doc, service_config
from tests.search.service_support import Running, running_service

HOSTILE = '</script><img src=x onerror="alert(1)">&amp;'

JELLYFIN = [
    doc(
        "jellyfin", "m1", Kind.MOVIE, "Amélie", creators=("Jean-Pierre Jeunet",), year=2001, cover="/cover/jellyfin/m1"
    ),
    doc("jellyfin", "e1", Kind.EPISODE, "The Hobbit Hole", description="Middle-earth series"),
    doc("jellyfin", "m2", Kind.MOVIE, HOSTILE, year=1999),
    doc("jellyfin", "x1", Kind.MOVIE, "Elsewhere film", link="https://evil.example.net/jellyfin.example.org/x"),
    doc("jellyfin", "x2", Kind.MOVIE, "Script film", link="javascript:alert(1)"),
    doc("jellyfin", "x3", Kind.MOVIE, "Prefix film", link="https://jellyfin.example.org.evil.net/item/x3"),
    doc("jellyfin", "x4", Kind.MOVIE, "Foreign cover film", cover="https://jellyfin.example.org/Items/x4/Images"),
]
NAVIDROME = [
    doc("navidrome", "al1", Kind.ALBUM, "The Hobbit (Original Soundtrack)", creators=("Howard Shore",), year=2012),
    doc("navidrome", "ar1", Kind.ARTIST, "Amélie Lens"),
]


@pytest.fixture(scope="module")
def svc() -> Iterator[Running]:
    classes = connector_classes(jellyfin=lambda since: iter(JELLYFIN), navidrome=lambda since: iter(NAVIDROME))
    cls = classes["jellyfin"]
    cls.covers.update(
        {
            ("jellyfin", "m1"): ("image/jpeg", b"\xff\xd8jpeg"),
            ("jellyfin", "png"): ("image/png; charset=binary", PNG),
            ("jellyfin", "svg"): ("image/svg+xml", b"<svg onload='alert(1)'/>"),
            ("jellyfin", "html"): ("text/html", b"<html>"),
            ("jellyfin", "huge"): ("image/jpeg", b"\0" * (MAX_COVER_BYTES + 1)),
        }
    )
    with running_service(service_config(), MemoryEngine(), classes) as running:
        running.indexer.run_once("jellyfin", full=True)
        running.indexer.run_once("navidrome", full=True)
        yield running


def _search(svc: Running, **params: str) -> dict:
    response = svc.get("/api/search?" + urllib.parse.urlencode(params))
    assert response.status == 200, response.text
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.body)


def test_results_are_grouped_in_the_page_order(svc: Running) -> None:
    data = _search(svc, q="hobbit")
    labels = [g["label"] for g in data["groups"]]
    assert labels == ["Series and episodes", "Music"]
    order = list(dict.fromkeys(KIND_GROUPS.values()))
    assert labels == sorted(labels, key=order.index)
    assert data["count"] == 2
    album = data["groups"][1]["results"][0]
    assert album == {
        "source": "navidrome",
        "source_label": "Navidrome",
        "id": "al1",
        "kind": "album",
        "kind_label": "Album",
        "title": "The Hobbit (Original Soundtrack)",
        "creators": ["Howard Shore"],
        "year": 2012,
        "cover": None,
        "link": "https://music.example.org/item/al1",
        "score": 2.0,
    }


def test_kind_app_and_limit_narrow_the_search(svc: Running) -> None:
    assert [r["id"] for g in _search(svc, q="amélie", kind="artist")["groups"] for r in g["results"]] == ["ar1"]
    assert {r["source"] for g in _search(svc, q="film", app="jellyfin")["groups"] for r in g["results"]} == {"jellyfin"}
    assert _search(svc, q="film", limit="2")["count"] == 2
    assert _search(svc, q="film", limit="100")["count"] == 4


def test_a_deep_link_is_kept_only_into_the_sources_own_app(svc: Running) -> None:
    links = {r["id"]: r["link"] for g in _search(svc, q="film")["groups"] for r in g["results"]}
    assert links == {"x1": None, "x2": None, "x3": None, "x4": "https://jellyfin.example.org/item/x4"}


def test_a_cover_is_only_the_services_own_path(svc: Running) -> None:
    covers = {r["id"]: r["cover"] for g in _search(svc, q="film")["groups"] for r in g["results"]}
    assert covers["x4"] is None
    assert _search(svc, q="amélie", kind="movie")["groups"][0]["results"][0]["cover"] == "/cover/jellyfin/m1"


def test_json_is_escaped_and_reads_back(svc: Running) -> None:
    response = svc.get("/api/search?" + urllib.parse.urlencode({"q": "onerror"}))
    assert b"<" not in response.body and b">" not in response.body and b"&" not in response.body
    assert json.loads(response.body)["groups"][0]["results"][0]["title"] == HOSTILE


BAD_PARAMETERS = [
    ("", r"^q: missing"),
    ("q=", r"^q: empty"),
    ("q=%20%20", r"^q: empty"),
    ("q=" + "a" * 201, r"^q: 201 characters; at most 200$"),
    ("q=a%00b", r"^q: contains control characters$"),
    ("q=a%0Ab", r"^q: contains control characters$"),
    ("q=a&kind=film", r"^kind: 'film' is not one of movie, series, "),
    ("q=a&app=plex", r"^app: 'plex' is not one of jellyfin, navidrome, "),
    ("q=a&limit=0", r"^limit: '0' is not a whole number from 1 to 100$"),
    ("q=a&limit=101", r"^limit: '101' is not a whole number from 1 to 100$"),
    ("q=a&limit=-1", r"^limit: '-1' is not a whole number"),
    ("q=a&limit=1e2", r"^limit: '1e2' is not a whole number"),
    ("q=a&limit=%EF%BC%95", "^limit: '\uff15' is not a whole number"),  # a full-width digit five
    ("q=a&limit=5%0A", r"^limit: '5\\n' is not a whole number"),
    ("q=a&sort=title", r"^'sort': unknown parameter; allowed: app, kind, limit, q$"),
    ("q=a&q=b", r"^q: given 2 times; give it once$"),
    ("q=a&kind=movie&kind=book", r"^kind: given 2 times; give it once$"),
    ("q=a&a=1&b=2&c=3&d=4&e=5&f=6&g=7", r"^query string: Max number of fields exceeded$"),
]


@pytest.mark.parametrize(("query", "message"), BAD_PARAMETERS)
def test_a_bad_parameter_is_refused_with_its_name(svc: Running, query: str, message: str) -> None:
    response = svc.get(f"/api/search?{query}")
    assert response.status == 400
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert re.search(message, json.loads(response.body)["error"]), response.text


def test_a_reflected_bad_value_is_escaped(svc: Running) -> None:
    response = svc.get("/api/search?q=a&kind=" + urllib.parse.quote("<script>alert(1)</script>"))
    assert response.status == 400
    assert b"<" not in response.body
    assert "<script>" in json.loads(response.body)["error"]


@pytest.mark.parametrize(
    "path", ["/", "/static/search.js", "/api/search?q=x", "/api/search", "/nowhere", "/healthz", "/cover/x/y"]
)
def test_every_answer_carries_the_security_headers(svc: Running, path: str) -> None:
    response = svc.get(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp


class _PageAudit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self._in_script = False
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        self.inline += [name for name in names if name.startswith("on") or name == "style"]
        if tag == "script":
            self.scripts.append(names)
            self._in_script = True
        if tag == "link":
            self.links.append(names)
        if tag == "style":
            self.inline.append("<style>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)


def test_the_page_has_no_inline_script_or_style_and_no_outside_resource(svc: Running) -> None:
    response = svc.get("/")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    audit = _PageAudit()
    audit.feed(response.text)
    assert audit.inline == []
    assert [s["src"] for s in audit.scripts] == ["/static/search.js"]
    hrefs = {link["href"] for link in audit.links}
    assert hrefs == {"/static/search.css", "/opensearch.xml"}
    for name in ("search.js", "search.css"):
        text = (STATIC / name).read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text, f"{name} must load nothing from outside"
    assert "innerHTML" not in (STATIC / "search.js").read_text(encoding="utf-8")


def test_static_files_have_their_types_and_revalidate(svc: Running) -> None:
    js = svc.get("/static/search.js")
    assert js.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert js.body == (STATIC / "search.js").read_bytes()
    assert svc.get("/static/search.css").headers["Content-Type"] == "text/css; charset=utf-8"
    again = svc.get("/static/search.js", {"If-None-Match": js.headers["ETag"]})
    assert (again.status, again.body) == (304, b"")
    assert svc.get("/static/../server.py").status == 404
    assert svc.get("/static/index.html").status == 404


def test_sources_say_which_are_connected_and_why_not(svc: Running) -> None:
    response = svc.get("/api/sources")
    sources = {s["app"]: s for s in json.loads(response.body)["sources"]}
    assert list(sources) == ["jellyfin", "navidrome", "audiobookshelf", "kavita", "calibre-web", "immich"]
    jellyfin = sources["jellyfin"]
    assert (jellyfin["label"], jellyfin["state"], jellyfin["documents"], jellyfin["errors"]) == (
        "Jellyfin",
        "connected",
        len(JELLYFIN),
        0,
    )
    assert isinstance(jellyfin["last_success"], float)
    assert sources["kavita"]["state"] == "not_configured"
    assert sources["kavita"]["reason"] == "no API key; set `media-server:searchKavitaApiKey`"
    assert sources["immich"]["state"] == "disabled"
    assert sources["immich"]["reason"] == "not in the search service's configuration"


def test_opensearch_description_names_the_public_url(svc: Running) -> None:
    response = svc.get("/opensearch.xml")
    assert response.headers["Content-Type"] == "application/opensearchdescription+xml; charset=utf-8"
    root = ET.fromstring(response.body)  # noqa: S314 - the service's own answer, made by ElementTree
    ns = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
    assert root.tag == "{http://a9.com/-/spec/opensearch/1.1/}OpenSearchDescription"
    short = root.findtext("os:ShortName", namespaces=ns)
    assert short and len(short) <= 16  # the spec's limit
    assert root.findtext("os:InputEncoding", namespaces=ns) == "UTF-8"
    urls = {u.get("type"): u.get("template") for u in root.findall("os:Url", ns)}
    assert urls == {
        "text/html": "https://search.example.org/?q={searchTerms}",
        "application/x-suggestions+json": "https://search.example.org/api/suggest?q={searchTerms}",
        "application/json": "https://search.example.org/api/search?q={searchTerms}",
    }


def test_suggestions_follow_the_opensearch_suggestions_format(svc: Running) -> None:
    response = svc.get("/api/suggest?q=hobbit")
    assert response.headers["Content-Type"] == "application/x-suggestions+json; charset=utf-8"
    assert json.loads(response.body) == ["hobbit", ["The Hobbit (Original Soundtrack)", "The Hobbit Hole"]]
    assert svc.get("/api/suggest?q=a&limit=3").status == 400


@pytest.mark.parametrize(
    ("item", "content_type", "body"),
    [("m1", "image/jpeg", b"\xff\xd8jpeg"), ("png", "image/png", PNG)],
)
def test_a_cover_is_proxied_with_cache_headers(svc: Running, item: str, content_type: str, body: bytes) -> None:
    response = svc.get(f"/cover/jellyfin/{item}")
    assert response.status == 200
    assert (response.headers["Content-Type"], response.body) == (content_type, body)
    assert response.headers["Cache-Control"] == "private, max-age=86400"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/cover/jellyfin/svg", 502),
        ("/cover/jellyfin/html", 502),
        ("/cover/jellyfin/huge", 502),
        ("/cover/jellyfin/none", 404),
        ("/cover/kavita/m1", 404),
        ("/cover/plex/m1", 404),
        ("/cover/jellyfin/%2E%2E%2Fsecret", 404),
        ("/cover/jellyfin/a%20b", 404),
        ("/cover/jellyfin/m1/extra", 404),
        ("/cover/jellyfin/", 404),
    ],
)
def test_a_cover_that_is_not_a_raster_image_of_a_connected_source_is_refused(
    svc: Running, path: str, status: int
) -> None:
    response = svc.get(path)
    assert response.status == status, response.text
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_health_head_and_other_methods(svc: Running) -> None:
    assert (svc.get("/healthz").status, svc.get("/healthz").body) == (200, b"ok\n")
    head = svc.request("HEAD", "/api/search?q=hobbit")
    assert head.status == 200 and head.body == b"" and int(head.headers["Content-Length"]) > 0
    post = svc.request("POST", "/api/search?q=hobbit")
    assert (post.status, post.headers["Allow"]) == (405, "GET, HEAD")


def test_the_log_never_holds_the_query_string(svc: Running, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="mediasearch"):
        svc.get("/api/search?q=privatewords&kind=movie")
        svc.get("/api/search?q=privatewords&limit=999")
        raw = socket.create_connection(("127.0.0.1", svc.port), timeout=10)
        raw.sendall(b"GET /api/search?q=privatewords HTTP/1.1 HTTP/1.1\r\n\r\n")  # a malformed request line
        answer = b""
        while chunk := raw.recv(4096):  # the service closes the connection after an error
            answer += chunk
        raw.close()
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"privatewords" not in answer
    assert b"X-Content-Type-Options: nosniff" in answer
    assert answer.endswith(b'{"error":"Bad Request"}')
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Bad request syntax ('GET /api/search?… HTTP/1.1 HTTP/1.1')" in text
    assert "/api/search" in text
    assert "privatewords" not in text and "limit" not in text


def test_an_engine_failure_is_a_plain_500(svc: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> list:
        raise RuntimeError("database disk image is malformed at /index/search.db")

    monkeypatch.setattr(svc.service.engine, "search", broken)
    response = svc.get("/api/search?q=x")
    assert response.status == 500
    assert json.loads(response.body) == {"error": "internal error; see the service's log"}


class _CountingSocket:
    """Stands in for an accepted connection: the request comes from bytes, every write to the wire is kept."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.writes: list[bytes] = []
        self.options: list[tuple[int, int, object]] = []

    def settimeout(self, timeout: float | None) -> None:
        pass

    def setsockopt(self, level: int, name: int, value: object) -> None:
        self.options.append((level, name, value))

    def sendall(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def makefile(self, mode: str, buffering: int = -1) -> io.BufferedIOBase:
        if "r" in mode:
            return io.BufferedReader(io.BytesIO(self.request))  # type: ignore[arg-type]
        connection = self

        class Wire(io.RawIOBase):
            def writable(self) -> bool:
                return True

            def write(self, data: bytes) -> int:  # type: ignore[override]
                connection.writes.append(bytes(data))
                return len(data)

        return io.BufferedWriter(Wire(), buffering if buffering > 0 else io.DEFAULT_BUFFER_SIZE)


def test_an_answer_leaves_in_one_write_without_nagle(svc: Running) -> None:
    """Headers and body in two small writes meet Nagle's algorithm and the client's delayed ACK: ~40 ms on
    every keep-alive answer (measured by `make bench-search-service`). Here: one write per answer."""
    wire = _CountingSocket(b"GET /api/search?q=hobbit HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    handler_class = type("Counted", (Handler,), {"service": svc.service})
    handler_class(wire, ("127.0.0.1", 1), None)
    assert len(wire.writes) == 1, [w[:40] for w in wire.writes]
    head, _, body = wire.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and json.loads(body)["count"] == 2
    assert (socket.IPPROTO_TCP, socket.TCP_NODELAY, True) in wire.options

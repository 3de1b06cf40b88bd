"""The connectors' shared HTTP helper, the field cleaners, the registry, and the stand-in's own guards."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from mediasearch.config import SourceConfig
from mediasearch.connectors import Connector, ConnectorError
from mediasearch.connectors import http as http_module
from mediasearch.connectors.documents import epoch_of, names, text, year_of
from mediasearch.connectors.http import HttpClient
from mediasearch.connectors.registry import CONNECTORS
from mediasearch.model import SOURCES

from tests.search.connectors.conftest import SECRET
from tests.search.connectors.standin import Answer, StandIn, document


class _Plain(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    stop = threading.Event()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/trickle":  # headers at once, then a byte every 50 ms: no single read ever times out
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            while not self.stop.wait(0.05):
                self.wfile.write(b" ")
                self.wfile.flush()
            return
        status, headers, body = self.routes[self.path.split("?")[0]]
        extra = {k: v for k, v in headers.items() if k != "Content-Type"}
        StandIn.send(self, status, body, headers.get("Content-Type", "application/octet-stream"), extra)


@pytest.fixture
def plain() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Plain)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    _Plain.stop.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    _Plain.stop.set()
    server.shutdown()
    server.server_close()


def test_redirects_are_not_followed_so_the_key_header_stays_home(plain: str) -> None:
    _Plain.routes = {"/moved": (302, {"Location": "http://192.0.2.1/steal"}, b"")}
    client = HttpClient("jellyfin", plain, 2, {"Authorization": SECRET})

    with pytest.raises(ConnectorError, match=r"^jellyfin: /moved answered a redirect \(HTTP 302\); not followed$"):
        client.json("GET", "/moved")


def test_a_server_that_trickles_its_answer_is_cut_at_the_deadline(plain: str) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectorError, match=r"^navidrome: the answer of /trickle took longer than 0.5 s$"):
        HttpClient("navidrome", plain, 0.5).json("GET", "/trickle")
    assert time.monotonic() - started < 5  # the server would go on for 5,000 s


def test_an_answer_over_the_cap_is_refused(plain: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _Plain.routes = {"/big": (200, {"Content-Type": "application/json"}, json.dumps(["x" * 100] * 100).encode())}
    monkeypatch.setattr(http_module, "MAX_JSON_BYTES", 1000)

    with pytest.raises(ConnectorError, match=r"^kavita: the answer of /big is larger than 1000 bytes; refused$"):
        HttpClient("kavita", plain, 2).json("GET", "/big")


def test_not_json_and_not_an_image(plain: str) -> None:
    _Plain.routes = {"/page": (200, {"Content-Type": "text/html"}, b"<html>login</html>")}
    client = HttpClient("immich", plain, 2)

    with pytest.raises(ConnectorError, match=r"^immich: /page did not answer JSON$"):
        client.json("GET", "/page")
    with pytest.raises(ConnectorError, match=r"^immich: /page answered text/html, not an image$"):
        client.image("GET", "/page")


def test_unreachable_and_secret_query_never_in_messages() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = HttpClient("kavita", f"http://127.0.0.1:{port}", 2)

    with pytest.raises(ConnectorError) as failure:
        client.json("POST", "/api/Plugin/authenticate", secret_query={"apiKey": SECRET})
    assert str(failure.value) == "kavita: cannot reach the API (ConnectionRefusedError)"


def test_field_cleaners() -> None:
    assert text("  A\x00\x1b[31m\tB\n<b>C</b> ") == "A [31m B <b>C</b>"
    assert text(42) == "" and len(text("x" * 1000)) == 300
    assert names(["Ann", "Ann", " ", None, "Bob"]) == ("Ann", "Bob") and names("Solo") == ("Solo",)
    assert [year_of(v) for v in (1937, "1937-09-21", "0101-01-01 00:00:00+00:00", True, "abc", 0)] == [
        1937,
        1937,
        None,
        None,
        None,
        None,
    ]
    assert epoch_of("2024-05-01T10:00:00.1234567Z") == pytest.approx(1714557600.123456)
    assert epoch_of("2024-05-01T12:00:00+02:00") == 1714557600.0
    assert epoch_of("2024-05-01T10:00:00") is None  # no zone: not guessed
    assert epoch_of("yesterday") is None


def test_the_registry_has_one_connector_per_catalog_app() -> None:
    assert set(CONNECTORS) == set(SOURCES)
    for app, cls in CONNECTORS.items():
        config = SourceConfig(app=app, enabled=True, url="http://127.0.0.1:9", public_url="https://x.example.org")
        connector: Connector = cls(config, timeout=1.5)
        assert connector.config is config and connector.timeout == 1.5  # type: ignore[attr-defined]
        assert callable(connector.fetch) and callable(connector.cover)


def test_the_stand_in_refuses_what_the_document_does_not_allow(standin) -> None:
    """The guard behind every contract test: break the request or the answer and the stand-in says so."""
    server = standin(
        document("jellyfin-10.11.3.openapi.json"), lambda r: Answer(body={"Items": [{"ProductionYear": "1999"}]})
    )
    server.expect_errors = True

    def get(path: str, headers: dict[str, str]) -> int:
        request = urllib.request.Request(server.url + path, headers=headers)  # noqa: S310 (loopback stand-in)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (loopback stand-in)
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return error.code

    auth = {"Authorization": 'MediaBrowser Token="x"'}
    assert get("/Itemz", auth) == 400
    assert get("/Items?StartIndex=1", auth) == 400
    assert get("/Items?includeItemTypes=Film", auth) == 400
    assert get("/Items?limit=ten", auth) == 400
    assert get("/Items", {}) == 400
    assert get("/Items?limit=1", auth) == 500  # the handler's answer breaks BaseItemDto: ProductionYear is an int
    assert [e.split(":")[0] for e in server.errors] == [
        "GET /Itemz",
        "GET /Items",
        "GET /Items",
        "GET /Items",
        "GET /Items",
        "answer to GET /Items",
    ]
    assert "'StartIndex' is not declared" in server.errors[1] and "'Film' is not one of" in server.errors[2]

"""The HTTP side: the page, the JSON API, OpenSearch, covers, /metrics and /healthz.

Stdlib `http.server.ThreadingHTTPServer`: the image carries no framework (only apk-packaged libraries may
enter it, and nothing here needs more than routing a handful of GET paths). One thread per connection, so a
slow cover from one app never holds up a search. Traefik terminates TLS in front.

Every answer carries the security headers (a CSP without inline script: the page's script and style are
files), JSON is written with `<`, `>` and `&` escaped, and a request's query string is never logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import unicodedata
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mediasearch.config import ServiceConfig
from mediasearch.connectors import ConnectorError
from mediasearch.engine import Engine
from mediasearch.indexer import Indexer
from mediasearch.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from mediasearch.metrics import Metrics
from mediasearch.model import KIND_GROUPS, SOURCES, Hit, Kind

log = logging.getLogger("mediasearch.server")

STATIC = Path(__file__).parent / "static"
STATIC_FILES: dict[str, tuple[str, str]] = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/search.js": ("search.js", "text/javascript; charset=utf-8"),
    "/static/search.css": ("search.css", "text/css; charset=utf-8"),
}

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

LABELS: dict[str, str] = {
    "jellyfin": "Jellyfin",
    "navidrome": "Navidrome",
    "audiobookshelf": "Audiobookshelf",
    "kavita": "Kavita",
    "calibre-web": "Calibre-Web",
    "immich": "Immich",
}
KIND_LABELS: dict[Kind, str] = {
    Kind.MOVIE: "Film",
    Kind.SERIES: "Series",
    Kind.EPISODE: "Episode",
    Kind.ALBUM: "Album",
    Kind.ARTIST: "Artist",
    Kind.TRACK: "Track",
    Kind.AUDIOBOOK: "Audiobook",
    Kind.PODCAST: "Podcast",
    Kind.BOOK: "Book",
    Kind.COMIC: "Comic",
    Kind.PHOTO_ALBUM: "Photo album",
    Kind.PERSON: "Person",
    Kind.PLACE: "Place",
}

MAX_QUERY = 200
"""Characters in `q`: far more than a title, far less than a way to make the engine work hard."""
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
SUGGESTIONS = 8
MAX_COVER_BYTES = 5 * 1024 * 1024
COVER_TYPES = re.compile(r"image/(?:avif|gif|jpeg|png|webp)")
"""Raster images only: an SVG can carry script."""
COVER_ID = re.compile(r"[A-Za-z0-9._~:@-]{1,200}")
_LIMIT = re.compile(r"[0-9]{1,3}")
_QUERY_STRING = re.compile(r"\?[^\s'\"]*")
_URL = re.compile(r"https?://[^\s\"'<>\\`]+")

SEARCH_PARAMS = frozenset({"q", "kind", "app", "limit"})
SUGGEST_PARAMS = frozenset({"q"})


class BadRequestError(ValueError):
    """A parameter is wrong; the message names it and says what is allowed."""


def _shown(value: str) -> str:
    """A bad value as an error message repeats it: cut short (the JSON encoder escapes it)."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


def to_json(data: Any) -> bytes:
    """JSON that is safe even if a browser were to sniff it as HTML: `<`, `>`, `&` escaped."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode("utf-8")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    q: str
    kind: Kind | None = None
    app: str | None = None
    limit: int = DEFAULT_LIMIT


def _single(params: Mapping[str, list[str]], allowed: frozenset[str]) -> dict[str, str]:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise BadRequestError(f"{_shown(unknown[0])}: unknown parameter; allowed: {', '.join(sorted(allowed))}")
    out = {}
    for name, values in params.items():
        if len(values) != 1:
            raise BadRequestError(f"{name}: given {len(values)} times; give it once")
        out[name] = values[0]
    return out


def _query_text(raw: str | None) -> str:
    if raw is None:
        raise BadRequestError("q: missing; give the words to search for")
    if any(unicodedata.category(ch) in {"Cc", "Cs"} for ch in raw):
        raise BadRequestError("q: contains control characters")
    text = " ".join(raw.split())
    if not text:
        raise BadRequestError("q: empty; give the words to search for")
    if len(text) > MAX_QUERY:
        raise BadRequestError(f"q: {len(text)} characters; at most {MAX_QUERY}")
    return text


def parse_search(query_string: str, allowed: frozenset[str] = SEARCH_PARAMS) -> SearchQuery:
    """The query string of /api/search (or /api/suggest), validated; BadRequestError names the parameter."""
    try:
        params = urllib.parse.parse_qs(
            query_string, keep_blank_values=True, strict_parsing=False, max_num_fields=len(allowed) + 2
        )
    except ValueError as error:
        raise BadRequestError(f"query string: {error}") from error
    given = _single(params, allowed)
    q = _query_text(given.get("q"))
    kind = None
    if given.get("kind"):
        try:
            kind = Kind(given["kind"])
        except ValueError:
            raise BadRequestError(
                f"kind: {_shown(given['kind'])} is not one of {', '.join(k.value for k in Kind)}"
            ) from None
    app = given.get("app") or None
    if app is not None and app not in SOURCES:
        raise BadRequestError(f"app: {_shown(app)} is not one of {', '.join(SOURCES)}")
    limit = DEFAULT_LIMIT
    if given.get("limit"):
        raw = given["limit"]
        if not _LIMIT.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
            raise BadRequestError(f"limit: {_shown(raw)} is not a whole number from 1 to {MAX_LIMIT}")
        limit = int(raw)
    return SearchQuery(q=q, kind=kind, app=app, limit=limit)


class SearchService:
    """What the handler calls: answers as (status, content type, body, extra headers)."""

    def __init__(
        self, config: ServiceConfig, engine: Engine, indexer: Indexer, metrics: Metrics, static_dir: Path = STATIC
    ) -> None:
        self.config = config
        self.engine = engine
        self.indexer = indexer
        self.metrics = metrics
        self.static: dict[str, tuple[bytes, str, str]] = {}
        for route, (name, content_type) in STATIC_FILES.items():
            body = (static_dir / name).read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            self.static[route] = (body, content_type, etag)
        self._public_urls = {s.app: s.public_url.rstrip("/") for s in config.sources if s.enabled}

    # ---- search
    def _link(self, source: str, link: str) -> str | None:
        """The deep link, only when it opens the source's own app (its public URL): nothing else is linked."""
        base = self._public_urls.get(source)
        if base is None or not _URL.fullmatch(link):
            return None
        if link == base or link.startswith(base + "/") or link.startswith(base + "?") or link.startswith(base + "#"):
            return link
        return None

    @staticmethod
    def _cover(source: str, cover: str | None) -> str | None:
        if cover is None or not cover.startswith(f"/cover/{source}/"):
            return None
        item = urllib.parse.unquote(cover[len(f"/cover/{source}/") :])
        return cover if COVER_ID.fullmatch(item) else None

    def _result(self, hit: Hit) -> dict[str, Any]:
        doc = hit.document
        return {
            "source": doc.source,
            "source_label": LABELS.get(doc.source, doc.source),
            "id": doc.id,
            "kind": doc.kind.value,
            "kind_label": KIND_LABELS[doc.kind],
            "title": doc.title,
            "creators": list(doc.creators),
            "year": doc.year,
            "cover": self._cover(doc.source, doc.cover),
            "link": self._link(doc.source, doc.link),
            "score": hit.score,
        }

    def _timed_search(self, query: SearchQuery) -> list[Hit]:
        started = time.perf_counter()
        try:
            return self.engine.search(query.q, kind=query.kind, app=query.app, limit=query.limit)
        finally:
            self.metrics.query_duration.observe(time.perf_counter() - started)

    def search(self, query: SearchQuery) -> dict[str, Any]:
        hits = self._timed_search(query)
        groups: dict[str, list[dict[str, Any]]] = {label: [] for label in dict.fromkeys(KIND_GROUPS.values())}
        for hit in hits:
            groups[KIND_GROUPS[hit.document.kind]].append(self._result(hit))
        return {
            "query": query.q,
            "count": len(hits),
            "groups": [
                {"label": label, "kinds": [k.value for k, g in KIND_GROUPS.items() if g == label], "results": results}
                for label, results in groups.items()
                if results
            ],
        }

    def suggest(self, query: SearchQuery) -> list[Any]:
        """The OpenSearch suggestions extension's answer: [query, [completions]]."""
        titles: list[str] = []
        for hit in self._timed_search(SearchQuery(q=query.q, limit=SUGGESTIONS * 2)):
            if hit.document.title not in titles:
                titles.append(hit.document.title)
        return [query.q, titles[:SUGGESTIONS]]

    # ---- sources, OpenSearch, metrics
    def sources(self) -> dict[str, Any]:
        return {
            "sources": [
                {
                    "app": s.app,
                    "label": LABELS.get(s.app, s.app),
                    "state": s.state,
                    "reason": s.reason,
                    "documents": s.documents,
                    "last_success": s.last_success,
                    "last_attempt": s.last_attempt,
                    "errors": s.errors,
                }
                for s in self.indexer.statuses()
            ]
        }

    def opensearch(self) -> bytes:
        """OpenSearch 1.1 description (https://github.com/dewitt/opensearch, opensearch-1-1-draft-6.md)."""
        ns = "http://a9.com/-/spec/opensearch/1.1/"
        base = self.config.public_url.rstrip("/")
        ET.register_namespace("", ns)
        root = ET.Element(f"{{{ns}}}OpenSearchDescription")
        ET.SubElement(root, f"{{{ns}}}ShortName").text = "Media search"
        ET.SubElement(
            root, f"{{{ns}}}Description"
        ).text = "Films, series, music, audiobooks, podcasts, books, comics and photos across the media apps"
        ET.SubElement(root, f"{{{ns}}}InputEncoding").text = "UTF-8"
        ET.SubElement(root, f"{{{ns}}}Url", type="text/html", method="get", template=f"{base}/?q={{searchTerms}}")
        ET.SubElement(
            root,
            f"{{{ns}}}Url",
            type="application/x-suggestions+json",
            method="get",
            template=f"{base}/api/suggest?q={{searchTerms}}",
        )
        ET.SubElement(
            root, f"{{{ns}}}Url", type="application/json", method="get", template=f"{base}/api/search?q={{searchTerms}}"
        )
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)

    def metrics_text(self) -> bytes:
        return self.metrics.render(self.indexer.statuses(), self.indexer.enabled()).encode("utf-8")

    def cover(self, app: str, raw_id: str) -> tuple[str, bytes]:
        """(content type, image) of an item's cover, through the source's connector. LookupError: no such
        cover, or the app has none (404); ConnectorError: what the app gave is not an acceptable image (502)."""
        item = urllib.parse.unquote(raw_id)
        if app not in SOURCES or not COVER_ID.fullmatch(item):
            raise LookupError("no such cover")
        connector = self.indexer.connector(app)
        if connector is None:
            raise LookupError(f"{app} is not connected")
        try:
            content_type, body = connector.cover(item)
        except ConnectorError as error:
            raise LookupError(f"{app} has no cover for it: {error}") from error
        media_type = content_type.split(";", 1)[0].strip().lower()
        if not COVER_TYPES.fullmatch(media_type):
            raise ConnectorError(f"{app} answered {media_type[:40]!r} for a cover, not a raster image")
        if len(body) > MAX_COVER_BYTES:
            raise ConnectorError(f"{app}'s cover is larger than {MAX_COVER_BYTES} bytes")
        return media_type, body


class Handler(BaseHTTPRequestHandler):
    server_version = "mediasearch"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 30
    """Seconds a connection may sit idle or half-sent before its thread is freed."""
    wbufsize = 64 * 1024
    """Headers and body leave in one write (flushed after each request): the base class's unbuffered writes
    send them as two segments, and Nagle's algorithm with the client's delayed ACK then holds the second
    for ~40 ms on every keep-alive answer."""
    disable_nagle_algorithm = True

    service: SearchService  # set on the subclass make_server builds

    def log_message(self, format: str, *args: Any) -> None:
        """The base class's own messages (a malformed request line, a timeout) quote the request line: its
        query string is cut out before it is logged."""
        log.info("%s %s", self.address_string(), _QUERY_STRING.sub("?…", format % args))

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = urllib.parse.urlsplit(getattr(self, "path", "") or "").path
        code_value = code.value if isinstance(code, HTTPStatus) else code
        log.info(
            "%s %s %s %s", self.address_string(), getattr(self, "command", None) or "-", path[:200] or "-", code_value
        )

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's errors (a malformed request line, a header too long): the status's own phrase
        as JSON with the security headers; the base would put the request line in the status line and in
        an HTML body."""
        self.log_error("code %d, message %s", code, message)
        self.close_connection = True
        body = b"" if code in {204, 304} or code < 200 else to_json({"error": HTTPStatus(code).phrase})
        self.send_response(code)
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD" and body:
            self.wfile.write(body)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send(
            status, to_json(data), "application/json; charset=utf-8", {"Cache-Control": "no-store", **(headers or {})}
        )

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        try:
            self._route()
        except BadRequestError as error:
            self._error(400, str(error))
        except Exception:
            log.exception("%s %s failed", self.command, urllib.parse.urlsplit(self.path).path[:200])
            self._error(500, "internal error; see the service's log")

    def _method_not_allowed(self) -> None:
        self._send(405, b"", "text/plain; charset=utf-8", {"Allow": "GET, HEAD"})

    def do_POST(self) -> None:
        self._method_not_allowed()

    def do_PUT(self) -> None:
        self._method_not_allowed()

    def do_DELETE(self) -> None:
        self._method_not_allowed()

    def do_PATCH(self) -> None:
        self._method_not_allowed()

    def _route(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        path, query = parts.path, parts.query
        service = self.service
        if path in service.static:
            body, content_type, etag = service.static[path]
            headers = {"Cache-Control": "no-cache", "ETag": etag}
            if self.headers.get("If-None-Match") == etag:
                self._send(304, b"", content_type, headers)
            else:
                self._send(200, body, content_type, headers)
        elif path == "/api/search":
            self._json(200, service.search(parse_search(query)))
        elif path == "/api/suggest":
            self._send(
                200,
                to_json(service.suggest(parse_search(query, SUGGEST_PARAMS))),
                "application/x-suggestions+json; charset=utf-8",
                {"Cache-Control": "no-store"},
            )
        elif path == "/api/sources":
            self._json(200, service.sources())
        elif path == "/opensearch.xml":
            self._send(200, service.opensearch(), "application/opensearchdescription+xml; charset=utf-8")
        elif path == "/metrics":
            self._send(200, service.metrics_text(), METRICS_CONTENT_TYPE, {"Cache-Control": "no-store"})
        elif path == "/healthz":
            self._send(200, b"ok\n", "text/plain; charset=utf-8", {"Cache-Control": "no-store"})
        elif path.startswith("/cover/"):
            self._cover(path)
        else:
            self._error(404, "not found")

    def _cover(self, path: str) -> None:
        pieces = path.split("/")
        if len(pieces) != 4:
            self._error(404, "not found")
            return
        _, _, app, item = pieces
        try:
            content_type, body = self.service.cover(app, item)
        except LookupError as error:
            self._error(404, str(error))
        except ConnectorError as error:
            log.warning("cover from %s: %s", app if app in SOURCES else "?", error)
            self._error(502, f"the app gave no usable cover: {error}")
        else:
            self._send(200, body, content_type, {"Cache-Control": "private, max-age=86400"})


def make_server(service: SearchService, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"service": service})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server

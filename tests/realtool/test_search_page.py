"""The search page in a real browser: Debian's headless chromium against the real server on loopback.

The server is the service's own (mediasearch.server, a free port), its index the real SQLite one
(mediasearch.engine.open_engine) filled with known documents by the indexer from stand-in connectors; the
deep links point at a stand-in app server on another loopback port, so opening one is seen arriving there.
The test types a query key by key, checks the grouped results (order, text, links, a cover through
/cover), moves through them with the arrow keys, opens one with Enter, and saves a screenshot under
test-output/ (its path is printed).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mediasearch.config import EngineConfig
from mediasearch.connectors import ConnectorError
from mediasearch.engine import open_engine
from mediasearch.model import Document, Hit, Kind

from offline.runner import ROOT
from tests.realtool.chromium import Page, headless_chromium
from tests.search.service_fakes import PNG, connector_classes, service_config
from tests.search.service_support import Running, running_service

pytestmark = pytest.mark.realtool

OUTPUT = ROOT / "test-output"
HOSTILE = '<img src=x onerror="window.__injected=1">Notes'


class AppStandIn:
    """Plays the media apps' web UIs: records every path a browser opens and answers a small page."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        opened = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                opened.append(self.path)
                body = b"<!doctype html><title>app item</title><p>opened in its app</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _documents(apps: AppStandIn) -> dict[str, list[Document]]:
    def d(source: str, item: str, kind: Kind, title: str, link: str, **extra: Any) -> Document:
        return Document(source=source, id=item, kind=kind, title=title, link=f"{apps.base}/{source}{link}", **extra)

    return {
        "jellyfin": [
            d(
                "jellyfin",
                "f1",
                Kind.MOVIE,
                "The Hobbit: An Unexpected Journey",
                "/web/#/details?id=f1",
                creators=("Peter Jackson",),
                year=2012,
                cover="/cover/jellyfin/f1",
            ),
            d("jellyfin", "e1", Kind.EPISODE, "Riddles in the Dark", "/web/#/details?id=e1", description="Hobbit"),
            d("jellyfin", "s1", Kind.SERIES, "The Hobbit Chronicles", "/web/#/details?id=s1", year=2003),
            d("jellyfin", "x1", Kind.MOVIE, HOSTILE, "/web/#/details?id=x1", description="hobbit"),
            d("jellyfin", "a1", Kind.MOVIE, "Amélie", "/web/#/details?id=a1", year=2001),
        ],
        "navidrome": [
            d(
                "navidrome",
                "al1",
                Kind.ALBUM,
                "The Hobbit (Original Soundtrack)",
                "/app/#/album/al1/show",
                creators=("Howard Shore",),
                year=2012,
            ),
        ],
        "audiobookshelf": [
            d(
                "audiobookshelf",
                "b1",
                Kind.AUDIOBOOK,
                "The Hobbit",
                "/audiobookshelf/item/b1",
                creators=("J.R.R. Tolkien", "Andy Serkis"),
                year=2020,
            ),
        ],
    }


def _config(apps: AppStandIn) -> Any:
    def source(app: str, enabled: bool, reason: str = "") -> dict[str, Any]:
        return {
            "app": app,
            "enabled": enabled,
            "url": f"http://{app}:80" if enabled else None,
            "public_url": f"{apps.base}/{app}",
            "key_file": f"/run/secrets/search/{app}" if enabled else None,
            "user": None,
            "library": None,
            "reason": reason,
        }

    return service_config(
        sources=[
            source("jellyfin", True),
            source("navidrome", True),
            source("audiobookshelf", True),
            source("kavita", False, "no API key; set `media-server:searchKavitaApiKey`"),
            source("immich", True),
        ]
    )


class GatedEngine:
    """The real SQLite index (mediasearch.engine.open_engine), except that a search for GATED waits until
    the test lets it answer."""

    GATED = "hobb"

    def __init__(self, path: Path) -> None:
        self.index = open_engine(EngineConfig(kind="sqlite", path=str(path)))
        self.entered = threading.Event()
        self.release = threading.Event()
        self.answered = threading.Event()

    def search(self, query: str, **kwargs: Any) -> list[Hit]:
        if query != self.GATED:
            return self.index.search(query, **kwargs)
        self.entered.set()
        self.release.wait(30)
        try:
            return self.index.search(query, **kwargs)
        finally:
            self.answered.set()

    def replace_source(self, source: str, documents: Iterable[Document]) -> int:
        return self.index.replace_source(source, documents)

    def upsert(self, documents: Iterable[Document]) -> int:
        return self.index.upsert(documents)

    def counts(self) -> dict[str, int]:
        return self.index.counts()

    def close(self) -> None:
        self.index.close()


def _immich_broken(since: float | None) -> Iterator[Document]:
    raise ConnectorError("Immich answered 401: the API key lacks the asset.read permission")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, AppStandIn]]:
    engine = GatedEngine(tmp_path_factory.mktemp("search-index") / "search.db")
    apps = AppStandIn()
    docs = _documents(apps)
    classes = connector_classes(
        jellyfin=lambda since: iter(docs["jellyfin"]),
        navidrome=lambda since: iter(docs["navidrome"]),
        audiobookshelf=lambda since: iter(docs["audiobookshelf"]),
        immich=_immich_broken,
    )
    classes["jellyfin"].covers[("jellyfin", "f1")] = ("image/png", PNG)
    try:
        with running_service(_config(apps), engine, classes) as running:
            for app in ("jellyfin", "navidrome", "audiobookshelf", "immich"):
                running.indexer.run_once(app, full=True)
            yield running, apps
    finally:
        engine.release.set()
        engine.close()
        apps.close()


@pytest.fixture
def page() -> Iterator[Page]:
    with headless_chromium() as browser_page:
        yield browser_page


def _no_problems(page: Page) -> None:
    # the browser asks for /favicon.ico by itself; the service has none (404), which is not the page's fault
    problems = page.problems(ignore=lambda entry: str(entry.get("url", "")).endswith("/favicon.ico"))
    assert problems == []


def test_typing_a_query_shows_grouped_results_and_the_keyboard_opens_one(
    site: tuple[Running, AppStandIn], page: Page
) -> None:
    service, apps = site
    page.navigate(service.base + "/")
    page.wait_for("document.querySelectorAll('#sources li').length === 6", "the sources panel")

    # "/" brings the focus back to the search box from anywhere on the page
    page.evaluate("document.activeElement.blur(), document.body.focus(), document.activeElement.id")
    page.press("/")
    assert page.evaluate("document.activeElement.id") == "q"

    page.type_text("hobbit")
    page.wait_for("document.getElementById('status').textContent.includes('for “hobbit”')", "results for hobbit")
    groups = page.evaluate(
        "Array.from(document.querySelectorAll('#results section')).map(s => ({"
        " label: s.querySelector('h2').textContent,"
        " labelled: s.getAttribute('aria-labelledby') === s.querySelector('h2').id,"
        " hits: Array.from(s.querySelectorAll('.hit-link')).map(a => ({"
        "   title: a.querySelector('.hit-title').textContent,"
        "   meta: a.querySelector('.hit-meta').textContent,"
        "   href: a.getAttribute('href')}))}))"
    )
    assert [g["label"] for g in groups] == ["Films", "Series and episodes", "Music", "Audiobooks"]
    assert all(g["labelled"] for g in groups)
    films, series, music, books = (g["hits"] for g in groups)
    assert films[0] == {
        "title": "The Hobbit: An Unexpected Journey",
        "meta": "Film · Peter Jackson · 2012 · in Jellyfin",
        "href": f"{apps.base}/jellyfin/web/#/details?id=f1",
    }
    assert films[1]["title"] == HOSTILE  # shown as text, never as markup
    assert {h["title"] for h in series} == {"Riddles in the Dark", "The Hobbit Chronicles"}
    assert music == [
        {
            "title": "The Hobbit (Original Soundtrack)",
            "meta": "Album · Howard Shore · 2012 · in Navidrome",
            "href": f"{apps.base}/navidrome/app/#/album/al1/show",
        }
    ]
    assert books == [
        {
            "title": "The Hobbit",
            "meta": "Audiobook · J.R.R. Tolkien, Andy Serkis · 2020 · in Audiobookshelf",
            "href": f"{apps.base}/audiobookshelf/audiobookshelf/item/b1",
        }
    ]
    assert page.evaluate("window.__injected === undefined && !document.querySelector('img[src=\"x\"]')")
    # the film's cover came through the service's /cover path and decoded as an image
    page.wait_for(
        "(() => { const i = document.querySelector('img.cover'); return i && i.complete && i.naturalWidth === 1 })()",
        "the cover loaded",
    )
    assert page.evaluate("new URL(document.querySelector('img.cover').src).pathname") == "/cover/jellyfin/f1"
    assert page.evaluate("document.querySelector('img.cover').loading") == "lazy"

    # the address says the query, so a reload or the OpenSearch template lands on the same results
    assert page.evaluate("location.search") == "?q=hobbit"

    # arrow keys move through the results; the focused one is visibly outlined
    page.press("ArrowDown")
    assert page.evaluate("document.activeElement.querySelector('.hit-title').textContent") == films[0]["title"]
    page.press("ArrowDown")
    assert page.evaluate("document.activeElement.querySelector('.hit-title').textContent") == films[1]["title"]
    page.press("ArrowUp")
    focused = page.evaluate(
        "(() => { const a = document.activeElement, s = getComputedStyle(a);"
        " return {title: a.querySelector('.hit-title').textContent, outline: s.outlineStyle,"
        " width: parseFloat(s.outlineWidth), visible: a.matches(':focus-visible')} })()"
    )
    assert focused == {"title": films[0]["title"], "outline": "solid", "width": 3.0, "visible": True}

    OUTPUT.mkdir(exist_ok=True)
    shot = page.screenshot(OUTPUT / "search-page.png")
    print(f"\nsearch page screenshot: {shot}")
    assert shot.stat().st_size > 10_000
    _no_problems(page)

    # Enter opens the focused result in its own app
    page.press("Enter")
    page.wait_for(f"location.href === {json.dumps(films[0]['href'])}", "the film opened in Jellyfin")
    # the app saw the page asked for (the fragment stays in the browser), then perhaps its favicon
    assert [p for p in apps.paths if p != "/favicon.ico"] == ["/jellyfin/web/"]


def test_escape_and_a_new_query_replace_the_results(site: tuple[Running, AppStandIn], page: Page) -> None:
    service, _ = site
    page.navigate(service.base + "/?q=hobbit")
    page.wait_for("document.querySelectorAll('.hit-link').length === 6", "the results of the address's query")
    assert page.evaluate("document.getElementById('q').value") == "hobbit"
    page.press("ArrowDown")
    page.press("Escape")
    assert page.evaluate("document.activeElement.id") == "q"
    page.evaluate("document.getElementById('q').select()")
    page.type_text("amelie")  # the index folds diacritics
    page.wait_for("document.getElementById('status').textContent === '1 result for “amelie”.'", "Amélie")
    assert page.evaluate("document.querySelector('#results .hit-title').textContent") == "Amélie"
    page.evaluate("document.getElementById('q').select()")
    page.type_text("zzzzqqq")
    page.wait_for("document.getElementById('status').textContent === 'No results for “zzzzqqq”.'", "no results")
    assert page.evaluate("document.querySelectorAll('#results section').length") == 0
    _no_problems(page)


def test_a_stale_answer_never_replaces_the_newer_one(site: tuple[Running, AppStandIn], page: Page) -> None:
    service, _ = site
    engine = service.service.engine
    assert isinstance(engine, GatedEngine)
    page.navigate(service.base + "/")
    page.type_text(GatedEngine.GATED)
    assert engine.entered.wait(20), "the search for the first letters never reached the server"
    page.type_text("it")  # the box now says "hobbit": its answer comes at once, the older one is still held
    page.wait_for("document.getElementById('status').textContent.includes('for “hobbit”')", "results for hobbit")
    engine.release.set()
    assert engine.answered.wait(20)
    # the held answer has been sent; the page aborted that request, so it must not take over now
    time.sleep(1.0)
    assert page.evaluate("document.getElementById('status').textContent") == "6 results for “hobbit”."
    _no_problems(page)


def test_the_sources_panel_says_what_is_connected_and_why_not(site: tuple[Running, AppStandIn], page: Page) -> None:
    service, _ = site
    page.navigate(service.base + "/")
    page.wait_for("document.querySelectorAll('#sources li').length === 6", "the sources panel")
    rows = page.evaluate(
        "Object.fromEntries(Array.from(document.querySelectorAll('#sources li')).map(li =>"
        " [li.dataset.app, {text: li.textContent, state: li.dataset.state,"
        "  code: Array.from(li.querySelectorAll('code')).map(c => c.textContent),"
        "  time: (li.querySelector('time') || {}).dateTime || null}]))"
    )
    assert rows["kavita"] == {
        "text": "Kavita: not connected — no API key; set media-server:searchKavitaApiKey",
        "state": "not_configured",
        "code": ["media-server:searchKavitaApiKey"],
        "time": None,
    }
    assert rows["jellyfin"]["text"] == "Jellyfin: connected · 5 documents · indexed just now"
    assert rows["navidrome"]["text"] == "Navidrome: connected · 1 document · indexed just now"
    assert rows["jellyfin"]["time"].endswith("Z")
    assert rows["immich"]["state"] == "error"
    assert rows["immich"]["text"] == (
        "Immich: error — Immich answered 401: the API key lacks the asset.read permission · 0 documents · "
        "not indexed yet"
    )
    assert rows["calibre-web"]["text"] == "Calibre-Web: not connected — not in the search service's configuration"
    _no_problems(page)


def test_screenshot_path_is_ignored_by_git() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/test-output/" in ignored
    assert Path(OUTPUT).relative_to(ROOT) == Path("test-output")

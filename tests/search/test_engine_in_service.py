"""The real embedded engine behind the search service: the image's entry point opens it with
`mediasearch.engine.open_engine(config.engine)`, the indexer fills it, and `/api/search` answers the
issue's quality cases from it."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from mediasearch import __main__ as entry_point
from mediasearch.engine.sqlite import SqliteEngine
from mediasearch.model import Kind

from tests.search.service_fakes import connector_classes, doc, service_config
from tests.search.service_support import Running, running_service

JELLYFIN = [
    doc("jellyfin", "m1", Kind.MOVIE, "Amélie", creators=("Jean-Pierre Jeunet",), year=2001),
    doc("jellyfin", "m2", Kind.MOVIE, "Harry Potter and the Chamber of Secrets", creators=("Chris Columbus",)),
]
NAVIDROME = [doc("navidrome", "al1", Kind.ALBUM, "The Hobbit (Original Soundtrack)", creators=("Howard Shore",))]


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    path = Path(tmp_path_factory.mktemp("index")) / "search.db"
    config = service_config(engine={"kind": "sqlite", "path": str(path)})
    engine = entry_point.open_engine(config.engine)  # what `mediasearch serve` calls
    assert isinstance(engine, SqliteEngine)
    classes = connector_classes(jellyfin=lambda since: iter(JELLYFIN), navidrome=lambda since: iter(NAVIDROME))
    with running_service(config, engine, classes) as running:
        running.indexer.run_once("jellyfin", full=True)
        running.indexer.run_once("navidrome", full=True)
        yield running
    engine.close()


def _ids(svc: Running, **params: str) -> list[str]:
    response = svc.get("/api/search?" + urllib.parse.urlencode(params))
    assert response.status == 200, response.text
    return [result["id"] for group in json.loads(response.body)["groups"] for result in group["results"]]


def test_the_quality_cases_through_the_api(svc: Running) -> None:
    assert _ids(svc, q="harr") == ["m2"]
    assert _ids(svc, q="hary potter") == ["m2"]
    assert _ids(svc, q="Amelie") == ["m1"]
    assert _ids(svc, q="shore hobbit") == ["al1"]
    assert _ids(svc, q="hobbit", kind="movie") == []
    assert _ids(svc, q='"NEAR(harry -x:*') == []


def test_counts_reach_the_sources_page(svc: Running) -> None:
    response = svc.get("/api/sources")
    assert response.status == 200
    documents = {source["app"]: source["documents"] for source in json.loads(response.body)["sources"]}
    assert documents["jellyfin"] == 2
    assert documents["navidrome"] == 1

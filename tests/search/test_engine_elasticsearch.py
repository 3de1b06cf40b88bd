"""The Elasticsearch engine against a loopback stand-in that checks every request against Elasticsearch's
published specification at 8.19 (tests/fixtures/elasticsearch-spec, see SOURCES.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from mediasearch.config import EngineConfig
from mediasearch.engine import EngineError, open_engine
from mediasearch.engine.elasticsearch import MAPPINGS, SETTINGS, ElasticsearchEngine, search_body
from mediasearch.model import Document, Kind

from tests.search.elasticsearch_spec import StandIn, Validator

PASSWORD = "stand-in-password"


def doc(source: str, id_: str, kind: Kind, title: str, *creators: str, description: str = "") -> Document:
    return Document(source, id_, kind, title, f"https://{source}.example.org/{id_}", creators, 2001, None, description)


BOOKS = [
    doc("calibre-web", "1", Kind.BOOK, "Harry Potter and the Philosopher's Stone", "J. K. Rowling"),
    doc("calibre-web", "2", Kind.BOOK, "The Hobbit", "J. R. R. Tolkien"),
]
FILMS = [doc("jellyfin", "m1", Kind.MOVIE, "Amélie", "Jean-Pierre Jeunet")]


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator()


@pytest.fixture
def stand_in(validator: Validator) -> Iterator[StandIn]:
    with StandIn(validator, password=PASSWORD) as running:
        yield running
    assert running.problems == []  # every request the engine sent conforms to the specification


@pytest.fixture
def engine(stand_in: StandIn, tmp_path: Path) -> ElasticsearchEngine:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    config = EngineConfig(
        kind="elasticsearch", url=stand_in.url, index="media-search", user="elastic", password_file=str(secret)
    )
    opened = open_engine(config)
    assert isinstance(opened, ElasticsearchEngine)
    return opened


def test_end_to_end_requests_conform(engine: ElasticsearchEngine, stand_in: StandIn) -> None:
    assert engine.search("harry") == []  # nothing indexed yet: no alias, no error
    assert engine.replace_source("calibre-web", BOOKS) == 2
    assert engine.replace_source("jellyfin", FILMS) == 1
    assert engine.counts() == {"calibre-web": 2, "jellyfin": 1}
    hits = engine.search("tolkien hobbit")
    assert [hit.document for hit in hits] == [BOOKS[1]]
    assert hits[0].score > 0
    assert [h.document.title for h in engine.search("amelie", kind=Kind.MOVIE, app="jellyfin")] == ["Amélie"]
    assert engine.search("amelie", app="calibre-web") == []
    assert engine.upsert([doc("immich", "p1", Kind.PERSON, "Amélie Poulain")]) == 1
    assert engine.counts() == {"calibre-web": 2, "immich": 1, "jellyfin": 1}
    assert {api.api for api in stand_in.requests} == {
        "info",
        "indices.get_alias",
        "indices.create",
        "bulk",
        "indices.refresh",
        "indices.update_aliases",
        "count",
        "search",
    }


def test_replace_swaps_the_alias_in_one_request_and_drops_the_old_index(
    engine: ElasticsearchEngine, stand_in: StandIn
) -> None:
    engine.replace_source("calibre-web", BOOKS)
    (first,) = stand_in.aliases["media-search"]
    stand_in.requests.clear()
    assert engine.replace_source("calibre-web", BOOKS[1:]) == 1
    (second,) = stand_in.aliases["media-search"]
    assert second != first and first not in stand_in.indices
    swap = [r for r in stand_in.requests if r.api == "indices.update_aliases"]
    assert swap[0].body == {
        "actions": [
            {"add": {"index": second, "alias": "media-search"}},
            {"remove": {"index": first, "alias": "media-search"}},
        ]
    }
    order = [r.api for r in stand_in.requests]
    assert order.index("indices.refresh") < order.index("indices.update_aliases") < order.index("indices.delete")
    assert [h.document.title for h in engine.search("harry")] == []


def test_a_failing_rebuild_keeps_the_old_index(engine: ElasticsearchEngine, stand_in: StandIn) -> None:
    engine.replace_source("calibre-web", BOOKS)
    before = set(stand_in.indices)
    stand_in.fail_next = "indices.refresh"
    with pytest.raises(EngineError, match=r"elasticsearch POST /.*/_refresh: HTTP 500 stand_in_failure"):
        engine.replace_source("calibre-web", BOOKS[:1])
    assert set(stand_in.indices) == before  # the half-built index is deleted
    assert engine.counts() == {"calibre-web": 2}


def test_credentials_are_sent_and_never_in_errors(stand_in: StandIn) -> None:
    with pytest.raises(EngineError, match="HTTP 401 security_exception") as refused:
        ElasticsearchEngine(stand_in.url, "media-search", user="elastic", password="wrong-password")
    assert "wrong-password" not in str(refused.value)


def test_an_unreachable_node_is_a_clear_error() -> None:
    with pytest.raises(EngineError, match=r"elasticsearch at http://127\.0\.0\.1:9: GET / failed"):
        ElasticsearchEngine("http://127.0.0.1:9", "media-search", timeout=2)


@pytest.mark.parametrize("query", ['"NEAR(harry', "title:harry*", "harry -potter", "{}[]^~", "x" * 10_000, ""])
def test_hostile_queries_reach_only_match_queries(engine: ElasticsearchEngine, stand_in: StandIn, query: str) -> None:
    engine.replace_source("calibre-web", BOOKS)
    engine.search(query)
    for request in stand_in.requests:
        if request.api == "search":
            text = json.dumps(request.body)
            assert "query_string" not in text and "simple_query_string" not in text


def test_the_mapping_and_query_conform_and_a_wrong_one_does_not(validator: Validator) -> None:
    types = validator.types
    assert types.check({"settings": SETTINGS, "mappings": MAPPINGS}, "IndicesCreateRequest.body") == []
    assert types.check(search_body(["hary", "potter"], Kind.BOOK, "jellyfin", 20), "SearchRequest.body") == []
    # The checker is not a rubber stamp: misspelt keys, wrong enum values, wrong types are refused.
    assert types.check({"settings": {"number_of_shardz": 1}}, "IndicesCreateRequest.body") == [
        "body.settings.number_of_shardz: not a property of IndexSettings"
    ]
    wrong_operator = {"query": {"match": {"title": {"query": "x", "operator": "xor"}}}}
    assert types.check(wrong_operator, "SearchRequest.body")
    assert types.check({"query": {"multi_match": {"fields": ["title"]}}}, "SearchRequest.body") == [
        "body.query.multi_match.query: required by MultiMatchQuery"
    ]
    assert types.check({"mappings": {"properties": {"t": {"type": "txt"}}}}, "IndicesCreateRequest.body")
    assert types.check({"size": "many"}, "SearchRequest.body")


def test_the_stand_in_refuses_what_the_specification_does_not_allow(validator: Validator) -> None:
    def problems(method: str, target: str, body: bytes = b"", content_type: str | None = None) -> list[str]:
        return validator.validate(method, target, content_type or ("application/json" if body else None), body)[1]

    assert problems("GET", "/media-search/_count") == []
    assert problems("PATCH", "/media-search/_search", b"{}")
    assert problems("POST", "/media-search/_serach", b"{}")
    assert problems("POST", "/x/_bulk?refresh=soon", b'{"index":{}}\n{}\n', "application/x-ndjson")
    assert problems("POST", "/x/_bulk?refresh=wait_for", b'{"index":{}}\n{}\n', "application/x-ndjson") == []
    assert problems("POST", "/x/_bulk", b'{"index":{}}\n{}\n', "application/json")  # bulk is NDJSON
    assert problems("POST", "/x/_bulk", b'{"upsert":{}}\n{}\n', "application/x-ndjson")
    assert problems("POST", "/x/_refresh?frobnicate=1")
    assert problems("POST", "/_aliases", b'{"actions":[{"add":{"index":"a","alias":"b"}}]}') == []
    assert problems("POST", "/_aliases", b'{"actions":[{"swap":{"index":"a"}}]}')


def test_types_named_but_not_copied_are_reported_not_accepted(validator: Validator) -> None:
    assert validator.types.check({"a": 1}, "NoSuchType") == [
        "body: type NoSuchType is not in the copied specification files"
    ]

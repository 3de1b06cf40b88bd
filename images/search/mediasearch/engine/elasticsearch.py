"""The optional engine: the catalog's Elasticsearch (8.19), over its REST API with the standard library.

Every request this module sends (path, method, query parameters, body) is checked in the tests against
Elasticsearch's published specification at 8.19 (elastic/elasticsearch-specification, branch 8.19: the
`specification/_json_spec/*.json` REST descriptions and the TypeScript request types), kept as test data
under tests/fixtures/elasticsearch-spec/.

Layout: one index per source and rebuild, `<index>-<source>-<generation>`, all behind one alias, the
configured index name, which searches read. `replace_source` fills a new index, refreshes it, then moves the
alias from the old index to the new one in one `POST /_aliases` (Elasticsearch applies the actions of one
request atomically), and deletes the old index: readers see the old set until the new one is complete.

Matching, as the embedded engine: the text is folded by an `asciifolding` + `lowercase` analyzer; prefixes
come from an `edge_ngram` subfield (`title.prefix`, `creators.prefix`); every word of the query must match
a title, creator or description word by prefix or with one typo (`fuzziness: AUTO`); the title is boosted,
and a query that is the title's words (or their beginning) ranks first.
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from mediasearch.engine.errors import EngineError
from mediasearch.engine.text import query_terms
from mediasearch.model import Document, Hit, Kind

MAX_LIMIT = 100
BULK_CHUNK = 500

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "number_of_replicas": 0,  # one node (the catalog's); a replica could never be assigned
    "analysis": {
        "analyzer": {
            "folded": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]},
            "folded_prefix": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["lowercase", "asciifolding", "word_prefixes"],
            },
        },
        "filter": {"word_prefixes": {"type": "edge_ngram", "min_gram": 1, "max_gram": 20}},
    },
}

_TEXT_WITH_PREFIXES: dict[str, Any] = {
    "type": "text",
    "analyzer": "folded",
    "fields": {"prefix": {"type": "text", "analyzer": "folded_prefix", "search_analyzer": "folded"}},
}

MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "source": {"type": "keyword"},
        "id": {"type": "keyword"},
        "kind": {"type": "keyword"},
        "title": _TEXT_WITH_PREFIXES,
        "creators": _TEXT_WITH_PREFIXES,
        "description": {"type": "text", "analyzer": "folded"},
        "year": {"type": "integer"},
        "cover": {"type": "keyword", "index": False},
        "link": {"type": "keyword", "index": False},
        "updated": {"type": "double"},
    },
}


class ElasticsearchEngine:
    """The `Engine` over an Elasticsearch node. Holds no connection: each call is one or more HTTP requests
    (urllib), so it is safe to use from several threads."""

    def __init__(
        self, url: str, index: str, *, user: str | None = None, password: str | None = None, timeout: float = 30.0
    ) -> None:
        self._base = url.rstrip("/")
        self._alias = index
        self._timeout = timeout
        self._headers = {"Accept": "application/json"}
        if user is not None and password is not None:
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {token}"
        info = self._request("GET", "/")
        version = str(info.get("version", {}).get("number", "")) if isinstance(info, dict) else ""
        if not version.startswith("8."):
            raise EngineError(f"elasticsearch at {self._base}: version {version or 'unknown'} is not 8.x")

    # -- HTTP --------------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        ndjson: list[dict[str, Any]] | None = None,
        missing_ok: bool = False,
    ) -> Any:
        url = self._base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        headers = dict(self._headers)
        data = None
        if ndjson is not None:
            data = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in ndjson).encode()
            headers["Content-Type"] = "application/x-ndjson"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 (http(s) from config)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as error:
            if missing_ok and error.code == 404:
                return None
            raise EngineError(f"elasticsearch {method} {path}: HTTP {error.code} {_reason(error)}") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise EngineError(f"elasticsearch at {self._base}: {method} {path} failed ({error})") from error
        return json.loads(raw) if raw else None

    # -- indices -----------------------------------------------------------------------------------------

    def _live(self) -> dict[str, str]:
        """source -> the index the alias points at for it."""
        answer = self._request("GET", f"/_alias/{_quote(self._alias)}", missing_ok=True) or {}
        pattern = re.compile(re.escape(self._alias) + r"-(.+)-([0-9]+)")
        live = {}
        for name in answer:
            found = pattern.fullmatch(name)
            if found:
                live[found.group(1)] = name
        return live

    def _create(self, source: str) -> str:
        name = f"{self._alias}-{source}-{time.time_ns()}"
        self._request("PUT", f"/{_quote(name)}", {"settings": SETTINGS, "mappings": MAPPINGS})
        return name

    def _bulk(self, index: str, documents: Iterable[Document], refresh: bool) -> int:
        written = 0
        iterator = iter(documents)
        while chunk := list(islice(iterator, BULK_CHUNK)):
            lines: list[dict[str, Any]] = []
            for document in chunk:
                lines += [{"index": {"_id": document.id}}, _source(document)]
            params = {"refresh": "wait_for"} if refresh else None
            answer = self._request("POST", f"/{_quote(index)}/_bulk", ndjson=lines, params=params)
            if answer.get("errors"):
                failed = next(item for item in answer["items"] if "error" in item.get("index", {}))
                error = failed["index"]["error"]
                raise EngineError(f"elasticsearch bulk into {index}: {error.get('type')}: {error.get('reason')}")
            written += len(chunk)
        return written

    def replace_source(self, source: str, documents: Iterable[Document]) -> int:
        new = self._create(source)
        try:
            count = self._bulk(new, _only(source, documents), refresh=False)
            self._request("POST", f"/{_quote(new)}/_refresh")
            old = self._live().get(source)
            actions: list[dict[str, Any]] = [{"add": {"index": new, "alias": self._alias}}]
            if old is not None:
                actions.append({"remove": {"index": old, "alias": self._alias}})
            self._request("POST", "/_aliases", {"actions": actions})
        except BaseException:
            self._request("DELETE", f"/{_quote(new)}", missing_ok=True)
            raise
        if old is not None:
            self._request("DELETE", f"/{_quote(old)}", missing_ok=True)
        return count

    def upsert(self, documents: Iterable[Document]) -> int:
        by_source: dict[str, list[Document]] = {}
        for document in documents:
            by_source.setdefault(document.source, []).append(document)
        live = self._live() if by_source else {}
        written = 0
        for source, group in by_source.items():
            index = live.get(source)
            if index is None:  # a source that has only been indexed incrementally so far
                index = self._create(source)
                self._request("POST", "/_aliases", {"actions": [{"add": {"index": index, "alias": self._alias}}]})
            written += self._bulk(index, group, refresh=True)
        return written

    # -- reads -------------------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return {
            source: int(self._request("GET", f"/{_quote(index)}/_count")["count"])
            for source, index in sorted(self._live().items())
        }

    def search(self, query: str, *, kind: Kind | None = None, app: str | None = None, limit: int = 20) -> list[Hit]:
        terms = query_terms(query)
        limit = max(0, min(int(limit), MAX_LIMIT))
        if not terms or limit == 0:
            return []
        answer = self._request(
            "POST", f"/{_quote(self._alias)}/_search", search_body(terms, kind, app, limit), missing_ok=True
        )
        if answer is None:  # no source indexed yet: the alias does not exist
            return []
        return [
            Hit(document=_document(hit["_source"]), score=float(hit.get("_score") or 0.0))
            for hit in answer["hits"]["hits"]
        ]

    def close(self) -> None:
        """Nothing held open."""


def search_body(terms: list[str], kind: Kind | None, app: str | None, limit: int) -> dict[str, Any]:
    """The query: every word must match (by prefix, or within one typo) somewhere; title matches score
    most. Only `match`-family queries take the user's words: none of them parses query syntax."""
    text = " ".join(terms)
    every_word = [
        {
            "bool": {
                "should": [
                    {"multi_match": {"query": term, "fields": ["title.prefix^3", "creators.prefix^2", "description"]}},
                    {
                        "multi_match": {
                            "query": term,
                            "fields": ["title^3", "creators^2", "description"],
                            "fuzziness": "AUTO",
                            "prefix_length": 1,
                            "boost": 0.5,
                        }
                    },
                ]
            }
        }
        for term in terms
    ]
    filters: list[dict[str, Any]] = []
    if kind is not None:
        filters.append({"term": {"kind": {"value": Kind(kind).value}}})
    if app is not None:
        filters.append({"term": {"source": {"value": app}}})
    return {
        "size": limit,
        "query": {
            "bool": {
                "must": every_word,
                "should": [
                    {"match": {"title": {"query": text, "operator": "and", "boost": 4}}},
                    {"match_phrase_prefix": {"title": {"query": text, "boost": 2}}},
                ],
                "filter": filters,
            }
        },
    }


def _only(source: str, documents: Iterable[Document]) -> Iterator[Document]:
    for document in documents:
        if document.source != source:
            raise EngineError(f"replace_source({source!r}) got a document of {document.source!r}")
        yield document


def _source(document: Document) -> dict[str, Any]:
    return {
        "source": document.source,
        "id": document.id,
        "kind": Kind(document.kind).value,
        "title": document.title,
        "creators": list(document.creators),
        "year": document.year,
        "cover": document.cover,
        "link": document.link,
        "description": document.description,
        "updated": document.updated,
    }


def _document(source: dict[str, Any]) -> Document:
    return Document(
        source=str(source["source"]),
        id=str(source["id"]),
        kind=Kind(source["kind"]),
        title=str(source["title"]),
        link=str(source["link"]),
        creators=tuple(str(name) for name in source.get("creators") or ()),
        year=source.get("year"),
        cover=source.get("cover"),
        description=str(source.get("description") or ""),
        updated=source.get("updated"),
    )


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _reason(error: urllib.error.HTTPError) -> str:
    """Elasticsearch's error type and reason (never the request, which may carry documents)."""
    try:
        detail = json.loads(error.read() or b"{}").get("error")
    except (ValueError, OSError):
        return error.reason or ""
    if isinstance(detail, dict):
        return f"{detail.get('type')}: {detail.get('reason')}"
    return str(detail or error.reason or "")

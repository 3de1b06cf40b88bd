"""mediasearch.config: the service's own guard on the file the program renders. Each bad field is named."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mediasearch.config import ConfigError, load, parse

from tests.search.service_fakes import raw_config

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(raw: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = raw
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


def _drop(path: str) -> Mutation:
    def mutate(raw: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = raw
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        del target[last]

    return mutate


BAD: list[tuple[str, Mutation, str]] = [
    ("version", _set("version", 2), r"^version: 2 is not 1$"),
    ("version missing", _drop("version"), r"^version: None is not 1$"),
    ("listen_port low", _set("listen_port", 80), r"^listen_port: 80 is outside 1024\.\.65535"),
    ("listen_port text", _set("listen_port", "8080"), r"^listen_port: '8080' is not a int$"),
    ("listen_port bool", _set("listen_port", True), r"^listen_port: True is not a int$"),
    ("public_url", _set("public_url", "javascript:alert(1)"), r"^public_url: 'javascript:alert\(1\)' is not an http"),
    ("public_url newline", _set("public_url", "https://search.example.org\n"), r"^public_url: .* is not an http"),
    ("engine kind", _set("engine.kind", "lucene"), r"^engine\.kind: 'lucene' is not sqlite or elasticsearch$"),
    ("engine path", _set("engine.path", "index.db"), r"^engine\.path: 'index\.db' is not an absolute path$"),
    ("engine missing", _drop("engine"), r"^engine: not an object$"),
    (
        "engine index",
        _set("engine", {"kind": "elasticsearch", "url": "http://elasticsearch:9200", "index": "Media"}),
        r"^engine\.index: 'Media' is not an Elasticsearch index name",
    ),
    (
        "engine url",
        _set("engine", {"kind": "elasticsearch", "url": "ftp://es", "index": "media"}),
        r"^engine\.url: 'ftp://es' is not an http\(s\) URL$",
    ),
    ("incremental_seconds", _set("incremental_seconds", 5), r"^incremental_seconds: 5 is outside 60\.\."),
    ("full_seconds", _set("full_seconds", 10), r"^full_seconds: 10 is outside 300\.\."),
    ("source_timeout_seconds", _set("source_timeout_seconds", 0), r"^source_timeout_seconds: 0 is outside 1\.\."),
    ("sources type", _set("sources", {}), r"^sources: \{\} is not a list$"),
    ("source not object", _set("sources.0", "jellyfin"), r"^sources\[0\]: not an object$"),
    ("source app", _set("sources.0.app", "plex"), r"^sources\[0\]\.app: 'plex' is not one of jellyfin, "),
    ("source enabled", _set("sources.1.enabled", "yes"), r"^sources\[1\]\.enabled: 'yes' is not a bool$"),
    ("source url", _set("sources.0.url", "http://jellyfin:8096/\nx"), r"^sources\[0\]\.url: .* is not an http"),
    ("source public_url", _drop("sources.0.public_url"), r"^sources\[0\]\.public_url: missing$"),
    ("source key_file", _set("sources.0.key_file", "../secret"), r"^sources\[0\]\.key_file: '\.\./secret' is not an"),
    ("source user", _set("sources.1.user", "a b"), r"^sources\[1\]\.user: 'a b' is not a login name"),
    ("source library", _set("sources.0.library", "metadata.db"), r"^sources\[0\]\.library: 'metadata\.db' is not"),
    ("source reason", _set("sources.2.reason", 5), r"^sources\[2\]\.reason: 5 is not a str$"),
    ("source unknown", _set("sources.0.apikey", "x"), r"^sources\[0\]: unknown field\(s\) \['apikey'\]$"),
    ("unknown top-level", _set("source", []), r"^unknown field\(s\) \['source'\]$"),
    ("source twice", _set("sources.1.app", "jellyfin"), r"^sources: an app is listed twice"),
]


@pytest.mark.parametrize(("mutation", "message"), [(m, msg) for _, m, msg in BAD], ids=[name for name, _, _ in BAD])
def test_a_bad_field_is_named(mutation: Mutation, message: str) -> None:
    raw = copy.deepcopy(raw_config())
    mutation(raw)
    with pytest.raises(ConfigError, match=message):
        parse(raw)


def test_the_example_parses_with_every_field() -> None:
    config = parse(raw_config())
    jellyfin = config.source("jellyfin")
    assert jellyfin is not None and jellyfin.enabled and jellyfin.key_file == "/run/secrets/search/jellyfin"
    kavita = config.source("kavita")
    assert kavita is not None and not kavita.enabled
    assert kavita.reason == "no API key; set `media-server:searchKavitaApiKey`"
    assert config.source("immich") is None
    assert (config.engine.kind, config.engine.path) == ("sqlite", "/index/search.db")


def test_not_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "search.json"
    path.write_text("{version: 1}", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{path}: not JSON"):
        load(path)


def test_not_an_object() -> None:
    with pytest.raises(ConfigError, match=r"^the configuration is not a JSON object$"):
        parse(json.loads("[1]"))


def test_the_secret_is_read_from_its_file_at_each_call(tmp_path: Path) -> None:
    key = tmp_path / "jellyfin"
    key.write_text("first\n", encoding="utf-8")
    raw = raw_config()
    raw["sources"][0]["key_file"] = str(key)
    source = parse(raw).source("jellyfin")
    assert source is not None
    assert source.secret() == "first"
    key.write_text("rotated", encoding="utf-8")
    assert source.secret() == "rotated"
    kavita = parse(raw).source("kavita")
    assert kavita is not None
    with pytest.raises(ConfigError, match=r"^sources\[kavita\]\.key_file: none configured$"):
        kavita.secret()

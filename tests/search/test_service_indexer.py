"""The indexer: one worker per enabled source, so a slow, hung or broken source never holds up the others;
incremental and full runs on schedule and on request (SIGHUP); disabled sources never run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from mediasearch.config import EngineConfig
from mediasearch.connectors import ConnectorError
from mediasearch.engine import open_engine
from mediasearch.indexer import OVERLAP_SECONDS, QUEUE_DOCUMENTS, Indexer
from mediasearch.model import Document, Kind, SourceStatus

from tests.search.service_fakes import MemoryEngine, connector_classes, doc, service_config

WAIT = 20.0
"""Upper bound for a condition the test waits for (never a timing assertion: it only bounds a hang)."""


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WAIT} s: {what}")
        time.sleep(0.02)


def _status(indexer: Indexer, app: str) -> SourceStatus:
    return next(s for s in indexer.statuses() if s.app == app)


def _state(indexer: Indexer, app: str) -> str:
    return _status(indexer, app).state


def _films(app: str, *titles: str) -> Callable[[float | None], Iterator[Document]]:
    return lambda since: iter([doc(app, f"id{n}", Kind.MOVIE, t) for n, t in enumerate(titles)])


def test_a_slow_source_holds_up_neither_the_others_nor_the_search() -> None:
    release = threading.Event()

    def slow(since: float | None) -> Iterator[Document]:
        release.wait(WAIT)
        yield doc("jellyfin", "j1", Kind.MOVIE, "Slow film")

    engine = MemoryEngine()
    indexer = Indexer(
        service_config(), engine, connector_classes(jellyfin=slow, navidrome=_films("navidrome", "Fast album"))
    )
    indexer.start()
    try:
        _until(lambda: _state(indexer, "navidrome") == "connected", "navidrome indexed")
        assert _state(indexer, "jellyfin") == "indexing"
        assert [h.document.title for h in engine.search("fast")] == ["Fast album"]
        release.set()
        _until(lambda: _state(indexer, "jellyfin") == "connected", "jellyfin indexed once released")
        assert _status(indexer, "jellyfin").documents == 1
    finally:
        release.set()
        indexer.stop()


def test_a_hung_source_is_given_up_after_the_timeout_and_never_writes() -> None:
    release = threading.Event()

    def hung(since: float | None) -> Iterator[Document]:
        yield doc("jellyfin", "early", Kind.MOVIE, "Early film")
        release.wait(WAIT)
        yield doc("jellyfin", "late", Kind.MOVIE, "Late film")

    engine = MemoryEngine()
    indexer = Indexer(service_config(source_timeout_seconds=1), engine, connector_classes(jellyfin=hung))
    try:
        indexer.run_once("jellyfin", full=True)
        status = _status(indexer, "jellyfin")
        assert (status.state, status.errors) == ("error", 1)
        assert status.reason == "no answer for 1 s (source_timeout_seconds)"
        assert engine.counts() == {} and engine.calls == []
        # while the given-up fetch still hangs, no second one starts beside it
        indexer.run_once("jellyfin", full=True)
        assert _status(indexer, "jellyfin").reason == "its previous run has not returned for over 1 s"
        assert _status(indexer, "jellyfin").errors == 2
    finally:
        release.set()
    # once it has returned, the next run goes ahead (the connector answers at once now)
    _until(lambda: all(t.name != "fetch-jellyfin" for t in threading.enumerate()), "the hung fetch returned")
    indexer.run_once("jellyfin", full=True)
    assert _state(indexer, "jellyfin") == "connected"
    assert engine.counts() == {"jellyfin": 2}


def test_a_broken_source_says_why_and_keeps_what_it_had() -> None:
    fail = threading.Event()

    def flaky(since: float | None) -> Iterator[Document]:
        if fail.is_set():
            raise ConnectorError("Jellyfin answered 401 Unauthorized: check `media-server:searchJellyfinApiKey`")
        yield doc("jellyfin", "j1", Kind.MOVIE, "Kept film")

    engine = MemoryEngine()
    indexer = Indexer(
        service_config(), engine, connector_classes(jellyfin=flaky, navidrome=_films("navidrome", "Album"))
    )
    indexer.run_once("jellyfin", full=True)
    first = _status(indexer, "jellyfin").last_success
    fail.set()
    indexer.run_once("jellyfin", full=False)
    indexer.run_once("navidrome", full=True)
    status = _status(indexer, "jellyfin")
    assert (status.state, status.errors, status.documents, status.last_success) == ("error", 1, 1, first)
    assert status.reason == "Jellyfin answered 401 Unauthorized: check `media-server:searchJellyfinApiKey`"
    assert [h.document.title for h in engine.search("kept")] == ["Kept film"]
    assert _state(indexer, "navidrome") == "connected"


@pytest.mark.parametrize(
    ("yielded", "reason"),
    [
        (lambda: doc("navidrome", "n1", Kind.ALBUM, "Stray"), "the connector yielded a document of source 'navidrome'"),
        (lambda: {"title": "not a document"}, "the connector yielded a dict, not a Document"),
    ],
)
def test_a_connector_yielding_what_is_not_its_own_document_fails_the_run(yielded, reason: str) -> None:
    engine = MemoryEngine()
    indexer = Indexer(service_config(), engine, connector_classes(jellyfin=lambda since: iter([yielded()])))
    indexer.run_once("jellyfin", full=True)
    assert (_state(indexer, "jellyfin"), _status(indexer, "jellyfin").reason) == ("error", reason)
    assert engine.calls == []


def test_an_unexpected_exception_is_named_and_the_key_file_problem_is_shown() -> None:
    class NoKey:
        def __init__(self, config, timeout) -> None:
            raise FileNotFoundError(2, "No such file or directory", "/run/secrets/search/jellyfin")

    indexer = Indexer(service_config(), MemoryEngine(), {"jellyfin": NoKey})
    indexer.run_once("jellyfin", full=True)
    assert _status(indexer, "jellyfin").reason == (
        "FileNotFoundError: [Errno 2] No such file or directory: '/run/secrets/search/jellyfin'"
    )
    assert indexer.connector("jellyfin") is None


def test_an_enabled_source_without_a_connector_says_so() -> None:
    indexer = Indexer(service_config(), MemoryEngine(), {})
    indexer.run_once("navidrome", full=True)
    assert _status(indexer, "navidrome").reason == "no connector for navidrome in this version of the service"


def test_a_disabled_source_is_never_run_and_shows_its_reason() -> None:
    built: list[str] = []

    class Refuse:
        def __init__(self, config, timeout) -> None:
            built.append(config.app)
            raise AssertionError("a disabled source's connector was built")

    classes = {**connector_classes(jellyfin=_films("jellyfin", "A"), navidrome=_films("navidrome", "B"))}
    classes["kavita"] = Refuse
    indexer = Indexer(service_config(), MemoryEngine(), classes)
    indexer.start()
    try:
        workers = {t.name for t in threading.enumerate() if t.name.startswith("index-")}
        assert workers == {"index-jellyfin", "index-navidrome"}
        _until(lambda: _state(indexer, "jellyfin") == _state(indexer, "navidrome") == "connected", "both indexed")
        with pytest.raises(
            ValueError, match=r"^kavita is disabled: no API key; set `media-server:searchKavitaApiKey`$"
        ):
            indexer.run_once("kavita", full=True)
        assert indexer.connector("kavita") is None
    finally:
        indexer.stop()
    assert built == []
    kavita = _status(indexer, "kavita")
    assert (kavita.state, kavita.reason, kavita.last_attempt) == (
        "not_configured",
        "no API key; set `media-server:searchKavitaApiKey`",
        None,
    )
    assert indexer.enabled() == ["jellyfin", "navidrome"]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_incremental_runs_ask_since_the_last_success_and_full_runs_replace() -> None:
    state = {"titles": ["One", "Two"]}
    classes = connector_classes(
        jellyfin=lambda since: iter([doc("jellyfin", t, Kind.MOVIE, t) for t in state["titles"]])
    )
    engine = MemoryEngine()
    clock = Clock(1_000_000.0)
    indexer = Indexer(service_config(), engine, classes, clock=clock)
    indexer.run_once("jellyfin", full=True)
    clock.now += 900
    state["titles"] = ["Three"]
    indexer.run_once("jellyfin", full=False)
    assert engine.counts() == {"jellyfin": 3}
    clock.now += 900
    indexer.run_once("jellyfin", full=True)
    assert engine.counts() == {"jellyfin": 1}
    seen = classes["jellyfin"].seen
    assert seen == [("jellyfin", None), ("jellyfin", 1_000_000.0 - OVERLAP_SECONDS), ("jellyfin", None)]
    assert engine.calls == [("replace_source", "jellyfin"), ("upsert", "jellyfin"), ("replace_source", "jellyfin")]


def test_the_schedule_runs_full_then_incremental_then_full_again() -> None:
    classes = connector_classes(jellyfin=_films("jellyfin", "A"))
    engine = MemoryEngine()
    clock = Clock(1_000_000.0)
    config = service_config(incremental_seconds=900, full_seconds=3600)
    indexer = Indexer(config, engine, classes, clock=clock)
    indexer.max_sleep = 0.02
    indexer.start()
    seen = classes["jellyfin"].seen
    try:
        # A run is seen when its fetch starts and written when the engine call ends: wait for both.
        _until(lambda: len(seen) == 1 and len(engine.calls) == 1, "the first run")
        time.sleep(0.2)  # the clock has not moved: nothing else is due
        assert engine.calls == [("replace_source", "jellyfin")]
        assert len(seen) == 1
        clock.now += 900
        _until(lambda: len(seen) == 2 and len(engine.calls) == 2, "an incremental run")
        assert seen[1] == ("jellyfin", 1_000_000.0 - OVERLAP_SECONDS)
        clock.now += 900 * 3
        _until(lambda: len(seen) == 3 and len(engine.calls) == 3, "the full run")
        assert seen[2] == ("jellyfin", None)
        assert [c[0] for c in engine.calls] == ["replace_source", "upsert", "replace_source"]
    finally:
        indexer.stop()


def test_a_requested_full_rebuild_runs_every_enabled_source_at_once() -> None:
    classes = connector_classes(jellyfin=_films("jellyfin", "A"), navidrome=_films("navidrome", "B"))
    engine = MemoryEngine()
    indexer = Indexer(service_config(), engine, classes)
    indexer.start()
    try:
        _until(lambda: len(engine.calls) == 2, "the first full runs")
        indexer.request_full()
        _until(lambda: len(engine.calls) == 4, "the requested full runs")
        assert sorted(engine.calls) == sorted([("replace_source", "jellyfin"), ("replace_source", "navidrome")] * 2)
        assert all(since is None for _, since in classes["jellyfin"].seen)
    finally:
        indexer.stop()


def test_an_unreadable_index_still_lets_the_indexer_start() -> None:
    engine = MemoryEngine()

    def broken() -> dict[str, int]:
        raise OSError("unable to open database file")

    engine.counts = broken  # type: ignore[method-assign]
    indexer = Indexer(service_config(), engine, connector_classes(jellyfin=_films("jellyfin", "A")))
    indexer.run_once("jellyfin", full=True)
    assert _status(indexer, "jellyfin").reason == "OSError: unable to open database file"


class StreamingProbe(MemoryEngine):
    """Reads documents one by one as the real engine does, noting how far ahead the connector got."""

    def __init__(self, produced: list[int], first_seen: threading.Event) -> None:
        super().__init__()
        self.produced = produced
        self.first_seen = first_seen
        self.most_ahead = 0

    def replace_source(self, source: str, documents: Iterable[Document]) -> int:
        kept = []
        for consumed, document in enumerate(documents, 1):
            if consumed == 1:
                self.first_seen.set()
                # a slow writer: the connector runs ahead as far as the queue lets it, and no further
                _until(lambda: self.produced[0] >= QUEUE_DOCUMENTS, "the connector filling the queue")
            self.most_ahead = max(self.most_ahead, self.produced[0] - consumed)
            kept.append(document)
        return super().replace_source(source, kept)


def test_documents_stream_to_the_engine_through_a_bounded_queue() -> None:
    produced = [0]
    first_seen = threading.Event()
    engine = StreamingProbe(produced, first_seen)

    def many(since: float | None) -> Iterator[Document]:
        for n in range(QUEUE_DOCUMENTS * 3):
            if n == 1:
                # the engine has the first document before the connector has finished: nothing is collected
                assert first_seen.wait(WAIT), "the engine saw nothing until the connector finished"
            produced[0] += 1
            yield doc("jellyfin", f"i{n}", Kind.MOVIE, f"Film {n}")

    indexer = Indexer(service_config(), engine, connector_classes(jellyfin=many))
    indexer.run_once("jellyfin", full=True)
    assert (_state(indexer, "jellyfin"), engine.counts()) == ("connected", {"jellyfin": QUEUE_DOCUMENTS * 3})
    assert QUEUE_DOCUMENTS - 1 <= engine.most_ahead <= QUEUE_DOCUMENTS + 2


def test_a_full_run_given_up_half_way_leaves_the_real_index_as_it_was(tmp_path: Path) -> None:
    release = threading.Event()
    titles = {"run": ["Alpha film", "Beta film"]}

    def source(since: float | None) -> Iterator[Document]:
        for n, title in enumerate(titles["run"]):
            yield doc("jellyfin", f"d{n}", Kind.MOVIE, title)
        if titles["run"][0] == "Gamma film":
            release.wait(WAIT)  # hangs after its first document

    engine = open_engine(EngineConfig(kind="sqlite", path=str(tmp_path / "search.db")))
    try:
        indexer = Indexer(service_config(source_timeout_seconds=1), engine, connector_classes(jellyfin=source))
        indexer.run_once("jellyfin", full=True)
        titles["run"] = ["Gamma film"]
        indexer.run_once("jellyfin", full=True)
        assert _status(indexer, "jellyfin").reason == "no answer for 1 s (source_timeout_seconds)"
        assert sorted(h.document.title for h in engine.search("film")) == ["Alpha film", "Beta film"]
        assert engine.counts() == {"jellyfin": 2}
    finally:
        release.set()
        engine.close()


def test_a_source_turned_off_leaves_the_index_at_start() -> None:
    engine = MemoryEngine()
    engine.replace_source("kavita", [doc("kavita", "c1", Kind.COMIC, "Saga")])  # indexed while it was on
    engine.replace_source("jellyfin", [doc("jellyfin", "m1", Kind.MOVIE, "Kept")])
    engine.calls.clear()
    indexer = Indexer(service_config(), engine, connector_classes(jellyfin=_films("jellyfin", "Kept")))
    indexer.start()
    try:
        _until(lambda: _state(indexer, "jellyfin") == "connected", "jellyfin indexed")
    finally:
        indexer.stop()
    assert engine.counts() == {"jellyfin": 1}
    assert ("replace_source", "kavita") in engine.calls
    assert engine.search("saga") == []
    assert _status(indexer, "kavita").documents == 0

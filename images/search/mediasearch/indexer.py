"""Runs every enabled source's connector into the engine, each source in its own worker thread.

A source's run streams: a fetch thread reads the connector into a small bounded queue and the source's
worker passes them on to the engine as they come, so memory stays flat however large the library. When the
connector yields no document for `source_timeout_seconds` (the same figure each connector gets as its
per-request timeout), the run is given up: the stream raises inside the engine's `replace_source`, which
keeps the set it had (the engine's atomicity), the source is marked in error and its worker goes on with its
schedule. (An incremental run given up half-way has upserted what it had read; the next one asks again
from the same point.) Other sources never wait for one another, and the web page never waits for any.

Schedule per source: a full run at start, an incremental run (`fetch(since=start of the last successful
run)`, upserted) `incremental_seconds` after each run, a full rebuild (`replace_source`, which drops what
the app deleted) `full_seconds` after the last successful one and whenever `request_full()` is called
(SIGHUP: `docker kill --signal HUP search`). A disabled source is never run: its status carries the
configuration's reason, and what it had in the index is dropped at start.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from mediasearch.config import ServiceConfig, SourceConfig
from mediasearch.connectors import Connector, ConnectorError
from mediasearch.connectors.registry import CONNECTORS
from mediasearch.engine import Engine
from mediasearch.model import SOURCES, Document, SourceStatus

log = logging.getLogger("mediasearch.indexer")

OVERLAP_SECONDS = 60.0
"""An incremental run asks for changes since the last successful run's start, less this margin, so an item
changed while that run was reading (or on an app whose clock is a little behind) is not missed."""

MAX_SLEEP = 30.0
"""A worker re-reads its schedule at least this often (seconds), so a jump of the wall clock is noticed."""

MAX_REASON = 300
"""Longest error text kept for the page; a connector's message is cut there."""


QUEUE_DOCUMENTS = 1000
"""Documents read ahead of the engine, per running source."""


@dataclass(frozen=True)
class _Failed:
    reason: str


_END = object()


@dataclass
class _Source:
    config: SourceConfig
    status: SourceStatus
    connector: Connector | None = None
    last_full: float | None = None
    """End of the last successful full run (clock seconds)."""
    since: float | None = None
    """Start of the last successful run: the next incremental run asks for changes after it."""
    next_run: float = 0.0
    full_requested: bool = False
    stuck: threading.Thread | None = None
    """A fetch thread that was given up and has not returned yet: no new run starts beside it."""


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def _describe(error: BaseException) -> str:
    if isinstance(error, ConnectorError):
        return _cut(str(error))
    return _cut(f"{type(error).__name__}: {error}")


class Indexer:
    """Owns the sources' connectors and statuses; `start()` begins the schedule, `stop()` ends it."""

    def __init__(
        self,
        config: ServiceConfig,
        engine: Engine,
        connectors: Mapping[str, type] = CONNECTORS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.engine = engine
        self._classes = connectors
        self._clock = clock
        self.max_sleep = MAX_SLEEP
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stopping = False
        self._workers: list[threading.Thread] = []
        self._sources: dict[str, _Source] = {}
        try:
            counts = engine.counts()
        except Exception as error:  # a broken index must not stop the page from saying so
            log.error("index: cannot count documents: %s", _describe(error))
            counts = {}
        self._counts_at_start = counts
        for app in SOURCES:
            source = config.source(app)
            if source is None:
                status = SourceStatus(app=app, state="disabled", reason="not in the search service's configuration")
                source = SourceConfig(app=app, enabled=False, url=None, public_url="", reason=status.reason)
            elif not source.enabled:
                status = SourceStatus(app=app, state="not_configured", reason=source.reason or "turned off")
            else:
                status = SourceStatus(app=app, state="indexing", documents=counts.get(app, 0))
            self._sources[app] = _Source(config=source, status=status)

    # ---- what the server reads
    def statuses(self) -> list[SourceStatus]:
        """Copies of every source's status, in SOURCES order."""
        with self._lock:
            return [dataclasses.replace(s.status, extra=dict(s.status.extra)) for s in self._sources.values()]

    def enabled(self) -> list[str]:
        return [app for app, s in self._sources.items() if s.config.enabled]

    def connector(self, app: str) -> Connector | None:
        """The source's connector (for covers), or None when the source is disabled or cannot be set up."""
        source = self._sources.get(app)
        if source is None or not source.config.enabled:
            return None
        with self._lock:
            if source.connector is not None:
                return source.connector
        try:
            return self._connect(source)
        except Exception as error:
            log.warning("%s: no connector: %s", app, _describe(error))
            return None

    # ---- schedule
    def start(self) -> None:
        self._drop_disabled()
        for app, source in self._sources.items():
            if not source.config.enabled:
                continue
            worker = threading.Thread(target=self._work, args=(source,), name=f"index-{app}", daemon=True)
            self._workers.append(worker)
            worker.start()

    def _drop_disabled(self) -> None:
        """A source turned off since it was indexed leaves the index (its connector is not run for that)."""
        for app, count in self._counts_at_start.items():
            source = self._sources.get(app)
            if source is None or source.config.enabled or not count:
                continue
            try:
                self.engine.replace_source(app, [])
            except Exception as error:
                log.error("%s: cannot drop the documents of a source turned off: %s", app, _describe(error))
            else:
                log.info("%s: turned off; its %d documents left the index", app, count)

    def stop(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        for worker in self._workers:
            worker.join(timeout)

    def request_full(self) -> None:
        """A full rebuild of every enabled source, now (SIGHUP). Safe to call from a signal handler."""
        threading.Thread(target=self._request_full, name="request-full", daemon=True).start()

    def _request_full(self) -> None:
        with self._wake:
            for source in self._sources.values():
                if source.config.enabled:
                    source.full_requested = True
            self._wake.notify_all()
        log.info("full rebuild of every enabled source requested")

    def _due(self, source: _Source, now: float) -> bool:
        if source.full_requested or now >= source.next_run:
            return True
        return source.last_full is not None and now >= source.last_full + self.config.full_seconds

    def _wait_seconds(self, source: _Source, now: float) -> float:
        due = source.next_run
        if source.last_full is not None:
            due = min(due, source.last_full + self.config.full_seconds)
        return min(max(due - now, 0.5), self.max_sleep)

    def _work(self, source: _Source) -> None:
        while True:
            with self._wake:
                while not self._stopping and not self._due(source, self._clock()):
                    self._wake.wait(self._wait_seconds(source, self._clock()))
                if self._stopping:
                    return
                full = (
                    source.full_requested
                    or source.last_full is None
                    or self._clock() >= source.last_full + self.config.full_seconds
                )
            self.run_once(source.config.app, full=full)

    # ---- one run
    def _connect(self, source: _Source) -> Connector:
        classes = self._classes
        cls = classes.get(source.config.app)
        if cls is None:
            raise ConnectorError(f"no connector for {source.config.app} in this version of the service")
        connector: Connector = cls(source.config, float(self.config.source_timeout_seconds))
        with self._lock:
            source.connector = connector
        return connector

    def run_once(self, app: str, *, full: bool) -> None:
        """One run of one source, with the watchdog; records the outcome in its status."""
        source = self._sources[app]
        if not source.config.enabled:
            raise ValueError(f"{app} is disabled: {source.status.reason}")
        started = self._clock()
        with self._lock:
            if full:
                source.full_requested = False
            source.status.state = "indexing"
            source.status.last_attempt = started
            since = None if full or source.since is None else source.since - OVERLAP_SECONDS
        try:
            if source.stuck is not None and source.stuck.is_alive():
                raise ConnectorError(
                    f"its previous run has not returned for over {self.config.source_timeout_seconds} s"
                )
            source.stuck = None
            connector = source.connector or self._connect(source)
            documents = self._stream(source, connector, since)
            try:
                written = self.engine.replace_source(app, documents) if full else self.engine.upsert(documents)
            finally:
                documents.close()  # an engine that stopped reading early ends the fetch thread too
            counts = self.engine.counts()
        except Exception as error:
            reason = _describe(error)
            log.warning("%s: %s index run failed: %s", app, "full" if full else "incremental", reason)
            with self._lock:
                source.status.state = "error"
                source.status.reason = reason
                source.status.errors += 1
                source.next_run = self._clock() + self.config.incremental_seconds
            return
        finished = self._clock()
        log.info("%s: %s index run: %d documents written", app, "full" if full else "incremental", written)
        with self._lock:
            source.status.state = "connected"
            source.status.reason = ""
            source.status.documents = counts.get(app, 0)
            source.status.last_success = finished
            source.since = started
            if full:
                source.last_full = finished
            source.next_run = finished + self.config.incremental_seconds

    def _stream(self, source: _Source, connector: Connector, since: float | None) -> Generator[Document, None, None]:
        """The connector's documents as they come, from its fetch thread; raises ConnectorError when the
        source fails or stays silent for source_timeout_seconds."""
        app = source.config.app
        handoff: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DOCUMENTS)
        over = threading.Event()
        thread = threading.Thread(target=_produce, args=(connector, since, app, handoff, over), name=f"fetch-{app}")
        thread.daemon = True
        thread.start()
        timeout = self.config.source_timeout_seconds
        try:
            while True:
                try:
                    item = handoff.get(timeout=timeout)
                except queue.Empty:
                    source.stuck = thread
                    raise ConnectorError(f"no answer for {timeout} s (source_timeout_seconds)") from None
                if item is _END:
                    return
                if isinstance(item, _Failed):
                    raise ConnectorError(item.reason)
                yield cast(Document, item)
        finally:
            over.set()  # the fetch thread stops at its next document


def _produce(
    connector: Connector, since: float | None, app: str, handoff: queue.Queue[object], over: threading.Event
) -> None:
    """The fetch thread: the connector's documents into the queue, then _END (or why it failed)."""

    def put(item: object) -> bool:
        while not over.is_set():
            try:
                handoff.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    try:
        documents: Iterator[Any] = iter(connector.fetch(since))
        for document in documents:
            if not isinstance(document, Document):
                raise ConnectorError(f"the connector yielded a {type(document).__name__}, not a Document")
            if document.source != app:
                raise ConnectorError(f"the connector yielded a document of source {document.source!r}")
            if not put(document):
                return
        put(_END)
    except Exception as error:
        put(_Failed(_describe(error)))

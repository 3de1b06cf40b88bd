"""/metrics: the exposition the service writes itself, read back by prometheus_client's parser and checked
by the real `promtool check metrics` (Debian's prometheus package)."""

from __future__ import annotations

import shutil
import subprocess
import urllib.parse
from collections.abc import Iterator

import pytest
from mediasearch.connectors import ConnectorError
from mediasearch.metrics import QUERY_BUCKETS, Histogram, Metrics, _label_value
from mediasearch.model import Document, Kind, SourceStatus
from prometheus_client.parser import text_string_to_metric_families

from tests.search.service_fakes import MemoryEngine, connector_classes, doc, service_config
from tests.search.service_support import Running, running_service


def _broken(since: float | None) -> Iterator[Document]:
    raise ConnectorError("Navidrome answered 40: wrong username or password")


@pytest.fixture(scope="module")
def svc() -> Iterator[Running]:
    classes = connector_classes(
        jellyfin=lambda since: iter([doc("jellyfin", f"m{n}", Kind.MOVIE, f"Film {n}") for n in range(3)]),
        navidrome=_broken,
    )
    with running_service(service_config(), MemoryEngine(), classes) as running:
        running.indexer.run_once("jellyfin", full=True)
        running.indexer.run_once("navidrome", full=True)
        running.indexer.run_once("navidrome", full=False)
        for query in ("film", "film 1", "nothing"):
            assert running.get("/api/search?" + urllib.parse.urlencode({"q": query})).status == 200
        assert running.get("/api/suggest?q=fil").status == 200
        assert running.get("/api/search?q=x&limit=0").status == 400  # refused before the engine: not timed
        yield running


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_per_source_and_query_latency(svc: Running) -> None:
    response = svc.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = _samples(response.text)

    def value(name: str, source: str) -> float:
        return samples[(name, (("source", source),))]

    assert value("mediasearch_documents", "jellyfin") == 3
    assert value("mediasearch_documents", "navidrome") == 0
    assert value("mediasearch_source_up", "jellyfin") == 1
    assert value("mediasearch_source_up", "navidrome") == 0
    assert value("mediasearch_source_enabled", "kavita") == 0
    assert value("mediasearch_index_errors_total", "navidrome") == 2
    assert value("mediasearch_index_errors_total", "jellyfin") == 0
    status = next(s for s in svc.indexer.statuses() if s.app == "jellyfin")
    assert value("mediasearch_last_success_timestamp_seconds", "jellyfin") == pytest.approx(status.last_success)
    assert value("mediasearch_last_success_timestamp_seconds", "navidrome") == svc.service.metrics.started
    assert ("mediasearch_last_success_timestamp_seconds", (("source", "kavita"),)) not in samples
    assert samples[("mediasearch_query_duration_seconds_count", ())] == 4
    assert samples[("mediasearch_query_duration_seconds_bucket", (("le", "+Inf"),))] == 4
    assert samples[("mediasearch_query_duration_seconds_sum", ())] > 0


@pytest.mark.realtool
def test_promtool_accepts_the_exposition(svc: Running) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: run `make setup-system` (Debian package prometheus)"
    text = svc.get("/metrics").text
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == "", result.stdout + result.stderr


def test_histogram_buckets_are_cumulative() -> None:
    histogram = Histogram("h_seconds", "help", buckets=(0.01, 0.1, 1.0))
    for seconds in (0.005, 0.01, 0.05, 0.5, 5.0):
        histogram.observe(seconds)
    text = "\n".join(histogram.lines()) + "\n"
    samples = _samples(text)
    assert [samples[("h_seconds_bucket", (("le", le),))] for le in ("0.01", "0.1", "1.0", "+Inf")] == [2, 3, 4, 5]
    assert samples[("h_seconds_count", ())] == 5
    assert samples[("h_seconds_sum", ())] == pytest.approx(5.565)
    assert list(QUERY_BUCKETS) == sorted(QUERY_BUCKETS)


def test_label_values_are_escaped() -> None:
    assert _label_value('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    text = Metrics().render([SourceStatus(app='odd"app\n', state="connected", documents=2)], enabled=['odd"app\n'])
    assert _samples(text)[("mediasearch_documents", (("source", 'odd"app\n'),))] == 2

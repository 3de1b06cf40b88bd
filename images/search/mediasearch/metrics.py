"""/metrics: the Prometheus text exposition format (version 0.0.4), written here.

Why not prometheus_client: Alpine 3.22 packages it as py3-prometheus-client 0.20.0-r2 (aports
community/py3-prometheus-client/APKBUILD at commit 958864133e8b, the v3.22 build), whose `depends` is
"python3 py3-twisted": Twisted and its dependency tree would enter a read-only image for an exporter we
never use, and the tests' prometheus-client (requirements-dev.txt) is 0.26.0, not the image's. Five metric
families are little to write; tests parse the output with prometheus_client's parser and with the real
`promtool check metrics`.

Families (the scrape job, the alert and the dashboard panel read these names):
    mediasearch_source_enabled{source}                 1 when the source is enabled in the configuration
    mediasearch_source_up{source}                      1 when the source's last run succeeded
    mediasearch_documents{source}                      documents in the index
    mediasearch_last_success_timestamp_seconds{source} end of the last successful run (enabled sources
                                                       only); until the first one, the service's start, so
                                                       an alert on `time() - ... > limit` fires for a source
                                                       that has not indexed within `limit` of a restart and
                                                       not at every restart
    mediasearch_index_errors_total{source}             failed runs since the service started
    mediasearch_query_duration_seconds                 histogram of /api/search and /api/suggest latency
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Sequence

from mediasearch.model import SourceStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

QUERY_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Seconds. The embedded engine's target is p95 under 30 ms (issue 12), so the buckets are dense below it."""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _label_value(value: str) -> str:
    """Escaped as the exposition format asks: backslash, double quote and line feed."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Histogram:
    """A cumulative histogram with fixed buckets, safe to observe from the server's handler threads."""

    def __init__(self, name: str, help_text: str, buckets: Sequence[float] = QUERY_BUCKETS) -> None:
        if list(buckets) != sorted(set(buckets)) or not buckets:
            raise ValueError("buckets must be increasing and unique")
        self.name = name
        self.help_text = help_text
        self.buckets = tuple(buckets)
        self._counts = [0] * len(self.buckets)
        self._sum = 0.0
        self._count = 0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        with self._lock:
            self._sum += seconds
            self._count += 1
            for position, bound in enumerate(self.buckets):
                if seconds <= bound:
                    self._counts[position] += 1
                    break

    def lines(self) -> list[str]:
        with self._lock:
            counts, total, count = list(self._counts), self._sum, self._count
        out = [f"# HELP {self.name} {self.help_text}", f"# TYPE {self.name} histogram"]
        running = 0
        for bound, in_bucket in zip(self.buckets, counts, strict=True):
            running += in_bucket
            # the bound as prometheus_client writes it (Go's float form: 1.0, 0.005), so `le` values match
            # other exporters' and stay the same series across versions
            out.append(f'{self.name}_bucket{{le="{float(bound)!r}"}} {running}')
        out.append(f'{self.name}_bucket{{le="+Inf"}} {count}')
        out.append(f"{self.name}_sum {_number(total)}")
        out.append(f"{self.name}_count {count}")
        return out


def _family(name: str, kind: str, help_text: str, samples: Iterable[tuple[str, float]]) -> list[str]:
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    out.extend(f'{name}{{source="{_label_value(source)}"}} {_number(value)}' for source, value in samples)
    return out


class Metrics:
    """What /metrics says: the sources' state (from the indexer) and the query latency (from the server)."""

    def __init__(self, started: float | None = None) -> None:
        self.started = time.time() if started is None else started
        self.query_duration = Histogram(
            "mediasearch_query_duration_seconds", "Time to answer a search or suggestion query, in seconds."
        )

    def render(self, statuses: Sequence[SourceStatus], enabled: Iterable[str]) -> str:
        on = set(enabled)
        lines: list[str] = []
        lines += _family(
            "mediasearch_source_enabled",
            "gauge",
            "1 when the source is enabled in the service's configuration.",
            ((s.app, 1 if s.app in on else 0) for s in statuses),
        )
        lines += _family(
            "mediasearch_source_up",
            "gauge",
            "1 when the source's last index run succeeded.",
            ((s.app, 1 if s.state == "connected" else 0) for s in statuses),
        )
        lines += _family(
            "mediasearch_documents",
            "gauge",
            "Documents in the index, per source.",
            ((s.app, s.documents) for s in statuses),
        )
        lines += _family(
            "mediasearch_last_success_timestamp_seconds",
            "gauge",
            "End of the source's last successful index run in Unix seconds (the service's start until the first).",
            ((s.app, s.last_success or self.started) for s in statuses if s.app in on),
        )
        lines += _family(
            "mediasearch_index_errors_total",
            "counter",
            "Index runs of the source that failed since the service started.",
            ((s.app, s.errors) for s in statuses),
        )
        lines += self.query_duration.lines()
        return "\n".join(lines) + "\n"

"""`make bench-search-service`: the search service as it runs, over HTTP, on a 200,000-item index.

`make bench-search` measures the engine in a process of its own. This measures what a user and the
container limit see: the real `python3 -m mediasearch serve` process (server threads, indexer, engine)
answering `/api/search` on loopback for the same fixed query set over one keep-alive connection, as the
page asks it (limit 50). The index is built first by the same deterministic synthetic library
(bench.search_bench.library) with the SQLite engine, in this process; the service is then started on it
with no source enabled, so nothing re-indexes while it is measured. Printed: p50/p95 of the answer time
(request sent to JSON read), the service's peak RSS (VmHWM of its process), and whether the targets are
met; it exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from itertools import groupby
from pathlib import Path

from bench.search_bench import ITEMS, TARGET_P95_MS, TARGET_RSS_MIB, library, queries

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "images" / "search"))

from mediasearch.engine.sqlite import SqliteEngine  # noqa: E402
from mediasearch.server import MAX_QUERY  # noqa: E402

PAGE_LIMIT = "50"
"""What the page asks for (static/search.js RESULT_LIMIT)."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _build(items: int, path: Path) -> None:
    engine = SqliteEngine(path)
    for source, documents in groupby(library(items), key=lambda document: document.source):
        engine.replace_source(source, documents)
    engine.close()


def _config(path: Path, index: Path, port: int) -> None:
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "listen_port": port,
                "public_url": "https://search.example.org",
                "engine": {"kind": "sqlite", "path": str(index)},
                "incremental_seconds": 7 * 86400,
                "full_seconds": 30 * 86400,
                "source_timeout_seconds": 60,
                "sources": [],
            }
        ),
        encoding="utf-8",
    )


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of the process so far (/proc/<pid>/stat fields 14 and 15, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench-search-service: the service exited {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("bench-search-service: the service did not answer /healthz within 60 s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=ITEMS)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--limit", default=PAGE_LIMIT, help=f"results per query (default {PAGE_LIMIT}, as the page)")
    args = parser.parse_args(argv)
    chosen = [(q, f) for q, f in queries() if len(q) <= MAX_QUERY]
    with tempfile.TemporaryDirectory(prefix="bench-search-service-") as tmp:
        index, config, port = Path(tmp) / "search.db", Path(tmp) / "search.json", _free_port()
        started = time.perf_counter()
        _build(args.items, index)
        print(f"index of {args.items:,} items built in {time.perf_counter() - started:.1f} s (not a figure here)")
        _config(config, index, port)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "images" / "search"), "PYTHONDONTWRITEBYTECODE": "1"}
        command = [sys.executable, "-m", "mediasearch", "serve", "--config", str(config), "--host", "127.0.0.1"]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_healthy(port, process)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            timings: list[float] = []
            cpu_before = 0.0
            for attempt in range(args.passes + 1):
                for query, filters in chosen:
                    path = "/api/search?" + urllib.parse.urlencode({"q": query, "limit": args.limit, **filters})
                    start = time.perf_counter()
                    connection.request("GET", path)
                    response = connection.getresponse()
                    body = response.read()
                    elapsed = (time.perf_counter() - start) * 1000
                    if response.status != 200:
                        raise SystemExit(f"bench-search-service: {query!r} answered {response.status}: {body[:200]!r}")
                    json.loads(body)
                    if attempt:  # the first pass warms the page cache
                        timings.append(elapsed)
                if not attempt:
                    cpu_before = _cpu_seconds(process.pid)
            cpu_ms = (_cpu_seconds(process.pid) - cpu_before) * 1000 / len(timings)
            connection.close()
            peak_mib = _status_kib(process.pid, "VmHWM") / 1024
            now_mib = _status_kib(process.pid, "VmRSS") / 1024
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    p50, p95 = _percentile(timings, 0.50), _percentile(timings, 0.95)
    ok_latency, ok_rss = p95 < TARGET_P95_MS, peak_mib < TARGET_RSS_MIB
    print(f"service over HTTP, {len(timings)} queries ({len(chosen)} x {args.passes} passes, limit {args.limit}):")
    verdict = "met" if ok_latency else "MISSED"
    print(f"  p50 {p50:.1f} ms, p95 {p95:.1f} ms (target p95 < {TARGET_P95_MS:.0f} ms: {verdict})")
    print(f"  service CPU {cpu_ms:.1f} ms a query on average (what the load of other processes does not add)")
    print(
        f"  service RSS peak {peak_mib:.0f} MiB, now {now_mib:.0f} MiB "
        f"(target < {TARGET_RSS_MIB:.0f} MiB: {'met' if ok_rss else 'MISSED'})"
    )
    return 0 if ok_latency and ok_rss else 1


if __name__ == "__main__":
    sys.exit(main())

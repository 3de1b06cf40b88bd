"""`make bench-search`: the embedded search engine at 200,000 items against a plain `LIKE '%q%'` scan.

A synthetic library (generated from a seed, the same on every run) across every kind and source is indexed
by the SQLite engine the service uses, and, separately, loaded into a plain table. Each side runs in its
own child process, so each reports its own build time and peak RSS (the process that holds the index and
answers, as the service does); both answer the same fixed query set (words, prefixes, typos, multi-word,
kind and app filters, and the issue's quality cases), twice, and the bench prints p50/p95 latency of
each, their ratio, and whether the targets are met. It exits 1 when a target is missed or a quality
case does not find its item.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate, groupby
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "images" / "search"))

from mediasearch.engine.sqlite import SqliteEngine  # noqa: E402
from mediasearch.engine.text import fold  # noqa: E402
from mediasearch.model import Document, Kind  # noqa: E402

ITEMS = 200_000
SEED = 12
TARGET_P95_MS = 30.0
TARGET_BUILD_S = 60.0
TARGET_RSS_MIB = 150.0

# Where each kind lives and how much of a library it is (a music-heavy home library).
KINDS: tuple[tuple[Kind, str, float], ...] = (
    (Kind.TRACK, "navidrome", 0.40),
    (Kind.ALBUM, "navidrome", 0.05),
    (Kind.ARTIST, "navidrome", 0.02),
    (Kind.EPISODE, "jellyfin", 0.18),
    (Kind.SERIES, "jellyfin", 0.01),
    (Kind.MOVIE, "jellyfin", 0.05),
    (Kind.AUDIOBOOK, "audiobookshelf", 0.04),
    (Kind.PODCAST, "audiobookshelf", 0.02),
    (Kind.BOOK, "calibre-web", 0.08),
    (Kind.COMIC, "kavita", 0.06),
    (Kind.PHOTO_ALBUM, "immich", 0.05),
    (Kind.PERSON, "immich", 0.02),
    (Kind.PLACE, "immich", 0.02),
)

COMMON = [
    *("the", "of", "and", "a", "in", "to", "love", "night", "day", "world", "man", "last", "first", "blue"),
    *("black", "red", "live", "time", "dark", "life", "home", "city", "king", "story", "war", "girl", "boy"),
    *("star", "light", "road", "house", "secret", "dream", "heart", "fire", "water", "summer", "winter", "new"),
]
ACCENTED = ["Björk", "Dvořák", "Žižek", "Gárdonyi", "Françoise", "Sigur Rós", "Mötley", "Østergaard"]
SYLLABLES = [
    *("ka", "ri", "to", "mo", "na", "el", "an", "or", "us", "vi", "da", "le", "sa", "ti", "ro", "be", "lu"),
    *("ne", "ma", "go", "ha", "fi", "ze", "po", "qu", "ar", "en", "is", "on", "ul"),
]

# The quality cases: the query and the title that must be the first hit.
QUALITY: tuple[tuple[str, str], ...] = (
    ("harr", "Harry Potter and the Philosopher's Stone"),
    ("hary potter", "Harry Potter and the Philosopher's Stone"),
    ("Amelie", "Le Fabuleux Destin d'Amélie Poulain"),
    ("tolkien hobbit", "The Hobbit"),
)
PLANTED = (
    Document(
        "calibre-web", "planted-1", Kind.BOOK, "Harry Potter and the Philosopher's Stone", "/b/1", ("J. K. Rowling",)
    ),
    Document(
        "jellyfin", "planted-2", Kind.MOVIE, "Le Fabuleux Destin d'Amélie Poulain", "/m/2", ("Jean-Pierre Jeunet",)
    ),
    Document("calibre-web", "planted-3", Kind.BOOK, "The Hobbit", "/b/3", ("J. R. R. Tolkien",)),
)


def _words(rng: random.Random, count: int) -> list[str]:
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3, 3, 4)))))
    return sorted(words)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    words: list[str]
    cumulative: list[float]
    names: list[str]


def vocabulary(seed: int = SEED) -> Vocabulary:
    rng = random.Random(seed)
    words = COMMON + _words(rng, 20_000)
    cumulative = list(accumulate(1.0 / (rank + 1) ** 0.9 for rank in range(len(words))))  # Zipf-like
    firsts, lasts = _words(rng, 3_000), _words(rng, 12_000)
    names = [f"{rng.choice(firsts).title()} {rng.choice(lasts).title()}" for _ in range(20_000)] + ACCENTED
    return Vocabulary(words, cumulative, names)


def library(items: int, seed: int = SEED) -> Iterator[Document]:
    """`items` documents (the planted quality-case items among them), in source order, deterministic."""
    vocab = vocabulary(seed)
    rng = random.Random(seed + 1)
    planted = {document.source: [d for d in PLANTED if d.source == document.source] for document in PLANTED}
    remaining = max(0, items - len(PLANTED))
    counts = [round(remaining * share) for _, _, share in KINDS]
    counts[-1] += remaining - sum(counts)  # exactly `items` in all, whatever the rounding
    for (kind, source, _), count in zip(KINDS, counts, strict=True):
        yield from planted.pop(source, [])
        for n in range(max(0, count)):
            length = rng.choice((1, 2, 2, 3, 3, 4, 5, 6))
            title = " ".join(rng.choices(vocab.words, cum_weights=vocab.cumulative, k=length)).capitalize()
            if rng.random() < 0.02:
                title += " " + rng.choice(ACCENTED)
            creators = tuple(rng.sample(vocab.names, rng.choice((0, 1, 1, 1, 2))))
            description = ""
            if kind in (Kind.MOVIE, Kind.EPISODE, Kind.BOOK, Kind.AUDIOBOOK, Kind.PODCAST):
                description = " ".join(rng.choices(vocab.words, cum_weights=vocab.cumulative, k=rng.randint(8, 24)))
            yield Document(
                source=source,
                id=f"{kind.value}-{n}",
                kind=kind,
                title=title,
                link=f"https://{source}.example.org/item/{kind.value}-{n}",
                creators=creators,
                year=rng.randint(1950, 2026),
                cover=f"/cover/{source}/{kind.value}-{n}",
                description=description,
            )


def queries(seed: int = SEED) -> list[tuple[str, dict[str, str]]]:
    """The fixed query set: (query, filters)."""
    vocab = vocabulary(seed)
    rng = random.Random(seed + 2)
    picked = rng.sample(vocab.words[len(COMMON) : 2000], 60)
    chosen: list[tuple[str, dict[str, str]]] = [(q, {}) for q, _ in QUALITY]
    chosen += [("Amélie", {}), ("tolkein", {}), ("the", {}), ("lo", {}), ("a", {}), ("night love", {})]
    chosen += [(word, {}) for word in picked[:20]]  # whole words
    chosen += [(word[:3], {}) for word in picked[20:30]]  # as-you-type prefixes
    chosen += [(word[:1] + word[2:], {}) for word in picked[30:40]]  # one letter left out
    chosen += [(f"{a} {b[:2]}", {}) for a, b in zip(picked[40:45], picked[45:50], strict=True)]
    chosen += [(name.split()[1].lower(), {}) for name in rng.sample(vocab.names[:20_000], 5)]  # creators
    chosen += [(word, {"kind": "track"}) for word in picked[50:55]]
    chosen += [(word, {"app": "jellyfin"}) for word in picked[55:60]]
    chosen += [('"NEAR(the -x:*', {}), ("x" * 300, {})]
    return chosen


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _latencies(run: Any, chosen: list[tuple[str, dict[str, str]]], passes: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per query (the CPU figure shows what other load on the machine adds)."""
    run(*chosen[0])  # warm-up
    wall, cpu = [], []
    for _ in range(passes):
        for query, filters in chosen:
            start, start_cpu = time.perf_counter(), time.process_time()
            run(query, filters)
            wall.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def run_engine(items: int, db: Path, passes: int) -> dict[str, Any]:
    engine = SqliteEngine(db)
    start, start_cpu = time.perf_counter(), time.process_time()
    # Sources arrive one after the other (as the indexer rebuilds them), each in one replace_source.
    for source, documents in groupby(library(items), key=lambda document: document.source):
        if source in engine.counts():
            raise AssertionError(f"library() yielded {source}'s documents in two runs")
        engine.replace_source(source, documents)
    build, build_cpu = time.perf_counter() - start, time.process_time() - start_cpu

    def search(query: str, filters: dict[str, str]) -> None:
        engine.search(query, kind=Kind(filters["kind"]) if "kind" in filters else None, app=filters.get("app"))

    timings, cpu = _latencies(search, queries(), passes)
    quality = {}
    for query, expected in QUALITY:
        hits = engine.search(query, limit=5)
        quality[query] = [hit.document.title for hit in hits[:1]] == [expected]
    counts = engine.counts()
    engine.close()
    return {
        "build_s": build,
        "build_cpu_s": build_cpu,
        "timings": timings,
        "cpu": cpu,
        "rss_mib": _peak_rss_mib(),
        "quality": quality,
        "counts": counts,
    }


def run_like(items: int, db: Path, passes: int) -> dict[str, Any]:
    connection = sqlite3.connect(db, isolation_level=None)
    start, start_cpu = time.perf_counter(), time.process_time()
    connection.execute(
        "CREATE TABLE items (source TEXT, id TEXT, kind TEXT, title TEXT, creators TEXT, description TEXT)"
    )
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)",
        (
            (d.source, d.id, d.kind.value, fold(d.title), fold(" | ".join(d.creators)), fold(d.description))
            for d in library(items)
        ),
    )
    connection.execute("COMMIT")
    build, build_cpu = time.perf_counter() - start, time.process_time() - start_cpu

    def search(query: str, filters: dict[str, str]) -> None:
        pattern = "%" + fold(query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where = "(title LIKE ?1 ESCAPE '\\' OR creators LIKE ?1 ESCAPE '\\' OR description LIKE ?1 ESCAPE '\\')"
        parameters: list[str] = [pattern]
        for key, column in (("kind", "kind"), ("app", "source")):
            if key in filters:
                where += f" AND {column} = ?"
                parameters.append(filters[key])
        statement = f"SELECT source, id, title FROM items WHERE {where} LIMIT 20"  # noqa: S608 (fixed column names)
        connection.execute(statement, parameters).fetchall()

    timings, cpu = _latencies(search, queries(), passes)
    connection.close()
    return {"build_s": build, "build_cpu_s": build_cpu, "timings": timings, "cpu": cpu, "rss_mib": _peak_rss_mib()}


def _child(role: str, items: int, passes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        command = [sys.executable, "-m", "bench.search_bench", "--role", role, "--items", str(items)]
        command += ["--passes", str(passes), "--db", str(Path(tmp) / f"{role}.db")]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"bench-search: the {role} run failed:\n{done.stderr}")
        size = sum(path.stat().st_size for path in Path(tmp).iterdir())
        result: dict[str, Any] = json.loads(done.stdout)
        result["disk_mib"] = size / 2**20
        return result


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench-search")
    parser.add_argument("--items", type=int, default=ITEMS)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--role", choices=("engine", "like"), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role:
        run = run_engine if args.role == "engine" else run_like
        print(json.dumps(run(args.items, args.db, args.passes)))
        return 0

    engine, like = _child("engine", args.items, args.passes), _child("like", args.items, args.passes)
    rows = []
    for name, result in (("SQLite FTS5 engine", engine), ("LIKE '%q%' scan", like)):
        timings = result["timings"]
        result["p50"], result["p95"] = statistics.median(timings), _percentile(timings, 0.95)
        result["cpu_p95"] = _percentile(result["cpu"], 0.95)
        rows.append((name, result))
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"search bench: {args.items} items, {len(queries())} queries x {args.passes} passes, one process each")
    print(f"  machine            : {os.cpu_count()} CPUs, load average {load} (after the runs)")
    for name, result in rows:
        print(
            f"  {name:<19}: build {result['build_s']:6.2f} s (CPU {result['build_cpu_s']:5.1f} s), "
            f"p50 {result['p50']:7.2f} ms, p95 {result['p95']:7.2f} ms (CPU p95 {result['cpu_p95']:6.2f} ms), "
            f"peak RSS {result['rss_mib']:4.0f} MiB, on disk {result['disk_mib']:4.0f} MiB"
        )
    print(
        f"  LIKE / engine      : p50 {like['p50'] / engine['p50']:.1f}x, p95 {like['p95'] / engine['p95']:.1f}x "
        "(the scan finds substrings only: no typo, no diacritics on the query side, no ranking)"
    )
    print(f"  documents          : {json.dumps(engine['counts'], sort_keys=True)}")
    failed_quality = [query for query, ok in engine["quality"].items() if not ok]
    for query, ok in engine["quality"].items():
        print(f"  quality {query!r:<17}: {'first hit as expected' if ok else 'MISSED'}")
    missed = []
    if engine["p95"] >= TARGET_P95_MS:
        missed.append(f"p95 {engine['p95']:.1f} ms >= {TARGET_P95_MS:.0f} ms")
    if engine["build_s"] >= TARGET_BUILD_S:
        missed.append(f"build {engine['build_s']:.1f} s >= {TARGET_BUILD_S:.0f} s")
    if engine["rss_mib"] >= TARGET_RSS_MIB:
        missed.append(f"peak RSS {engine['rss_mib']:.0f} MiB >= {TARGET_RSS_MIB:.0f} MiB")
    missed += [f"quality case {query!r}" for query in failed_quality]
    targets = f"p95 < {TARGET_P95_MS:.0f} ms, build < {TARGET_BUILD_S:.0f} s, RSS < {TARGET_RSS_MIB:.0f} MiB"
    print(f"  targets            : {targets}: {'met' if not missed else 'MISSED: ' + '; '.join(missed)}")
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())

"""`make bench-search`'s code at a tiny size (no timing asserted here: the figures are the bench's job)."""

from __future__ import annotations

from collections import Counter
from itertools import groupby

import pytest
from mediasearch.model import Kind

from bench import search_bench


def test_the_library_is_deterministic_and_covers_every_kind() -> None:
    first, again = list(search_bench.library(3000)), list(search_bench.library(3000))
    assert first == again
    assert len(first) == 3000
    assert len(list(search_bench.library(200_001))) == 200_001
    assert set(Counter(d.kind for d in first)) == set(Kind)
    assert len({d.key for d in first}) == len(first)
    sources = [source for source, _ in groupby(first, key=lambda d: d.source)]
    assert len(sources) == len(set(sources)) == 6  # each source's documents together, as replace_source takes them
    assert all(planted in first for planted in search_bench.PLANTED)


def test_the_query_set_holds_the_quality_cases() -> None:
    chosen = [query for query, _ in search_bench.queries()]
    assert chosen == [query for query, _ in search_bench.queries()]
    assert {query for query, _ in search_bench.QUALITY} <= set(chosen)


def test_a_small_run_reports_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    code = search_bench.main(["--items", "400", "--passes", "1"])
    out = capsys.readouterr().out
    for label in ("SQLite FTS5 engine :", "LIKE '%q%' scan    :", "LIKE / engine      :", "targets            :"):
        assert label in out, out
    for query, _ in search_bench.QUALITY:
        assert f"quality {query!r:<17}: first hit as expected" in out
    assert code == (0 if "targets            : p95 < 30 ms, build < 60 s, RSS < 150 MiB: met" in out else 1)


def test_a_missed_target_fails_the_bench(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Only the RSS target can be missed: the others are out of reach of a loaded machine at 300 items.
    monkeypatch.setattr(search_bench, "TARGET_RSS_MIB", 1.0)
    monkeypatch.setattr(search_bench, "TARGET_P95_MS", 1e9)
    monkeypatch.setattr(search_bench, "TARGET_BUILD_S", 1e9)
    assert search_bench.main(["--items", "300", "--passes", "1"]) == 1
    assert "MISSED: peak RSS" in capsys.readouterr().out

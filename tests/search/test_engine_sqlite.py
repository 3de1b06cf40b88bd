"""The embedded engine on real SQLite (the test machine's, 3.40 on Debian 12): the issue's quality cases,
filters, hostile queries, atomic rebuilds with concurrent readers, and recovery from a crash mid-rebuild."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from mediasearch.config import EngineConfig
from mediasearch.engine import EngineError, open_engine
from mediasearch.engine import sqlite as engine_module
from mediasearch.engine.sqlite import MAX_LIMIT, SqliteEngine, check_sqlite
from mediasearch.model import Document, Kind

ROOT = Path(__file__).resolve().parents[2]


def doc(source: str, id_: str, kind: Kind, title: str, *creators: str, description: str = "") -> Document:
    return Document(
        source=source,
        id=id_,
        kind=kind,
        title=title,
        link=f"https://{source}.example.org/item/{id_}",
        creators=creators,
        year=2001,
        cover=f"/cover/{source}/{id_}",
        description=description,
    )


LIBRARY = {
    "calibre-web": [
        doc("calibre-web", "1", Kind.BOOK, "Harry Potter and the Philosopher's Stone", "J. K. Rowling"),
        doc("calibre-web", "2", Kind.BOOK, "The Hobbit", "J. R. R. Tolkien"),
        doc("calibre-web", "3", Kind.BOOK, "Tolkien: A Biography", "Humphrey Carpenter", description="hobbit"),
        doc("calibre-web", "4", Kind.BOOK, "When Harry Met Sally", "Nora Ephron"),
    ],
    "jellyfin": [
        doc("jellyfin", "m1", Kind.MOVIE, "Amélie", "Jean-Pierre Jeunet"),
        doc("jellyfin", "m2", Kind.MOVIE, "Harry Potter and the Chamber of Secrets", "Chris Columbus"),
        doc("jellyfin", "m3", Kind.MOVIE, "The Lord of the Rings", "Peter Jackson", description="a hobbit's quest"),
    ],
    "navidrome": [
        doc("navidrome", "a1", Kind.ALBUM, "Amelie (Original Soundtrack)", "Yann Tiersen"),
        doc("navidrome", "t1", Kind.TRACK, "Misty Mountains Cold", "The Hobbit Band"),
    ],
}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[SqliteEngine]:
    opened = open_engine(EngineConfig(kind="sqlite", path=str(tmp_path / "search.db")))
    assert isinstance(opened, SqliteEngine)
    for source, documents in LIBRARY.items():
        assert opened.replace_source(source, documents) == len(documents)
    yield opened
    opened.close()


def titles(engine: SqliteEngine, query: str, **filters: object) -> list[str]:
    return [hit.document.title for hit in engine.search(query, **filters)]  # type: ignore[arg-type]


# -- the quality cases ---------------------------------------------------------------------------


def test_prefix_finds_the_word(engine: SqliteEngine) -> None:
    found = titles(engine, "harr")
    assert found[:2] == ["Harry Potter and the Chamber of Secrets", "Harry Potter and the Philosopher's Stone"]
    assert "When Harry Met Sally" in found


def test_one_typo(engine: SqliteEngine) -> None:
    assert titles(engine, "hary potter")[:2] == [
        "Harry Potter and the Chamber of Secrets",
        "Harry Potter and the Philosopher's Stone",
    ]
    assert titles(engine, "tolkein")[0] == "Tolkien: A Biography"  # swapped letters
    assert titles(engine, "hobit")[0] == "The Hobbit"  # a letter left out
    assert "The Hobbit" in titles(engine, "hobbbit")  # one too many


def test_typos_rank_below_exact_words(engine: SqliteEngine) -> None:
    # "sally" is exact in one title; "sall" is a prefix of it; nothing is corrected while exact hits fill up.
    assert titles(engine, "sally") == ["When Harry Met Sally"]
    assert titles(engine, "potter") == [
        "Harry Potter and the Chamber of Secrets",
        "Harry Potter and the Philosopher's Stone",
    ]


def test_diacritics_fold_both_ways(engine: SqliteEngine) -> None:
    both = {"Amélie", "Amelie (Original Soundtrack)"}
    assert set(titles(engine, "Amelie")) == both
    assert set(titles(engine, "Amélie")) == both
    assert set(titles(engine, "AMÉLIE")) == both
    assert titles(engine, "Amélie")[0] == "Amélie"  # the whole title is the query


def test_words_across_title_and_creator(engine: SqliteEngine) -> None:
    assert titles(engine, "tolkien hobbit")[0] == "The Hobbit"
    assert titles(engine, "rowling harry") == ["Harry Potter and the Philosopher's Stone"]
    assert titles(engine, "tiersen amel") == ["Amelie (Original Soundtrack)"]


def test_title_matches_rank_first(engine: SqliteEngine) -> None:
    # In the title, then in creators ("The Hobbit Band"), then in a description.
    found = titles(engine, "hobbit")
    assert found[:2] == ["The Hobbit", "Misty Mountains Cold"]
    assert set(found[2:]) == {"Tolkien: A Biography", "The Lord of the Rings"}
    scores = [hit.score for hit in engine.search("hobbit")]
    assert scores == sorted(scores, reverse=True)


# -- filters, limit, hits --------------------------------------------------------------------------------


def test_kind_and_app_filters(engine: SqliteEngine) -> None:
    assert titles(engine, "harry", kind=Kind.MOVIE) == ["Harry Potter and the Chamber of Secrets"]
    assert set(titles(engine, "harry", app="calibre-web")) == {
        "Harry Potter and the Philosopher's Stone",
        "When Harry Met Sally",
    }
    assert titles(engine, "hobbit", app="navidrome", kind=Kind.TRACK) == ["Misty Mountains Cold"]
    assert titles(engine, "hobbit", app="immich") == []
    assert set(titles(engine, "hary", kind=Kind.BOOK)) == {
        "Harry Potter and the Philosopher's Stone",
        "When Harry Met Sally",
    }  # a corrected word obeys the filter too


def test_limit(engine: SqliteEngine) -> None:
    assert len(engine.search("harry", limit=1)) == 1
    assert len(engine.search("harry", limit=2)) == 2
    assert engine.search("harry", limit=0) == []
    assert len(engine.search("the", limit=10_000)) <= MAX_LIMIT


def test_hit_carries_the_whole_document(engine: SqliteEngine) -> None:
    (hit,) = engine.search("amelie", app="jellyfin")
    assert hit.document == LIBRARY["jellyfin"][0]


def test_counts(engine: SqliteEngine) -> None:
    assert engine.counts() == {"calibre-web": 4, "jellyfin": 3, "navidrome": 2}


# -- hostile input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"harry',
        "harry\"'",
        "*",
        "harry*",
        "harr* potter*",
        "NEAR(harry sally, 1)",
        "harry NOT sally",
        "harry OR zzzz",
        "harry AND",
        "-harry",
        "harry -potter",
        "{title}: harry",
        "title:harry",
        "creators : rowling",
        "^harry",
        "harry + potter",
        "(harry",
        "'; DROP TABLE documents; --",
        "\x00harry",
        "\\",
        "%_",
        "",
        "   ",
        "x" * 100_000,
        "harry " * 5_000,
    ],
)
def test_hostile_queries_are_words(engine: SqliteEngine, query: str) -> None:
    engine.search(query)  # never an sqlite3/FTS5 error
    engine.search(query, kind=Kind.BOOK, app="calibre-web")
    assert engine.counts()["calibre-web"] == 4


def test_operators_are_not_operators(engine: SqliteEngine) -> None:
    # As FTS5 syntax these would find "When Harry Met Sally" (NOT, OR, NEAR) or nothing (-, column filter).
    assert titles(engine, "harry NOT potter") == []
    assert titles(engine, "harry OR qqqq") == []
    assert titles(engine, "harry -potter")[:2] == [
        "Harry Potter and the Chamber of Secrets",
        "Harry Potter and the Philosopher's Stone",
    ]
    assert titles(engine, "creators:rowling") == []  # "creators" is a word here, found nowhere
    assert titles(engine, '"harry" "sally"') == ["When Harry Met Sally"]
    assert titles(engine, "") == []
    assert titles(engine, '"*:-') == []


# -- writes: upsert, replace, atomicity, concurrency -----------------------------------------------------


def test_upsert_adds_and_updates(engine: SqliteEngine) -> None:
    renamed = doc("jellyfin", "m1", Kind.MOVIE, "Le Fabuleux Destin d'Amélie Poulain", "Jean-Pierre Jeunet")
    added = doc("immich", "p1", Kind.PERSON, "Amélie Poulain")
    assert engine.upsert([renamed, added]) == 2
    assert engine.counts() == {"calibre-web": 4, "immich": 1, "jellyfin": 3, "navidrome": 2}
    assert set(titles(engine, "poulain")) == {"Le Fabuleux Destin d'Amélie Poulain", "Amélie Poulain"}
    assert "Amélie" not in titles(engine, "amelie")  # the old title is gone, not duplicated


def test_replace_drops_items_the_source_no_longer_has(engine: SqliteEngine) -> None:
    assert engine.replace_source("calibre-web", LIBRARY["calibre-web"][1:2]) == 1
    assert titles(engine, "harry") == ["Harry Potter and the Chamber of Secrets"]
    assert engine.counts()["calibre-web"] == 1
    assert engine.replace_source("calibre-web", []) == 0
    assert engine.counts()["calibre-web"] == 0
    assert titles(engine, "sallx") == []
    with sqlite3.connect(engine_module_path(engine)) as raw:  # the vocabulary forgets removed items' words
        assert raw.execute("SELECT COUNT(*) FROM vocabulary WHERE term = 'sally'").fetchone()[0] == 0
        assert raw.execute("SELECT COUNT(*) FROM vocabulary WHERE term = 'chamber'").fetchone()[0] > 0


def test_replace_rejects_another_sources_document(engine: SqliteEngine) -> None:
    with pytest.raises(EngineError, match=r"replace_source\('jellyfin'\) got a document of 'navidrome'"):
        engine.replace_source("jellyfin", [LIBRARY["jellyfin"][0], LIBRARY["navidrome"][0]])
    assert engine.counts()["jellyfin"] == 3


def _new_books(count: int) -> list[Document]:
    return [doc("calibre-web", f"n{n}", Kind.BOOK, f"Newbook volume {n}", "Author") for n in range(count)]


def test_readers_see_the_old_set_until_the_new_one_is_complete(
    engine: SqliteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "CHUNK", 3)
    seen_during: list[tuple[list[str], dict[str, int]]] = []

    def documents() -> Iterator[Document]:
        for n, document in enumerate(_new_books(10)):
            if n in (4, 9):  # chunks of the new set are committed by now
                seen_during.append((titles(engine, "newbook"), engine.counts()))
            yield document

    assert engine.replace_source("calibre-web", documents()) == 10
    assert seen_during == [([], LIBRARY_COUNTS)] * 2
    assert len(titles(engine, "newbook")) == 10
    assert titles(engine, "harry", app="calibre-web") == []


LIBRARY_COUNTS = {source: len(documents) for source, documents in LIBRARY.items()}


def test_a_failing_source_leaves_the_old_set(engine: SqliteEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "CHUNK", 3)

    def documents() -> Iterator[Document]:
        yield from _new_books(7)
        raise ConnectionError("the app went away")

    with pytest.raises(ConnectionError):
        engine.replace_source("calibre-web", documents())
    assert engine.counts() == LIBRARY_COUNTS
    assert titles(engine, "newbook") == []
    assert "The Hobbit" in titles(engine, "hobbit")
    with sqlite3.connect(engine_module_path(engine)) as raw:  # the staged rows are gone, not just hidden
        assert raw.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == sum(LIBRARY_COUNTS.values())
        assert raw.execute("SELECT COUNT(*) FROM fts").fetchone()[0] == sum(LIBRARY_COUNTS.values())


def engine_module_path(engine: SqliteEngine) -> str:
    return engine._path


def test_concurrent_readers_while_indexing(engine: SqliteEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "CHUNK", 50)
    stop = threading.Event()
    observed: list[int] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                observed.append(len(engine.search("newbook", limit=MAX_LIMIT)))
                observed.append(engine.counts()["calibre-web"])
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3):
            assert engine.replace_source("calibre-web", _new_books(400)) == 400
            assert engine.replace_source("calibre-web", LIBRARY["calibre-web"]) == 4
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors
    # Never a partial set: 0 or a full page of new books, 4 or 400 documents.
    assert set(observed) <= {0, MAX_LIMIT, 4, 400}, sorted(set(observed))


CRASH = """
import os, sys
sys.path.insert(0, "images/search")
from mediasearch.engine import sqlite as engine_module
from mediasearch.engine.sqlite import SqliteEngine
from mediasearch.model import Document, Kind

engine_module.CHUNK = 2
engine = SqliteEngine(sys.argv[1])

def documents():
    for n in range(6):
        if n == 5:
            os._exit(3)  # the process dies mid-rebuild, two chunks committed
        yield Document("calibre-web", f"c{n}", Kind.BOOK, f"Crashbook {n}", "/x")

engine.replace_source("calibre-web", documents())
"""


def test_a_crash_mid_rebuild_keeps_the_old_set(engine: SqliteEngine, tmp_path: Path) -> None:
    path = engine_module_path(engine)
    engine.close()
    done = subprocess.run([sys.executable, "-c", CRASH, path], cwd=ROOT, check=False)
    assert done.returncode == 3
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM documents WHERE title LIKE 'Crashbook%'").fetchone()[0] == 4
    reopened = SqliteEngine(path)
    try:
        assert reopened.counts() == LIBRARY_COUNTS
        assert titles(reopened, "crashbook") == []
        with sqlite3.connect(path) as raw:  # the orphaned generation is dropped at open
            assert raw.execute("SELECT COUNT(*) FROM documents WHERE title LIKE 'Crashbook%'").fetchone()[0] == 0
            assert raw.execute("SELECT COUNT(*) FROM fts WHERE fts MATCH 'crashbook'").fetchone()[0] == 0
    finally:
        reopened.close()


def test_reopen_keeps_the_index(engine: SqliteEngine) -> None:
    path = engine_module_path(engine)
    engine.close()
    with pytest.raises(EngineError, match="closed"):
        engine.search("harry")
    reopened = SqliteEngine(path)
    try:
        assert reopened.counts() == LIBRARY_COUNTS
        assert titles(reopened, "hary potter")[:1] == ["Harry Potter and the Chamber of Secrets"]
    finally:
        reopened.close()


def test_an_index_of_another_layout_is_rebuilt_empty(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE documents (whatever TEXT)")
        raw.execute("PRAGMA user_version = 99")
    engine = SqliteEngine(path)
    try:
        assert engine.counts() == {}
        engine.replace_source("jellyfin", LIBRARY["jellyfin"])
        assert titles(engine, "amelie") == ["Amélie"]
    finally:
        engine.close()


# -- opening ---------------------------------------------------------------------------------------------


def test_an_unusable_path_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(EngineError, match=r"search index .*file/search\.db: cannot open"):
        SqliteEngine(tmp_path / "file" / "search.db")


def test_an_sqlite_without_fts5_is_refused() -> None:
    class NoFts5:
        def execute(self, sql: str) -> None:
            if "fts5" in sql:
                raise sqlite3.OperationalError("no such module: fts5")

    with pytest.raises(EngineError, match=r"/index/search\.db: SQLite .* lacks FTS5 or fts5vocab \(no such module"):
        check_sqlite(NoFts5(), "/index/search.db")  # type: ignore[arg-type]
    check_sqlite(sqlite3.connect(":memory:"), ":memory:")  # this machine's SQLite has both


def test_an_old_sqlite_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.31.1")
    with pytest.raises(EngineError, match=r"SQLite 3\.31\.1 is older than 3\.38\.0"):
        check_sqlite(sqlite3.connect(":memory:"), "x.db")


def test_open_engine_refuses_an_unknown_kind() -> None:
    with pytest.raises(EngineError, match=r"engine\.kind: 'whoosh' is not sqlite or elasticsearch"):
        open_engine(EngineConfig(kind="whoosh"))
    with pytest.raises(EngineError, match=r"engine\.path"):
        open_engine(EngineConfig(kind="sqlite"))

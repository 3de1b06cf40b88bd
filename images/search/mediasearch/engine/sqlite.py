"""The embedded default engine: one SQLite file (under /index), full-text search with FTS5.

How a query is answered (design measured by `make bench-search`, figures in the README):

- Every text is folded in Python (`engine.text`) at index and at query time, so diacritics and case never
  depend on the SQLite build's tokenizer options.
- Prefixes: one FTS5 table over title, creators and description with the `unicode61` tokenizer and a
  prefix index; each query word becomes a quoted prefix term (`"harr"*`), words are ANDed, so
  "tolkien hobbit" matches a title and a creator together.
- One typo: a vocabulary of the indexed words with their one-character deletions (the symmetric-delete
  scheme), looked up with the query word and its deletions; candidates are kept when they are within one
  edit (insertion, deletion, substitution or swap) of the query word. Only when the exact/prefix query
  leaves room below `limit` are the corrected words ORed in; a corrected word counts half an exact one.
  (Measured at 200,000 items: 0.2-1.5 ms CPU a typo query. A trigram table queried with the OR of the
  query's trigrams, the alternative, took 4-23 ms and ranked near misses such as "Hariis" next.)
- Ranking: a candidate pool, gathered cheaply in tiers (titles that begin with the query, from an index
  on the folded title; all words in the title; in title and creators; anywhere), is ranked in Python by
  which field each word matched in (title 10, creators 4, description 1) and how (exact word 1, prefix
  0.8, corrected 0.5), with a bonus for a title that is the query or begins with it. FTS5's bm25 is not
  used: it reads every matching row, 0.2-0.7 s for a one-letter prefix at 200,000 items.

Consistency: `replace_source` writes a new generation of the source's rows in short transactions while the
readers keep answering from the live generation; one transaction then switches the live generation, and the
old rows are deleted after it (invisible since the switch). WAL lets readers run while the writer writes.
Queries never see SQL or FTS5 syntax from the user: only folded letters and digits reach a MATCH, each as
a quoted string, and values are bound parameters.
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from mediasearch.engine.errors import EngineError
from mediasearch.engine.text import deletions, fold, query_terms, tokens, within_one_edit
from mediasearch.model import Document, Hit, Kind

SCHEMA_VERSION = 1
MIN_SQLITE = (3, 38, 0)
"""`RETURNING` (3.35), JSON functions built in (3.38); FTS5 and fts5vocab are checked by using them."""

MAX_LIMIT = 100
FUZZY_MIN_LENGTH = 4
"""Shorter words are not corrected: a three-letter word has dozens of neighbours one edit away."""
CHUNK = 2000
"""Documents written per transaction while a source is rebuilt (the write lock is free in between)."""

# The re-rank: how much a word counts by the field it matched in, and by how it matched.
TITLE, CREATORS, DESCRIPTION = 10.0, 4.0, 1.0
EXACT, PREFIX, CORRECTED = 1.0, 0.8, 0.5
WHOLE_TITLE, TITLE_START = 6.0, 2.0

_SCHEMA = (
    """CREATE TABLE documents (
        rowid INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        generation INTEGER NOT NULL,
        id TEXT NOT NULL,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        title_key TEXT NOT NULL,
        creators TEXT NOT NULL,
        year INTEGER,
        cover TEXT,
        link TEXT NOT NULL,
        description TEXT NOT NULL,
        updated REAL,
        UNIQUE (source, generation, id)
    )""",
    "CREATE TABLE live (source TEXT PRIMARY KEY, generation INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
    # Folded text only; `rowid` is documents.rowid; facets holds the kind and the app as terms.
    """CREATE VIRTUAL TABLE fts USING fts5(
        title, creators, description, facets,
        tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2 3'
    )""",
    "CREATE INDEX documents_title ON documents (title_key)",
    "CREATE VIRTUAL TABLE fts_terms USING fts5vocab(fts, 'row')",
    # (term, term) and (term with one character deleted, term) for every word of titles and creators.
    "CREATE TABLE vocabulary (variant TEXT NOT NULL, term TEXT NOT NULL, PRIMARY KEY (variant, term)) WITHOUT ROWID",
)

_COLUMNS = "d.rowid, d.source, d.id, d.kind, d.title, d.creators, d.year, d.cover, d.link, d.description, d.updated"


@dataclass(frozen=True, slots=True)
class _Candidate:
    document: Document
    tier: int
    """How it was found: 0 title begins with the query, 1 every word in the title, 2 in title and
    creators, 3 anywhere (the re-rank's tie-break)."""


@dataclass(frozen=True, slots=True)
class _Filters:
    """The kind and app filters. Only fixed column names and placeholders are formatted into a statement
    (the `noqa: S608` below); the values are bound, and as FTS terms they are quoted."""

    kind: str | None
    app: str | None

    def sql(self) -> tuple[str, list[str]]:
        where, parameters = "", list[str]()
        if self.kind is not None:
            where, parameters = where + " AND d.kind = ?", [*parameters, self.kind]
        if self.app is not None:
            where, parameters = where + " AND d.source = ?", [*parameters, self.app]
        return where, parameters

    def facets(self) -> str:
        """The filters as FTS terms too, so a filtered query counts and reads only the rows it can keep."""
        terms = ([_facet("k", self.kind)] if self.kind else []) + ([_facet("s", self.app)] if self.app else [])
        return "".join(f" AND {{facets}}: {_quoted(term)}" for term in terms)


class SqliteEngine:
    """The `Engine` over one SQLite file. Thread-safe: writes are serialised by a lock on one connection,
    searches borrow a read-only connection from a pool (one per concurrent search)."""

    def __init__(self, path: str | Path, *, reader_cache_kib: int = 8192, writer_cache_kib: int = 32768) -> None:
        self._path = str(path)
        self._reader_cache_kib = reader_cache_kib
        self._write_lock = threading.Lock()
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._writer = self._connect(writer_cache_kib)
        check_sqlite(self._writer, self._path)
        self._writer.execute("PRAGMA journal_mode = WAL")
        self._writer.execute("PRAGMA synchronous = NORMAL")
        self._prepare()

    # -- connections -------------------------------------------------------------------------------------

    def _connect(self, cache_kib: int) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=30.0)
            connection.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
            # The container's root is read-only and has no tmpfs: SQLite's temporary files (sorts, temporary
            # b-trees, statement journals) would look for /var/tmp, /usr/tmp, /tmp and "." and find none
            # writable. They stay in memory instead (bounded by the container's memory limit).
            connection.execute("PRAGMA temp_store = MEMORY")
        except sqlite3.Error as error:
            raise EngineError(f"search index {self._path}: cannot open ({error})") from error
        return connection

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise EngineError("search index is closed")
        try:
            connection = self._idle.get_nowait()
        except queue.Empty:
            connection = self._connect(self._reader_cache_kib)
            connection.execute("PRAGMA query_only = ON")
            with self._readers_lock:
                self._readers.append(connection)
        try:
            yield connection
        finally:
            self._idle.put(connection)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (IMMEDIATE: takes the write lock up front, so it never fails half-way for
        a lock it could not upgrade to)."""
        with self._write_lock:
            if self._closed:
                raise EngineError("search index is closed")
            connection = self._writer
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _prepare(self) -> None:
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                # The index is a cache the service rebuilds from the apps: another layout is dropped.
                for name in ("fts_terms", "fts", "vocabulary", "documents", "live", "counter"):
                    db.execute(f"DROP TABLE IF EXISTS {name}")
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            # Rows of a generation that never went live (a rebuild interrupted by a crash) are dropped.
            db.execute(
                """DELETE FROM fts WHERE rowid IN (SELECT d.rowid FROM documents d LEFT JOIN live l
                   ON l.source = d.source WHERE l.generation IS NOT d.generation)"""
            )
            db.execute(
                """DELETE FROM documents WHERE rowid IN (SELECT d.rowid FROM documents d LEFT JOIN live l
                   ON l.source = d.source WHERE l.generation IS NOT d.generation)"""
            )

    def close(self) -> None:
        with self._write_lock:
            self._closed = True
            self._writer.close()
        with self._readers_lock:
            for connection in self._readers:
                connection.close()
            self._readers.clear()

    # -- writes ------------------------------------------------------------------------------------------

    def _next_generation(self, db: sqlite3.Connection) -> int:
        row = db.execute(
            "INSERT INTO counter (name, value) VALUES ('generation', 1) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value"
        ).fetchone()
        return int(row[0])

    def _write_documents(self, db: sqlite3.Connection, generation: int, documents: Sequence[Document]) -> None:
        latest = {(document.source, document.id): document for document in documents}  # the last one wins
        rowids: dict[tuple[str, str], int] = {}
        for source in {source for source, _ in latest}:
            # An upsert of a known item, or an id the source yielded twice, keeps its row.
            ids = [id_ for key_source, id_ in latest if key_source == source]
            rows = db.execute(
                "SELECT id, rowid FROM documents WHERE source = ? AND generation = ? "
                "AND id IN (SELECT value FROM json_each(?))",
                (source, generation, json.dumps(ids)),
            )
            rowids.update(((source, id_), rowid) for id_, rowid in rows)
        (next_rowid,) = db.execute("SELECT COALESCE(MAX(rowid), 0) + 1 FROM documents").fetchone()
        document_rows, text_rows, words = [], [], set()
        for key, document in latest.items():
            if key not in rowids:
                rowids[key], next_rowid = next_rowid, next_rowid + 1
            title, creators = tokens(document.title), [tokens(name) for name in document.creators]
            words.update(title)
            for name in creators:
                words.update(name)
            document_rows.append(
                (
                    rowids[key],
                    document.source,
                    generation,
                    document.id,
                    Kind(document.kind).value,
                    document.title,
                    " ".join(title),
                    json.dumps(list(document.creators), ensure_ascii=False),
                    document.year,
                    document.cover,
                    document.link,
                    document.description,
                    document.updated,
                )
            )
            text_rows.append(
                (
                    rowids[key],
                    " ".join(title),
                    " | ".join(" ".join(name) for name in creators),
                    fold(document.description),
                    f"{_facet('k', document.kind)} {_facet('s', document.source)}",
                )
            )
        db.executemany(
            """INSERT OR REPLACE INTO documents (rowid, source, generation, id, kind, title, title_key, creators,
                                                 year, cover, link, description, updated)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            document_rows,
        )
        db.executemany(
            "INSERT OR REPLACE INTO fts (rowid, title, creators, description, facets) VALUES (?, ?, ?, ?, ?)",
            text_rows,
        )
        self._learn(db, words)

    def _learn(self, db: sqlite3.Connection, words: set[str]) -> None:
        """Add the words not yet in the vocabulary, with their deletions (letters only: numbers and
        codes are not corrected)."""
        known = {
            row[0]
            for row in db.execute(
                "SELECT variant FROM vocabulary WHERE variant IN (SELECT value FROM json_each(?)) AND term = variant",
                (json.dumps(sorted(words)),),
            )
        }
        new = sorted(words - known)
        db.executemany("INSERT OR IGNORE INTO vocabulary (variant, term) VALUES (?, ?)", [(w, w) for w in new])
        db.executemany(
            "INSERT OR IGNORE INTO vocabulary (variant, term) VALUES (?, ?)",
            [(variant, word) for word in new if _correctable(word) for variant in deletions(word)],
        )

    def replace_source(self, source: str, documents: Iterable[Document]) -> int:
        with self._write() as db:
            generation = self._next_generation(db)
        try:
            iterator = iter(documents)
            while chunk := list(islice(iterator, CHUNK)):  # the source is read outside the write lock
                for document in chunk:
                    if document.source != source:
                        raise EngineError(f"replace_source({source!r}) got a document of {document.source!r}")
                with self._write() as db:
                    self._write_documents(db, generation, chunk)
            with self._write() as db:
                old = db.execute("SELECT generation FROM live WHERE source = ?", (source,)).fetchone()
                db.execute(
                    "INSERT INTO live (source, generation) VALUES (?, ?) "
                    "ON CONFLICT (source) DO UPDATE SET generation = excluded.generation",
                    (source, generation),
                )
                count = db.execute(
                    "SELECT COUNT(*) FROM documents WHERE source = ? AND generation = ?", (source, generation)
                ).fetchone()[0]
        except BaseException:
            with suppress(EngineError, sqlite3.Error):
                self._drop_generation(source, generation)
            raise
        if old is not None:
            self._drop_generation(source, old[0])
            self._prune_vocabulary()
        return int(count)

    def _drop_generation(self, source: str, generation: int) -> None:
        """Delete a generation that is not live, a chunk per transaction."""
        while True:
            with self._write() as db:
                rowids = [
                    row[0]
                    for row in db.execute(
                        "SELECT rowid FROM documents WHERE source = ? AND generation = ? LIMIT ?",
                        (source, generation, CHUNK * 4),
                    )
                ]
                if not rowids:
                    return
                db.execute("DELETE FROM fts WHERE rowid IN (SELECT value FROM json_each(?))", (json.dumps(rowids),))
                db.execute(
                    "DELETE FROM documents WHERE rowid IN (SELECT value FROM json_each(?))", (json.dumps(rowids),)
                )

    def _prune_vocabulary(self) -> None:
        """Forget words no document holds any more (renamed or removed items)."""
        with self._write() as db:
            db.execute("DELETE FROM vocabulary WHERE term NOT IN (SELECT term FROM fts_terms)")

    def upsert(self, documents: Iterable[Document]) -> int:
        written = 0
        iterator = iter(documents)
        while chunk := list(islice(iterator, CHUNK)):
            with self._write() as db:
                by_generation: dict[int, list[Document]] = {}
                for document in chunk:
                    row = db.execute("SELECT generation FROM live WHERE source = ?", (document.source,)).fetchone()
                    if row is None:  # a source that has only been indexed incrementally so far
                        generation = self._next_generation(db)
                        db.execute("INSERT INTO live (source, generation) VALUES (?, ?)", (document.source, generation))
                    else:
                        generation = row[0]
                    by_generation.setdefault(generation, []).append(document)
                for generation, group in by_generation.items():
                    self._write_documents(db, generation, group)
            written += len(chunk)
        return written

    # -- reads -------------------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        with self._reader() as db:
            rows = db.execute(
                """SELECT l.source, (SELECT COUNT(*) FROM documents d
                                     WHERE d.source = l.source AND d.generation = l.generation)
                   FROM live l ORDER BY l.source"""
            ).fetchall()
        return {source: int(count) for source, count in rows}

    def search(self, query: str, *, kind: Kind | None = None, app: str | None = None, limit: int = 20) -> list[Hit]:
        terms = query_terms(query)
        limit = max(0, min(int(limit), MAX_LIMIT))
        if not terms or limit == 0:
            return []
        pool = max(50, 3 * limit)
        filters = _Filters(kind=Kind(kind).value if kind is not None else None, app=app)
        with self._reader() as db:
            db.execute("BEGIN")  # one snapshot for every statement of this search
            try:
                found = self._title_start(db, " ".join(terms), filters, pool)
                found += self._matches(db, [[_prefix(term)] for term in terms], filters, pool)
                corrections: dict[str, set[str]] = {}
                if len({candidate.document.key for candidate in found}) < limit:
                    # Room left: add the words one edit away, ranked together (a corrected title match
                    # can rank above an exact description match, never above an exact title match).
                    corrections = self._corrections(db, terms)
                    if any(corrections.values()):
                        alternatives = [
                            [_prefix(term)] + [_quoted(word) for word in sorted(corrections.get(term, ()))]
                            for term in terms
                        ]
                        found += self._matches(db, alternatives, filters, pool)
            finally:
                db.execute("COMMIT")
        unique: dict[str, _Candidate] = {}
        for candidate in found:  # one per document, found first by the best tier
            known = unique.get(candidate.document.key)
            if known is None or candidate.tier < known.tier:
                unique[candidate.document.key] = candidate
        return _ranked(list(unique.values()), terms, corrections)[:limit]

    def _title_start(self, db: sqlite3.Connection, key: str, filters: _Filters, pool: int) -> list[_Candidate]:
        """Titles that begin with the query, in title order (an index range: "ant" < "ant hill" <
        "antelope"), the cheap first answer to a short query that matches half the library."""
        where, parameters = filters.sql()
        rows = db.execute(
            f"""SELECT {_COLUMNS} FROM documents d INDEXED BY documents_title
                CROSS JOIN live l ON l.source = d.source AND l.generation = d.generation
                WHERE d.title_key >= ? AND d.title_key < ? {where} ORDER BY d.title_key LIMIT ?""",  # noqa: S608
            [key, key + "\U0010ffff", *parameters, pool],
        ).fetchall()
        return [_Candidate(_document(row), 0) for row in rows]

    def _matches(
        self, db: sqlite3.Connection, alternatives: list[list[str]], filters: _Filters, pool: int
    ) -> list[_Candidate]:
        """Full-text matches, every word (one of its alternatives) present, gathered in tiers until the pool
        is full: all words in the title, then in title and creators, then anywhere. Each tier reads rows as
        the index yields them and stops at the pool size; the re-rank orders them. (bm25 would cost a
        lookup per matching row: 0.2-0.7 s for a one-letter prefix at 200,000 items, measured.)"""
        words = "(" + " AND ".join("(" + " OR ".join(options) + ")" for options in alternatives) + ")"
        facets = filters.facets()
        where, parameters = filters.sql()
        tiers = (
            f"{{title}}: {words}",
            f"{{title creators}}: {words} NOT {{title}}: {words}",
            f"{{title creators description}}: {words} NOT {{title creators}}: {words}",
        )
        found: list[_Candidate] = []
        for tier, match in enumerate(tiers, start=1):
            rows = db.execute(
                # CROSS JOIN keeps the full-text index the outer loop (else SQLite may walk every document
                # of a filtered app and test the MATCH row by row: seconds instead of milliseconds).
                f"""SELECT {_COLUMNS} FROM fts CROSS JOIN documents d ON d.rowid = fts.rowid
                    CROSS JOIN live l ON l.source = d.source AND l.generation = d.generation
                    WHERE fts MATCH ? {where} LIMIT ?""",  # noqa: S608
                [f"({match}){facets}", *parameters, pool - len(found)],
            ).fetchall()
            found += [_Candidate(_document(row), tier) for row in rows]
            if len(found) >= pool:
                break
        return found

    def _corrections(self, db: sqlite3.Connection, terms: list[str]) -> dict[str, set[str]]:
        corrections: dict[str, set[str]] = {}
        for term in terms:
            if not _correctable(term) or len(term) < FUZZY_MIN_LENGTH:
                continue
            rows = db.execute(
                "SELECT DISTINCT term FROM vocabulary WHERE variant IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted({term} | deletions(term))),),
            )
            corrections[term] = {word for (word,) in rows if not word.startswith(term) and within_one_edit(term, word)}
        return corrections


def check_sqlite(connection: sqlite3.Connection, where: str) -> None:
    """Refuse an SQLite without what the engine uses, naming what is missing."""
    version = sqlite3.sqlite_version_info
    if version < MIN_SQLITE:
        need = ".".join(map(str, MIN_SQLITE))
        raise EngineError(f"search index {where}: SQLite {sqlite3.sqlite_version} is older than {need}")
    try:
        connection.execute("CREATE VIRTUAL TABLE temp.probe_fts USING fts5(x, tokenize = 'unicode61', prefix = '2')")
        connection.execute("CREATE VIRTUAL TABLE temp.probe_terms USING fts5vocab(temp, probe_fts, 'row')")
        connection.execute("DROP TABLE temp.probe_terms")
        connection.execute("DROP TABLE temp.probe_fts")
    except sqlite3.Error as error:
        raise EngineError(
            f"search index {where}: SQLite {sqlite3.sqlite_version} lacks FTS5 or fts5vocab ({error}); "
            "the embedded engine needs an SQLite built with FTS5"
        ) from error


def _quoted(word: str) -> str:
    # Words are letters and digits only (engine.text); doubling quotes keeps it a string even if not.
    return '"' + word.replace('"', '""') + '"'


def _facet(prefix: str, value: str) -> str:
    """A kind or an app as one token ("photo_album" -> "kphotoalbum", "calibre-web" -> "scalibreweb")."""
    return prefix + "".join(tokens(value))


def _prefix(word: str) -> str:
    return _quoted(word) + "*"


def _correctable(word: str) -> bool:
    return not any(char.isdigit() for char in word)


def _document(row: Sequence[object]) -> Document:
    _, source, id_, kind, title, creators, year, cover, link, description, updated = row[:11]
    return Document(
        source=str(source),
        id=str(id_),
        kind=Kind(str(kind)),
        title=str(title),
        link=str(link),
        creators=tuple(json.loads(str(creators))),
        year=int(year) if isinstance(year, int) else None,
        cover=str(cover) if cover is not None else None,
        description=str(description),
        updated=float(updated) if isinstance(updated, int | float) else None,
    )


def _match(term: str, words: list[str], corrected: set[str]) -> float:
    best = 0.0
    for word in words:
        if word == term:
            return EXACT
        if word.startswith(term):
            best = max(best, PREFIX)
        elif word in corrected:
            best = max(best, CORRECTED)
    return best


def _score(document: Document, terms: list[str], corrections: dict[str, set[str]]) -> float:
    title = tokens(document.title)
    creators = [word for name in document.creators for word in tokens(name)]
    description = tokens(document.description)
    score = 0.0
    for term in terms:
        corrected = corrections.get(term, set())
        score += max(
            TITLE * _match(term, title, corrected),
            CREATORS * _match(term, creators, corrected),
            DESCRIPTION * _match(term, description, corrected),
        )
    key, query = " ".join(title), " ".join(terms)
    if key == query:
        score += WHOLE_TITLE
    elif key.startswith(query):
        score += TITLE_START
    return score


def _ranked(candidates: list[_Candidate], terms: list[str], corrections: dict[str, set[str]]) -> list[Hit]:
    scored = [(_score(c.document, terms, corrections), c) for c in candidates]
    scored.sort(key=lambda pair: (-pair[0], pair[1].tier, len(pair[1].document.title), pair[1].document.key))
    return [Hit(document=c.document, score=score) for score, c in scored]

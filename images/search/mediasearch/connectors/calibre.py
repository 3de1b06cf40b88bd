"""Calibre-Web 0.6.25 (the catalog's pin): the books of its Calibre library, read from metadata.db read-only.

Calibre-Web serves what Calibre's metadata.db holds, so the database is the source (a file meant to be read: the
schema is Calibre's own, and Calibre-Web 0.6.25 cps/db.py maps the same tables). Opened as
`file:<path>?mode=ro` (SQLite URI): never a write, never a lock that would block Calibre-Web. Not
`immutable=1`: Calibre-Web writes the file while we read, and immutable would let SQLite skip the locking that
keeps those reads consistent.
- Tables: books (id, title, pubdate, has_cover, last_modified, path), authors + books_authors_link, series +
  books_series_link, data (format per file) -- Calibre's schema as `calibredb` creates it.
- Deep link: Calibre-Web's `/book/<int:book_id>` (calibre-web 0.6.25 cps/web.py show_book).
- Cover: the `cover.jpg` Calibre keeps in each book's folder (books.path under the library), read from the same
  read-only mount. Calibre-Web's `/cover/<int:book_id>` (cps/web.py get_cover) serves the same file but sits
  behind its login (login_required_if_no_ano), and the search service holds no Calibre-Web account.
- Incremental: books.last_modified (Calibre updates it on every metadata change).
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from mediasearch.config import SourceConfig
from mediasearch.connectors import ConnectorError
from mediasearch.connectors.documents import cover_path, epoch_of, link, names, text, year_of
from mediasearch.model import Document, Kind

APP = "calibre-web"
COMIC_FORMATS = frozenset({"CBZ", "CBR", "CB7", "CBT", "CBC"})
MAX_COVER_BYTES = 16 * 1024 * 1024

_QUERY = """
SELECT b.id, b.title, b.pubdate, b.has_cover, b.last_modified,
       (SELECT group_concat(name, char(31)) FROM
            (SELECT a.name FROM books_authors_link l JOIN authors a ON a.id = l.author WHERE l.book = b.id
             ORDER BY l.id)),
       (SELECT s.name FROM books_series_link l JOIN series s ON s.id = l.series WHERE l.book = b.id),
       b.series_index,
       (SELECT group_concat(upper(d.format), char(31)) FROM data d WHERE d.book = b.id)
FROM books b ORDER BY b.id
"""


class CalibreConnector:
    def __init__(self, config: SourceConfig, timeout: float) -> None:
        self.config = config
        self.timeout = timeout

    def _library(self) -> Path:
        if not self.config.library:
            raise ConnectorError(f"{APP}: no library configured (the Calibre metadata.db)")
        return Path(self.config.library)

    def _connect(self) -> sqlite3.Connection:
        path = self._library()
        if not path.is_file():
            raise ConnectorError(f"{APP}: {path} does not exist (is the Calibre library mounted?)")
        uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
        try:
            connection = sqlite3.connect(uri, uri=True, timeout=self.timeout, check_same_thread=False)
            connection.execute("PRAGMA query_only = ON")
        except sqlite3.Error as error:
            raise ConnectorError(f"{APP}: cannot open {path} read-only ({error})") from None
        return connection

    def fetch(self, since: float | None) -> Iterator[Document]:
        connection = self._connect()
        try:
            try:
                rows = connection.execute(_QUERY)
            except sqlite3.Error as error:
                raise ConnectorError(f"{APP}: {self._library()} is not a Calibre library ({error})") from None
            for row in rows:
                document = self._document(row)
                if document is not None and (since is None or document.updated is None or document.updated > since):
                    yield document
        except sqlite3.Error as error:
            raise ConnectorError(f"{APP}: reading {self._library()} failed ({error})") from None
        finally:
            connection.close()

    def _document(self, row: tuple[object, ...]) -> Document | None:
        book_id, title, pubdate, has_cover, modified, authors, series, series_index, formats = row
        title = text(title)
        if not isinstance(book_id, int) or not title:
            return None
        formats_set = set(formats.split("\x1f")) if isinstance(formats, str) else set()
        description = ""
        if isinstance(series, str) and series:
            number = f" {series_index:g}" if isinstance(series_index, (int, float)) else ""
            description = text(f"{series}{number}", 200)
        return Document(
            source=APP,
            id=str(book_id),
            kind=Kind.COMIC if formats_set and formats_set <= COMIC_FORMATS else Kind.BOOK,
            title=title,
            link=link(self.config.public_url, f"/book/{book_id}"),
            creators=names(authors.split("\x1f") if isinstance(authors, str) else []),
            year=year_of(pubdate),
            cover=cover_path(APP, str(book_id)) if has_cover else None,
            description=description,
            updated=epoch_of(modified.replace(" ", "T", 1)) if isinstance(modified, str) else None,
        )

    def cover(self, item_id: str) -> tuple[str, bytes]:
        if not item_id.isdigit():
            raise ConnectorError(f"{APP}: {item_id!r} is not a book id")
        connection = self._connect()
        try:
            row = connection.execute("SELECT path, has_cover FROM books WHERE id = ?", (int(item_id),)).fetchone()
        except sqlite3.Error as error:
            raise ConnectorError(f"{APP}: reading {self._library()} failed ({error})") from None
        finally:
            connection.close()
        if row is None or not row[1] or not isinstance(row[0], str):
            raise ConnectorError(f"{APP}: book {item_id} has no cover")
        root = self._library().parent.resolve()
        cover = (root / row[0] / "cover.jpg").resolve()
        if not cover.is_relative_to(root) or not cover.is_file():
            raise ConnectorError(f"{APP}: book {item_id} has no cover file in the library")
        with cover.open("rb") as handle:
            data = handle.read(MAX_COVER_BYTES + 1)
        if len(data) > MAX_COVER_BYTES:
            raise ConnectorError(f"{APP}: the cover of book {item_id} is larger than {MAX_COVER_BYTES} bytes")
        return "image/jpeg", data

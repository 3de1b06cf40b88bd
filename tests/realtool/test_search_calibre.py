"""The Calibre-Web connector reads a real Calibre library, made here by Debian's `calibredb` (package calibre)."""

from __future__ import annotations

import hashlib
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import time
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from mediasearch.config import SourceConfig
from mediasearch.connectors import ConnectorError
from mediasearch.connectors.calibre import CalibreConnector
from mediasearch.model import Kind

from tests.realtool.backup_env import require

pytestmark = pytest.mark.realtool


def _png(width: int, height: int) -> bytes:
    raw = b"".join(b"\x00" + b"\xc0\x30\x30" * width for _ in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def calibredb(library: Path, *args: str) -> str:
    env = {
        **os.environ,
        "HOME": str(library.parent),
        "QT_QPA_PLATFORM": "offscreen",
        "CALIBRE_CONFIG_DIRECTORY": str(library.parent / "cfg"),
    }
    return run(["calibredb", "--with-library", str(library), *args], env)


def run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require("calibredb")
    root = tmp_path_factory.mktemp("calibre")
    books = root / "library"
    cover = root / "cover.png"
    cover.write_bytes(_png(60, 90))
    calibredb(
        books,
        "add",
        "--empty",
        "--title",
        "The Hobbit",
        "--authors",
        "J. R. R. Tolkien & Christopher Tolkien",
        "--series",
        "Middle-earth",
        "--series-index",
        "1",
        "--cover",
        str(cover),
    )
    calibredb(books, "set_metadata", "1", "--field", "pubdate:1937-09-21")
    calibredb(books, "add", "--empty", "--title", "<script>alert(1)</script> Notes", "--authors", "Anonymous")
    comic = root / "Saga Volume One.cbz"
    with zipfile.ZipFile(comic, "w") as archive:
        archive.writestr("001.png", _png(40, 60))
    calibredb(books, "add", "--title", "Saga Volume One", "--authors", "Brian K. Vaughan", str(comic))
    return books


def connector(db: Path) -> CalibreConnector:
    config = SourceConfig(
        app="calibre-web", enabled=True, url=None, public_url="https://calibre.example.org", library=str(db)
    )
    return CalibreConnector(config, timeout=5)


def test_reads_books_authors_series_year_and_covers_without_writing(library: Path) -> None:
    db = library / "metadata.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest(), db.stat().st_mtime_ns
    files_before = sorted(p.name for p in library.iterdir())

    docs = {d.id: d for d in connector(db).fetch(None)}

    hobbit = docs["1"]
    assert (hobbit.title, hobbit.kind, hobbit.year) == ("The Hobbit", Kind.BOOK, 1937)
    assert hobbit.creators == ("J. R. R. Tolkien", "Christopher Tolkien")
    assert hobbit.description == "Middle-earth 1"
    assert hobbit.link == "https://calibre.example.org/book/1" and hobbit.cover == "/cover/calibre-web/1"
    notes = docs["2"]
    assert notes.title == "<script>alert(1)</script> Notes" and notes.cover is None and notes.year is None
    saga = docs["3"]
    assert (saga.kind, saga.creators) == (Kind.COMIC, ("Brian K. Vaughan",))
    kind, data = connector(db).cover("1")
    assert kind == "image/jpeg" and data.startswith(b"\xff\xd8")
    with pytest.raises(ConnectorError, match="book 2 has no cover"):
        connector(db).cover("2")
    assert (hashlib.sha256(db.read_bytes()).hexdigest(), db.stat().st_mtime_ns) == before
    assert sorted(p.name for p in library.iterdir()) == files_before  # no journal, no WAL left behind


def test_since_returns_books_changed_after_it(library: Path, tmp_path: Path) -> None:
    copy = tmp_path / "library"
    shutil.copytree(library, copy)
    time.sleep(1.1)
    mark = time.time()
    calibredb(copy, "set_metadata", "2", "--field", "tags:changed")

    changed = [d.id for d in connector(copy / "metadata.db").fetch(mark)]

    assert changed == ["2"]


def test_a_book_path_leaving_the_library_gives_no_cover(library: Path, tmp_path: Path) -> None:
    copy = tmp_path / "library"
    shutil.copytree(library, copy)
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "cover.jpg").write_bytes(b"\xff\xd8 not yours")
    with sqlite3.connect(copy / "metadata.db") as db:
        db.create_function("title_sort", 1, lambda title: title)  # Calibre's update trigger calls it
        db.execute("UPDATE books SET path = '../secret' WHERE id = 1")

    with pytest.raises(ConnectorError, match="book 1 has no cover file in the library"):
        connector(copy / "metadata.db").cover("1")
    with pytest.raises(ConnectorError, match="is not a book id"):
        connector(copy / "metadata.db").cover("1 OR 1=1")


def test_missing_or_foreign_database(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match=r"^calibre-web: .*metadata.db does not exist"):
        list(connector(tmp_path / "metadata.db").fetch(None))
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    with pytest.raises(ConnectorError, match=r"is not a Calibre library"):
        list(connector(other).fetch(None))


# ------------------------------------------------------------------ the real Calibre-Web 0.6.25 (PyPI calibreweb)
CW_VENV = Path(__file__).resolve().parents[2] / ".venv-calibreweb"
CW_SETTINGS = """
import sys
import sqlalchemy
from sqlalchemy.orm import sessionmaker
from calibreweb.cps import config_sql, ub

path, port, library = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ub.init_db(path)  # a new app.db: its admin (admin/admin123, Calibre-Web's default) and guest users
engine = sqlalchemy.create_engine("sqlite:///" + path)
config_sql._Base.metadata.create_all(engine)
session = sessionmaker(bind=engine)()
session.add(config_sql._Settings(config_port=port, config_calibre_dir=library))
session.commit()
"""
"""Calibre-Web keeps its port and library in its settings database, not on the command line: written before its
first start with its own models, so it never binds its default port 8083."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def calibre_web(library: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    cps = CW_VENV / "bin" / "cps"
    assert cps.exists(), f"missing {cps}: run `make setup-calibreweb` (requirements-calibreweb.txt)"
    home = tmp_path_factory.mktemp("calibre-web")
    books = home / "library"  # its own copy: Calibre-Web opens metadata.db read-write
    shutil.copytree(library, books)
    port = _free_port()
    env = {**os.environ, "HOME": str(home)}
    run([str(CW_VENV / "bin" / "python"), "-c", CW_SETTINGS, str(home / "app.db"), str(port), str(books)], env)
    log = (home / "out.log").open("wb")
    server = subprocess.Popen(
        [str(cps), "-p", str(home / "app.db"), "-i", "127.0.0.1", "-o", str(home / "cw.log"), "-m"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (home / "out.log").read_text(errors="replace")[-2000:]
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "Calibre-Web did not listen within 120 s"
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", books
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(20)
        log.close()


def test_real_calibre_web_serves_the_deep_link_and_the_same_cover(calibre_web: tuple[str, Path]) -> None:
    base, books = calibre_web
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = opener.open(base + "/login", timeout=60).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert token, "no CSRF token on Calibre-Web's login page"
    form = {"username": "admin", "password": "admin123", "csrf_token": token.group(1), "submit": ""}
    opener.open(base + "/login", urllib.parse.urlencode(form).encode(), timeout=60).read()
    hobbit = next(d for d in connector(books / "metadata.db").fetch(None) if d.id == "1")

    path = hobbit.link.removeprefix("https://calibre.example.org")
    page = opener.open(base + path, timeout=60)
    # The book's own detail page (cps/templates/detail.html), not a page it was redirected to.
    assert (page.status, page.geturl()) == (200, base + path)
    assert '<h2 id="title">The Hobbit</h2>' in page.read().decode()
    served = opener.open(base + "/cover/1", timeout=60)
    assert served.headers.get_content_type() == "image/jpeg"
    assert served.read() == connector(books / "metadata.db").cover("1")[1]  # the file the connector reads itself

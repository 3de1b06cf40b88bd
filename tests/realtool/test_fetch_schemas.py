"""scripts/fetch-schemas.sh for real: the schemas from ../shared when there, else downloaded and checked.

A loopback HTTP server stands in for raw.githubusercontent.com (the list's URLs are pointed at it), so the
download, the sha256 check and the single message when a schema cannot be had are all exercised here.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import SCHEMA_LIST
from tests.edge_support import schema_path

pytestmark = pytest.mark.realtool
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "fetch-schemas.sh"


def _entries() -> list[tuple[str, str, str]]:
    rows = [line.split("\t") for line in SCHEMA_LIST.read_text().splitlines() if line and not line.startswith("#")]
    return [(name, sha, url) for name, sha, url in rows]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The published files, served on loopback under the same names."""
    root = tmp_path / "upstream"
    root.mkdir()
    for name, _, _ in _entries():
        (root / name).write_bytes(schema_path(name).read_bytes())
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _run(tmp_path: Path, base: str, shared: Path) -> subprocess.CompletedProcess[str]:
    listing = tmp_path / "schemas.tsv"
    listing.write_text("".join(f"{name}\t{sha}\t{base}/{name}\n" for name, sha, _ in _entries()))
    env = {
        "PATH": os.environ["PATH"],
        "MEDIA_SERVER_SCHEMAS": str(shared),
        "MEDIA_SERVER_SCHEMA_CACHE": str(tmp_path / "cache"),
        "MEDIA_SERVER_SCHEMA_LIST": str(listing),
    }
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, check=False)


def test_the_pinned_sums_are_those_of_the_shared_copies() -> None:
    for name, sha, url in _entries():
        assert hashlib.sha256(schema_path(name).read_bytes()).hexdigest() == sha, name
        assert url.startswith("https://raw.githubusercontent.com/") and "/" + name.split("-")[0] in url.lower()


def test_downloads_and_checks_each_schema_when_shared_has_none(served: tuple[Path, str], tmp_path: Path) -> None:
    _, base = served
    done = _run(tmp_path, base, tmp_path / "no-shared")
    assert done.returncode == 0, done.stderr
    for name, sha, _ in _entries():
        assert hashlib.sha256((tmp_path / "cache" / name).read_bytes()).hexdigest() == sha
    again = _run(tmp_path, base, tmp_path / "no-shared")
    assert again.returncode == 0 and again.stdout == ""  # already there: nothing downloaded


def test_a_tampered_download_is_refused_with_one_message(served: tuple[Path, str], tmp_path: Path) -> None:
    root, base = served
    name = _entries()[0][0]
    (root / name).write_text('{"tampered": true}')
    done = _run(tmp_path, base, tmp_path / "no-shared")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and f"missing {name}:" in done.stderr and "../shared/schemas" in done.stderr
    assert not (tmp_path / "cache" / name).exists()


def test_unreachable_source_stops_at_once_naming_every_missing_schema(tmp_path: Path) -> None:
    done = _run(tmp_path, "http://127.0.0.1:9", tmp_path / "no-shared")
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert all(name in done.stderr for name, _, _ in _entries())


def test_shared_copies_are_used_without_downloading(tmp_path: Path) -> None:
    shared = schema_path(_entries()[0][0]).parent
    done = _run(tmp_path, "http://127.0.0.1:9", shared)
    assert done.returncode == 0 and done.stdout == "" and not (tmp_path / "cache").exists()

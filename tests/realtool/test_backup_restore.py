"""Back up a fixture site and PostgreSQL with the generated scripts, destroy it, restore it.

Real restic, PostgreSQL 15 and sqlite3; everything on 127.0.0.1 and in temp dirs.
The restore time and size printed here are the start of the README's RTO figure.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realtool.backup_env import BackupSite, PostgresServer, make_site, require

pytestmark = pytest.mark.realtool

BACKED_UP = {
    "config/sonarr/config.xml": 2_000,
    "config/jellyfin/config/system.xml": 3_000,
    "config/jellyfin/metadata/library/ab/movie.nfo": 5_000,
    "config/traefik/dynamic/routers.yml": 1_000,
    "data/media/photos/2024/IMG_0001.jpg": 400_000,
    "data/media/movies/Film (2020)/Film (2020).mkv": 1_500_000,
    "data/media/music/Artist/Album/01.flac": 600_000,
}
NOT_BACKED_UP = (
    "config/sonarr/logs/sonarr.txt",
    "config/sonarr/MediaCover/1/poster.jpg",
    "config/sonarr/Backups/scheduled/sonarr_backup.zip",
    "data/torrents/movies/incomplete.mkv.part",
)


def _write(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size) if size else b"")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(db: Path) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT id, title FROM series ORDER BY id").fetchall()


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    with PostgresServer.running() as server:
        yield server


def populate(site: BackupSite, pg: PostgresServer) -> dict[str, str]:
    for rel, size in BACKED_UP.items():
        _write(site.root / rel, size)
    for rel in NOT_BACKED_UP:
        _write(site.root / rel, 1000)
    with contextlib.closing(sqlite3.connect(site.config_root / "sonarr" / "sonarr.db")) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE series (id INTEGER PRIMARY KEY, title TEXT)")
        conn.executemany("INSERT INTO series (title) VALUES (?)", [(f"show {i}",) for i in range(500)])
        conn.commit()
    pg.psql("CREATE ROLE authelia LOGIN PASSWORD 'a';\nCREATE DATABASE authelia OWNER authelia")
    pg.psql("CREATE DATABASE jellystat")
    pg.psql("CREATE ROLE immich SUPERUSER LOGIN PASSWORD 'immich-test-pw';\nCREATE DATABASE immich OWNER immich")
    pg.psql(
        "CREATE TABLE sessions (id serial PRIMARY KEY, who text, at timestamptz DEFAULT now());"
        "INSERT INTO sessions (who) SELECT 'user' || g FROM generate_series(1, 2000) g",
        database="authelia",
    )
    pg.psql(
        "CREATE TABLE assets (id serial PRIMARY KEY, path text); "
        "INSERT INTO assets (path) SELECT '/photos/' || g || '.jpg' FROM generate_series(1, 3000) g",
        database="immich",
        user="immich",
        password="immich-test-pw",
    )
    return {rel: _sha(site.root / rel) for rel in BACKED_UP}


def test_backup_destroy_restore_roundtrip(tmp_path: Path, pg: PostgresServer) -> None:
    require("restic", "jq", "sqlite3", "pg_dump", "pg_restore", "flock")
    site = make_site(tmp_path, pg)
    expected = populate(site, pg)
    sessions = pg.psql("SELECT md5(string_agg(who || id, ',' ORDER BY id)) FROM sessions", database="authelia")
    assets = pg.psql("SELECT count(*), md5(string_agg(path, ',' ORDER BY id)) FROM assets", database="immich")
    sonarr_rows = _rows(site.config_root / "sonarr" / "sonarr.db")

    init = site.run("init-repositories.sh")
    assert init.returncode == 0, init.stderr
    sets = site.site_json()["sets"]
    assert sets == ["databases", "config", "metadata", "originals", "media"]
    started = time.monotonic()
    for name in sets:
        result = site.run("run-set.sh", name)
        assert result.returncode == 0, f"{name}: {result.stderr}"
    backup_seconds = time.monotonic() - started
    assert len(site.snapshots("config")) == 1

    # The weekly jobs on the same repositories: a data-subset check and the restore drill.
    check = site.run("check.sh", "config", "originals")
    assert check.returncode == 0, check.stderr
    assert 'media_server_backup_check_success{set="config",repository="local"} 1' in site.metrics_text("check")
    drill = site.run("drill.sh", "databases", "config", "originals")
    assert drill.returncode == 0, drill.stderr
    drill_metrics = site.metrics_text("restore_drill")
    for name in ("databases", "config", "originals"):
        assert f'media_server_backup_restore_drill_success{{set="{name}",repository="local"}} 1' in drill_metrics
    assert 'media_server_backup_restore_drill_files_compared{set="originals",repository="local"} 1' in drill_metrics
    assert not list(Path(site.layout.staging).glob("drill-*")), "the drill leaves no scratch behind"
    # A backup that no longer matches its unchanged-looking source fails the drill.
    photo = site.data_root / "media/photos/2024/IMG_0001.jpg"
    original, stat = photo.read_bytes(), photo.stat()
    photo.write_bytes(b"x" * stat.st_size)
    os.utime(photo, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    mismatch = site.run("drill.sh", "originals")
    assert mismatch.returncode == 1 and "MISMATCH" in mismatch.stderr
    assert 'drill_success{set="originals",repository="local"} 0' in site.metrics_text("restore_drill")
    photo.write_bytes(original)

    # Lose the server's state: delete and corrupt files, drop and damage databases.
    (site.config_root / "sonarr" / "config.xml").unlink()
    (site.config_root / "sonarr" / "sonarr.db").write_bytes(b"garbage" * 100)
    photo = site.data_root / "media/photos/2024/IMG_0001.jpg"
    photo.write_bytes(b"\0" * photo.stat().st_size)
    (site.data_root / "media/movies/Film (2020)/Film (2020).mkv").unlink()
    (site.root / "config/jellyfin/metadata/library/ab/movie.nfo").write_text("corrupted")
    for rel in NOT_BACKED_UP:
        (site.root / rel).unlink()
    pg.psql("DROP TABLE sessions", database="authelia")
    pg.psql("UPDATE assets SET path = 'lost'", database="immich", user="immich", password="immich-test-pw")

    started = time.monotonic()
    everything = site.run("restore.sh", "--all", "--target", "/")
    assert everything.returncode == 0, everything.stderr
    sonarr = site.run("restore.sh", "--service", "sonarr", "--target", "/")
    assert sonarr.returncode == 0, sonarr.stderr
    scratch = tmp_path / "restore-scratch"
    for app in ("authelia", "immich-server"):
        loaded = site.run("restore.sh", "--database", app, "--load", "--target", str(scratch))
        assert loaded.returncode == 0, loaded.stderr
    restore_seconds = time.monotonic() - started

    for rel, digest in expected.items():
        assert _sha(site.root / rel) == digest, f"{rel} is not byte-identical after the restore"
    for rel in NOT_BACKED_UP:
        assert not (site.root / rel).exists(), f"{rel} is a cache/download and must not be in the backup"
    assert _rows(site.config_root / "sonarr" / "sonarr.db") == sonarr_rows
    assert pg.psql("SELECT md5(string_agg(who || id, ',' ORDER BY id)) FROM sessions", database="authelia") == sessions
    assert pg.psql("SELECT count(*), md5(string_agg(path, ',' ORDER BY id)) FROM assets", database="immich") == assets

    restored = sum((site.root / rel).stat().st_size for rel in expected)
    repository = sum(p.stat().st_size for p in Path(site.layout.repository).rglob("*") if p.is_file())
    print(
        f"\nRTO fixture: backup of 5 sets {backup_seconds:.1f}s; restore (all files, sonarr with its SQLite "
        f"database, 2 PostgreSQL databases loaded) {restore_seconds:.1f}s; {restored} bytes of files restored "
        f"(+ SQLite and 5000 PostgreSQL rows); repositories {repository} bytes"
    )

"""SQLite consistency: a database written to during the backup restores intact.

The runner reads the config root through a read-only bind mount (as the container does); a
background process keeps inserting into a WAL database the whole time. The restored copy must
pass `PRAGMA integrity_check` and hold at least the rows that existed when the backup started.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realtool.backup_env import make_site, require, wait_for

pytestmark = pytest.mark.realtool

WRITER = """
import sqlite3, sys, time, pathlib
db, stop = sys.argv[1], pathlib.Path(sys.argv[2])
conn = sqlite3.connect(db, timeout=30)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, payload TEXT)")
conn.commit()
while not stop.exists():
    conn.executemany("INSERT INTO events (payload) VALUES (?)", [("x" * 512,)] * 200)
    conn.commit()
    time.sleep(0.002)
conn.close()
"""

ONLY_DATABASES = {
    "tiers": {"edge": False, "monitoring": False},
    "services": {
        name: {"enabled": False}
        for name in ("immich-server", "immich-machine-learning", "immich-postgres", "immich-redis")
    },
    "backup": {"sets": {s: {"enabled": s == "databases"} for s in ("config", "metadata", "originals", "media")}},
}


def _count(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


def _started(db: Path) -> bool:
    try:
        return db.exists() and _count(db) > 2000
    except sqlite3.OperationalError:  # the writer has not created its table yet
        return False


@contextlib.contextmanager
def _read_only_view(source: Path, view: Path) -> Iterator[bool]:
    """A read-only bind mount of `source` at `view`, like the runner's /source/config."""
    view.mkdir(parents=True)
    bound = subprocess.run(["mount", "--bind", str(source), str(view)], check=False).returncode == 0
    if bound:
        bound = subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=False).returncode == 0
    assert bound, "tests run as root: a read-only bind mount is needed to read the database like the runner"
    try:
        yield bound
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)


def test_sqlite_written_during_backup_restores_consistent(tmp_path: Path) -> None:
    require("restic", "jq", "sqlite3", "flock", "mount")
    config_root = tmp_path / "config"
    db = config_root / "sonarr" / "sonarr.db"
    db.parent.mkdir(parents=True)
    stop = tmp_path / "stop-writer"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(stop)])
    try:
        wait_for(lambda: _started(db), timeout=30)
        with _read_only_view(config_root, tmp_path / "ro-config"):
            site = make_site(tmp_path, config=ONLY_DATABASES, config_mount=tmp_path / "ro-config")
            assert site.run("init-repositories.sh").returncode == 0
            rows_at_start = _count(db)
            backup = site.run("run-set.sh", "databases")
            rows_after = _count(db)
        assert backup.returncode == 0, backup.stderr
        assert writer.poll() is None, "the writer kept writing through the backup"
    finally:
        stop.touch()
        writer.wait(timeout=30)
    assert rows_after > rows_at_start, "rows were inserted while the backup ran"

    scratch = tmp_path / "restored"
    restore = site.run("restore.sh", "--database", "sonarr", "--target", str(scratch))
    assert restore.returncode == 0, restore.stderr
    copy = scratch / str(site.config_root / db.relative_to(config_root)).lstrip("/")  # the path the site names
    with contextlib.closing(sqlite3.connect(copy)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        restored_rows = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    assert rows_at_start <= restored_rows <= rows_after
    assert restored_rows % 200 == 0, "only whole transactions are in the copy"

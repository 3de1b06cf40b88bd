"""Failures: each run exits non-zero, writes a failure metric, and leaves snapshots and live data alone.

Wrong repository password, an unreachable repository (a missing local one, an SFTP one whose
port refuses), a database that refuses connections, and a full disk (a 3 MiB tmpfs under the
repository). Plus: the metrics files parse with prometheus-client's text parser.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from render.backup import METRIC_NAMES
from tests.realtool.backup_env import BackupSite, free_port, make_site, require

pytestmark = pytest.mark.realtool

SMALL = {
    "tiers": {"edge": False, "monitoring": False},
    "services": {"immich-server": {"enabled": False}},
    "backup": {"sets": {"metadata": {"enabled": False}, "originals": {"enabled": False}, "media": {"enabled": False}}},
}
"""Two sets (databases: SQLite copies only; config), for fast runs."""
ONLY_CONFIG = {**SMALL, "backup": {"sets": {**SMALL["backup"]["sets"], "databases": {"enabled": False}}}}


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _samples(site: BackupSite, name: str) -> dict[tuple[str, str, str], float]:
    """(metric, set, repository) -> value, parsed with the Prometheus text parser."""
    out = {}
    for family in text_string_to_metric_families(site.metrics_text(name)):
        for sample in family.samples:
            out[(sample.name, sample.labels["set"], sample.labels["repository"])] = sample.value
    return out


def _populate(site: BackupSite) -> None:
    sonarr = site.config_root / "sonarr"
    sonarr.mkdir(parents=True, exist_ok=True)
    (sonarr / "config.xml").write_text("<Config><ApiKey>abc</ApiKey></Config>\n")
    with contextlib.closing(sqlite3.connect(sonarr / "sonarr.db")) as conn:
        conn.execute("CREATE TABLE series (id INTEGER PRIMARY KEY, title TEXT)")
        conn.executemany("INSERT INTO series (title) VALUES (?)", [(f"show {i}",) for i in range(100)])
        conn.commit()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> BackupSite:
    """One site with a successful run of both sets; tests using it leave it as they found it."""
    require("restic", "jq", "sqlite3", "flock")
    site = make_site(tmp_path_factory.mktemp("faults"), config=SMALL)
    _populate(site)
    init = site.run("init-repositories.sh")
    assert init.returncode == 0, init.stderr
    for name in ("config", "databases"):
        first = site.run("run-set.sh", name)
        assert first.returncode == 0, first.stderr
    return site


def test_metrics_parse_and_carry_every_series(site: BackupSite) -> None:
    for name in ("config", "databases"):
        samples = _samples(site, name)
        assert {metric for metric, _, _ in samples} == set(METRIC_NAMES)
        assert {(s, r) for _, s, r in samples} == {(name, "local")}
        assert samples[("media_server_backup_success", name, "local")] == 1
        assert samples[("media_server_backup_snapshots", name, "local")] == 1
        assert samples[("media_server_backup_bytes_added", name, "local")] > 0
        last = samples[("media_server_backup_last_success_timestamp_seconds", name, "local")]
        assert last >= samples[("media_server_backup_last_run_timestamp_seconds", name, "local")] > 0
    assert not list(site.metrics_dir.glob(".tmp.*")), "metrics are written through a temp file and a rename"


def test_wrong_password(site: BackupSite) -> None:
    before = _samples(site, "config")
    snapshots = site.snapshots("config")
    live = _tree_digest(site.config_root)
    result = site.run("run-set.sh", "config", env={"RESTIC_PASSWORD": "not-the-password"})
    assert result.returncode != 0
    assert "FAILED" in result.stderr
    after = _samples(site, "config")
    assert after[("media_server_backup_success", "config", "local")] == 0
    key = ("media_server_backup_last_success_timestamp_seconds", "config", "local")
    assert after[key] == before[key] > 0, "the last success time survives a failed run"
    assert site.snapshots("config") == snapshots
    assert _tree_digest(site.config_root) == live


def test_unreachable_local_repository(site: BackupSite) -> None:
    snapshots = site.snapshots("config")
    live = _tree_digest(site.config_root)
    conf = site.site_json()
    real = conf["repositories"][0]["url"]
    conf["repositories"][0]["url"] = str(site.root / "unmounted-disk" / "restic")
    site.write_site_json(conf)
    result = site.run("run-set.sh", "config")
    assert result.returncode != 0
    assert _samples(site, "config")[("media_server_backup_success", "config", "local")] == 0
    assert not (site.root / "unmounted-disk").exists(), "a job never creates a repository"
    conf["repositories"][0]["url"] = real
    site.write_site_json(conf)
    assert site.snapshots("config") == snapshots
    assert _tree_digest(site.config_root) == live


def test_unreachable_offsite_repository(tmp_path: Path) -> None:
    require("restic", "ssh")
    port = free_port()  # nothing listens: the connection is refused
    offsite = {
        "name": "offsite",
        "kind": "sftp",
        "host": "127.0.0.1",
        "port": port,
        "user": "backup",
        "path": "/srv/restic",
        "hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0cMVt0d6vNRiX0i5cM1qk0D0Y0xG4yKQ2iHk4n7Bq2",
        "sets": ["config"],
    }
    config: dict[str, Any] = {**ONLY_CONFIG, "backup": {**ONLY_CONFIG["backup"], "offsite": [offsite]}}
    site = make_site(tmp_path, config=config)
    _populate(site)
    init = site.run("init-repositories.sh")
    assert init.returncode == 1, "the off-site repository cannot be reached, and init says so"
    result = site.run("run-set.sh", "config")
    assert result.returncode == 1
    samples = _samples(site, "config")
    assert samples[("media_server_backup_success", "config", "local")] == 1
    assert samples[("media_server_backup_success", "config", "offsite")] == 0
    assert samples[("media_server_backup_last_success_timestamp_seconds", "config", "offsite")] == 0
    assert len(site.snapshots("config")) == 1


def test_database_refusing_connections(tmp_path: Path) -> None:
    require("restic", "pg_dump", "sqlite3")
    refusing = {**SMALL, "tiers": {"edge": True, "monitoring": False}}  # authelia: a database on postgres
    site = make_site(tmp_path, config=refusing, db_port=free_port())  # nothing listens there
    _populate(site)
    assert site.run("init-repositories.sh").returncode == 0
    seeded = site.restic(
        "databases",
        "backup",
        "--host",
        site.site_json()["host"],
        "--tag",
        "set=databases",
        str(site.config_root / "sonarr"),
    )
    assert seeded.returncode == 0, seeded.stderr
    snapshots = site.snapshots("databases")
    live = _tree_digest(site.config_root)
    result = site.run("run-set.sh", "databases", env={"PGPASSWORD_POSTGRES": "pw"})
    assert result.returncode == 1
    assert "pg_dump of authelia on postgres failed" in result.stderr
    samples = _samples(site, "databases")
    assert samples[("media_server_backup_success", "databases", "local")] == 0
    assert samples[("media_server_backup_last_success_timestamp_seconds", "databases", "local")] == 0
    after = {s["id"]: s for s in site.snapshots("databases")}
    assert all(after.get(s["id"]) == s for s in snapshots), "existing snapshots are untouched"
    assert _tree_digest(site.config_root) == live


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[None]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=False)
    assert mounted.returncode == 0, "tests run as root and need mount(8) for the full-disk case"
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_full_disk(tmp_path: Path) -> None:
    require("restic", "mount")
    repository = tmp_path / "backups" / "restic"
    with _tmpfs(repository, "3m"):
        site = make_site(tmp_path, config=ONLY_CONFIG)
        _populate(site)
        assert site.run("init-repositories.sh").returncode == 0
        assert site.run("run-set.sh", "config").returncode == 0
        snapshots = site.snapshots("config")
        big = site.config_root / "sonarr" / "MediaCover-not-excluded.bin"
        big.write_bytes(os.urandom(6 * 1024 * 1024))
        live = _tree_digest(site.config_root)
        result = site.run("run-set.sh", "config")
        assert result.returncode != 0
        assert "no space left on device" in result.stderr
        assert _samples(site, "config")[("media_server_backup_success", "config", "local")] == 0
        assert site.snapshots("config") == snapshots
        check = site.restic("config", "check")
        assert check.returncode == 0, check.stderr
        assert _tree_digest(site.config_root) == live

"""A backup runner laid out in temporary directories, driven by the real scripts and tools.

`BackupSite` renders the runner's configuration with the same pure functions the
BackupTier uses (only the mount points differ: a `RunnerLayout` of temp dirs), and
runs scripts/backup/*.sh with bash, restic, pg_dump and sqlite3 from the system.
`PostgresServer` is a throwaway cluster on 127.0.0.1, run as an unprivileged user.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.settings import Settings
from config.stack import parse_settings
from render.backup import RunnerLayout, password_env, render_runner_config
from tests.conftest import minimal_config

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "backup"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "nobody"


def require(*tools: str) -> None:
    """Fail (never skip) when a tool the test drives is missing."""
    missing = [t for t in tools if shutil.which(t) is None]
    assert not missing, f"missing tools {missing}: run `make setup-system` (scripts/setup-system.sh)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A PostgreSQL 15 cluster in a temp dir on 127.0.0.1, password (SCRAM) authentication."""

    root: Path
    port: int
    password: str = "pg-test-superuser-pw"

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[PostgresServer]:
        assert (PG_BIN / "initdb").exists(), f"PostgreSQL 15 is not installed at {PG_BIN}: run make setup-system"
        require("runuser", "psql", "pg_dump", "pg_restore")
        root = Path(tempfile.mkdtemp(prefix="ms-backup-pg-"))
        root.chmod(0o755)
        server = cls(root=root, port=free_port())
        (root / "pw").write_text(server.password + "\n")
        shutil.chown(root, PG_USER)
        shutil.chown(root / "pw", PG_USER)
        data = root / "data"
        as_pg = ["runuser", "-u", PG_USER, "--"]
        subprocess.run(
            [
                *as_pg,
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                f"--pwfile={root / 'pw'}",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            check=True,
            capture_output=True,
        )
        opts = f"-h 127.0.0.1 -p {server.port} -k {root} -c fsync=off"
        subprocess.run(
            [*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"],
            check=True,
            capture_output=True,
        )
        try:
            yield server
        finally:
            subprocess.run(
                [*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                check=False,
                capture_output=True,
            )
            shutil.rmtree(root, ignore_errors=True)

    def psql(self, sql: str, database: str = "postgres", user: str = "postgres", password: str | None = None) -> str:
        """Run statements separated by ';\n' one by one (CREATE DATABASE cannot share a transaction)."""
        commands = [arg for statement in sql.split(";\n") for arg in ("-c", statement)]
        result = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                user,
                "-d",
                database,
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                *commands,
            ],
            env={**os.environ, "PGPASSWORD": password or self.password},
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()


@dataclass
class BackupSite:
    """Settings + rendered runner configuration + the scripts, in one temp tree."""

    root: Path
    settings: Settings
    layout: RunnerLayout
    env: dict[str, str] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return Path(self.layout.conf_dir)

    @property
    def config_root(self) -> Path:
        return Path(self.settings.paths.config_root)

    @property
    def data_root(self) -> Path:
        return Path(self.settings.paths.data_root)

    @property
    def metrics_dir(self) -> Path:
        return Path(self.layout.metrics)

    def render(self) -> None:
        for rel, text in render_runner_config(self.settings, "test", self.layout).items():
            path = self.conf / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    def site_json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.conf / "site.json").read_text())
        return data

    def write_site_json(self, data: dict[str, Any]) -> None:
        (self.conf / "site.json").write_text(json.dumps(data))

    def run(self, script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPTS / script), *args],
            check=False,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )

    def restic(self, set_name: str, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "RESTIC_PASSWORD": password or self.env["RESTIC_PASSWORD"]}
        return subprocess.run(
            ["restic", "--repo", f"{self.layout.repository}/{set_name}", *args],
            check=False,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def snapshots(self, set_name: str) -> list[dict[str, Any]]:
        result = self.restic(set_name, "snapshots", "--json")
        assert result.returncode == 0, result.stderr
        snaps: list[dict[str, Any]] = json.loads(result.stdout)
        return snaps

    def metrics_text(self, name: str) -> str:
        return (self.metrics_dir / f"media_server_backup_{name}.prom").read_text()


def _site_base(tmp: Path) -> Path:
    """`tmp` seen through a path the settings accept: pytest's temp dirs live under /tmp, a system tree no storage
    root may use (config/host_paths.py), so the roots are named through a symlink in a /var/tmp dir of our own."""
    holder = Path(tempfile.mkdtemp(prefix="ms-site-", dir="/var/tmp"))
    atexit.register(shutil.rmtree, holder, True)
    link = holder / "site"
    link.symlink_to(tmp, target_is_directory=True)
    return link


def make_site(
    tmp: Path,
    pg: PostgresServer | None = None,
    config: dict[str, Any] | None = None,
    config_mount: Path | None = None,
    staging: Path | None = None,
    db_port: int | None = None,
) -> BackupSite:
    """A site whose paths are under `tmp`. `config_mount`: where the runner sees the config root
    (e.g. a read-only bind mount of it), like the container's /source/config."""
    roots = {name: _site_base(tmp) / name for name in ("config", "data", "cache", "backups")}
    for path in roots.values():
        path.mkdir(parents=True, exist_ok=True)
    raw = minimal_config(
        paths={
            "configRoot": str(roots["config"]),
            "dataRoot": str(roots["data"]),
            "cacheRoot": str(roots["cache"]),
            "backupRoot": str(roots["backups"]),
        },
        **(config or {}),
    )
    settings = parse_settings(raw)
    endpoints = {}
    port = pg.port if pg is not None else db_port
    if port is not None:
        endpoints = {"postgres": ("127.0.0.1", port), "immich-postgres": ("127.0.0.1", port)}
    layout = RunnerLayout(
        config=str(config_mount or roots["config"]),
        data=str(roots["data"]),
        staging=str(staging or roots["backups"] / "staging"),
        repository=str(roots["backups"] / "restic"),
        metrics=str(roots["backups"] / "metrics"),
        conf_dir=str(tmp / "runner"),
        database_endpoints=endpoints,
    )
    Path(layout.metrics).mkdir(parents=True, exist_ok=True)
    Path(layout.staging).mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "TZ": "UTC",
        "BACKUP_CONF_DIR": str(tmp / "runner"),
        "RESTIC_PASSWORD": "restic-test-repository-password",
        "RESTIC_CACHE_DIR": str(tmp / "restic-cache"),
        "PGCONNECT_TIMEOUT": "5",
    }
    if pg is not None:
        env[password_env("postgres")] = pg.password
        env[password_env("immich-postgres")] = "immich-test-pw"
    site = BackupSite(root=tmp, settings=settings, layout=layout, env=env)
    site.render()
    return site


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)

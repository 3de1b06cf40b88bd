"""Backup sets, repositories and the runner's crontab: pure projections of settings + catalog.

What to back up is read from the catalog, never listed here: each mount's role
puts its host path in a set (config and metadata daily, originals daily, media
weekly; caches, downloads, scratch and live database files never), each
`DatabaseSpec` becomes a dump (PostgreSQL, with pg_dump through its server) or
an online-backup copy (SQLite), and `backup_exclude` globs are skipped. Every
set is its own restic repository (local, plus each off-site repository that
copies it), so a long media run never holds a lock the hourly database run
needs, and retention is per set.

The runner sees the sources at fixed mount points (`RunnerLayout`); tests pass
a layout of temporary directories to the same functions.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from config.settings import BACKUP_SETS, OffsiteRepository, Settings
from config.spec import MountRole, MountSpec, ServiceSpec, StorageRoot, Tier
from render.serialise import to_json

ROLE_SETS: Mapping[MountRole, str] = {
    MountRole.CONFIG: "config",
    MountRole.METADATA: "metadata",
    MountRole.ORIGINALS: "originals",
    MountRole.MEDIA: "media",
}
"""Mount roles that are backed up, and their set. CACHE, DOWNLOADS, SCRATCH and DATABASE are not copied."""

SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")
CONF_DIR = "/opt/backup"
BIN_DIR = f"{CONF_DIR}/bin"
ENV_FILE = "/run/backup/env"
SECRETS_DIR = "/run/backup"
PASSWORD_ENV_PREFIX = "PGPASSWORD_"  # noqa: S105 - a variable name, not a password
METRIC_NAMES = (
    "media_server_backup_last_success_timestamp_seconds",
    "media_server_backup_last_run_timestamp_seconds",
    "media_server_backup_duration_seconds",
    "media_server_backup_bytes_added",
    "media_server_backup_snapshots",
    "media_server_backup_success",
)
"""The series every backup run writes per (set, repository); the monitoring tier alerts on them."""


@dataclass(frozen=True)
class RunnerLayout:
    """Where the runner sees things. Defaults are the backup container's mount points."""

    config: str = "/source/config"
    data: str = "/source/data"
    staging: str = "/staging"
    repository: str = "/repository"
    metrics: str = "/metrics"
    conf_dir: str = CONF_DIR
    database_endpoints: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    """Server catalog name -> (host, port); default: the server's network alias, port 5432."""

    def endpoint(self, server: str) -> tuple[str, int]:
        return self.database_endpoints.get(server, (server, 5432))


def password_env(server: str) -> str:
    """The environment variable that holds a PostgreSQL server's password in the runner."""
    return PASSWORD_ENV_PREFIX + server.upper().replace("-", "_")


def runner_path(layout: RunnerLayout, spec: ServiceSpec, mount: MountSpec) -> str | None:
    """Where the runner sees a mount's host source; None for roots it does not read."""
    if mount.root is StorageRoot.CONFIG:
        base = PurePosixPath(layout.config) / spec.name
    elif mount.root is StorageRoot.DATA:
        base = PurePosixPath(layout.data)
    else:
        return None
    return str(base / mount.source) if mount.source else str(base)


def _inside(path: str, parent: str) -> bool:
    return path != parent and path.startswith(parent.rstrip("/") + "/")


def _covered(path: str, roots: list[str]) -> bool:
    return any(path == root or _inside(path, root) for root in roots)


def _server_user(settings: Settings, server: str) -> str:
    """The server's owner role: the image's POSTGRES_USER, postgres by default."""
    return settings.service(server).env.get("POSTGRES_USER", "postgres")


def _sources(settings: Settings, layout: RunnerLayout) -> list[tuple[ServiceSpec, MountSpec, str]]:
    out = []
    for spec in settings.enabled_services():
        if spec.tier is Tier.BACKUP:
            continue
        for mount in spec.mounts:
            path = runner_path(layout, spec, mount)
            # A view belongs to whoever owns the root it looks at; it neither adds nor excludes anything.
            if path is not None and mount.role is not MountRole.VIEW:
                out.append((spec, mount, path))
    return out


def _sqlite_paths(settings: Settings, layout: RunnerLayout) -> list[tuple[ServiceSpec, str, str]]:
    """(app, database name, runner path) of every enabled app's SQLite database."""
    out = []
    for spec in settings.enabled_services():
        for db in spec.databases:
            if db.engine == "sqlite":
                out.append((spec, db.name, str(PurePosixPath(layout.config) / spec.name / db.name)))
    return out


def _file_set(settings: Settings, layout: RunnerLayout, name: str) -> dict[str, Any]:
    sources = _sources(settings, layout)
    mine = [(spec, path) for spec, mount, path in sources if ROLE_SETS.get(mount.role) == name]
    roots = sorted({path for _, path in mine})
    paths = [p for p in roots if not any(_inside(p, other) for other in roots)]
    exclude: set[str] = set()
    # Anything of another role nested inside this set's paths: caches, live database files, other sets.
    for _, mount, path in sources:
        if ROLE_SETS.get(mount.role) != name and _covered(path, paths) and path not in paths:
            exclude.add(path)
    data = PurePosixPath(layout.data)
    for download in settings.paths.download_dirs:
        if _covered(str(data / download), paths):
            exclude.add(str(data / download))
    for spec in settings.enabled_services():
        config_dir = str(PurePosixPath(layout.config) / spec.name)
        if not (_covered(config_dir, paths) or any(_inside(p, config_dir) for p in paths)):
            continue
        for glob in spec.backup_exclude:
            exclude.add(f"{config_dir}/{glob}")
            if "/" not in glob:
                exclude.add(f"{config_dir}/**/{glob}")
    # Live SQLite files are never copied: the databases set holds their online-backup copies.
    for _, _, db_path in _sqlite_paths(settings, layout):
        if _covered(db_path, paths):
            exclude.update(db_path + suffix for suffix in SQLITE_SIDE_FILES)
    services: dict[str, list[str]] = {}
    for spec, path in mine:
        services.setdefault(spec.name, [])
        if path not in services[spec.name]:
            services[spec.name].append(path)
    return {
        "paths": paths,
        "exclude": sorted(exclude),
        "services": {svc: sorted(p) for svc, p in sorted(services.items())},
        "postgres": [],
        "postgresGlobals": [],
        "sqlite": [],
    }


def _database_set(settings: Settings, layout: RunnerLayout) -> dict[str, Any]:
    dumps: list[dict[str, Any]] = []
    servers: dict[str, dict[str, Any]] = {}
    for spec in settings.enabled_services():
        for db in spec.databases:
            if db.engine != "postgres" or not db.server or not settings.is_enabled(db.server):
                continue
            host, port = layout.endpoint(db.server)
            login = {"server": db.server, "host": host, "port": port, "user": _server_user(settings, db.server)}
            login["passwordEnv"] = password_env(db.server)
            servers.setdefault(db.server, {**login, "file": f"postgres/{db.server}/globals.sql"})
            dumps.append(
                {**login, "service": spec.name, "database": db.name, "file": f"postgres/{db.server}/{db.name}.dump"}
            )
    sqlite = [
        {"service": spec.name, "name": name, "source": path, "file": f"sqlite/{spec.name}/{name}"}
        for spec, name, path in _sqlite_paths(settings, layout)
    ]
    services: dict[str, list[str]] = {}
    root = PurePosixPath(layout.staging) / "databases"
    for item in [*dumps, *sqlite]:
        services.setdefault(item["service"], []).append(str(root / item["file"]))
    return {
        "paths": [str(root)] if dumps or sqlite else [],
        "exclude": [],
        "services": {svc: sorted(p) for svc, p in sorted(services.items())},
        "postgres": sorted(dumps, key=lambda d: (d["server"], d["database"])),
        "postgresGlobals": [servers[name] for name in sorted(servers)],
        "sqlite": sqlite,
    }


def offsite_url(repo: OffsiteRepository) -> str:
    """The repository's base location; each set lives at <base>/<set>."""
    path = repo.path.strip("/") if repo.kind != "sftp" else repo.path
    if repo.kind == "s3":
        return f"s3:{repo.endpoint}/{repo.bucket}/{path}"
    if repo.kind == "b2":
        return f"b2:{repo.bucket}:{path}"
    if repo.kind == "sftp":
        return f"sftp:{repo.user}@{repo.host}:{path}"
    return f"rclone:{repo.remote}:{path}"


def offsite_options(repo: OffsiteRepository, layout: RunnerLayout) -> list[str]:
    """restic `-o` options for the repository (the SSH command for SFTP: pinned host key, our key)."""
    if repo.kind != "sftp":
        return []
    ssh = [
        "ssh",
        "-i",
        f"{SECRETS_DIR}/sftp_key",
        "-o",
        f"UserKnownHostsFile={layout.conf_dir}/known_hosts",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-p",
        str(repo.port),
        f"{repo.user}@{repo.host}",
        "-s",
        "sftp",
    ]
    return ["sftp.command=" + " ".join(ssh)]


def render_known_hosts(settings: Settings) -> str:
    """known_hosts for SFTP repositories: the configured host keys, nothing learned on first use."""
    lines = []
    for repo in settings.backup.offsite:
        if repo.kind == "sftp" and repo.host and repo.host_key:
            host = repo.host if repo.port == 22 else f"[{repo.host}]:{repo.port}"
            lines.append(f"{host} {repo.host_key}\n")
    return "".join(lines)


def render_repositories(settings: Settings, layout: RunnerLayout) -> list[dict[str, Any]]:
    repos: list[dict[str, Any]] = [
        {"name": "local", "kind": "local", "url": layout.repository, "options": [], "sets": list(BACKUP_SETS)}
    ]
    for repo in settings.backup.offsite:
        repos.append(
            {
                "name": repo.name,
                "kind": repo.kind,
                "url": offsite_url(repo),
                "options": offsite_options(repo, layout),
                "sets": list(repo.sets),
            }
        )
    return repos


def backup_sets(settings: Settings, layout: RunnerLayout | None = None) -> dict[str, dict[str, Any]]:
    """Every enabled set that has something to back up, by name: the manifest the job scripts read."""
    layout = layout or RunnerLayout()
    repositories = render_repositories(settings, layout)
    out: dict[str, dict[str, Any]] = {}
    for name in BACKUP_SETS:
        conf = settings.backup.sets.get(name)
        if not conf.enabled:
            continue
        body = _database_set(settings, layout) if name == "databases" else _file_set(settings, layout, name)
        if not body["paths"]:
            continue
        out[name] = {
            "set": name,
            "schedule": conf.schedule,
            "tags": [f"set={name}"],
            **body,
            "retention": conf.retention.model_dump(),
            "repositories": [r["name"] for r in repositories if name in r["sets"]],
        }
    return out


def render_site(settings: Settings, stack: str, layout: RunnerLayout | None = None) -> dict[str, Any]:
    """Runner-wide settings: host name for snapshots, directories, repositories, check and drill."""
    layout = layout or RunnerLayout()
    paths = settings.paths
    return {
        "host": f"media-server-{stack}",
        "stagingDir": layout.staging,
        "metricsDir": layout.metrics,
        "roots": {
            layout.config: paths.config_root,
            layout.data: paths.data_root,
            layout.staging: str(PurePosixPath(paths.backup_root) / "staging"),
        },
        "repositories": render_repositories(settings, layout),
        "sets": sorted(backup_sets(settings, layout), key=BACKUP_SETS.index),
        "check": {"readDataSubset": settings.backup.check.read_data_subset},
        "drill": {"sampleFiles": settings.backup.restore_drill.sample_files},
    }


@dataclass(frozen=True, order=True)
class CronJob:
    schedule: str
    script: str
    args: tuple[str, ...] = ()

    def line(self) -> str:
        argv = ["bash", f"{BIN_DIR}/{self.script}", *self.args]
        # BASH_ENV: cron starts jobs with an empty environment; start.sh saved the container's.
        command = f"BASH_ENV={ENV_FILE} " + " ".join(shlex.quote(a) for a in argv)
        return f"{self.schedule} {command} >/proc/1/fd/1 2>/proc/1/fd/2\n"


def render_cron_jobs(settings: Settings) -> list[CronJob]:
    """The runner's schedule: one job per enabled set, the repository check and the restore drill."""
    if settings.backup.paused:
        return []
    sets = backup_sets(settings)
    jobs = [CronJob(manifest["schedule"], "run-set.sh", (name,)) for name, manifest in sets.items()]
    if sets:
        jobs.append(CronJob(settings.backup.check.schedule, "check.sh"))
        jobs.append(CronJob(settings.backup.restore_drill.schedule, "drill.sh"))
    return jobs


def render_crontab(settings: Settings) -> str:
    """crontab(5) text for busybox crond (five time fields, no user field). Schedules are validated
    cron fields and every argument is shell-quoted."""
    header = "# media-server backup runner: generated from the stack's backup settings; do not edit.\n"
    return header + "".join(job.line() for job in render_cron_jobs(settings))


def render_runner_config(settings: Settings, stack: str, layout: RunnerLayout | None = None) -> dict[str, str]:
    """Every non-secret file the runner reads, by path relative to its configuration directory."""
    layout = layout or RunnerLayout()
    files = {"site.json": to_json(render_site(settings, stack, layout)), "crontab": render_crontab(settings)}
    for name, manifest in backup_sets(settings, layout).items():
        files[f"sets/{name}.json"] = to_json(manifest)
    known_hosts = render_known_hosts(settings)
    if known_hosts:
        files["known_hosts"] = known_hosts
    return files

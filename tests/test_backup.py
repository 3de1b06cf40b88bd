"""Backup sets as projections of the catalog, the runner under mocks, and backup settings errors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

import pytest
from pydantic import ValidationError

import config.settings as settings_module
from components.backup import SCRIPTS_DIR
from config.catalog import CATALOG
from config.settings import BackupSettings, OffsiteRepository, RetentionSettings
from config.spec import DatabaseSpec, ImageRef, MountRole, MountSpec, NetworkName, ServiceSpec, StorageRoot, Tier
from config.stack import parse_settings
from offline.recorder import Secret
from offline.runner import RunResult
from render.backup import (
    ROLE_SETS,
    RunnerLayout,
    backup_sets,
    render_cron_jobs,
    render_crontab,
    render_runner_config,
    runner_path,
)
from tests.conftest import containers, minimal_config
from tests.edge_support import container, env, generated_password

LAYOUT = RunnerLayout()
SKIPPED = {MountRole.CACHE, MountRole.DOWNLOADS, MountRole.SCRATCH, MountRole.DATABASE}


def _covered(path: str, manifest: dict[str, Any]) -> bool:
    """Is the path backed up by this set: under one of its paths and not excluded."""
    inside = any(path == p or path.startswith(p + "/") for p in manifest["paths"])
    excluded = any(path == e or path.startswith(e + "/") for e in manifest["exclude"])
    return inside and not excluded


def _every_set(settings: settings_module.Settings) -> dict[str, dict[str, Any]]:
    return backup_sets(settings, LAYOUT)


def test_every_enabled_apps_paths_and_databases_are_in_a_set() -> None:
    settings = parse_settings(minimal_config())
    sets = _every_set(settings)
    checked = 0
    for spec in settings.enabled_services():
        if spec.tier is Tier.BACKUP:
            continue
        for mount in spec.mounts:
            path = runner_path(LAYOUT, spec, mount)
            if path is None or mount.role is MountRole.VIEW:
                continue
            wanted = ROLE_SETS.get(mount.role)
            holders = {name for name, manifest in sets.items() if _covered(path, manifest)}
            if wanted is None:
                assert not holders, f"{spec.name}:{mount.target} ({mount.role}) must not be copied, is in {holders}"
            else:
                assert wanted in holders, f"{spec.name}:{mount.target} ({mount.role}) belongs in the {wanted} set"
                checked += 1
        for db in spec.databases:
            dumps = sets["databases"]
            if db.engine == "postgres":
                assert any(d["service"] == spec.name and d["database"] == db.name for d in dumps["postgres"])
            else:
                live = f"{LAYOUT.config}/{spec.name}/{db.name}"
                assert any(s["service"] == spec.name and s["source"] == live for s in dumps["sqlite"])
                assert not any(_covered(live, m) for m in sets.values()), f"live SQLite file {live} is copied"
    assert checked > 25


def test_caches_downloads_and_excludes_are_skipped() -> None:
    settings = parse_settings(minimal_config())
    sets = _every_set(settings)
    media = sets["media"]
    assert media["paths"] == ["/source/data"]
    for download in ("/source/data/torrents", "/source/data/usenet"):
        assert not any(_covered(download + "/x.mkv", m) for m in sets.values())
    assert not _covered("/source/data/media/photos/a.jpg", media), "originals are in their own daily set"
    assert _covered("/source/data/media/photos/a.jpg", sets["originals"])
    config = sets["config"]
    assert "/source/config/sonarr/logs/**" in config["exclude"]
    assert "/source/config/jellyfin/config/data/transcodes/**" in config["exclude"]
    assert "/source/config/redis" not in config["paths"], "redis data is a cache"
    assert not any(p.startswith("/source/config/postgres/pgdata") for m in sets.values() for p in m["paths"])
    assert not any(p.startswith("/source/config/prometheus/tsdb") for m in sets.values() for p in m["paths"])


def test_database_set_dumps_through_each_server() -> None:
    sets = _every_set(parse_settings(minimal_config()))
    dumps = sets["databases"]
    by_db = {d["database"]: d for d in dumps["postgres"]}
    assert by_db["authelia"]["server"] == "postgres" and by_db["authelia"]["user"] == "postgres"
    assert by_db["immich"]["server"] == "immich-postgres" and by_db["immich"]["user"] == "immich"
    assert by_db["immich"]["passwordEnv"] == "PGPASSWORD_IMMICH_POSTGRES"
    assert [g["server"] for g in dumps["postgresGlobals"]] == ["immich-postgres", "postgres"]
    assert dumps["paths"] == ["/staging/databases"]
    assert dumps["schedule"] == "0 * * * *", "hourly: no database change older than an hour is unprotected"


def test_disabling_an_app_removes_its_paths_and_databases() -> None:
    settings = parse_settings(
        minimal_config(services={"sonarr": {"enabled": False}, "immich-server": {"enabled": False}})
    )
    text = json.dumps(_every_set(settings))
    assert "sonarr" not in text
    assert '"immich"' not in text and "originals" not in _every_set(settings)


def test_disabling_a_tier_removes_its_apps() -> None:
    settings = parse_settings(minimal_config(tiers={"monitoring": False}))
    text = json.dumps(_every_set(settings))
    assert "grafana" not in text and "jellystat" not in text


def test_an_app_added_to_the_catalog_is_backed_up_with_no_other_edit(monkeypatch: pytest.MonkeyPatch) -> None:
    newcomer = ServiceSpec(
        name="paperless",
        display_name="Paperless",
        tier=Tier.MEDIA,
        image=ImageRef(repository="ghcr.io/paperless-ngx/paperless-ngx", tag="2.18.4"),
        networks=(NetworkName.MEDIA,),
        mounts=(
            MountSpec(target="/usr/src/paperless/data", root=StorageRoot.CONFIG, source="data", role=MountRole.CONFIG),
            MountSpec(
                target="/usr/src/paperless/media", root=StorageRoot.CONFIG, source="media", role=MountRole.METADATA
            ),
            MountSpec(target="/cache", root=StorageRoot.CACHE, role=MountRole.CACHE),
        ),
        databases=(
            DatabaseSpec(engine="postgres", name="paperless", server="postgres"),
            DatabaseSpec(engine="sqlite", name="data/index.db"),
        ),
        backup_exclude=("data/log/**",),
    )
    monkeypatch.setattr(settings_module, "CATALOG", MappingProxyType({**CATALOG, "paperless": newcomer}))
    sets = _every_set(parse_settings(minimal_config()))
    assert "/source/config/paperless/data" in sets["config"]["paths"]
    assert "/source/config/paperless/media" in sets["metadata"]["paths"]
    assert "/source/config/paperless/data/log/**" in sets["config"]["exclude"]
    assert "/source/config/paperless/data/index.db" in sets["config"]["exclude"]
    assert any(d["database"] == "paperless" for d in sets["databases"]["postgres"])
    assert any(s["service"] == "paperless" for s in sets["databases"]["sqlite"])


def test_offsite_repositories_hold_their_sets() -> None:
    settings = parse_settings(
        minimal_config(
            backup={
                "offsite": [
                    {"name": "b2", "kind": "b2", "bucket": "my-backups", "path": "media"},
                    {
                        "name": "s3",
                        "kind": "s3",
                        "endpoint": "https://s3.example.com",
                        "bucket": "bkt",
                        "sets": ["databases"],
                    },
                    {
                        "name": "nas",
                        "kind": "sftp",
                        "host": "nas.example.org",
                        "port": 2222,
                        "user": "restic",
                        "path": "/volume1/restic",
                        "hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0cMVt0d6vNRiX0i5cM1qk0D0Y0xG4yKQ2iHk4n7Bq2",
                    },
                    {"name": "gdrive", "kind": "rclone", "remote": "gdrive", "sets": ["config"]},
                ]
            }
        )
    )
    files = render_runner_config(settings, "prod")
    site = json.loads(files["site.json"])
    urls = {r["name"]: r["url"] for r in site["repositories"]}
    assert urls == {
        "local": "/repository",
        "b2": "b2:my-backups:media",
        "s3": "s3:https://s3.example.com/bkt/media-server",
        "nas": "sftp:restic@nas.example.org:/volume1/restic",
        "gdrive": "rclone:gdrive:media-server",
    }
    nas = next(r for r in site["repositories"] if r["name"] == "nas")
    assert "StrictHostKeyChecking=yes" in nas["options"][0] and "-p 2222" in nas["options"][0]
    assert files["known_hosts"].startswith("[nas.example.org]:2222 ssh-ed25519 ")
    assert json.loads(files["sets/databases.json"])["repositories"] == ["local", "b2", "s3", "nas"]
    assert json.loads(files["sets/config.json"])["repositories"] == ["local", "b2", "nas", "gdrive"]


def test_crontab_runs_each_set_check_and_drill() -> None:
    settings = parse_settings(
        minimal_config(backup={"sets": {"media": {"enabled": False}, "config": {"schedule": "5 1 * * *"}}})
    )
    jobs = {job.args[0] if job.args else job.script: job.schedule for job in render_cron_jobs(settings)}
    assert jobs == {
        "databases": "0 * * * *",
        "config": "5 1 * * *",
        "metadata": "30 3 * * *",
        "originals": "45 3 * * *",
        "check.sh": "0 5 * * 1",
        "drill.sh": "0 6 * * 1",
    }
    text = render_crontab(settings)
    assert "0 * * * * BASH_ENV=/run/backup/env bash /opt/backup/bin/run-set.sh databases" in text
    paused = parse_settings(minimal_config(backup={"paused": True}))
    assert render_crontab(paused).count("\n") == 1, "paused: the header only"


def test_scripts_pass_shellcheck() -> None:
    scripts = sorted(str(p) for p in SCRIPTS_DIR.glob("*.sh"))
    assert len(scripts) >= 8
    result = subprocess.run(["shellcheck", "-x", *scripts], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


# ------------------------------------------------------------------ settings errors
@pytest.mark.parametrize(
    ("backup", "message"),
    [
        ({"sets": {"config": {"schedule": "daily"}}}, "not a cron schedule; expected five fields"),
        ({"sets": {"config": {"schedule": "0 * * *"}}}, "not a cron schedule"),
        (
            {"sets": {"media": {"retention": {"hourly": 0, "daily": 0, "weekly": 0, "monthly": 0}}}},
            "every period is 0, which would forget every snapshot",
        ),
        ({"sets": {"media": {"retention": {"daily": -1}}}}, "greater than or equal to 0"),
        ({"check": {"readDataSubset": "150%"}}, "not a restic data subset"),
        ({"check": {"readDataSubset": "3/2"}}, "not a restic data subset"),
        ({"restoreDrill": {"sampleFiles": 0}}, "greater than or equal to 1"),
        ({"offsite": [{"name": "b2", "kind": "b2"}]}, "a b2 repository needs bucket"),
        ({"offsite": [{"name": "x", "kind": "s3", "bucket": "b"}]}, "a s3 repository needs endpoint"),
        ({"offsite": [{"name": "x", "kind": "sftp", "host": "h", "user": "u"}]}, "a sftp repository needs hostKey"),
        ({"offsite": [{"name": "x", "kind": "rclone"}]}, "a rclone repository needs remote"),
        ({"offsite": [{"name": "local", "kind": "rclone", "remote": "r"}]}, "not 'local', which is taken"),
        ({"offsite": [{"name": "x", "kind": "ftp"}]}, "Input should be 's3', 'b2', 'sftp' or 'rclone'"),
        ({"offsite": [{"name": "x", "kind": "rclone", "remote": "r", "sets": ["logs"]}]}, "Input should be"),
        ({"offsite": [{"name": "x", "kind": "rclone", "remote": "r", "path": "../up"}]}, "expected a plain path"),
        (
            {
                "offsite": [
                    {"name": "x", "kind": "rclone", "remote": "r"},
                    {"name": "x", "kind": "rclone", "remote": "s"},
                ]
            },
            "repository name used twice",
        ),
        ({"retention": {}}, "unknown key"),
    ],
)
def test_bad_backup_settings_are_refused(backup: dict[str, Any], message: str) -> None:
    from config.problems import SettingsError

    with pytest.raises(SettingsError, match="media-server:backup") as info:
        parse_settings(minimal_config(backup=backup))
    assert message in str(info.value)


def test_bad_values_name_key_and_value() -> None:
    with pytest.raises(ValidationError, match=r"sets\.config\.schedule") as info:
        BackupSettings.model_validate({"sets": {"config": {"schedule": "every day"}}})
    assert "every day" in str(info.value)
    with pytest.raises(ValidationError, match="hostKey"):
        OffsiteRepository.model_validate(
            {"name": "n", "kind": "sftp", "host": "h", "user": "u", "hostKey": "not a key"}
        )
    assert RetentionSettings().model_dump() == {"hourly": 24, "daily": 7, "weekly": 4, "monthly": 12, "yearly": 0}


def test_offsite_credentials_are_required_as_secrets(run_site) -> None:  # type: ignore[no-untyped-def]
    raw = minimal_config(backup={"offsite": [{"name": "b2", "kind": "b2", "bucket": "bkt"}]})
    result = run_site(raw)
    assert sorted(p.key for p in result.problems) == [
        "media-server:backupB2AccountId",
        "media-server:backupB2AccountKey",
    ]
    assert "backup.offsite[0] (b2) is a b2 repository" in result.problems[0].message
    assert result.resources == []


# ------------------------------------------------------------------ the runner under mocks
def test_runner_container(prod: RunResult) -> None:
    runner = containers(prod)["backup"].inputs
    uploads = runner["uploads"]
    assert not isinstance(uploads, Secret), "prod has no off-site key file to upload: the files are plain"
    files = {u["file"]: u["content"] for u in uploads}
    for name in ("start.sh", "run-set.sh", "restore.sh", "drill.sh", "check.sh", "lib.sh"):
        assert files[f"/opt/backup/bin/{name}"] == (SCRIPTS_DIR / name).read_text()
    sets = sorted(p for p in files if p.startswith("/opt/backup/sets/"))
    assert [PurePosixPath(p).stem for p in sets] == ["config", "databases", "media", "metadata", "originals"]
    assert "run-set.sh databases" in files["/opt/backup/crontab"]
    assert runner["command"] == ["bash", "/opt/backup/bin/start.sh"]
    assert runner["capabilities"]["adds"] == ["DAC_READ_SEARCH", "SETGID", "SETUID"]
    # Built on the Docker host from the repo's Dockerfile, run by image ID (a local image has no repo digest).
    (image,) = [r for r in prod.of_type("docker:index/remoteImage:RemoteImage") if r.name == "backup-backup-image"]
    assert image.inputs["name"] == "media-server/backup-runner:1.0.0"
    assert image.inputs["build"]["context"].endswith("images/backup-runner")
    assert runner["image"].startswith("sha256:")
    dockerfile = (SCRIPTS_DIR.parents[1] / "images" / "backup-runner" / "Dockerfile").read_text()
    assert "FROM alpine:3.22.2\n" in dockerfile
    for package in ("restic", "postgresql17-client", "sqlite", "jq"):
        assert f" {package} " in dockerfile or f" {package}\n" in dockerfile
    volumes = {v["containerPath"]: v for v in runner["volumes"]}
    assert volumes["/source/config"]["readOnly"] and volumes["/source/data"]["readOnly"]
    assert volumes["/source/config"]["hostPath"] == "/opt/mediaserver"
    assert volumes["/repository"]["hostPath"] == "/srv/backups/restic"
    assert volumes["/metrics"]["hostPath"] == "/srv/backups/metrics"
    assert not volumes["/repository"].get("readOnly")
    envs = runner["envs"]
    assert isinstance(envs, Secret)
    names = {e.split("=", 1)[0] for e in envs.value}
    assert {"RESTIC_PASSWORD", "PGPASSWORD_POSTGRES", "PGPASSWORD_IMMICH_POSTGRES"} <= names
    assert {"B2_ACCOUNT_ID", "B2_ACCOUNT_KEY"} <= names, "prod copies every set to Backblaze B2"
    site = json.loads(files["/opt/backup/site.json"])
    assert [r["url"] for r in site["repositories"]] == ["/repository", "b2:example-media-backups:media-server"]


def test_repository_password_is_generated_protected_and_exported_secret(prod: RunResult) -> None:
    (password,) = [r for r in prod.of_type("random:index/randomPassword:RandomPassword") if "repository" in r.name]
    assert password.name == "backup-repository-password"
    assert "result" in password.additional_secret_outputs
    assert isinstance(prod.exports["backupRepositoryPassword"], Secret)
    assert "backupRepositoryPassword" not in json.dumps(prod.exports.get("urls", {}))


def test_immich_database_password_is_shared(prod: RunResult) -> None:
    """One generated password reaches Immich's PostgreSQL, Immich, and the backup runner's dump of it."""
    password = generated_password(prod, "secrets-db-server-immich-postgres")
    assert env(container(prod, "immich-postgres"))["POSTGRES_PASSWORD"] == password
    assert env(container(prod, "immich-server"))["DB_PASSWORD"] == password
    assert env(container(prod, "backup"))["PGPASSWORD_IMMICH_POSTGRES"] == password


def test_backup_tier_off_registers_no_runner(dev: RunResult) -> None:
    assert "backup" not in containers(dev)
    assert "backupRepositoryPassword" not in dev.exports


def test_offsite_credentials_reach_the_runner_only_as_secrets(run_site) -> None:  # type: ignore[no-untyped-def]
    offsite = [
        {"name": "b2", "kind": "b2", "bucket": "bkt"},
        {
            "name": "nas",
            "kind": "sftp",
            "host": "nas.example.org",
            "user": "restic",
            "hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0cMVt0d6vNRiX0i5cM1qk0D0Y0xG4yKQ2iHk4n7Bq2",
        },
    ]
    secrets = {"backupB2AccountId": "b2-id", "backupB2AccountKey": "b2-key", "backupSftpPrivateKey": "ssh-key-text"}
    result = run_site(minimal_config(backup={"offsite": offsite}), secrets=secrets)
    assert result.ok, result.problems
    runner = containers(result)["backup"].inputs
    # The uploads (scripts, sets, crontab) stay plain and reviewable; every credential is secret environment.
    assert not isinstance(runner["uploads"], Secret) and isinstance(runner["envs"], Secret)
    assert not any("ssh-key-text" in u["content"] for u in runner["uploads"])
    assert {"B2_ACCOUNT_ID=b2-id", "B2_ACCOUNT_KEY=b2-key", "BACKUP_SFTP_PRIVATE_KEY=ssh-key-text"} <= set(
        runner["envs"].value
    )
    labels = json.dumps(runner["labels"])
    assert "b2-key" not in labels and "ssh-key-text" not in labels


def test_given_repository_password_replaces_the_generated_one(run_site) -> None:  # type: ignore[no-untyped-def]
    result = run_site(minimal_config(), secrets={"backupRepositoryPassword": "kept-from-the-old-stack"})
    assert result.ok, result.problems
    assert not [r for r in result.of_type("random:index/randomPassword:RandomPassword") if "repository" in r.name]
    assert "RESTIC_PASSWORD=kept-from-the-old-stack" in containers(result)["backup"].inputs["envs"].value
    assert result.exports["backupRepositoryPassword"] == Secret("kept-from-the-old-stack")


def test_offsite_secret_files_are_written_from_the_environment_0600(tmp_path: Path) -> None:
    """start.sh's first step: the SFTP key and rclone config, given as secret env, become private files."""
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----"
    done = subprocess.run(
        ["bash", str(SCRIPTS_DIR / "offsite-secrets.sh"), str(tmp_path / "run")],
        env={"PATH": os.environ["PATH"], "BACKUP_SFTP_PRIVATE_KEY": key, "BACKUP_RCLONE_CONFIG": "[r]\ntype = s3"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    written = {p.name: (p.read_text(), p.stat().st_mode & 0o777) for p in (tmp_path / "run").iterdir()}
    assert written == {"sftp_key": (key + "\n", 0o600), "rclone.conf": ("[r]\ntype = s3\n", 0o600)}
    quiet = subprocess.run(
        ["bash", str(SCRIPTS_DIR / "offsite-secrets.sh"), str(tmp_path / "none")],
        env={"PATH": os.environ["PATH"]},
        check=True,
    )
    assert quiet.returncode == 0 and list((tmp_path / "none").iterdir()) == []

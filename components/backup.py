"""BackupTier: the restic runner, its schedule and job scripts, and the repository password.

What is backed up is computed by render/backup.py from the catalog and settings; this
component only ships it to the runner: the job scripts from scripts/backup/ (as files, not
strings), the set manifests and crontab, and the secrets (repository password, database
passwords, off-site credentials) as secret environment (start.sh writes the SFTP key and rclone
config from it into private files), never among the uploads, which stay plain.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_random as random

from components.layer import LayerArgs, ServiceLayer
from config.settings import OFFSITE_SECRETS
from config.spec import ServiceSpec, Tier
from render.backup import BIN_DIR, CONF_DIR, backup_sets, password_env, render_runner_config

SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "scripts" / "backup"
RUNNER = "backup"

OFFSITE_ENV: dict[str, str] = {
    "backupS3AccessKeyId": "AWS_ACCESS_KEY_ID",
    "backupS3SecretAccessKey": "AWS_SECRET_ACCESS_KEY",
    "backupB2AccountId": "B2_ACCOUNT_ID",
    "backupB2AccountKey": "B2_ACCOUNT_KEY",
}
"""Secret config key -> the environment variable restic reads it from."""
OFFSITE_FILES: dict[str, str] = {
    "backupSftpPrivateKey": "BACKUP_SFTP_PRIVATE_KEY",
    "backupRcloneConfig": "BACKUP_RCLONE_CONFIG",
}
"""Secret config key -> the environment variable start.sh writes into a 0600 file under /run/backup (the SFTP
key, the rclone config). Not an upload: one secret among the uploads would make all of them secret, and
unreadable in a preview's diff; the runner has no host mount of its own to write a secret file into."""


def runner_scripts() -> dict[str, str]:
    """The job scripts, by file name, read from the repository."""
    return {path.name: path.read_text() for path in sorted(SCRIPTS_DIR.glob("*.sh"))}


class BackupTier(ServiceLayer):
    """The backup runner: restic sets on a cron schedule, off-site copies, checks and restore drills."""

    tiers = (Tier.BACKUP,)
    repository_password: pulumi.Output[str]
    """The password of every restic repository (secret). Store it outside the server."""

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:recovery:BackupTier", name, args, opts)
        settings = self.settings
        given = args.config_secrets.get("backupRepositoryPassword")
        if given is not None:
            self.repository_password = pulumi.Output.secret(given)
        else:
            # Losing this password loses every backup: protect it from an accidental delete.
            password = random.RandomPassword(
                f"{name}-repository-password",
                random.RandomPasswordArgs(length=64, special=False, min_upper=4, min_lower=4, min_numeric=4),
                opts=pulumi.ResourceOptions(parent=self, protect=True, additional_secret_outputs=["result"]),
            )
            self.repository_password = pulumi.Output.secret(password.result)

        for spec in self.specs():
            if spec.name == RUNNER:
                self._deploy_runner(spec, args)
            else:
                self.deploy(spec)
        self.finish(
            sets=sorted(backup_sets(settings)),
            repositories=["local", *(repo.name for repo in settings.backup.offsite)],
        )

    def _deploy_runner(self, spec: ServiceSpec, args: LayerArgs) -> None:
        settings = self.settings
        files: dict[str, pulumi.Input[str]] = {
            f"{CONF_DIR}/{path}": text for path, text in render_runner_config(settings, args.site.stack).items()
        }
        files.update({f"{BIN_DIR}/{name}": text for name, text in runner_scripts().items()})
        secret_env: dict[str, pulumi.Input[str]] = {"RESTIC_PASSWORD": self.repository_password}
        secret_env[password_env("postgres")] = args.generated.postgres_superuser
        for server, password in args.generated.server_passwords.items():
            secret_env[password_env(server)] = password
        needed = {key for repo in settings.backup.offsite for key in OFFSITE_SECRETS[repo.kind]}
        for key in sorted(needed):
            value = args.config_secrets.get(key)
            if value is None:
                continue  # config/stack.py refuses the stack before this point
            secret_env[OFFSITE_ENV.get(key) or OFFSITE_FILES[key]] = value
        self.deploy(
            spec,
            files=files,
            secret_env=secret_env,
            command=["bash", f"{BIN_DIR}/start.sh"],
        )

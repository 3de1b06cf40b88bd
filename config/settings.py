"""Site settings: everything per-site, read from stack config under `media-server:`.

Keys are camelCase in stack files (`media-server:configRoot` style nesting:
`media-server:paths` -> `{configRoot: ...}`); Python attributes are snake_case.
Every field has a description: README's configuration reference is generated
from these models (`make docs`).
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from enum import StrEnum
from typing import Annotated, Literal, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel, to_snake

from config.catalog import CATALOG
from config.problems import ProblemSpec, raise_problems
from config.spec import NetworkName, ServiceSpec, Tier
from config.types import (
    AbsPath,
    Cidr,
    Digest,
    Fqdn,
    ImageTag,
    MemorySize,
    Port,
    PosixId,
    SshOption,
    Subdomain,
    TimeZone,
    Umask,
)


def _known_service(name: str) -> str:
    if name not in CATALOG:
        raise ValueError("unknown service; expected one of: " + ", ".join(sorted(CATALOG)))
    return name


ServiceName = Annotated[str, AfterValidator(_known_service)]


class Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, use_enum_values=False
    )


class HostSettings(Section):
    """How the program reaches the Docker host."""

    mode: Literal["ssh", "local"] = Field(
        default="ssh", description="ssh: Docker over ssh://user@address:port; local: this machine's Docker socket."
    )
    address: str | None = Field(default=None, description="Host name or IP address of the Docker host (ssh mode).")
    user: str = Field(default="deploy", pattern=r"^[a-z_][a-z0-9_-]{0,31}$", description="SSH user (ssh mode).")
    port: Port = Field(default=22, description="SSH port, 1-65535.")
    auth: Literal["agent", "key"] = Field(
        default="agent",
        description="agent: use SSH_AUTH_SOCK; key: the private key in secret config media-server:sshPrivateKey.",
    )
    host_key: str | None = Field(
        default=None, description="The host's public key line (e.g. ssh-ed25519 AAAA...), pinned for host prep."
    )
    ssh_options: list[SshOption] = Field(
        default_factory=list, description="Extra ssh options for the Docker provider, e.g. ['-o', 'ConnectTimeout=10']."
    )
    docker_socket: str = Field(
        default="unix:///var/run/docker.sock", pattern=r"^unix:///", description="Docker socket in local mode."
    )
    use_sudo: bool = Field(default=True, description="Run host preparation with sudo -n (ssh mode, non-root user).")

    @model_validator(mode="after")
    def _address_for_ssh(self) -> HostSettings:
        if self.mode == "ssh" and not self.address:
            raise_problems("host", [(("address",), self.address, "ssh mode needs the Docker host's address")])
        return self

    @property
    def docker_host(self) -> str:
        if self.mode == "local":
            return self.docker_socket
        return f"ssh://{self.user}@{self.address}:{self.port}"


class PathSettings(Section):
    """Directory roots on the Docker host."""

    config_root: AbsPath = Field(default="/opt/mediaserver", description="Per-app configuration and state.")
    data_root: AbsPath = Field(
        default="/data", description="The one media/data tree (downloads and library on one filesystem, for hardlinks)."
    )
    cache_root: AbsPath = Field(default="/var/cache/mediaserver", description="Rebuildable caches; never backed up.")
    backup_root: AbsPath = Field(default="/srv/backups", description="Local restic repository and backup metrics.")
    transcode_path: AbsPath | None = Field(
        default=None, description="SSD path for Jellyfin transcodes (L2 cache tier); tmpfs when unset."
    )
    media_dirs: list[Subdomain] = Field(
        default=["movies", "tv", "music", "books", "comics", "audiobooks", "podcasts", "photos"],
        description="Library folders under <dataRoot>/media.",
    )
    download_dirs: list[Subdomain] = Field(
        default=["torrents", "usenet"], description="Download folders under <dataRoot> (same filesystem as media)."
    )

    @model_validator(mode="after")
    def _disjoint_roots(self) -> PathSettings:
        roots = {
            "configRoot": self.config_root,
            "dataRoot": self.data_root,
            "cacheRoot": self.cache_root,
            "backupRoot": self.backup_root,
        }
        problems: list[ProblemSpec] = []
        for (key_a, a), (key_b, b) in itertools.combinations(roots.items(), 2):
            if a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/"):
                problems.append(((key_b,), b, f"overlaps {key_a} ({a}); expected separate directory trees"))
        if self.data_root == "/":
            problems.append((("dataRoot",), "/", "the filesystem root cannot be the data root"))
        raise_problems("paths", problems)
        return self


class NetworkSpec(Section):
    """One bridge network."""

    cidr: Cidr = Field(description="IPv4 subnet of the bridge network.")


class NetworkSettings(Section):
    """The four bridge networks. The data network is always internal (no route out)."""

    proxy: NetworkSpec = Field(default=NetworkSpec(cidr="10.10.0.0/24"), description="Traefik and routed apps.")
    media: NetworkSpec = Field(
        default=NetworkSpec(cidr="10.10.1.0/24"), description="Media apps talking to each other."
    )
    admin: NetworkSpec = Field(default=NetworkSpec(cidr="10.10.2.0/24"), description="Monitoring and exporters.")
    data: NetworkSpec = Field(default=NetworkSpec(cidr="10.10.3.0/24"), description="Databases and caches (internal).")

    @model_validator(mode="after")
    def _no_overlap(self) -> NetworkSettings:
        nets = {name.value: ipaddress.IPv4Network(getattr(self, name.value).cidr) for name in NetworkName}
        problems: list[ProblemSpec] = []
        for (a, net_a), (b, net_b) in itertools.combinations(nets.items(), 2):
            if net_a.overlaps(net_b):
                problems.append(
                    ((b, "cidr"), str(net_b), f"overlaps the {a} network ({net_a}); expected disjoint subnets")
                )
        raise_problems("networks", problems)
        return self

    def cidr(self, name: NetworkName) -> str:
        spec: NetworkSpec = getattr(self, name.value)
        return spec.cidr


class TierSettings(Section):
    """Which tiers are deployed. Data services and auth follow from what needs them."""

    edge: bool = Field(default=True, description="Traefik, CrowdSec, Authelia (and Cloudflare when enabled).")
    media: bool = Field(default=True, description="Media servers, content managers, downloads, dashboard.")
    monitoring: bool = Field(default=True, description="Prometheus, Alertmanager, Grafana, Loki, exporters.")
    backup: bool = Field(default=True, description="restic backups and restore drills.")


class ServiceOverride(Section):
    """Per-service changes to the catalog entry."""

    enabled: bool | None = Field(default=None, description="Turn the app on or off (default: catalog default).")
    image_tag: ImageTag | None = Field(default=None, description="Exact image tag to use instead of the catalog's.")
    image_digest: Digest | None = Field(default=None, description="sha256 digest to pin the tag to.")
    memory: MemorySize | None = Field(default=None, description="Memory limit, e.g. 512m or 2g.")
    cpus: float | None = Field(default=None, gt=0, le=64, description="CPU limit in cores.")
    subdomain: Subdomain | None = Field(default=None, description="Route the app at another subdomain.")
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment (never secrets: use secret config)."
    )

    @field_validator("env")
    @classmethod
    def _env_names(cls, env: dict[str, str]) -> dict[str, str]:
        for name in env:
            if not name or "=" in name or any(c.isspace() for c in name):
                raise ValueError(f"environment name {name!r} is not valid; expected NAME without '=' or spaces")
        return env


class GpuKind(StrEnum):
    NONE = "none"
    NVIDIA = "nvidia"
    INTEL = "intel"
    AMD = "amd"


class GpuSettings(Section):
    """Hardware transcoding/inference device."""

    kind: GpuKind = Field(default=GpuKind.NONE, description="none, nvidia, intel (Quick Sync) or amd (VAAPI).")
    devices: list[AbsPath] = Field(
        default=["/dev/dri"], description="Device paths passed to GPU apps (intel/amd); /dev/dri by default."
    )
    render_gid: PosixId | None = Field(default=None, description="GID of the host's render group (intel/amd).")
    video_gid: PosixId | None = Field(default=None, description="GID of the host's video group (intel/amd).")
    nvidia_visible_devices: str = Field(default="all", description="NVIDIA_VISIBLE_DEVICES for nvidia.")

    @model_validator(mode="after")
    def _gids(self) -> GpuSettings:
        problems: list[ProblemSpec] = []
        if self.kind in (GpuKind.INTEL, GpuKind.AMD):
            for key, value in (("renderGid", self.render_gid), ("videoGid", self.video_gid)):
                if value is None:
                    problems.append(((key,), value, f"gpu kind {self.kind.value} needs the host group's GID"))
            for i, dev in enumerate(self.devices):
                if not dev.startswith("/dev/dri"):
                    problems.append((("devices", i), dev, f"{self.kind.value} GPUs are /dev/dri devices"))
        if self.kind is GpuKind.NVIDIA:
            for i, dev in enumerate(self.devices):
                if dev.startswith("/dev/dri") and dev != "/dev/dri":
                    problems.append(
                        (("devices", i), dev, "an Intel/AMD render node with gpu kind nvidia; expected kind intel/amd")
                    )
        raise_problems("gpu", problems)
        return self


class CloudflareSettings(Section):
    """Cloudflare DNS and WAF in front of the site. The API token is secret config `cloudflareApiToken`."""

    enabled: bool = Field(default=False, description="Manage DNS records, WAF rules and zone settings.")
    zone: Fqdn | None = Field(default=None, description="The zone name, e.g. example.org.")
    zone_id: str | None = Field(default=None, pattern=r"^[a-f0-9]{32}$", description="The zone's 32-hex ID.")
    account_id: str | None = Field(default=None, pattern=r"^[a-f0-9]{32}$", description="The account's 32-hex ID.")
    public_address: str | None = Field(default=None, description="Public IPv4 address the DNS records point at.")

    @model_validator(mode="after")
    def _zone_when_enabled(self) -> CloudflareSettings:
        problems: list[ProblemSpec] = []
        if self.enabled:
            if not self.zone:
                problems.append(
                    (("zone",), self.zone, "Cloudflare is enabled; expected the zone name, e.g. example.org")
                )
            if not self.zone_id:
                problems.append((("zoneId",), self.zone_id, "Cloudflare is enabled; expected the zone's 32-hex ID"))
        if self.public_address is not None:
            try:
                ipaddress.IPv4Address(self.public_address)
            except ValueError:
                problems.append((("publicAddress",), self.public_address, "expected an IPv4 address"))
        raise_problems("cloudflare", problems)
        return self


BACKUP_SETS: tuple[str, ...] = ("databases", "config", "metadata", "originals", "media")
"""Backup sets, each its own restic repository: dumps hourly, config/metadata/originals daily, media weekly."""

_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,-]+$")
_SUBSET = re.compile(r"^(?:(?P<pct>[0-9]+(?:\.[0-9]+)?)%|(?P<n>[0-9]+)/(?P<m>[0-9]+)|[0-9]+[KMGT])$")


def _cron(value: str) -> str:
    fields = value.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise ValueError(
            "not a cron schedule; expected five fields (minute hour day-of-month month day-of-week) "
            "such as '0 * * * *' (hourly) or '15 3 * * *' (daily at 03:15)"
        )
    return " ".join(fields)


def _subset(value: str) -> str:
    match = _SUBSET.match(value)
    bad = match is None
    if match and match["pct"] is not None:
        bad = not 0 < float(match["pct"]) <= 100
    if match and match["n"] is not None:
        bad = not 1 <= int(match["n"]) <= int(match["m"])
    if bad:
        raise ValueError("not a restic data subset; expected a percentage (5%), a fraction n/m (1/10) or a size (500M)")
    return value


CronSchedule = Annotated[str, AfterValidator(_cron)]
DataSubset = Annotated[str, AfterValidator(_subset)]
BackupSetName = Literal["databases", "config", "metadata", "originals", "media"]


class RetentionSettings(Section):
    """How many snapshots of a set `restic forget --prune` keeps, per period."""

    hourly: int = Field(default=24, ge=0, le=100000, description="Newest snapshot of each of the last N hours.")
    daily: int = Field(default=7, ge=0, le=100000, description="Newest snapshot of each of the last N days.")
    weekly: int = Field(default=4, ge=0, le=100000, description="Newest snapshot of each of the last N weeks.")
    monthly: int = Field(default=12, ge=0, le=100000, description="Newest snapshot of each of the last N months.")
    yearly: int = Field(default=0, ge=0, le=100000, description="Newest snapshot of each of the last N years.")

    @model_validator(mode="after")
    def _keeps_something(self) -> RetentionSettings:
        if not (self.hourly or self.daily or self.weekly or self.monthly or self.yearly):
            raise_problems(
                "retention",
                [(("hourly",), 0, "every period is 0, which would forget every snapshot; keep at least one")],
            )
        return self


class BackupSetSettings(Section):
    """One backup set: when it runs and what it keeps."""

    enabled: bool = Field(default=True, description="Back this set up at all.")
    schedule: CronSchedule = Field(description="Cron schedule in the site's time zone (five fields).")
    retention: RetentionSettings = Field(default_factory=RetentionSettings, description="Snapshots kept.")


DEFAULT_SCHEDULES: dict[str, str] = {
    "databases": "0 * * * *",
    "config": "15 3 * * *",
    "metadata": "30 3 * * *",
    "originals": "45 3 * * *",
    "media": "0 4 * * 0",
}


class BackupSetsSettings(Section):
    """Schedules and retention per backup set."""

    @model_validator(mode="before")
    @classmethod
    def _default_schedules(cls, data: object) -> object:
        # `media: {enabled: false}` or a retention change alone keeps the set's default schedule.
        if isinstance(data, dict):
            return {
                key: {"schedule": DEFAULT_SCHEDULES[key], **value}
                if isinstance(value, dict) and key in DEFAULT_SCHEDULES
                else value
                for key, value in data.items()
            }
        return data

    databases: BackupSetSettings = Field(
        default=BackupSetSettings(schedule=DEFAULT_SCHEDULES["databases"]),
        description="PostgreSQL dumps and SQLite online-backup copies (hourly: the recovery point for databases).",
    )
    config: BackupSetSettings = Field(
        default=BackupSetSettings(schedule=DEFAULT_SCHEDULES["config"]), description="App configuration (daily)."
    )
    metadata: BackupSetSettings = Field(
        default=BackupSetSettings(schedule=DEFAULT_SCHEDULES["metadata"]),
        description="App metadata without caches (daily).",
    )
    originals: BackupSetSettings = Field(
        default=BackupSetSettings(schedule=DEFAULT_SCHEDULES["originals"]),
        description="Irreplaceable originals: Immich photos (daily).",
    )
    media: BackupSetSettings = Field(
        default=BackupSetSettings(schedule=DEFAULT_SCHEDULES["media"]),
        description="The media library (weekly, Sunday 04:00).",
    )

    def get(self, name: str) -> BackupSetSettings:
        value: BackupSetSettings = getattr(self, name)
        return value


_REPO_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$")
_REMOTE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_. -]*$")
_REPO_PATH = re.compile(r"^/?[A-Za-z0-9._@+-]+(?:/[A-Za-z0-9._@+-]+)*$")

OFFSITE_SECRETS: dict[str, tuple[str, ...]] = {
    "s3": ("backupS3AccessKeyId", "backupS3SecretAccessKey"),
    "b2": ("backupB2AccountId", "backupB2AccountKey"),
    "sftp": ("backupSftpPrivateKey",),
    "rclone": ("backupRcloneConfig",),
}
"""Secret config keys each kind of off-site repository reads its credentials from."""


class OffsiteRepository(Section):
    """An off-site restic repository; every set gets its own repository under `path`."""

    name: str = Field(description="Short name, used in metrics (repository label) and logs, e.g. b2.")
    kind: Literal["s3", "b2", "sftp", "rclone"] = Field(
        description="s3 (any S3-compatible service), b2 (Backblaze B2), sftp, or rclone (any rclone remote)."
    )
    endpoint: str | None = Field(
        default=None, description="s3: the service URL, e.g. https://s3.eu-central-003.backblazeb2.com."
    )
    bucket: str | None = Field(default=None, description="s3 and b2: the bucket name.")
    path: str = Field(default="media-server", description="Path inside the bucket, remote or SFTP home.")
    host: str | None = Field(default=None, description="sftp: server host name or address.")
    port: Port = Field(default=22, description="sftp: SSH port.")
    user: str | None = Field(default=None, description="sftp: SSH user.")
    host_key: str | None = Field(
        default=None, description="sftp: the server's public host key line (e.g. ssh-ed25519 AAAA...), pinned."
    )
    remote: str | None = Field(default=None, description="rclone: the remote's name in the rclone config.")
    sets: list[BackupSetName] = Field(
        default_factory=lambda: cast(list[BackupSetName], list(BACKUP_SETS)),
        description="Sets copied to this repository (default: all).",
    )

    @model_validator(mode="after")
    def _fields_for_kind(self) -> OffsiteRepository:
        problems: list[ProblemSpec] = []
        if not _REPO_NAME.match(self.name) or self.name == "local":
            problems.append(
                (("name",), self.name, "expected lowercase letters, digits and hyphens (not 'local', which is taken)")
            )
        if not _REPO_PATH.match(self.path) or ".." in self.path.split("/"):
            problems.append((("path",), self.path, "expected a plain path such as media-server or /srv/restic"))
        required = {
            "s3": ("endpoint", "bucket"),
            "b2": ("bucket",),
            "sftp": ("host", "user", "hostKey"),
            "rclone": ("remote",),
        }
        for key in required[self.kind]:
            if getattr(self, to_snake(key)) in (None, ""):
                problems.append(((key,), None, f"a {self.kind} repository needs {key}"))
        if self.endpoint is not None and not re.match(r"^https?://[A-Za-z0-9.-]+(:[0-9]+)?$", self.endpoint):
            problems.append((("endpoint",), self.endpoint, "expected a URL such as https://s3.example.com"))
        if self.bucket is not None and not _BUCKET.match(self.bucket):
            problems.append((("bucket",), self.bucket, "expected a bucket name (letters, digits, . _ -)"))
        if self.remote is not None and not _REMOTE.match(self.remote):
            problems.append((("remote",), self.remote, "expected an rclone remote name such as b2crypt"))
        if self.host is not None and not re.match(r"^[A-Za-z0-9.:-]+$", self.host):
            problems.append((("host",), self.host, "expected a host name or IP address"))
        if self.user is not None and not re.match(r"^[a-z_][a-z0-9_.-]{0,31}$", self.user):
            problems.append((("user",), self.user, "expected a POSIX user name"))
        if self.host_key is not None and not re.match(r"^(ssh|ecdsa)-[a-z0-9-]+ [A-Za-z0-9+/=]+$", self.host_key):
            problems.append((("hostKey",), self.host_key, "expected a public key line such as ssh-ed25519 AAAA..."))
        if not self.sets:
            problems.append((("sets",), [], "copies no set; expected at least one of " + ", ".join(BACKUP_SETS)))
        raise_problems("offsite", problems)
        return self

    @property
    def secret_keys(self) -> tuple[str, ...]:
        return OFFSITE_SECRETS[self.kind]


class CheckSettings(Section):
    """Periodic `restic check` of every repository, reading a subset of the data."""

    schedule: CronSchedule = Field(default="0 5 * * 1", description="Cron schedule (default Monday 05:00).")
    read_data_subset: DataSubset = Field(
        default="5%", description="Data read and verified per check: a percentage, n/m, or a size."
    )


class RestoreDrillSettings(Section):
    """The automatic restore drill: restore a sample to a scratch path and compare checksums."""

    schedule: CronSchedule = Field(default="0 6 * * 1", description="Cron schedule (default Monday 06:00).")
    sample_files: int = Field(default=20, ge=1, le=10000, description="Files restored and compared per set.")


class BackupSettings(Section):
    """Backup tier: restic sets, schedules, retention, off-site repositories, checks and restore drills."""

    paused: bool = Field(
        default=False,
        description="Install no schedule (the runner stays up for restores): set while restoring onto a new host.",
    )
    sets: BackupSetsSettings = Field(default_factory=BackupSetsSettings, description="Schedules and retention.")
    offsite: list[OffsiteRepository] = Field(
        default_factory=list, description="Off-site repositories (S3-compatible, B2, SFTP, rclone)."
    )
    check: CheckSettings = Field(default_factory=CheckSettings, description="Repository checks.")
    restore_drill: RestoreDrillSettings = Field(default_factory=RestoreDrillSettings, description="Restore drill.")

    @model_validator(mode="after")
    def _unique_names(self) -> BackupSettings:
        seen: set[str] = set()
        problems: list[ProblemSpec] = []
        for i, repo in enumerate(self.offsite):
            if repo.name in seen:
                problems.append(
                    (("offsite", i, "name"), repo.name, "repository name used twice; expected unique names")
                )
            seen.add(repo.name)
        raise_problems("backup", problems)
        return self


class AlertSettings(Section):
    """Alerting settings. STUB: the monitoring tier issue fills in receivers and routing."""

    email: str | None = Field(default=None, description="Reserved: address for alert e-mail (monitoring tier).")


class Settings(Section):
    """One site: everything under the `media-server:` stack config namespace."""

    domain: Fqdn = Field(description="The site's domain; apps are served at <subdomain>.<domain>.")
    timezone: TimeZone = Field(default="Etc/UTC", description="IANA time zone for every container (TZ).")
    puid: PosixId = Field(default=1000, description="UID that owns app files and runs linuxserver images; never 0.")
    pgid: PosixId = Field(default=1000, description="GID that owns app files; never 0.")
    umask: Umask = Field(default="002", description="UMASK for apps that create files (002: group-writable).")
    host: HostSettings = Field(description="How to reach the Docker host.")
    paths: PathSettings = Field(default_factory=PathSettings, description="Directory roots on the host.")
    networks: NetworkSettings = Field(default_factory=NetworkSettings, description="Bridge network subnets.")
    tiers: TierSettings = Field(default_factory=TierSettings, description="Tiers to deploy.")
    services: dict[ServiceName, ServiceOverride] = Field(
        default_factory=dict, description="Per-service overrides keyed by catalog name (enabled, imageTag, ...)."
    )
    gpu: GpuSettings = Field(default_factory=GpuSettings, description="GPU for transcoding.")
    cloudflare: CloudflareSettings = Field(default_factory=CloudflareSettings, description="Cloudflare edge.")
    backup: BackupSettings = Field(default_factory=BackupSettings, description="Backups.")
    alerts: AlertSettings = Field(default_factory=AlertSettings, description="Alerting (stub, see docstring).")

    @field_validator("services")
    @classmethod
    def _known_services(cls, services: dict[str, ServiceOverride]) -> dict[str, ServiceOverride]:
        unknown = [name for name in services if name not in CATALOG]
        if unknown:
            raise_problems(
                "services",
                [
                    ((name,), name, "unknown service; expected one of: " + ", ".join(sorted(CATALOG)))
                    for name in unknown
                ],
            )
        return services

    @model_validator(mode="after")
    def _site_checks(self) -> Settings:
        problems: list[ProblemSpec] = []
        seen: dict[str, str] = {}
        for spec in self.enabled_services():
            if spec.subdomain is None:
                continue
            if spec.subdomain in seen:
                problems.append(
                    (
                        ("services", spec.name, "subdomain"),
                        spec.subdomain,
                        f"subdomain already used by {seen[spec.subdomain]}; expected a unique subdomain per app",
                    )
                )
            else:
                seen[spec.subdomain] = spec.name
        zone = self.cloudflare.zone
        if self.cloudflare.enabled and zone and not (self.domain == zone or self.domain.endswith("." + zone)):
            problems.append((("cloudflare", "zone"), zone, f"the domain {self.domain} is not inside this zone"))
        raise_problems("Settings", problems)
        return self

    # ------------------------------------------------------------ projections of catalog + settings
    def tier_enabled(self, tier: Tier) -> bool:
        if tier in (Tier.EDGE, Tier.AUTH):
            return self.tiers.edge
        if tier is Tier.DATA:
            return True
        return bool(getattr(self.tiers, tier.value))

    def service(self, name: str) -> ServiceSpec:
        """The catalog entry with this site's overrides applied."""
        spec = CATALOG[name]
        override = self.services.get(name)
        if override is None:
            return spec
        update: dict[str, object] = {}
        if override.image_tag or override.image_digest:
            update["image"] = spec.image.model_copy(
                update={
                    "tag": override.image_tag or spec.image.tag,
                    "digest": override.image_digest,
                }
            )
        if override.memory:
            update["memory"] = override.memory
        if override.cpus:
            update["cpus"] = override.cpus
        if override.subdomain:
            update["subdomain"] = override.subdomain
        if override.env:
            update["env"] = {**spec.env, **override.env}
        return spec.model_copy(update=update) if update else spec

    def is_enabled(self, name: str) -> bool:
        spec = CATALOG[name]
        override = self.services.get(name)
        wanted = override.enabled if override and override.enabled is not None else spec.enabled_by_default
        return wanted and self.tier_enabled(spec.tier)

    def enabled_services(self, tier: Tier | None = None) -> list[ServiceSpec]:
        return [
            self.service(name)
            for name, spec in CATALOG.items()
            if (tier is None or spec.tier is tier) and self.is_enabled(name)
        ]

    def url(self, spec: ServiceSpec) -> str | None:
        return f"https://{spec.subdomain}.{self.domain}" if spec.subdomain else None

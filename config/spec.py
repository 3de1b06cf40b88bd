"""The shape of one service catalog entry.

An entry says everything about an app once; every artefact (container,
route, access rule, DNS record, scrape job, dashboard tile, backup set) is a
projection of entries plus site settings.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from config.pathregex import ui_path_matched
from config.types import BypassPath, Digest, ImageTag, MemorySize, Port, Subdomain


class Tier(StrEnum):
    """Deployment tier; each is one ComponentResource layer."""

    EDGE = "edge"
    AUTH = "auth"
    DATA = "data"
    MEDIA = "media"
    MONITORING = "monitoring"
    BACKUP = "backup"


class NetworkName(StrEnum):
    PROXY = "proxy"
    MEDIA = "media"
    ADMIN = "admin"
    DATA = "data"
    SOCKET = "socket"
    """Internal network between the Docker socket proxy and the few readers of the Docker API."""


class AuthPolicy(StrEnum):
    """Authelia policy names."""

    TWO_FACTOR = "two_factor"
    ONE_FACTOR = "one_factor"
    BYPASS = "bypass"


class StorageRoot(StrEnum):
    """Where a mount's host source lives.

    config:  <paths.configRoot>/<service>/<source>   (per-app state, backed up)
    cache:   <paths.cacheRoot>/<service>/<source>    (rebuildable, never backed up)
    data:    <paths.dataRoot>/<source>               (the one shared hardlink tree)
    backups: <paths.backupRoot>/<source>
    logs:    <paths.cacheRoot>/logs/<source>         (shared between a writer and its readers)
    site-config: <paths.configRoot>/<source>         (every app's config: the backup runner reads it)
    transcode: <paths.transcodePath>/<source>        (the SSD transcode scratch, when set)
    host:    /<source>                               (a system path of the host, e.g. /sys: never created,
                                                      never backed up; only for exporters and the socket proxy)
    """

    CONFIG = "config"
    CACHE = "cache"
    DATA = "data"
    BACKUPS = "backups"
    LOGS = "logs"
    SITE_CONFIG = "site-config"
    TRANSCODE = "transcode"
    HOST = "host"


class MountRole(StrEnum):
    """What a mount holds, which decides how (and whether) it is backed up."""

    CONFIG = "config"  # settings and small state: daily
    METADATA = "metadata"  # app libraries/metadata: daily
    DATABASE = "database"  # a database engine's data directory: dumped, never copied live
    CACHE = "cache"  # skipped
    MEDIA = "media"  # the media library: weekly
    ORIGINALS = "originals"  # irreplaceable originals (photos): daily
    DOWNLOADS = "downloads"  # in-flight downloads: skipped
    SCRATCH = "scratch"  # transcode scratch: skipped
    VIEW = "view"  # a read-only look at another root (e.g. to measure its filesystem): not a source of anything


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ImageRef(_Frozen):
    repository: str = Field(description="Registry and repository, e.g. lscr.io/linuxserver/sonarr.")
    tag: ImageTag = Field(description="Exact version tag; never latest.")
    digest: Digest | None = Field(default=None, description="Optional sha256 digest pinning the tag.")
    build: str | None = Field(
        default=None,
        pattern=r"^images/[a-z0-9-]+$",
        description="Build context (images/<name>, with a Dockerfile pinning its base) built on the Docker "
        "host instead of pulled; repository:tag then names the local image.",
    )

    @property
    def reference(self) -> str:
        ref = f"{self.repository}:{self.tag}"
        return f"{ref}@{self.digest}" if self.digest else ref


class MountSpec(_Frozen):
    target: str = Field(description="Path inside the container.")
    root: StorageRoot = Field(description="Host storage root the source is under.")
    source: str = Field(default="", description="Sub-path under the root ('' = the root itself).")
    role: MountRole = Field(description="What the mount holds; drives backup projection.")
    read_only: bool = Field(default=False, description="Mount read-only.")

    @field_validator("target")
    @classmethod
    def _absolute_target(cls, value: str) -> str:
        if not value.startswith("/") or ".." in value.split("/"):
            raise ValueError("container path must be absolute without '..'")
        return value

    @field_validator("source")
    @classmethod
    def _relative_source(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/"):
            raise ValueError("source must be relative to its storage root, without '..'")
        return value


class HealthcheckSpec(_Frozen):
    test: tuple[str, ...] = Field(description="Docker healthcheck test, e.g. ('CMD', 'wget', ...).")
    interval: str = "30s"
    timeout: str = "5s"
    retries: int = 3
    start_period: str = "60s"


class PublishedPort(_Frozen):
    internal: Port
    external: Port
    protocol: str = "tcp"


class MetricsSpec(_Frozen):
    port: Port
    path: str = "/metrics"
    scheme: str = "http"


class DatabaseSpec(_Frozen):
    """A database the app keeps, for the backup tier.

    postgres: a database on the shared (or the app's own) PostgreSQL server, dumped with pg_dump.
    sqlite: a file under the app's config mount, copied with SQLite's online backup API.
    """

    engine: str = Field(pattern="^(postgres|sqlite)$")
    name: str = Field(description="Database name (postgres) or path relative to the config dir (sqlite).")
    server: str | None = Field(default=None, description="Catalog name of the PostgreSQL server.")


class DashboardTile(_Frozen):
    group: str
    icon: str
    description: str


class OidcClientSpec(_Frozen):
    """How the app signs in through Authelia's OpenID Connect provider (client_id = the catalog name)."""

    redirect_paths: tuple[str, ...] = Field(
        description="Callback paths on the app's own host, e.g. /login/generic_oauth."
    )
    extra_redirect_uris: tuple[str, ...] = Field(
        default=(),
        description="Redirect URIs on no host of the site, e.g. a mobile app's app.immich:///oauth-callback.",
    )
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"  # noqa: S105
    require_pkce: bool = False
    scopes: tuple[str, ...] = ("openid", "profile", "email", "groups")

    @field_validator("redirect_paths")
    @classmethod
    def _absolute(cls, paths: tuple[str, ...]) -> tuple[str, ...]:
        if not paths or any(not p.startswith("/") for p in paths):
            raise ValueError("expected at least one absolute callback path such as /auth/login")
        return paths


class HeaderTrust(_Frozen):
    """The app signs in whoever a request header names, when the request comes from a trusted proxy address."""

    header: str = Field(description="The identity header the app reads, e.g. Remote-User.")
    trusted_env: str = Field(description="The env variable listing the proxy addresses the app trusts (CIDRs).")
    source: str = Field(description="Where upstream says so, at the pinned tag.")


class ServiceSpec(_Frozen):
    """One app in the catalog."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$", description="Catalog key and container name.")
    display_name: str
    tier: Tier
    image: ImageRef
    enabled_by_default: bool = True
    port: Port | None = Field(default=None, description="Internal HTTP port of the web UI/API.")
    subdomain: Subdomain | None = Field(default=None, description="Routed at <subdomain>.<domain>; None = not routed.")
    apex: bool = Field(default=False, description="Also served at the apex domain (the dashboard).")
    public: bool = Field(default=False, description="Reachable without SSO (the app is itself an auth endpoint).")
    auth: AuthPolicy = AuthPolicy.TWO_FACTOR
    bypass_paths: tuple[BypassPath, ...] = Field(
        default=(), description="URL path regexes that skip SSO so mobile apps and API clients keep working."
    )
    own_auth: bool = Field(
        default=False,
        description="Has a login of its own (API keys, its own users): only such an app may have bypass paths.",
    )
    ui_paths: tuple[str, ...] = Field(
        default=(),
        description="Paths the app's web UI serves; they stay behind SSO, so no bypass path may match one.",
    )
    login_paths: tuple[str, ...] = Field(
        default=(),
        description="Exact paths of the app's own login endpoints: rate-limited at Traefik when its record is "
        "DNS-only (Cloudflare's rate limit does not see it).",
    )
    header_trust: HeaderTrust | None = Field(
        default=None, description="The app takes the user from a proxy header (Traefik strips it at the edge)."
    )
    admin: bool = Field(default=False, description="Administrative app: two-factor required.")
    oidc: bool = Field(default=False, description="Supports sign-in through Authelia's OIDC provider.")
    oidc_client: OidcClientSpec | None = Field(default=None, description="The app's OIDC client (when oidc).")
    streams_media: bool = Field(default=False, description="Serves video or large media (DNS-only at Cloudflare).")
    networks: tuple[NetworkName, ...]
    mounts: tuple[MountSpec, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    env_locked: str | None = Field(
        default=None,
        description="Why the app takes no services.<name>.env overrides at all (its environment is generated or is "
        "its security boundary); None: overrides allowed, except security-relevant names.",
    )
    linuxserver_ids: bool = Field(default=False, description="Image reads PUID/PGID/UMASK from env.")
    run_as_site_user: bool = Field(default=False, description="Run the process as PUID:PGID (user:).")
    user: str | None = Field(default=None, description="Fixed user:group the image runs as.")
    site_group: bool = Field(
        default=False,
        description="Also a member of the site group (PGID), to read the site's group-readable files (e.g. logs) "
        "while running as the image's own user.",
    )
    command: tuple[str, ...] | None = None
    healthcheck: HealthcheckSpec | None = None
    memory: MemorySize = "256m"
    cpus: float = Field(default=1.0, gt=0, le=64)
    capabilities: tuple[str, ...] = Field(default=(), description="Capabilities added after dropping ALL.")
    gpu: bool = Field(default=False, description="May use the site's GPU for transcoding/inference.")
    devices: tuple[str, ...] = Field(
        default=(), description="Host devices the app needs besides the GPU (e.g. /dev/net/tun), same path inside."
    )
    shm_size: MemorySize | None = Field(default=None, description="Size of /dev/shm (databases), e.g. 128m.")
    moves_files: bool = Field(
        default=False,
        description="Imports or moves files in the data tree, or writes beside files at the paths the content "
        "managers report (Bazarr's subtitles): must mount the one data root at /data (hardlinks, same paths).",
    )
    route_via: str | None = Field(
        default=None,
        description="Catalog name of the container whose network (and alias) serves this app; "
        "the app shares that container's network namespace and has no network of its own.",
    )
    read_only_rootfs: bool = True
    tmpfs: dict[str, str] = Field(default_factory=dict, description="tmpfs mounts: path -> options.")
    sysctls: dict[str, str] = Field(default_factory=dict, description="Namespaced sysctls (e.g. a VPN's forwarding).")
    published: tuple[PublishedPort, ...] = Field(default=(), description="Host ports (ingress and VPN only).")
    metrics: MetricsSpec | None = None
    databases: tuple[DatabaseSpec, ...] = ()
    data_store: bool = Field(
        default=False,
        description="Serves a database from memory that it writes on shutdown (Redis, Valkey): stopped gently.",
    )
    backup_exclude: tuple[str, ...] = Field(default=(), description="Globs under the config dir to skip.")
    dashboard: DashboardTile | None = None
    status_path: str = Field(
        default="/",
        pattern=r"^/[A-Za-z0-9._/-]*$",
        description="Path on the app's port that answers a plain GET (Homepage's status dot asks it).",
    )
    depends_on: tuple[str, ...] = ()
    part_of: str | None = Field(
        default=None,
        description="Catalog name of the app this is a part of: on and off with it unless set explicitly.",
    )
    restart: str = "unless-stopped"

    @model_validator(mode="after")
    def _consistent(self) -> ServiceSpec:
        if self.subdomain and self.port is None:
            raise ValueError(f"{self.name}: a routed app needs its internal port")
        if self.bypass_paths and not self.subdomain:
            raise ValueError(f"{self.name}: bypass paths without a subdomain")
        problem = bypass_spec_problem(self, self.bypass_paths)
        if problem:
            raise ValueError(f"{self.name}: {problem}")
        if self.published and self.tier is not Tier.EDGE:
            raise ValueError(f"{self.name}: only edge services publish host ports")
        if self.route_via is not None and self.networks:
            raise ValueError(f"{self.name}: an app routed via {self.route_via} shares its network and joins none")
        for device in self.devices:
            if not device.startswith("/dev/"):
                raise ValueError(f"{self.name}: device {device!r} is not under /dev/")
        if self.oidc != (self.oidc_client is not None):
            raise ValueError(f"{self.name}: an OIDC app needs its oidc_client (redirect paths), and only it")
        return self

    @property
    def routed(self) -> bool:
        return self.subdomain is not None

    @property
    def effective_auth(self) -> AuthPolicy:
        if self.public:
            return AuthPolicy.BYPASS
        if self.admin:
            return AuthPolicy.TWO_FACTOR
        return self.auth


def bypass_spec_problem(spec: ServiceSpec, paths: tuple[str, ...]) -> str | None:
    """Why these bypass paths cannot be this app's: it has no login of its own, or one opens a UI path."""
    if paths and not spec.own_auth:
        return (
            f"has no login of its own, so a bypass path would make it public ({paths[0]}); "
            "expected no bypass paths for it"
        )
    for path in paths:
        opened = ui_path_matched(path, spec.ui_paths)
        if opened:
            return f"bypass path {path} matches {opened}, a page of its web UI; expected a path of its API only"
    return None

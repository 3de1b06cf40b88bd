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

import yaml
from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_snake

from config.catalog import CATALOG
from config.data.cloudflare_plans import PLANS
from config.data.countries import CLOUDFLARE_PSEUDO_COUNTRIES, ISO_3166_ALPHA2
from config.env_overrides import env_problems
from config.host_paths import system_path_problem
from config.lock import ImageLock, read_lock
from config.problems import NAMESPACE, ProblemSpec, raise_problems
from config.ranges import overlap_problems
from config.search import SEARCH, SearchSettings, elasticsearch_wanted, search_problems
from config.section import Section
from config.spec import ImageRef, NetworkName, ServiceSpec, Tier, bypass_spec_problem
from config.ssh import DockerSocket, HostAddress, HostKey, SshUser, ssh_option_problems
from config.tailoring import tailor, tier_problems
from config.types import (
    AbsPath,
    BypassPath,
    ByteSize,
    Cidr,
    Digest,
    EmailAddress,
    Fqdn,
    HostPort,
    ImageTag,
    MemorySize,
    Port,
    PosixId,
    PromDuration,
    Subdomain,
    TimeZone,
    Umask,
    duration_seconds,
)


def _known_service(name: str) -> str:
    if name not in CATALOG:
        raise ValueError("unknown service; expected one of: " + ", ".join(sorted(CATALOG)))
    return name


ServiceName = Annotated[str, AfterValidator(_known_service)]


class HostSettings(Section):
    """How the program reaches the Docker host."""

    one_line_exempt = frozenset({"address", "user", "host_key", "ssh_options", "docker_socket"})  # config/ssh.py

    mode: Literal["ssh", "local"] = Field(
        default="ssh", description="ssh: Docker over ssh://user@address:port; local: this machine's Docker socket."
    )
    address: HostAddress | None = Field(
        default=None,
        description="Host name (RFC 1123) or IP address of the Docker host (ssh mode); no user, port or path.",
    )
    user: SshUser = Field(default="deploy", description="SSH user (ssh mode).")
    port: Port = Field(default=22, description="SSH port, 1-65535.")
    auth: Literal["agent", "key"] = Field(
        default="agent",
        description="agent: use SSH_AUTH_SOCK; key: the private key in secret config media-server:sshPrivateKey.",
    )
    host_key: HostKey | None = Field(
        default=None,
        description="The host's public key line (e.g. ssh-ed25519 AAAA..., from /etc/ssh/ssh_host_ed25519_key.pub), "
        "required in ssh mode: the only key the Docker provider and host preparation accept.",
    )
    ssh_options: list[str] = Field(
        default_factory=list,
        description="Extra ssh options for the Docker provider, as pairs: ['-o', 'ConnectTimeout=10']. Allowed: "
        "ConnectTimeout, ConnectionAttempts, ServerAliveInterval, ServerAliveCountMax, TCPKeepAlive, Compression, "
        "AddressFamily, LogLevel, StrictHostKeyChecking=yes.",
    )
    docker_socket: DockerSocket = Field(
        default="unix:///var/run/docker.sock", description="Docker socket in local mode."
    )
    use_sudo: bool = Field(default=True, description="Run host preparation with sudo -n (ssh mode, non-root user).")
    cpus: int | None = Field(
        default=None,
        ge=1,
        le=1024,
        description="The host's CPU cores. Docker refuses a CPU limit above them, so catalog limits are capped at "
        "this and an explicit services.<name>.cpus above it is refused. Unset: limits are used as they are.",
    )

    @model_validator(mode="after")
    def _address_for_ssh(self) -> HostSettings:
        problems: list[ProblemSpec] = [
            (("sshOptions", index), value, message) for index, value, message in ssh_option_problems(self.ssh_options)
        ]
        if self.mode == "ssh" and not self.address:
            problems.append((("address",), self.address, "ssh mode needs the Docker host's address"))
        if self.mode == "ssh" and not self.host_key:
            problems.append(
                (
                    ("hostKey",),
                    self.host_key,
                    "ssh mode pins the host's key; expected its public key line, e.g. the content of "
                    "/etc/ssh/ssh_host_ed25519_key.pub on the host",
                )
            )
        raise_problems("host", problems)
        return self

    @property
    def docker_host(self) -> str:
        if self.mode == "local":
            return self.docker_socket
        address = f"[{self.address}]" if ":" in (self.address or "") else self.address
        return f"ssh://{self.user}@{address}:{self.port}"


class PathSettings(Section):
    """Directory roots on the Docker host: separate trees of the site's own, never a system tree (/etc, /home, ...)."""

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
        if self.transcode_path is not None:
            roots["transcodePath"] = self.transcode_path
        problems: list[ProblemSpec] = []
        for key, path in roots.items():
            if (why := system_path_problem(path)) is not None:
                problems.append(((key,), path, why))
        for (key_a, a), (key_b, b) in itertools.combinations(roots.items(), 2):
            if a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/"):
                problems.append(((key_b,), b, f"overlaps {key_a} ({a}); expected separate directory trees"))
        raise_problems("paths", problems)
        return self


class NetworkSpec(Section):
    """One bridge network."""

    cidr: Cidr = Field(description="IPv4 subnet of the bridge network.")


class NetworkSettings(Section):
    """The bridge networks. data and socket are always internal (no route out)."""

    proxy: NetworkSpec = Field(default=NetworkSpec(cidr="10.10.0.0/24"), description="Traefik and routed apps.")
    media: NetworkSpec = Field(
        default=NetworkSpec(cidr="10.10.1.0/24"), description="Media apps talking to each other."
    )
    admin: NetworkSpec = Field(default=NetworkSpec(cidr="10.10.2.0/24"), description="Monitoring and exporters.")
    data: NetworkSpec = Field(default=NetworkSpec(cidr="10.10.3.0/24"), description="Databases and caches (internal).")
    socket: NetworkSpec = Field(
        default=NetworkSpec(cidr="10.10.4.0/24"),
        description="The Docker socket proxy and its readers, cAdvisor and Alloy (internal).",
    )

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
    """Which tiers are deployed. Data services are always on; auth (Authelia) comes with the edge tier."""

    edge: bool = Field(default=True, description="Traefik, CrowdSec, Authelia (and Cloudflare when enabled).")
    media: bool = Field(default=True, description="Media servers, content managers, downloads, dashboard.")
    monitoring: bool = Field(default=True, description="Prometheus, Alertmanager, Grafana, Loki, exporters.")
    backup: bool = Field(default=True, description="restic backups and restore drills.")


class ServiceOverride(Section):
    """Per-service changes to the catalog entry."""

    one_line_exempt = frozenset({"bypass_paths"})  # each path is refused at its index (config/pathregex.py)

    enabled: bool | None = Field(default=None, description="Turn the app on or off (default: catalog default).")
    image_tag: ImageTag | None = Field(default=None, description="Exact image tag to use instead of the catalog's.")
    image_digest: Digest | None = Field(default=None, description="sha256 digest to pin the tag to.")
    memory: MemorySize | None = Field(default=None, description="Memory limit, e.g. 512m or 2g.")
    cpus: float | None = Field(default=None, gt=0, le=64, description="CPU limit in cores.")
    subdomain: Subdomain | None = Field(default=None, description="Route the app at another subdomain.")
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Extra environment (never secrets: use secret config). Names the program sets, "
        "security-relevant names (PUID/PGID, AUTHELIA_*, *AUTH*, *INSECURE*, proxy trust lists, secrets, ...) and "
        "apps whose environment is generated or a security boundary are refused (config/env_overrides.py).",
    )
    bypass_paths: list[BypassPath] | None = Field(
        default=None,
        description="Replace the catalog's SSO bypass path regexes (URL path, RE2), e.g. [] to send every request "
        "through Authelia.",
    )


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


def _seconds(allowed: tuple[int, ...]) -> str:
    return ", ".join(f"{value} s" for value in allowed)


class CloudflareSettings(Section):
    """Cloudflare DNS and WAF in front of the site. The API token is secret config `cloudflareApiToken`."""

    enabled: bool = Field(default=False, description="Manage DNS records, WAF rules and zone settings.")
    zone: Fqdn | None = Field(default=None, description="The zone name, e.g. example.org.")
    zone_id: str | None = Field(default=None, pattern=r"^[a-f0-9]{32}$", description="The zone's 32-hex ID.")
    account_id: str | None = Field(default=None, pattern=r"^[a-f0-9]{32}$", description="The account's 32-hex ID.")
    public_address: str | None = Field(default=None, description="Public IPv4 address the DNS records point at.")
    mode: Literal["dns", "tunnel"] = Field(
        default="dns",
        description="dns: records point at publicAddress (ports 80/443 open); tunnel: a Cloudflare Tunnel "
        "(cloudflared) carries all traffic and the host opens no web ports.",
    )
    proxied: dict[ServiceName, bool] = Field(
        default_factory=dict,
        description="Per-app proxy override (orange cloud). Default: proxied, except apps that stream video or "
        "large media, which are DNS-only.",
    )
    block_countries: list[str] = Field(
        default_factory=list, description="ISO 3166 alpha-2 codes whose requests the WAF blocks (T1 = Tor)."
    )
    challenge_countries: list[str] = Field(
        default_factory=list, description="ISO 3166 alpha-2 codes whose requests get a managed challenge."
    )
    auth_rate_limit: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Requests per client per authRateLimitPeriod to the auth portal's login API before it is blocked.",
    )
    plan: Literal["free", "pro", "business"] = Field(
        default="free",
        description="The zone's Cloudflare plan. Its limits (number of custom and rate limiting rules, the fields a "
        "rate limiting rule may use, counting periods, mitigation timeouts) are checked before anything is deployed; "
        "on free, the login rate limit matches the path only (Cloudflare refuses http.host there).",
    )
    auth_rate_limit_period: int = Field(
        default=10,
        description="Counting period of the login rate limit, seconds: 10 (free), 10 or 60 (pro), 10, 60 or 600 "
        "(business).",
    )
    auth_rate_limit_timeout: int = Field(
        default=10,
        description="How long a client over the login rate limit stays blocked, seconds: 10 (free); 10, 60 or 3600 "
        "(pro); 10, 60, 3600 or 86400 (business).",
    )
    advanced_certificates: bool = Field(
        default=False,
        description="The zone has Advanced Certificate Manager with Total TLS (or an advanced certificate) covering "
        "hostnames two or more levels below the zone. Universal SSL covers only the zone and one level below it, so "
        "without this a proxied app at app.media.example.org in zone example.org is refused.",
    )

    @field_validator("block_countries", "challenge_countries")
    @classmethod
    def _countries(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if code not in ISO_3166_ALPHA2 and code not in CLOUDFLARE_PSEUDO_COUNTRIES:
                raise ValueError(
                    f"{code!r} is not an ISO 3166 alpha-2 country code; expected two upper-case letters such as "
                    "DE, US or CN (or Cloudflare's T1 for Tor)"
                )
        return codes

    @model_validator(mode="after")
    def _zone_when_enabled(self) -> CloudflareSettings:
        problems: list[ProblemSpec] = []
        if self.enabled and self.mode == "tunnel" and not self.account_id:
            problems.append(
                (
                    ("accountId",),
                    self.account_id,
                    "tunnel mode creates a Cloudflare Tunnel; expected the account's 32-hex ID",
                )
            )
        if self.enabled and self.mode == "dns" and not self.public_address:
            problems.append(
                (
                    ("publicAddress",),
                    self.public_address,
                    "dns mode points records at the host; expected its public IPv4 address",
                )
            )
        both = sorted(set(self.block_countries) & set(self.challenge_countries))
        if both:
            problems.append((("challengeCountries",), both, "already blocked; expected each country in one list"))
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
        limits = PLANS[self.plan]
        if self.auth_rate_limit_period not in limits.rate_limit_periods:
            problems.append(
                (
                    ("authRateLimitPeriod",),
                    self.auth_rate_limit_period,
                    f"the {self.plan} plan counts rate limits over {_seconds(limits.rate_limit_periods)} only; "
                    "expected one of those (in seconds), or the zone's real plan in cloudflare.plan",
                )
            )
        if self.auth_rate_limit_timeout not in limits.mitigation_timeouts:
            problems.append(
                (
                    ("authRateLimitTimeout",),
                    self.auth_rate_limit_timeout,
                    f"the {self.plan} plan blocks for {_seconds(limits.mitigation_timeouts)} only; "
                    "expected one of those (in seconds), or the zone's real plan in cloudflare.plan",
                )
            )
        raise_problems("cloudflare", problems)
        return self


class AcmeSettings(Section):
    """Let's Encrypt certificates for Traefik."""

    email: str | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="Contact address for Let's Encrypt (optional)."
    )
    staging: bool = Field(default=False, description="Use Let's Encrypt's staging CA (untrusted certs, high limits).")


class SmtpSettings(Section):
    """Authelia's mail relay; the password is secret config `smtpPassword`."""

    address: str = Field(
        pattern=r"^(smtp|submission|submissions)://[A-Za-z0-9.-]+(:[0-9]{1,5})?$",
        description="Relay address, e.g. submission://smtp.example.org:587 (STARTTLS) or submissions://...:465.",
    )
    username: str = Field(description="Relay login.")
    sender: str = Field(description="From address, e.g. 'Media <auth@example.org>'.")


class AutheliaUser(Section):
    """An extra user of the file backend; the password is generated and exported as a secret."""

    username: str = Field(pattern=r"^[a-z][a-z0-9._-]{1,31}$", description="Login name.")
    display_name: str = Field(description="Name shown in Authelia.")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="Address for one-time codes and resets.")
    groups: list[str] = Field(default_factory=list, description="Groups; members of 'admins' may use admin apps.")


class AuthSettings(Section):
    """Authelia: users, sessions, regulation, OIDC clients, mail."""

    backend: Literal["file", "ldap"] = Field(
        default="file", description="file: users database uploaded by the program; ldap: LLDAP (deployed with it)."
    )
    admin_user: str = Field(default="admin", pattern=r"^[a-z][a-z0-9._-]{1,31}$", description="The admin's login.")
    admin_email: str | None = Field(default=None, description="The admin's e-mail (default admin@<domain>).")
    users: list[AutheliaUser] = Field(default_factory=list, description="More users (file backend).")
    oidc_clients: list[ServiceName] | None = Field(
        default=None,
        description="Apps that sign in through Authelia's OIDC provider (default: every enabled app that supports it).",
    )
    smtp: SmtpSettings | None = Field(
        default=None, description="Mail relay for one-time codes and resets; unset = a file in Authelia's config dir."
    )
    max_retries: int = Field(default=3, ge=1, le=20, description="Failed logins before a ban (regulation).")
    find_time: str = Field(default="2m", pattern=r"^[0-9]+[smhd]$", description="Window in which failures count.")
    ban_time: str = Field(default="12h", pattern=r"^[0-9]+[smhdwM]$", description="How long a ban lasts.")
    session_expiration: str = Field(default="1h", pattern=r"^[0-9]+[smhdwM]$", description="Session lifetime.")
    session_inactivity: str = Field(default="15m", pattern=r"^[0-9]+[smhdwM]$", description="Idle timeout.")
    remember_me: str = Field(default="1M", pattern=r"^[0-9]+[smhdwMy]$", description="'Remember me' lifetime.")
    password_min_length: int = Field(default=12, ge=8, le=64, description="Minimum password length.")

    @model_validator(mode="after")
    def _users(self) -> AuthSettings:
        names = [self.admin_user, *(u.username for u in self.users)]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise_problems("auth", [(("users",), duplicates, "usernames must be unique (the admin included)")])
        return self


class WireguardPeer(Section):
    """One VPN client."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", description="Peer name, e.g. phone.")


class WireguardSettings(Section):
    """The WireGuard server (wg-easy) when services.wireguard is enabled."""

    endpoint: str | None = Field(
        default=None,
        description="Host name or address clients connect to (default: cloudflare.publicAddress). Must not be "
        "proxied by Cloudflare: WireGuard is UDP.",
    )
    peers: list[WireguardPeer] = Field(default_factory=list, description="Clients created on the server.")
    client_cidr: Cidr = Field(default="10.8.0.0/24", description="Addresses handed to VPN clients.")
    dns: list[str] = Field(default=["1.1.1.1"], description="DNS servers pushed to clients.")
    allowed_ips: list[str] = Field(
        default=["0.0.0.0/0"], description="What clients route through the VPN (0.0.0.0/0 = everything)."
    )

    @field_validator("peers")
    @classmethod
    def _unique(cls, peers: list[WireguardPeer]) -> list[WireguardPeer]:
        names = [p.name for p in peers]
        if len(names) != len(set(names)):
            raise ValueError("peer names must be unique")
        return peers

    @field_validator("dns")
    @classmethod
    def _dns_addresses(cls, servers: list[str]) -> list[str]:
        for server in servers:
            try:
                ipaddress.ip_address(server)
            except ValueError:
                raise ValueError(f"{server!r} is not an IP address; expected resolvers such as 1.1.1.1") from None
        return servers

    @field_validator("allowed_ips")
    @classmethod
    def _allowed_networks(cls, networks: list[str]) -> list[str]:
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=True)
            except ValueError:
                raise ValueError(
                    f"{network!r} is not a network; expected CIDRs such as 0.0.0.0/0 or 10.10.0.0/24"
                ) from None
        return networks

    @model_validator(mode="after")
    def _peers_fit(self) -> WireguardSettings:
        # wg-easy takes the range's first host address for the server; each peer gets one of the rest.
        room = ipaddress.IPv4Network(self.client_cidr).num_addresses - 3
        if len(self.peers) > room:
            raise_problems(
                "wireguard",
                [
                    (
                        ("peers",),
                        f"{len(self.peers)} peers",
                        f"clientCidr {self.client_cidr} has addresses for {room} peers besides the server; expected "
                        "fewer peers or a larger range",
                    )
                ],
            )
        return self


HSTS_PRELOAD_MIN_SECONDS = 31536000
"""hstspreload.org's submission requirement: max-age of at least one year (with includeSubDomains and preload)."""


class EdgeSettings(Section):
    """Traefik, Authelia and WireGuard: TLS, headers, single sign-on, VPN."""

    acme: AcmeSettings = Field(default_factory=AcmeSettings, description="Let's Encrypt.")
    hsts_preload: bool = Field(
        default=False, description="Send HSTS with preload (only once the domain is submitted to the preload list)."
    )
    hsts_seconds: int = Field(default=31536000, ge=0, le=2**31 - 1, description="HSTS max-age in seconds.")
    auth: AuthSettings = Field(default_factory=AuthSettings, description="Authelia.")
    wireguard: WireguardSettings = Field(default_factory=WireguardSettings, description="WireGuard.")

    @model_validator(mode="after")
    def _preload_needs_a_year(self) -> EdgeSettings:
        if self.hsts_preload and self.hsts_seconds < HSTS_PRELOAD_MIN_SECONDS:
            raise_problems(
                "edge",
                [
                    (
                        ("hstsSeconds",),
                        self.hsts_seconds,
                        f"hstsPreload is on, and the preload list requires a max-age of at least "
                        f"{HSTS_PRELOAD_MIN_SECONDS} (one year); expected hstsSeconds >= {HSTS_PRELOAD_MIN_SECONDS} "
                        "or hstsPreload false",
                    )
                ],
            )
        return self


BACKUP_SETS: tuple[str, ...] = ("databases", "config", "metadata", "originals", "media")
"""Backup sets, each its own restic repository: dumps hourly, config/metadata/originals daily, media weekly."""

_CRON_FIELD = re.compile(r"[0-9A-Za-z*/,-]+")
_SUBSET = re.compile(r"(?:(?P<pct>[0-9]+(?:\.[0-9]+)?)%|(?P<n>[0-9]+)/(?P<m>[0-9]+)|[0-9]+[KMGT])")


def _cron(value: str) -> str:
    fields = value.split()
    if len(fields) != 5 or not all(_CRON_FIELD.fullmatch(f) for f in fields):
        raise ValueError(
            "not a cron schedule; expected five fields (minute hour day-of-month month day-of-week) "
            "such as '0 * * * *' (hourly) or '15 3 * * *' (daily at 03:15)"
        )
    return " ".join(fields)


def _subset(value: str) -> str:
    match = _SUBSET.fullmatch(value)
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


_REPO_NAME = re.compile(r"[a-z][a-z0-9-]{0,30}")
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,62}")
_REMOTE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_. -]*")
_REPO_PATH = re.compile(r"/?[A-Za-z0-9._@+-]+(?:/[A-Za-z0-9._@+-]+)*")

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
        if not _REPO_NAME.fullmatch(self.name) or self.name == "local":
            problems.append(
                (("name",), self.name, "expected lowercase letters, digits and hyphens (not 'local', which is taken)")
            )
        if not _REPO_PATH.fullmatch(self.path) or ".." in self.path.split("/"):
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
        if self.endpoint is not None and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]+)?", self.endpoint):
            problems.append((("endpoint",), self.endpoint, "expected a URL such as https://s3.example.com"))
        if self.bucket is not None and not _BUCKET.fullmatch(self.bucket):
            problems.append((("bucket",), self.bucket, "expected a bucket name (letters, digits, . _ -)"))
        if self.remote is not None and not _REMOTE.fullmatch(self.remote):
            problems.append((("remote",), self.remote, "expected an rclone remote name such as b2crypt"))
        if self.host is not None and not re.fullmatch(r"[A-Za-z0-9.:-]+", self.host):
            problems.append((("host",), self.host, "expected a host name or IP address"))
        if self.user is not None and not re.fullmatch(r"[a-z_][a-z0-9_.-]{0,31}", self.user):
            problems.append((("user",), self.user, "expected a POSIX user name"))
        if self.host_key is not None and not re.fullmatch(r"(ssh|ecdsa)-[a-z0-9-]+ [A-Za-z0-9+/=]+", self.host_key):
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


class Severity(StrEnum):
    """Alert severity: critical pages someone, warning waits for working hours, info is for dashboards."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class AlertChannel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    TELEGRAM = "telegram"


class EmailChannel(Section):
    """Alert e-mail through an SMTP relay. The password is secret config `alertSmtpPassword` (with a username)."""

    to: list[EmailAddress] = Field(min_length=1, description="Recipients of alert e-mail.")
    sender: EmailAddress = Field(description="From address of alert e-mail.")
    smarthost: HostPort = Field(description="SMTP relay as host:port, e.g. smtp.example.org:587.")
    username: str | None = Field(default=None, min_length=1, description="SMTP login; the password is secret config.")
    require_tls: bool = Field(default=True, description="Refuse to send unless the relay offers STARTTLS.")


class WebhookChannel(Section):
    """A chat webhook (Discord, Slack, ntfy or any JSON receiver). Its URL is secret config `alertWebhookUrl`."""

    kind: Literal["discord", "slack", "ntfy", "generic"] = Field(
        description="discord or slack: their incoming-webhook format; ntfy or generic: Alertmanager's JSON "
        "(for ntfy use a topic URL with message templating, or an Alertmanager bridge)."
    )
    channel: str | None = Field(
        default=None, pattern=r"^[#@][A-Za-z0-9._-]{1,80}$", description="Slack channel override, e.g. #alerts."
    )

    @model_validator(mode="after")
    def _channel_is_slack_only(self) -> WebhookChannel:
        if self.channel is not None and self.kind != "slack":
            raise_problems(
                "webhook", [(("channel",), self.channel, f"only a slack webhook takes a channel (kind is {self.kind})")]
            )
        return self


class TelegramChannel(Section):
    """A Telegram bot posting to a chat. The bot token is secret config `alertTelegramBotToken`."""

    chat_id: int = Field(description="Chat or group ID the bot posts to (groups are negative numbers).")

    @field_validator("chat_id")
    @classmethod
    def _nonzero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("0 is not a Telegram chat; expected the chat's ID (ask @userinfobot, groups are < 0)")
        return value


DEFAULT_ROUTES: dict[Severity, tuple[AlertChannel, ...]] = {
    Severity.CRITICAL: (AlertChannel.TELEGRAM, AlertChannel.WEBHOOK, AlertChannel.EMAIL),
    Severity.WARNING: (AlertChannel.EMAIL, AlertChannel.WEBHOOK),
    Severity.INFO: (),
}

SECRET_FOR_CHANNEL = {
    AlertChannel.EMAIL: "alertSmtpPassword",
    AlertChannel.WEBHOOK: "alertWebhookUrl",
    AlertChannel.TELEGRAM: "alertTelegramBotToken",
}


class AlertSettings(Section):
    """Where alerts go: receivers per channel, routing by severity, notification cadence.

    Receiver credentials are secret config: alertSmtpPassword, alertWebhookUrl, alertTelegramBotToken.
    """

    email: EmailChannel | None = Field(default=None, description="E-mail receiver.")
    webhook: WebhookChannel | None = Field(default=None, description="Discord/Slack/ntfy/generic webhook receiver.")
    telegram: TelegramChannel | None = Field(default=None, description="Telegram receiver.")
    routes: dict[Severity, list[AlertChannel]] | None = Field(
        default=None,
        description="Channels per severity. Default: critical -> every configured channel (the pager), "
        "warning -> email and webhook, info -> none.",
    )
    group_wait: PromDuration = Field(default="30s", description="Wait before the first notification of a group.")
    group_interval: PromDuration = Field(default="5m", description="Wait before notifying about new alerts in a group.")
    repeat_critical: PromDuration = Field(default="1h", description="Re-send a firing critical alert this often.")
    repeat_warning: PromDuration = Field(default="12h", description="Re-send a firing warning this often.")

    @model_validator(mode="after")
    def _routes_use_configured_channels(self) -> AlertSettings:
        problems: list[ProblemSpec] = []
        for severity, channels in (self.routes or {}).items():
            for i, channel in enumerate(channels):
                if not self.configured(channel):
                    problems.append(
                        (
                            ("routes", severity.value, i),
                            channel.value,
                            f"the {channel.value} channel is not configured; set alerts.{channel.value} or remove it",
                        )
                    )
        raise_problems("alerts", problems)
        return self

    def configured(self, channel: AlertChannel) -> bool:
        return getattr(self, channel.value) is not None

    def channels_for(self, severity: Severity) -> list[AlertChannel]:
        if self.routes is not None:
            return list(dict.fromkeys(self.routes.get(severity, [])))
        return [c for c in DEFAULT_ROUTES[severity] if self.configured(c)]

    def required_secrets(self) -> dict[str, str]:
        """Secret config keys this alerting setup needs -> why."""
        needed: dict[str, str] = {}
        if self.email is not None and self.email.username:
            needed[SECRET_FOR_CHANNEL[AlertChannel.EMAIL]] = "alerts.email.username is set; set the SMTP password"
        if self.webhook is not None:
            needed[SECRET_FOR_CHANNEL[AlertChannel.WEBHOOK]] = "alerts.webhook is configured; set its URL"
        if self.telegram is not None:
            needed[SECRET_FOR_CHANNEL[AlertChannel.TELEGRAM]] = "alerts.telegram is configured; set the bot token"
        return needed


class AlertThresholds(Section):
    """When the alert rules fire."""

    cpu_percent: float = Field(default=90, gt=0, lt=100, description="Host or container CPU use (of its limit), %.")
    memory_percent: float = Field(default=90, gt=0, lt=100, description="Host or container memory use (of limit), %.")
    disk_percent: float = Field(default=85, gt=0, lt=100, description="Filesystem use that raises a disk alert, %.")
    disk_fill_window: PromDuration = Field(
        default="24h", description="Alert when a disk is predicted full within this."
    )
    certificate_days: int = Field(default=14, ge=1, le=89, description="Alert when a TLS certificate expires sooner.")
    restarts: int = Field(default=3, ge=1, le=100, description="Container restarts within restartWindow that alert.")
    restart_window: PromDuration = Field(default="15m", description="Window for counting container restarts.")
    crowdsec_decisions: int = Field(
        default=20, ge=1, description="CrowdSec scenario triggers (bans) within securityWindow that alert."
    )
    failed_logins: int = Field(
        default=10, ge=1, description="Failed Authelia first-factor logins within securityWindow that alert."
    )
    security_window: PromDuration = Field(default="15m", description="Window for the security surge alerts.")


def _backup_set(name: str) -> str:
    if name not in BACKUP_SETS:
        raise ValueError("not a backup set; expected one of: " + ", ".join(BACKUP_SETS))
    return name


class MonitoringSettings(Section):
    """Metrics, logs and dashboards: scrape cadence, retention and alert thresholds."""

    scrape_interval: PromDuration = Field(default="30s", description="How often Prometheus scrapes and evaluates.")
    prometheus_retention_time: PromDuration = Field(default="30d", description="Prometheus keeps samples this long.")
    prometheus_retention_size: ByteSize = Field(
        default="20GB", description="...and at most this much TSDB on disk (oldest blocks go first)."
    )
    loki_retention: PromDuration = Field(
        default="31d", description="Loki keeps logs this long (a whole number of days)."
    )
    thresholds: AlertThresholds = Field(default_factory=AlertThresholds, description="Alert thresholds.")
    backup_max_age: dict[Annotated[str, AfterValidator(_backup_set)], PromDuration] = Field(
        default_factory=lambda: {
            "databases": "2h",
            "config": "26h",
            "metadata": "26h",
            "originals": "26h",
            "media": "8d",
        },
        description="Allowed age of the last successful backup, per backup set.",
    )
    backup_max_age_default: PromDuration = Field(default="26h", description="Allowed age for any other backup set.")
    grafana_admin_group: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]{1,64}$",
        description="SSO group whose members are Grafana admins (default: the auth backend's admin group, admins "
        "for the file backend, lldap_admin for ldap).",
    )

    @model_validator(mode="after")
    def _retention(self) -> MonitoringSettings:
        problems: list[ProblemSpec] = []
        thresholds = self.thresholds
        if thresholds.restarts * 60 >= duration_seconds(thresholds.restart_window):
            problems.append(
                (
                    ("thresholds", "restarts"),
                    thresholds.restarts,
                    f"cannot be seen within restartWindow {thresholds.restart_window} (a restart takes about a "
                    "minute); expected fewer restarts or a longer window",
                )
            )
        loki = duration_seconds(self.loki_retention)
        if loki < 86400 or loki % 86400:
            problems.append(
                (
                    ("lokiRetention",),
                    self.loki_retention,
                    "Loki deletes logs by whole days; expected a multiple of 24h such as 7d or 31d",
                )
            )
        ages: list[tuple[tuple[str | int, ...], str]] = [
            (("backupMaxAge", k), v) for k, v in self.backup_max_age.items()
        ]
        ages.append((("backupMaxAgeDefault",), self.backup_max_age_default))
        for loc, age in ages:
            if duration_seconds(age) < 3600:
                problems.append((loc, age, "backups run at most hourly; expected an allowed age of 1h or more"))
        if duration_seconds(self.scrape_interval) > 300:
            problems.append(
                (("scrapeInterval",), self.scrape_interval, "longer than 5m leaves gaps in rate(); expected <= 5m")
            )
        if duration_seconds(self.prometheus_retention_time) < 2 * 86400:
            problems.append(
                (
                    ("prometheusRetentionTime",),
                    self.prometheus_retention_time,
                    "shorter than the 2d the alert and dashboard windows look back; expected >= 2d",
                )
            )
        raise_problems("monitoring", problems)
        return self


VPN_PROVIDERS = (
    "airvpn", "custom", "cyberghost", "expressvpn", "fastestvpn", "giganews", "hidemyass", "ipvanish", "ivpn",
    "mullvad", "nordvpn", "perfect privacy", "privado", "private internet access", "privatevpn", "protonvpn",
    "purevpn", "slickvpn", "surfshark", "torguard", "vpn unlimited", "vpnsecure", "vyprvpn", "windscribe",
)  # fmt: skip
"""gluetun's VPN_SERVICE_PROVIDER values."""

PORT_FORWARDING_PROVIDERS = ("perfect privacy", "private internet access", "privatevpn", "protonvpn")
"""Providers for which gluetun obtains a forwarded port itself."""


def _interface_address(value: str) -> str:
    try:
        return str(ipaddress.ip_interface(value))
    except ValueError:
        raise ValueError("not an interface address; expected an address with its prefix, e.g. 10.64.0.2/32") from None


InterfaceAddress = Annotated[str, AfterValidator(_interface_address)]


class VpnSettings(Section):
    """The VPN the download client's traffic leaves through (gluetun). Credentials are secret config: vpnWireguardPrivateKey (WireGuard) or vpnUser and vpnPassword (OpenVPN)."""  # noqa: E501

    provider: str | None = Field(
        default=None,
        description="gluetun's VPN_SERVICE_PROVIDER, e.g. protonvpn, mullvad, private internet access (required "
        "when the download client is enabled).",
    )
    type: Literal["wireguard", "openvpn"] = Field(default="wireguard", description="wireguard or openvpn.")
    server_countries: list[str] = Field(
        default_factory=list, description="Server countries as the provider names them, e.g. ['Switzerland']."
    )
    port_forwarding: bool = Field(
        default=False,
        description="Obtain a forwarded port and apply it to qBittorrent on every (re)connect "
        "(" + ", ".join(PORT_FORWARDING_PROVIDERS) + ").",
    )
    wireguard_addresses: list[InterfaceAddress] = Field(
        default_factory=list,
        description="WireGuard interface addresses from the provider's config, e.g. ['10.64.222.21/32'], "
        "for providers that need them.",
    )

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str | None) -> str | None:
        if value is not None and value.lower() not in VPN_PROVIDERS:
            raise ValueError("unknown VPN provider; expected one of: " + ", ".join(VPN_PROVIDERS))
        return value.lower() if value is not None else None

    @field_validator("server_countries")
    @classmethod
    def _countries(cls, values: list[str]) -> list[str]:
        for value in values:
            if not value.strip() or "," in value:
                raise ValueError(f"server country {value!r} is not a name; expected names such as Switzerland")
        return values

    @model_validator(mode="after")
    def _forwarding_supported(self) -> VpnSettings:
        if self.port_forwarding and self.provider is not None and self.provider not in PORT_FORWARDING_PROVIDERS:
            raise_problems(
                "vpn",
                [
                    (
                        ("portForwarding",),
                        True,
                        f"{self.provider} has no port forwarding that gluetun can use; expected a provider among "
                        + ", ".join(PORT_FORWARDING_PROVIDERS)
                        + ", or portForwarding false",
                    )
                ],
            )
        return self


class MediaSettings(Section):
    """Media servers, content managers and downloads."""

    calibre_library: AbsPath | None = Field(
        default=None,
        description="The Calibre library (the folder holding metadata.db) on the host, inside dataRoot; "
        "default <dataRoot>/media/books.",
    )
    transcode_tmpfs: MemorySize = Field(
        default="2g",
        description="Size of Jellyfin's RAM transcode scratch when paths.transcodePath is unset "
        "(it counts against Jellyfin's memory limit).",
    )
    machine_learning_gpu: bool = Field(
        default=True,
        description="Run Immich machine learning on the site's GPU (its CUDA, OpenVINO or ROCm image).",
    )
    vpn: VpnSettings = Field(default_factory=VpnSettings, description="The download client's VPN.")


RedisPolicy = Literal[
    "noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random",
    "volatile-ttl",
]  # fmt: skip


class DataSettings(Section):
    """Shared data services: PostgreSQL, Redis (the L1 cache) and Elasticsearch. Memory limits are services.<name>.memory."""  # noqa: E501

    redis_maxmemory: MemorySize = Field(
        default="192m", description="Redis maxmemory; at most 3/4 of services.redis.memory."
    )
    redis_maxmemory_policy: RedisPolicy = Field(
        default="allkeys-lru", description="What Redis evicts at maxmemory (allkeys-lru: least recently used)."
    )
    elasticsearch_heap: MemorySize = Field(
        default="1g", description="Elasticsearch JVM heap (-Xms/-Xmx); at most half of services.elasticsearch.memory."
    )


ACK_PLACEHOLDER = "<why the site accepts the CDN terms for this app, 20+ characters>"


class PolicySettings(Section):
    """What the site accepts that the policy pack would otherwise refuse, each with its reason."""

    require_digests: bool = Field(
        default=False,
        description="Refuse any image pulled by tag only (MS-014 mandatory): set it once `make pin` has pinned "
        "every image by digest, so a re-pushed tag cannot change what runs.",
    )

    acknowledge_proxied_media: dict[ServiceName, str] = Field(
        default_factory=dict,
        description="Streaming apps whose Cloudflare-proxied DNS record the site accepts despite Cloudflare's "
        "CDN terms, each with the reason (policy MS-027).",
    )

    @field_validator("acknowledge_proxied_media")
    @classmethod
    def _streaming_with_reason(cls, acks: dict[str, str]) -> dict[str, str]:
        problems: list[ProblemSpec] = []
        for name, reason in acks.items():
            if name in CATALOG and not CATALOG[name].streams_media:
                problems.append(((name,), name, "not a streaming app; only apps serving video or large media need it"))
            if len(reason.strip()) < 20:
                problems.append(((name,), reason, "expected the reason the site accepts it, at least 20 characters"))
        raise_problems("acknowledgeProxiedMedia", problems)
        return acks


class Settings(Section):
    """One site: everything under the `media-server:` stack config namespace."""

    _lock: ImageLock = PrivateAttr(default_factory=read_lock)

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
    edge: EdgeSettings = Field(default_factory=EdgeSettings, description="Traefik, Authelia, WireGuard.")
    backup: BackupSettings = Field(default_factory=BackupSettings, description="Backups.")
    media: MediaSettings = Field(default_factory=MediaSettings, description="Media tier.")
    data: DataSettings = Field(default_factory=DataSettings, description="Data services.")
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings, description="Metrics and logs.")
    alerts: AlertSettings = Field(default_factory=AlertSettings, description="Alert receivers and routing.")
    policy: PolicySettings = Field(default_factory=PolicySettings, description="Acknowledged policy exceptions.")
    search: SearchSettings = Field(
        default_factory=SearchSettings, description="Unified search across the media apps (README: Unified search)."
    )

    @model_validator(mode="after")
    def _site_checks(self) -> Settings:
        problems: list[ProblemSpec] = []
        cores = self.host.cpus
        for name, override in self.services.items():
            if cores and override.cpus and override.cpus > cores:
                problems.append(
                    (
                        ("services", name, "cpus"),
                        override.cpus,
                        f"above the host's {cores} cores (host.cpus); Docker refuses such a limit",
                    )
                )
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
        if self.cloudflare.enabled and not self.tiers.edge:
            problems.append(
                (
                    ("tiers", "edge"),
                    False,
                    "cloudflare.enabled is true, but Cloudflare fronts the edge tier (Traefik, Authelia), which is "
                    "off: its records would point at nothing; expected tiers.edge true or cloudflare.enabled false",
                )
            )
        zone = self.cloudflare.zone
        if self.cloudflare.enabled and zone and not (self.domain == zone or self.domain.endswith("." + zone)):
            problems.append((("cloudflare", "zone"), zone, f"the domain {self.domain} is not inside this zone"))
        problems.extend(self._edge_problems())
        problems.extend(env_problems(self))
        problems.extend(overlap_problems(self))
        problems.extend(self._bypass_problems())
        problems.extend(search_problems(self))
        raise_problems("Settings", problems)
        return self

    @model_validator(mode="after")
    def _tier_checks(self) -> Settings:
        raise_problems("Settings", tier_problems(self))
        return self

    def _edge_problems(self) -> list[ProblemSpec]:
        problems: list[ProblemSpec] = []
        auth = self.edge.auth
        for name in auth.oidc_clients or []:
            key = ("edge", "auth", "oidcClients")
            if not CATALOG[name].oidc:
                supported = sorted(n for n, s in CATALOG.items() if s.oidc)
                problems.append((key, name, "does not support OIDC; expected one of: " + ", ".join(supported)))
            elif not self.is_enabled(name):
                problems.append((key, name, f"{name} is disabled; enable services.{name} or remove it from the list"))
        override = self.services.get("lldap")
        if auth.backend == "ldap" and override is not None and override.enabled is False:
            problems.append((("services", "lldap", "enabled"), False, "edge.auth.backend is ldap, which runs LLDAP"))
        cloudflare = self.cloudflare
        if cloudflare.enabled:
            for name, proxied in cloudflare.proxied.items():
                if not CATALOG[name].routed:
                    problems.append((("cloudflare", "proxied", name), proxied, "has no web route and so no record"))
            streaming = sorted(
                spec.name
                for spec in self.enabled_services()
                if spec.routed and spec.streams_media and self.cloudflare_proxied(spec)
            )
            problems.extend(self._certificate_problems())
            acks = self.policy.acknowledge_proxied_media
            missing = [name for name in streaming if name not in acks]
            for name in missing:
                problems.append(
                    (("policy", "acknowledgeProxiedMedia", name), None, self._proxied_media_message(name, missing))
                )
        if self.is_enabled("wireguard") and not (self.edge.wireguard.endpoint or cloudflare.public_address):
            problems.append(
                (("edge", "wireguard", "endpoint"), None, "WireGuard is enabled; expected the address clients dial")
            )
        return problems

    def _proxied_media_message(self, name: str, missing: list[str]) -> str:
        """What to do about a proxied streaming app, with the exact stack-file line that acknowledges every one."""
        wanted = {**self.policy.acknowledge_proxied_media, **dict.fromkeys(missing, ACK_PLACEHOLDER)}
        line = (
            f"{NAMESPACE}:policy: "
            + yaml.safe_dump(
                {"acknowledgeProxiedMedia": wanted}, default_flow_style=True, width=10_000, sort_keys=True
            ).strip()
        )
        terms = "read Cloudflare's terms on serving video (README)"
        if self.cloudflare.mode == "tunnel":
            return (
                f"{name} streams media, and tunnel mode carries every app through Cloudflare (no record can be "
                f"DNS-only); {terms}, then give the reason the site accepts them under config:, e.g. {line}"
            )
        return (
            f"{name} streams media and would be proxied (cloudflare.proxied); {terms}, then keep it DNS-only "
            f"(cloudflare.proxied.{name}: false) or give the reason the site accepts them under config:, e.g. {line}"
        )

    def _bypass_problems(self) -> list[ProblemSpec]:
        """Bypass paths only for apps with a login of their own, and never over a page of the app's UI."""
        problems: list[ProblemSpec] = []
        for name, override in self.services.items():
            paths = tuple(override.bypass_paths or ())
            problem = bypass_spec_problem(CATALOG[name], paths)
            if problem:
                problems.append((("services", name, "bypassPaths"), list(paths), f"{name} {problem}"))
        return problems

    def _certificate_problems(self) -> list[ProblemSpec]:
        """Proxied hosts Cloudflare's edge has no certificate for: Universal SSL covers the zone and one level below
        it only (developers.cloudflare.com/ssl/edge-certificates/universal-ssl/limitations/#hostname-coverage)."""
        zone = self.cloudflare.zone
        if not zone or self.cloudflare.advanced_certificates:
            return []
        deep = sorted(
            {
                host
                for spec in self.enabled_services()
                if spec.routed and spec.subdomain and self.cloudflare_proxied(spec)
                for host in (f"{spec.subdomain}.{self.domain}", *((self.domain,) if spec.apex else ()))
                if host.endswith("." + zone) and host.count(".") - zone.count(".") > 1
            }
        )
        if not deep:
            return []
        shown = ", ".join(deep[:3]) + (f" and {len(deep) - 3} more" if len(deep) > 3 else "")
        return [
            (
                ("cloudflare", "advancedCertificates"),
                False,
                f"proxied hosts {shown} are more than one level below zone {zone}, which Universal SSL does not "
                "cover (browsers would get a certificate error); expected cloudflare.advancedCertificates: true when "
                "the zone has Advanced Certificate Manager with Total TLS, or the domain set to the zone itself, or "
                "those apps DNS-only (cloudflare.proxied.<app>: false)",
            )
        ]

    def cloudflare_proxied(self, spec: ServiceSpec) -> bool:
        """Whether the app's DNS record is proxied (orange cloud) at Cloudflare."""
        if self.cloudflare.mode == "tunnel":
            return True
        return self.cloudflare.proxied.get(spec.name, not spec.streams_media)

    def oidc_client_names(self) -> list[str]:
        """Apps registered as OIDC clients of Authelia (none when the edge tier is off)."""
        if not self.tiers.edge:
            return []
        chosen = self.edge.auth.oidc_clients
        candidates = chosen if chosen is not None else [n for n, s in CATALOG.items() if s.oidc]
        return sorted(n for n in candidates if self.is_enabled(n) and CATALOG[n].oidc)

    # ------------------------------------------------------------ projections of catalog + settings
    def tier_enabled(self, tier: Tier) -> bool:
        if tier in (Tier.EDGE, Tier.AUTH):
            return self.tiers.edge
        if tier is Tier.DATA:
            return True
        return bool(getattr(self.tiers, tier.value))

    def service(self, name: str) -> ServiceSpec:
        """The catalog entry with this site's overrides applied (and its CPU limit capped at the host's cores)."""
        spec = self._service(name)
        cores = self.host.cpus
        return spec.model_copy(update={"cpus": float(cores)}) if cores and spec.cpus > cores else spec

    def base_image(self, name: str) -> ImageRef:
        """The app's image before settings derive a variant from it: the catalog's, moved by the image lock,
        then by services.<name>.imageTag (a site's own tag wins over the lock)."""
        spec, override = CATALOG[name], self.services.get(name)
        if override is not None and override.image_tag:
            return spec.image.model_copy(update={"tag": override.image_tag, "digest": override.image_digest})
        locked = None if spec.image.build else self._lock.tag_for(name, spec.image.repository)
        return spec.image.model_copy(update={"tag": locked}) if locked else spec.image

    def _service(self, name: str) -> ServiceSpec:
        spec = self._tailored(name)
        image = spec.image
        if image.digest is None and image.build is None:
            digest = self._lock.digest_for(name, image.repository, image.tag)
            if digest is not None:
                return spec.model_copy(update={"image": image.model_copy(update={"digest": digest})})
        return spec

    def _tailored(self, name: str) -> ServiceSpec:
        spec = CATALOG[name]
        base = self.base_image(name)
        if base != spec.image:
            spec = spec.model_copy(update={"image": base})
        override = self.services.get(name)
        if override is None:
            return tailor(spec, self)
        update: dict[str, object] = {}
        if override.image_digest and not override.image_tag:
            update["image"] = spec.image.model_copy(update={"digest": override.image_digest})
        if override.memory:
            update["memory"] = override.memory
        if override.cpus:
            update["cpus"] = override.cpus
        if override.subdomain:
            update["subdomain"] = override.subdomain
        if override.env:
            update["env"] = {**spec.env, **override.env}
        if override.bypass_paths is not None:
            update["bypass_paths"] = tuple(override.bypass_paths)
        return tailor(spec.model_copy(update=update) if update else spec, self)

    def is_enabled(self, name: str) -> bool:
        spec = CATALOG[name]
        override = self.services.get(name)
        if name == SEARCH:
            # Its own section's switch, and the usual one: off when either says off (a conflict is refused).
            wanted = self.search.enabled and not (override and override.enabled is False)
        elif override and override.enabled is not None:
            wanted = override.enabled
        elif spec.part_of is not None:
            return self.is_enabled(spec.part_of) and self.tier_enabled(spec.tier)
        else:
            wanted = spec.enabled_by_default
        if name in self._implied_services():
            wanted = True
        return wanted and self.tier_enabled(spec.tier)

    def _implied_services(self) -> set[str]:
        """Services a setting turns on by itself: LLDAP for the ldap backend, cloudflared for tunnel mode,
        Elasticsearch for search.engine elasticsearch."""
        implied = set()
        if self.edge.auth.backend == "ldap":
            implied.add("lldap")
        if self.cloudflare.enabled and self.cloudflare.mode == "tunnel":
            implied.add("cloudflared")
        if elasticsearch_wanted(self):
            implied.add("elasticsearch")
        override = self.services.get("wireguard")
        wireguard_on = (
            override.enabled if override and override.enabled is not None else CATALOG["wireguard"].enabled_by_default
        )
        if wireguard_on and self.edge.wireguard.peers:
            implied.add("wireguard-peers")
        return implied

    def enabled_services(self, tier: Tier | None = None) -> list[ServiceSpec]:
        return [
            self.service(name)
            for name, spec in CATALOG.items()
            if (tier is None or spec.tier is tier) and self.is_enabled(name)
        ]

    def url(self, spec: ServiceSpec) -> str | None:
        return f"https://{spec.subdomain}.{self.domain}" if spec.subdomain else None

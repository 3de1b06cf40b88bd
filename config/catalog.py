"""The service catalog: one typed entry per app the project deploys.

Tags are exact releases; bump them here (and only here). Tier issues add
detail to entries, never a second source of truth elsewhere.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from config.spec import (
    AuthPolicy,
    DashboardTile,
    DatabaseSpec,
    HeaderTrust,
    HealthcheckSpec,
    ImageRef,
    MetricsSpec,
    MountRole,
    MountSpec,
    NetworkName,
    OidcClientSpec,
    PublishedPort,
    ServiceSpec,
    StorageRoot,
    Tier,
)

P, M, A, D = NetworkName.PROXY, NetworkName.MEDIA, NetworkName.ADMIN, NetworkName.DATA
S = NetworkName.SOCKET


def _img(reference: str) -> ImageRef:
    repository, _, tag = reference.rpartition(":")
    return ImageRef(repository=repository, tag=tag)


def _http_check(port: int, path: str = "/", tool: str = "wget") -> HealthcheckSpec:
    url = f"http://127.0.0.1:{port}{path}"
    if tool == "curl":
        return HealthcheckSpec(test=("CMD", "curl", "-fsS", "-o", "/dev/null", url))
    return HealthcheckSpec(test=("CMD", "wget", "-q", "--spider", url))


def _config(target: str = "/config", source: str = "", role: MountRole = MountRole.CONFIG) -> MountSpec:
    return MountSpec(target=target, root=StorageRoot.CONFIG, source=source, role=role)


def _cache(target: str, source: str = "cache") -> MountSpec:
    return MountSpec(target=target, root=StorageRoot.CACHE, source=source, role=MountRole.CACHE)


def _logs(target: str, source: str, read_only: bool) -> MountSpec:
    return MountSpec(target=target, root=StorageRoot.LOGS, source=source, role=MountRole.CACHE, read_only=read_only)


def _host(target: str, source: str) -> MountSpec:
    """A read-only system path of the host (exporters and the socket proxy only)."""
    return MountSpec(target=target, root=StorageRoot.HOST, source=source, role=MountRole.CACHE, read_only=True)


def _data(read_only: bool, source: str = "", target: str = "/data", role: MountRole = MountRole.MEDIA) -> MountSpec:
    return MountSpec(target=target, root=StorageRoot.DATA, source=source, role=role, read_only=read_only)


LSIO_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID")
"""What linuxserver.io's root init needs with every other capability dropped: chown /config to PUID/PGID,
reach the site user's 0750 directories, switch to the app user (s6-setuidgid), and signal it on stop
(s6-supervise runs as root; without KILL its SIGTERM to the PUID process fails and `docker stop` ends in
SIGKILL, an unclean SQLite shutdown). config.image_facts.LSIO_ENTRYPOINT says each with its source."""

ENV_IS_GENERATED = (
    "its configuration is generated and checked by the policy gate, and it reads its environment over that "
    "configuration; change the setting that drives it"
)
ENV_IS_DATABASE = (
    "its environment decides who may connect (POSTGRES_INITDB_ARGS=--auth=trust) and is generated with its "
    "passwords; change the data settings instead"
)
ENV_IS_BOUNDARY_SOCKET = (
    "its environment is the Docker API allowlist (POST=1 or EXEC=1 would hand cAdvisor and Alloy root on the host)"
)
ENV_IS_BOUNDARY_VPN = "its environment is the VPN tunnel and kill switch; change media.vpn instead"
ENV_IS_BACKUP = "its environment names the repositories and their credentials; change the backup settings instead"


POSTGRES_SCRIPTS = "/opt/media-server"
"""Where DataTier uploads the PostgreSQL entrypoint and init script (a config mount: the root fs is read-only)."""


ARR_UI_PATHS = ("/calendar", "/settings/general", "/system/status", "/activity/queue")
"""Pages of the *arr web UI (a single-page app served for every path outside /api)."""


BAZARR_API = r"^/api/(badges|episodes|files|history|movies|providers|series|subtitles|system|webhooks)(/.*)?$"
"""Bazarr's API namespaces (bazarr/api/__init__.py): every method checks its API key (X-API-KEY or apikey=) but
system/ping and the form login system/account. Not /api/socket.io: its events (the library's activity) need none."""

BAZARR_UI_PATHS = (
    "/series",
    "/settings/general",
    "/system/status",
    "/api/socket.io/",
    "/bazarr.log",
    "/images/series/1",
)
"""Pages of Bazarr's UI (frontend/src/Router), its socket, and two routes its own login does not guard (app/ui.py
puts check_login above the route decorator, so Flask registers the unwrapped view): they stay behind SSO."""


def _arr(name: str, display: str, tag: str, port: int, description: str, icon: str, **extra: Any) -> ServiceSpec:
    """A *arr content manager: linuxserver image, the whole /data tree read-write for hardlinks."""
    fields: dict[str, Any] = {
        "name": name,
        "display_name": display,
        "tier": Tier.MEDIA,
        "image": _img(f"lscr.io/linuxserver/{name}:{tag}"),
        "port": port,
        "subdomain": name,
        "admin": True,
        "bypass_paths": (r"^/api/v[0-9]+/.*$",) if name != "mylar3" else (r"^/api$",),
        # API clients send the app's API key (X-Api-Key / apikey=): the app checks it itself.
        "own_auth": True,
        "ui_paths": ARR_UI_PATHS if name != "mylar3" else ("/home", "/config", "/history"),
        "networks": (P, M),
        "mounts": (_config(), _data(read_only=False)),
        "linuxserver_ids": True,
        "capabilities": LSIO_CAPABILITIES,
        "moves_files": True,
        "read_only_rootfs": False,
        "healthcheck": _http_check(port, "/ping", tool="curl") if name != "mylar3" else _http_check(port, "/", "curl"),
        "memory": "512m",
        "databases": (DatabaseSpec(engine="sqlite", name=f"{name}.db"),),
        "backup_exclude": ("logs/**", "MediaCover/**", "Backups/**", "*.db-wal", "*.db-shm"),
        "dashboard": DashboardTile(group="Content management", icon=f"{name}.png", description=description),
    }
    fields.update(extra)
    return ServiceSpec(**fields)


_ENTRIES: tuple[ServiceSpec, ...] = (
    # ---------------------------------------------------------------- edge
    ServiceSpec(
        name="traefik",
        env_locked=ENV_IS_GENERATED,
        display_name="Traefik",
        tier=Tier.EDGE,
        image=_img("traefik:v3.7.15"),
        # The dashboard is api@internal on websecure; the one plain listener is the metrics entry point,
        # which also answers /ping (render.traefik.METRICS_PORT).
        port=8082,
        status_path="/ping",
        subdomain="traefik",
        admin=True,
        networks=(P, A),
        mounts=(
            _config("/etc/traefik", role=MountRole.CONFIG),
            _logs("/var/log/traefik", "traefik", read_only=False),
        ),
        # Unprivileged: Docker (20.10+) lets any user of a container bind low ports in its own namespace.
        run_as_site_user=True,
        healthcheck=HealthcheckSpec(test=("CMD", "traefik", "healthcheck", "--ping")),
        memory="256m",
        published=(PublishedPort(internal=80, external=80), PublishedPort(internal=443, external=443)),
        metrics=MetricsSpec(port=8082),
        dashboard=DashboardTile(group="Administration", icon="traefik.png", description="Reverse proxy"),
        # Every router forward-auths to the bouncer, and every SSO router to Authelia (render/traefik.py).
        depends_on=("crowdsec-bouncer", "authelia"),
    ),
    ServiceSpec(
        name="crowdsec",
        env_locked=ENV_IS_GENERATED,
        display_name="CrowdSec",
        tier=Tier.EDGE,
        image=_img("crowdsecurity/crowdsec:v1.7.3"),
        networks=(P, A),
        mounts=(
            _config("/etc/crowdsec", "config"),
            _config("/var/lib/crowdsec/data", "data", role=MountRole.DATABASE),
            _logs("/var/log/traefik", "traefik", read_only=True),
        ),
        env={"COLLECTIONS": "crowdsecurity/traefik crowdsecurity/http-cve crowdsecurity/base-http-scenarios"},
        # Root, as the image is: its start script copies root-only files (local_api_credentials.yaml, 0600) from
        # /staging into /etc/crowdsec and exits when it cannot. Its own directories are root's (host preparation
        # follows the image's user), so it needs no capability; the site group lets it read Traefik's access log.
        site_group=True,
        healthcheck=HealthcheckSpec(test=("CMD", "cscli", "lapi", "status")),
        memory="384m",
        read_only_rootfs=False,
        metrics=MetricsSpec(port=6060),
        databases=(DatabaseSpec(engine="sqlite", name="data/crowdsec.db"),),
    ),
    ServiceSpec(
        name="crowdsec-bouncer",
        env_locked=ENV_IS_GENERATED,
        display_name="CrowdSec bouncer",
        tier=Tier.EDGE,
        image=_img("fbonalair/traefik-crowdsec-bouncer:0.5.0"),
        networks=(P,),
        env={"CROWDSEC_AGENT_HOST": "crowdsec:8080", "CROWDSEC_BOUNCER_SCHEME": "http", "GIN_MODE": "release"},
        # /app ignores its arguments (a second server would fail on :8080); the image ships /healthchecker.
        healthcheck=HealthcheckSpec(test=("CMD", "/healthchecker")),
        memory="64m",
        cpus=0.5,
        depends_on=("crowdsec",),
        part_of="crowdsec",
    ),
    ServiceSpec(
        name="cloudflared",
        env_locked=ENV_IS_GENERATED,
        display_name="Cloudflare Tunnel",
        tier=Tier.EDGE,
        image=_img("cloudflare/cloudflared:2025.11.1"),
        networks=(P,),
        command=("tunnel", "--no-autoupdate", "--metrics", "0.0.0.0:2000", "run"),
        healthcheck=HealthcheckSpec(test=("CMD", "cloudflared", "tunnel", "--metrics", "127.0.0.1:2000", "ready")),
        memory="128m",
        cpus=0.5,
        metrics=MetricsSpec(port=2000),
        enabled_by_default=False,
        depends_on=("traefik",),
    ),
    ServiceSpec(
        name="wireguard",
        env_locked=ENV_IS_GENERATED,
        display_name="WireGuard",
        own_auth=True,
        tier=Tier.EDGE,
        # 15.2.0 is the first release that reads INIT_ALLOWED_IPS (the split tunnel the site asks for).
        image=_img("ghcr.io/wg-easy/wg-easy:15.2.2"),
        port=51821,
        subdomain="vpn",
        admin=True,
        networks=(P,),
        mounts=(_config("/etc/wireguard"),),
        # The UI speaks plain HTTP on the proxy network; Traefik terminates TLS in front of it.
        env={"PORT": "51821", "HOST": "0.0.0.0", "INSECURE": "true", "DISABLE_IPV6": "true"},  # noqa: S104
        healthcheck=_http_check(51821, "/"),
        memory="128m",
        # WireGuard is in every kernel since 5.6: no SYS_MODULE to load it. wg-easy runs as root (interfaces,
        # iptables) and keeps its database in its config dir, which host preparation gives to root.
        capabilities=("NET_ADMIN", "NET_RAW"),
        sysctls={"net.ipv4.ip_forward": "1", "net.ipv4.conf.all.src_valid_mark": "1"},
        published=(PublishedPort(internal=51820, external=51820, protocol="udp"),),
        read_only_rootfs=False,
        enabled_by_default=False,
        dashboard=DashboardTile(group="Administration", icon="wireguard.png", description="VPN for remote access"),
    ),
    ServiceSpec(
        name="wireguard-peers",
        env_locked=ENV_IS_GENERATED,
        display_name="WireGuard peer provisioning",
        tier=Tier.EDGE,
        image=_img("python:3.13.9-alpine3.22"),
        networks=(P,),
        mounts=(_config("/peers"),),
        run_as_site_user=True,
        command=("python3", "/peers/provision_peers.py", "/peers/peers.json"),
        memory="64m",
        cpus=0.25,
        # A one-shot job: creates the peers named in settings through wg-easy's API, then exits.
        restart="on-failure",
        enabled_by_default=False,
        depends_on=("wireguard",),
    ),
    # ---------------------------------------------------------------- auth
    ServiceSpec(
        name="authelia",
        env_locked=ENV_IS_GENERATED,
        display_name="Authelia",
        own_auth=True,
        tier=Tier.AUTH,
        image=_img("authelia/authelia:4.39.20"),
        port=9091,
        subdomain="auth",
        public=True,
        auth=AuthPolicy.BYPASS,
        networks=(P, D),
        mounts=(_config("/config"),),
        # As the site user the entrypoint neither chowns nor switches user (no capabilities needed).
        run_as_site_user=True,
        healthcheck=_http_check(9091, "/api/health"),
        memory="256m",
        metrics=MetricsSpec(port=9959),
        databases=(DatabaseSpec(engine="postgres", name="authelia", server="postgres"),),
        depends_on=("postgres", "redis"),
        dashboard=DashboardTile(group="Administration", icon="authelia.png", description="Single sign-on"),
    ),
    ServiceSpec(
        name="lldap",
        env_locked=ENV_IS_GENERATED,
        display_name="LLDAP",
        own_auth=True,
        tier=Tier.AUTH,
        image=_img("lldap/lldap:v0.6.2-alpine-rootless"),
        port=17170,
        subdomain="ldap",
        admin=True,
        networks=(P, D),
        mounts=(_config("/data"),),
        run_as_site_user=True,
        healthcheck=HealthcheckSpec(
            test=("CMD", "/app/lldap", "healthcheck", "--config-file", "/data/lldap_config.toml")
        ),
        memory="128m",
        enabled_by_default=False,
        databases=(DatabaseSpec(engine="sqlite", name="users.db"),),
        dashboard=DashboardTile(group="Administration", icon="lldap.png", description="User directory"),
    ),
    # ---------------------------------------------------------------- data
    ServiceSpec(
        name="postgres",
        env_locked=ENV_IS_DATABASE,
        display_name="PostgreSQL",
        tier=Tier.DATA,
        image=_img("postgres:17.6-bookworm"),
        networks=(D,),
        mounts=(
            _config("/var/lib/postgresql/data", "pgdata", role=MountRole.DATABASE),
            _config(POSTGRES_SCRIPTS, "scripts"),
        ),
        run_as_site_user=True,
        healthcheck=HealthcheckSpec(test=("CMD", "pg_isready", "-h", "127.0.0.1", "-U", "postgres")),
        memory="1g",
        cpus=2.0,
        shm_size="128m",
        tmpfs={"/var/run/postgresql": "rw,noexec,nosuid,size=16m"},
    ),
    ServiceSpec(
        name="redis",
        env_locked=ENV_IS_DATABASE,
        display_name="Redis",
        tier=Tier.DATA,
        image=_img("redis:8.2.2-bookworm"),
        networks=(D,),
        mounts=(_config("/data", role=MountRole.CACHE),),
        # redis-cli reads the password from REDISCLI_AUTH (secret env), never from its command line.
        healthcheck=HealthcheckSpec(test=("CMD-SHELL", "redis-cli ping | grep -q PONG")),
        memory="256m",
        run_as_site_user=True,
        data_store=True,
    ),
    ServiceSpec(
        name="elasticsearch",
        display_name="Elasticsearch",
        tier=Tier.DATA,
        image=_img("docker.elastic.co/elasticsearch/elasticsearch:8.19.5"),
        networks=(D,),
        mounts=(_config("/usr/share/elasticsearch/data", "data", role=MountRole.DATABASE),),
        env={
            "discovery.type": "single-node",
            "cluster.name": "media-server",
            "xpack.security.enabled": "true",
            # Plain HTTP on the internal data network; authentication stays on.
            "xpack.security.http.ssl.enabled": "false",
            # The data network has no route out: don't try to download GeoIP databases.
            "ingest.geoip.downloader.enabled": "false",
        },
        # The password reaches curl on stdin (-K -, a config line written by the shell's printf builtin), never
        # on a command line the host's process list shows.
        healthcheck=HealthcheckSpec(
            test=(
                "CMD-SHELL",
                'printf \'user = "elastic:%s"\\n\' "$ELASTIC_PASSWORD" | curl -fsS -o /dev/null -K - '
                "'http://127.0.0.1:9200/_cluster/health?wait_for_status=yellow&timeout=5s'",
            ),
            start_period="120s",
        ),
        memory="2g",
        cpus=2.0,
        read_only_rootfs=False,
        enabled_by_default=False,
    ),
    # ---------------------------------------------------------------- media servers
    ServiceSpec(
        name="jellyfin",
        display_name="Jellyfin",
        tier=Tier.MEDIA,
        image=_img("jellyfin/jellyfin:10.11.3"),
        port=8096,
        subdomain="jellyfin",
        auth=AuthPolicy.ONE_FACTOR,
        own_auth=True,
        ui_paths=("/web/", "/web/index.html"),
        login_paths=("/Users/AuthenticateByName",),
        bypass_paths=(
            r"^/Users/AuthenticateByName$",
            r"^/(Items|Videos|Audio|Shows|Users|Sessions|System/Info|socket|web/.*\.(js|css|png|json))(/.*)?$",
        ),
        streams_media=True,
        networks=(P, M),
        mounts=(
            _config("/config", "config"),
            _config("/config/metadata", "metadata", role=MountRole.METADATA),
            _cache("/cache"),
            _data(read_only=True, source="media", target="/data/media"),
        ),
        run_as_site_user=True,
        healthcheck=_http_check(8096, "/health", tool="curl"),
        memory="4g",
        cpus=4.0,
        gpu=True,
        tmpfs={"/cache/transcodes": "rw,noexec,nosuid,size=2048m"},
        read_only_rootfs=False,
        databases=(DatabaseSpec(engine="sqlite", name="config/data/jellyfin.db"),),
        backup_exclude=("config/log/**", "config/data/transcodes/**"),
        dashboard=DashboardTile(group="Media", icon="jellyfin.png", description="Movies and TV"),
    ),
    ServiceSpec(
        name="navidrome",
        display_name="Navidrome",
        tier=Tier.MEDIA,
        image=_img("deluan/navidrome:0.58.0"),
        port=4533,
        subdomain="music",
        auth=AuthPolicy.ONE_FACTOR,
        own_auth=True,
        # navidrome v0.58.0 consts/consts.go: URLPathUI /app, Subsonic API /rest, public shares /share.
        ui_paths=("/app/", "/app/index.html"),
        login_paths=("/auth/login",),  # navidrome v0.58.0 server/server.go: POST /auth/login
        bypass_paths=(r"^/rest/.*$", r"^/share/.*$"),
        # navidrome v0.58.0 server/auth.go UsernameFromReverseProxyHeader: it signs in (and, for the first user,
        # creates) whoever the header names when the direct peer is in ND_REVERSEPROXYWHITELIST (checked against
        # RemoteAddr before chi's RealIP, server/middlewares.go realIPMiddleware); header default Remote-User
        # (conf/configuration.go). The whitelist is set to Traefik's address by config.tailoring.
        header_trust=HeaderTrust(
            header="Remote-User",
            trusted_env="ND_REVERSEPROXYWHITELIST",
            source="navidrome v0.58.0 server/auth.go, server/middlewares.go, conf/configuration.go",
        ),
        streams_media=True,
        networks=(P, M),
        mounts=(_config("/data"), _data(read_only=True, source="media/music", target="/music")),
        run_as_site_user=True,
        env={"ND_MUSICFOLDER": "/music", "ND_DATAFOLDER": "/data"},
        healthcheck=_http_check(4533, "/ping"),
        memory="512m",
        databases=(DatabaseSpec(engine="sqlite", name="navidrome.db"),),
        backup_exclude=("cache/**",),
        dashboard=DashboardTile(group="Media", icon="navidrome.png", description="Music streaming"),
    ),
    ServiceSpec(
        name="audiobookshelf",
        display_name="Audiobookshelf",
        tier=Tier.MEDIA,
        image=_img("ghcr.io/advplyr/audiobookshelf:2.30.0"),
        port=80,
        subdomain="audiobooks",
        auth=AuthPolicy.ONE_FACTOR,
        own_auth=True,
        # /login is the POST endpoint of its own login (audiobookshelf v2.30.0 server/Auth.js), used by the apps.
        ui_paths=("/library/x", "/item/x", "/config", "/audiobookshelf/"),
        login_paths=("/login",),
        bypass_paths=(r"^/api/.*$", r"^/login$", r"^/socket\.io/.*$", r"^/public/.*$"),
        streams_media=True,
        networks=(P, M),
        mounts=(
            _config("/config", "config"),
            _config("/metadata", "metadata", role=MountRole.METADATA),
            _data(read_only=True, source="media/audiobooks", target="/audiobooks"),
            _data(read_only=False, source="media/podcasts", target="/podcasts"),
        ),
        run_as_site_user=True,
        healthcheck=_http_check(80, "/healthcheck"),
        memory="512m",
        read_only_rootfs=False,
        databases=(DatabaseSpec(engine="sqlite", name="config/absdatabase.sqlite"),),
        backup_exclude=("metadata/cache/**", "metadata/logs/**"),
        dashboard=DashboardTile(group="Media", icon="audiobookshelf.png", description="Audiobooks and podcasts"),
    ),
    ServiceSpec(
        name="immich-server",
        display_name="Immich",
        tier=Tier.MEDIA,
        image=_img("ghcr.io/immich-app/immich-server:v2.2.3"),
        port=2283,
        subdomain="photos",
        auth=AuthPolicy.ONE_FACTOR,
        own_auth=True,
        ui_paths=("/photos", "/auth/login", "/admin/users", "/user-settings"),
        login_paths=("/api/auth/login",),
        bypass_paths=(r"^/api/.*$", r"^/\.well-known/immich$"),
        oidc=True,
        oidc_client=OidcClientSpec(
            redirect_paths=("/auth/login", "/user-settings"),
            extra_redirect_uris=("app.immich:///oauth-callback",),
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
        ),
        streams_media=True,
        networks=(P, M, D),
        mounts=(
            _data(read_only=False, source="media/photos", target="/data", role=MountRole.ORIGINALS),
            # Rebuildable renditions live in the cache root, so backups of the originals skip them.
            _cache("/data/thumbs", "thumbs"),
            _cache("/data/encoded-video", "encoded-video"),
        ),
        env={
            "DB_HOSTNAME": "immich-postgres",
            "DB_USERNAME": "immich",
            "DB_DATABASE_NAME": "immich",
            "REDIS_HOSTNAME": "immich-redis",
            "IMMICH_MACHINE_LEARNING_URL": "http://immich-machine-learning:3003",
            "IMMICH_MEDIA_LOCATION": "/data",
            "IMMICH_TELEMETRY_INCLUDE": "all",
        },
        run_as_site_user=True,
        healthcheck=HealthcheckSpec(test=("CMD", "immich-healthcheck")),
        memory="2g",
        cpus=2.0,
        gpu=True,
        read_only_rootfs=False,
        metrics=MetricsSpec(port=8081),
        databases=(DatabaseSpec(engine="postgres", name="immich", server="immich-postgres"),),
        depends_on=("immich-postgres", "immich-redis", "immich-machine-learning"),
        dashboard=DashboardTile(group="Media", icon="immich.png", description="Photos and videos"),
    ),
    ServiceSpec(
        name="immich-machine-learning",
        display_name="Immich machine learning",
        tier=Tier.MEDIA,
        image=_img("ghcr.io/immich-app/immich-machine-learning:v2.2.3"),
        networks=(M,),
        mounts=(_cache("/cache", "model-cache"),),
        run_as_site_user=True,
        healthcheck=HealthcheckSpec(test=("CMD", "python3", "healthcheck.py")),
        memory="4g",
        cpus=2.0,
        gpu=True,
        read_only_rootfs=False,
        # HOME is / for the site user: libraries keep their small config and caches here.
        tmpfs={"/.config": "rw,noexec,nosuid,size=16m", "/.cache": "rw,noexec,nosuid,size=256m"},
        depends_on=("immich-server",),
        part_of="immich-server",
    ),
    ServiceSpec(
        name="immich-postgres",
        env_locked=ENV_IS_DATABASE,
        display_name="Immich PostgreSQL",
        tier=Tier.MEDIA,
        image=_img("ghcr.io/immich-app/postgres:14-vectorchord0.4.3-pgvectors0.2.0"),
        networks=(D,),
        mounts=(_config("/var/lib/postgresql/data", "pgdata", role=MountRole.DATABASE),),
        env={"POSTGRES_USER": "immich", "POSTGRES_DB": "immich", "POSTGRES_INITDB_ARGS": "--data-checksums"},
        run_as_site_user=True,
        healthcheck=HealthcheckSpec(test=("CMD", "pg_isready", "-h", "127.0.0.1", "-U", "immich", "-d", "immich")),
        memory="1g",
        shm_size="128m",
        read_only_rootfs=False,
        tmpfs={"/var/run/postgresql": "rw,noexec,nosuid,size=16m"},
        depends_on=("immich-server",),
        part_of="immich-server",
    ),
    ServiceSpec(
        name="immich-redis",
        env_locked=ENV_IS_DATABASE,
        display_name="Immich Valkey",
        tier=Tier.MEDIA,
        image=_img("valkey/valkey:8.1.4-bookworm"),
        networks=(D,),
        healthcheck=HealthcheckSpec(test=("CMD-SHELL", "valkey-cli ping | grep -q PONG")),
        memory="256m",
        run_as_site_user=True,
        data_store=True,
        tmpfs={"/data": "rw,noexec,nosuid,size=64m"},
        depends_on=("immich-server",),
        part_of="immich-server",
    ),
    ServiceSpec(
        name="kavita",
        display_name="Kavita",
        tier=Tier.MEDIA,
        image=_img("jvmilazz0/kavita:0.8.8"),
        port=5000,
        subdomain="books",
        auth=AuthPolicy.ONE_FACTOR,
        own_auth=True,
        ui_paths=("/login", "/home", "/libraries", "/admin/dashboard"),
        bypass_paths=(r"^/api/opds/.*$",),
        networks=(P, M),
        mounts=(
            _config("/kavita/config"),
            _data(read_only=True, source="media/books", target="/books"),
            _data(read_only=True, source="media/comics", target="/comics"),
        ),
        run_as_site_user=True,
        healthcheck=_http_check(5000, "/api/health", tool="curl"),
        memory="512m",
        read_only_rootfs=False,
        databases=(DatabaseSpec(engine="sqlite", name="kavita.db"),),
        backup_exclude=("cache/**", "logs/**", "covers/**"),
        dashboard=DashboardTile(group="Media", icon="kavita.png", description="Books and comics"),
    ),
    ServiceSpec(
        name="calibre-web",
        display_name="Calibre-Web",
        tier=Tier.MEDIA,
        image=_img("lscr.io/linuxserver/calibre-web:0.6.25"),
        port=8083,
        subdomain="calibre",
        auth=AuthPolicy.ONE_FACTOR,
        own_auth=True,
        ui_paths=("/login", "/admin/view", "/book/1", "/me"),
        bypass_paths=(r"^/opds(/.*)?$",),
        networks=(P, M),
        # Read-write: Calibre-Web edits the library's metadata.db and adds uploaded books.
        mounts=(_config(), _data(read_only=False, source="media/books", target="/books")),
        linuxserver_ids=True,
        capabilities=LSIO_CAPABILITIES,
        healthcheck=_http_check(8083, "/", tool="curl"),
        memory="512m",
        read_only_rootfs=False,
        databases=(DatabaseSpec(engine="sqlite", name="app.db"),),
        dashboard=DashboardTile(group="Media", icon="calibre-web.png", description="E-book library"),
    ),
    # ---------------------------------------------------------------- unified search
    ServiceSpec(
        # Our own code (images/search): no published image searches across these apps, so it is built on the
        # Docker host from a pinned Alpine release, like the backup runner. It reads each app's API with a key
        # from secret files and Calibre's metadata.db read-only; its index is a rebuildable cache.
        name="search",
        display_name="Search",
        tier=Tier.MEDIA,
        image=ImageRef(repository="media-server/search", tag="1.0.0", build="images/search"),
        port=8080,
        subdomain="search",
        auth=AuthPolicy.ONE_FACTOR,
        # Proxy: Traefik, Prometheus and Homepage reach it; media: the apps it indexes (config.tailoring adds
        # the data network only for search.engine elasticsearch).
        networks=(P, M),
        mounts=(
            MountSpec(
                target="/config", root=StorageRoot.CONFIG, source="config", role=MountRole.CONFIG, read_only=True
            ),
            MountSpec(
                target="/run/secrets/search",
                root=StorageRoot.CONFIG,
                source="secrets",
                role=MountRole.CONFIG,
                read_only=True,
            ),
            _cache("/index", "index"),
            # Calibre's library at the data path Calibre-Web mounts (config.tailoring moves both together, and
            # drops this one when the calibre-web source is not indexed).
            _data(read_only=True, source="media/books", target="/books"),
        ),
        run_as_site_user=True,
        command=("python3", "-m", "mediasearch", "serve", "--config", "/config/search.json"),
        healthcheck=_http_check(8080, "/healthz"),
        status_path="/healthz",
        memory="256m",
        metrics=MetricsSpec(port=8080),
        dashboard=DashboardTile(group="Media", icon="mdi-magnify", description="Search every library"),
    ),
    # ---------------------------------------------------------------- content management
    _arr("sonarr", "Sonarr", "4.0.16", 8989, "TV series", "sonarr.png"),
    _arr("radarr", "Radarr", "6.0.4", 7878, "Movies", "radarr.png"),
    _arr("lidarr", "Lidarr", "2.14.5", 8686, "Music", "lidarr.png"),
    _arr(
        "readarr",
        "Readarr",
        "develop-0.4.18.2805-ls157",
        8787,
        "Books (retired upstream)",
        "readarr.png",
        enabled_by_default=False,
    ),
    _arr("mylar3", "Mylar3", "0.8.3", 8090, "Comics", "mylar3.png"),
    _arr("prowlarr", "Prowlarr", "2.1.5", 9696, "Indexers", "prowlarr.png", mounts=(_config(),), moves_files=False),
    _arr(
        "bazarr",
        "Bazarr",
        "1.6.0",
        6767,
        "Subtitles",
        "bazarr.png",
        bypass_paths=(BAZARR_API,),
        ui_paths=BAZARR_UI_PATHS,
        login_paths=("/api/system/account",),
        # /api/system/ping answers without a key (since v1.5.2); the image has curl (package_versions.txt).
        healthcheck=_http_check(6767, "/api/system/ping", tool="curl"),
        status_path="/api/system/ping",
        # It writes each subtitle beside the video at the path Sonarr and Radarr report (/data/media/...), so it
        # sees the one data root read-write at /data as they do (moves_files): no path mappings to set.
        databases=(DatabaseSpec(engine="sqlite", name="db/bazarr.db"),),
        backup_exclude=("log/**", "cache/**", "backup/**", "restore/**"),
        depends_on=("sonarr", "radarr"),
        enabled_by_default=False,
    ),
    ServiceSpec(
        name="gluetun",
        env_locked=ENV_IS_BOUNDARY_VPN,
        display_name="Gluetun VPN",
        tier=Tier.MEDIA,
        image=_img("qmcgaw/gluetun:v3.40.0"),
        # One network: its firewall opens the web UI port on its default interface only.
        networks=(P,),
        healthcheck=HealthcheckSpec(test=("CMD", "/gluetun-entrypoint", "healthcheck")),
        memory="256m",
        # NET_ADMIN for the tunnel and its firewall, NET_RAW for the ICMP health check (a raw socket). No SETUID/SETGID:
        # gluetun runs OpenVPN as root unless OPENVPN_PROCESS_USER names another user, and WireGuard has no process.
        capabilities=("NET_ADMIN", "NET_RAW"),
        devices=("/dev/net/tun",),
        read_only_rootfs=False,
        # Server lists are re-fetched at start: nothing here is worth keeping.
        tmpfs={"/gluetun": "rw,noexec,nosuid,size=32m"},
        # Its control API (VPN stop/start) stays on loopback.
        env={"HTTP_CONTROL_SERVER_ADDRESS": "127.0.0.1:8000"},
        enabled_by_default=False,
    ),
    ServiceSpec(
        name="qbittorrent",
        display_name="qBittorrent",
        own_auth=True,
        tier=Tier.MEDIA,
        image=_img("lscr.io/linuxserver/qbittorrent:5.1.2"),
        port=8080,
        subdomain="torrent",
        admin=True,
        # No network of its own: it lives in gluetun's network namespace, so without the VPN it has no route out.
        networks=(),
        route_via="gluetun",
        mounts=(_config(), _data(read_only=False, role=MountRole.DOWNLOADS)),
        linuxserver_ids=True,
        capabilities=LSIO_CAPABILITIES,
        moves_files=True,
        env={"WEBUI_PORT": "8080", "TORRENTING_PORT": "6881"},
        healthcheck=_http_check(8080, "/", tool="curl"),
        memory="1g",
        read_only_rootfs=False,
        enabled_by_default=False,
        depends_on=("gluetun",),
        dashboard=DashboardTile(group="Content management", icon="qbittorrent.png", description="Downloads (via VPN)"),
    ),
    ServiceSpec(
        name="homepage",
        display_name="Homepage",
        tier=Tier.MEDIA,
        image=_img("ghcr.io/gethomepage/homepage:v1.6.1"),
        port=3000,
        subdomain="home",
        apex=True,
        auth=AuthPolicy.ONE_FACTOR,
        networks=(P,),
        mounts=(_config("/app/config"),),
        run_as_site_user=True,
        healthcheck=_http_check(3000, "/api/healthcheck"),
        memory="256m",
        # Writable root: revalidating the statically generated index (/api/revalidate, called when the config
        # changes) writes /app/.next/server/pages, which the image ships (owned 1000:1000) and a tmpfs would hide.
        read_only_rootfs=False,
        tmpfs={"/app/.next/cache": "rw,noexec,nosuid,size=64m", "/tmp": "rw,noexec,nosuid,size=16m"},
    ),
    # ---------------------------------------------------------------- monitoring
    ServiceSpec(
        name="prometheus",
        display_name="Prometheus",
        tier=Tier.MONITORING,
        image=_img("prom/prometheus:v3.7.3"),
        port=9090,
        subdomain="prometheus",
        admin=True,
        networks=(P, A, D),
        mounts=(_config("/etc/prometheus", "config"), _config("/prometheus", "tsdb", role=MountRole.DATABASE)),
        run_as_site_user=True,
        healthcheck=_http_check(9090, "/-/healthy"),
        memory="1g",
        metrics=MetricsSpec(port=9090),
        dashboard=DashboardTile(group="Monitoring", icon="prometheus.png", description="Metrics"),
    ),
    ServiceSpec(
        name="alertmanager",
        display_name="Alertmanager",
        tier=Tier.MONITORING,
        image=_img("prom/alertmanager:v0.28.1"),
        port=9093,
        subdomain="alerts",
        admin=True,
        networks=(P, A),
        mounts=(_config("/etc/alertmanager", "config"), _config("/alertmanager", "data", role=MountRole.CACHE)),
        run_as_site_user=True,
        healthcheck=_http_check(9093, "/-/healthy"),
        memory="128m",
        metrics=MetricsSpec(port=9093),
        dashboard=DashboardTile(group="Monitoring", icon="alertmanager.png", description="Alert routing"),
    ),
    ServiceSpec(
        name="grafana",
        display_name="Grafana",
        own_auth=True,
        tier=Tier.MONITORING,
        image=_img("grafana/grafana:12.2.1"),
        port=3000,
        subdomain="grafana",
        auth=AuthPolicy.ONE_FACTOR,
        oidc=True,
        oidc_client=OidcClientSpec(redirect_paths=("/login/generic_oauth",), require_pkce=True),
        networks=(P, A),
        mounts=(_config("/var/lib/grafana", "data"), _config("/etc/grafana/provisioning", "provisioning")),
        run_as_site_user=True,
        healthcheck=_http_check(3000, "/api/health"),
        memory="512m",
        metrics=MetricsSpec(port=3000),
        databases=(DatabaseSpec(engine="sqlite", name="data/grafana.db"),),
        backup_exclude=("data/png/**", "data/csv/**"),
        dashboard=DashboardTile(group="Monitoring", icon="grafana.png", description="Dashboards"),
        depends_on=("prometheus",),  # its default datasource (render/grafana.py)
    ),
    ServiceSpec(
        name="loki",
        display_name="Loki",
        tier=Tier.MONITORING,
        image=_img("grafana/loki:3.5.7"),
        networks=(A,),
        mounts=(_config("/etc/loki", "config"), _config("/loki", "data", role=MountRole.DATABASE)),
        run_as_site_user=True,
        healthcheck=_http_check(3100, "/ready"),
        memory="512m",
        metrics=MetricsSpec(port=3100),
        command=("-config.file=/etc/loki/loki.yaml",),
    ),
    ServiceSpec(
        name="alloy",
        display_name="Grafana Alloy",
        tier=Tier.MONITORING,
        image=_img("grafana/alloy:v1.11.3"),
        networks=(A, S),
        mounts=(
            _config("/etc/alloy", "config"),
            _cache("/var/lib/alloy", "data"),
            _logs("/var/log/traefik", "traefik", read_only=True),
        ),
        command=(
            "run",
            "--server.http.listen-addr=0.0.0.0:12345",
            "--storage.path=/var/lib/alloy/data",
            "--disable-reporting",
            "/etc/alloy/config.alloy",
        ),
        run_as_site_user=True,
        # The image (Ubuntu) has neither wget nor curl: bash's /dev/tcp asks the readiness endpoint.
        healthcheck=HealthcheckSpec(
            test=(
                "CMD",
                "bash",
                "-c",
                "exec 3<>/dev/tcp/127.0.0.1/12345 && printf 'GET /-/ready HTTP/1.0\\r\\n\\r\\n' >&3 "
                "&& head -n1 <&3 | grep -q ' 200 '",
            )
        ),
        memory="256m",
        metrics=MetricsSpec(port=12345),
        depends_on=("socket-proxy", "loki"),
    ),
    ServiceSpec(
        name="node-exporter",
        display_name="node-exporter",
        tier=Tier.MONITORING,
        image=_img("prom/node-exporter:v1.10.2"),
        networks=(A,),
        # The storage roots are mounted read-only only so that the filesystem collector sees (statfs) the
        # filesystems they live on; node-exporter runs as nobody and reads none of their files.
        mounts=(
            MountSpec(
                target="/textfile", root=StorageRoot.BACKUPS, source="metrics", role=MountRole.CACHE, read_only=True
            ),
            MountSpec(target="/host/config", root=StorageRoot.SITE_CONFIG, role=MountRole.VIEW, read_only=True),
            MountSpec(target="/host/data", root=StorageRoot.DATA, role=MountRole.VIEW, read_only=True),
            MountSpec(target="/host/backups", root=StorageRoot.BACKUPS, role=MountRole.VIEW, read_only=True),
            MountSpec(target="/host/cache", root=StorageRoot.LOGS, role=MountRole.VIEW, read_only=True),
        ),
        command=(
            "--collector.textfile.directory=/textfile",
            "--collector.filesystem.mount-points-exclude=^/(dev|proc|run|sys|etc|tmp|textfile)($|/)",
        ),
        healthcheck=_http_check(9100, "/metrics"),
        memory="64m",
        cpus=0.5,
        metrics=MetricsSpec(port=9100),
    ),
    ServiceSpec(
        name="cadvisor",
        display_name="cAdvisor",
        tier=Tier.MONITORING,
        # v0.55+ refreshes container_health_state (Docker's health verdict); releases moved to ghcr.io at v0.53.
        image=_img("ghcr.io/google/cadvisor:v0.57.0"),
        networks=(A, S),
        mounts=(_host("/sys", "sys"), _host("/var/lib/docker", "var/lib/docker")),
        command=(
            "--docker=tcp://socket-proxy:2375",
            "--docker_only=true",
            "--housekeeping_interval=15s",
            "--store_container_labels=false",
            "--whitelisted_container_labels=media-server.service,media-server.tier,media-server.stack",
            "--disable_metrics=advtcp,cpu_topology,cpuset,hugetlb,memory_numa,percpu,process,referenced_memory,"
            "resctrl,sched,tcp,udp",
        ),
        healthcheck=_http_check(8080, "/healthz"),
        memory="256m",
        cpus=0.5,
        metrics=MetricsSpec(port=8080),
        depends_on=("socket-proxy",),
    ),
    ServiceSpec(
        name="socket-proxy",
        env_locked=ENV_IS_BOUNDARY_SOCKET,
        display_name="Docker socket proxy",
        tier=Tier.MONITORING,
        # The one container that sees the Docker socket: read-only, GET/HEAD only (POST=0), and only the
        # API sections cAdvisor and Alloy need (containers, info, version, ping). No ports; only on the internal
        # socket network, which nothing but cAdvisor and Alloy joins: container inspection exposes every
        # container's environment, so no other app may reach this proxy.
        image=_img("lscr.io/linuxserver/socket-proxy:3.4.4-r0-ls98"),
        networks=(S,),
        mounts=(_host("/var/run/docker.sock", "var/run/docker.sock"),),
        env={
            "CONTAINERS": "1",
            "INFO": "1",
            "VERSION": "1",
            "PING": "1",
            "EVENTS": "0",
            "POST": "0",
            "IMAGES": "0",
            "NETWORKS": "0",
            "VOLUMES": "0",
            "EXEC": "0",
            # Alloy reads container logs (/containers/{id}/logs), which 3.4.3-r0-ls92 and later refuse without it.
            "ALLOW_LOGS": "1",
            "LOG_LEVEL": "warning",
        },
        healthcheck=_http_check(2375, "/_ping"),
        memory="32m",
        cpus=0.25,
        tmpfs={"/run": "rw,noexec,nosuid,size=8m"},
    ),
    ServiceSpec(
        name="blackbox-exporter",
        display_name="Blackbox exporter",
        tier=Tier.MONITORING,
        image=_img("prom/blackbox-exporter:v0.27.0"),
        networks=(P, A),
        mounts=(_config("/etc/blackbox_exporter", "config"),),
        # The image would run as root (no USER); HTTP probes need no privilege, so the site user runs it.
        run_as_site_user=True,
        healthcheck=_http_check(9115, "/-/healthy"),
        memory="64m",
        cpus=0.5,
        metrics=MetricsSpec(port=9115),
    ),
    ServiceSpec(
        name="postgres-exporter",
        display_name="PostgreSQL exporter",
        tier=Tier.MONITORING,
        image=_img("quay.io/prometheuscommunity/postgres-exporter:v0.18.1"),
        networks=(A, D),
        healthcheck=_http_check(9187, "/metrics"),
        memory="64m",
        cpus=0.5,
        metrics=MetricsSpec(port=9187),
        depends_on=("postgres",),
    ),
    ServiceSpec(
        name="redis-exporter",
        display_name="Redis exporter",
        tier=Tier.MONITORING,
        image=_img("oliver006/redis_exporter:v1.79.0"),
        networks=(A, D),
        memory="64m",
        cpus=0.5,
        metrics=MetricsSpec(port=9121),
        depends_on=("redis",),
    ),
    ServiceSpec(
        name="jellystat",
        display_name="Jellystat",
        own_auth=True,
        tier=Tier.MONITORING,
        image=_img("cyfershepard/jellystat:1.1.12"),
        port=3000,
        subdomain="stats",
        admin=True,
        networks=(P, M, D),
        mounts=(_config("/app/backend/backup-data", "backup-data"),),
        # node:slim has no curl or wget; node's own fetch asks the UI.
        healthcheck=HealthcheckSpec(
            test=(
                "CMD",
                "node",
                "-e",
                "fetch('http://127.0.0.1:3000/').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))",
            )
        ),
        memory="512m",
        read_only_rootfs=False,
        databases=(DatabaseSpec(engine="postgres", name="jellystat", server="postgres"),),
        depends_on=("postgres", "jellyfin"),
        dashboard=DashboardTile(group="Monitoring", icon="jellystat.png", description="Jellyfin play statistics"),
    ),
    # ---------------------------------------------------------------- backup
    ServiceSpec(
        # No published image bundles restic, a cron, pg_dump 17 and sqlite3: images/backup-runner builds one
        # on the Docker host from a pinned Alpine release. Sources are read-only; it writes only the
        # repositories, metrics and its staging area.
        name="backup",
        env_locked=ENV_IS_BACKUP,
        display_name="Backup runner",
        tier=Tier.BACKUP,
        image=ImageRef(repository="media-server/backup-runner", tag="1.0.0", build="images/backup-runner"),
        networks=(A, D),
        mounts=(
            MountSpec(target="/repository", root=StorageRoot.BACKUPS, source="restic", role=MountRole.CACHE),
            MountSpec(target="/metrics", root=StorageRoot.BACKUPS, source="metrics", role=MountRole.CACHE),
            MountSpec(target="/staging", root=StorageRoot.BACKUPS, source="staging", role=MountRole.SCRATCH),
            MountSpec(target="/source/config", root=StorageRoot.SITE_CONFIG, role=MountRole.CONFIG, read_only=True),
            MountSpec(target="/source/data", root=StorageRoot.DATA, role=MountRole.MEDIA, read_only=True),
        ),
        healthcheck=HealthcheckSpec(test=("CMD", "pgrep", "crond"), start_period="300s"),
        memory="1g",
        # DAC_READ_SEARCH: read every app's files whatever their owner (read only: it grants no write);
        # SETUID/SETGID: busybox crond sets each job's identity (initgroups) before running it.
        capabilities=("DAC_READ_SEARCH", "SETGID", "SETUID"),
        read_only_rootfs=False,
    ),
)

CATALOG: MappingProxyType[str, ServiceSpec] = MappingProxyType({entry.name: entry for entry in _ENTRIES})
"""Every app, by name. Read-only: settings overrides produce new entries."""

"""Upstream facts for every catalog entry: what each image is, read in its source at the pinned tag.

One record per catalog entry (config/facts.py has the shape). Each fact names where it was read:
repository, path and tag (or commit). `verified=False` marks what is inferred, with a note saying how:
mostly where the pinned tag is newer than the snapshot that could be read (the nearest tag was read), or
where a fact follows from a base image. tests/test_image_facts.py holds the catalog to these facts.

Conventions: `user` is the image's own user (Dockerfile USER, root when none), whatever the entry runs it
as; `entrypoint.capabilities` are those the entrypoint needs, as the entry runs it, with ALL dropped;
`writes` are the paths the app writes at run time; `env` lists every variable the program sets for it.
"""

from __future__ import annotations

from types import MappingProxyType

from config.facts import Binary, Entrypoint, ImageFacts, ImageUser, Setting, Source, Writes


def _src(repo: str, path: str, ref: str, note: str = "") -> Source:
    return Source(repo=repo, path=path, ref=ref, note=note)


def _inferred(repo: str, path: str, ref: str, note: str) -> Source:
    return Source(repo=repo, path=path, ref=ref, verified=False, note=note)


ROOT = "root (no USER in the Dockerfile)"


def _root(source: Source) -> ImageUser:
    return ImageUser(name="root", uid=0, gid=0, source=source)


def _env(source: Source, since: str, *names: str) -> dict[str, Setting]:
    return {name: Setting(since=since, source=source) for name in names}


TZ = "TZ"
"""Read by the C library or the language runtime of every image (zoneinfo), not by the app: no version."""

RUNTIME_ENV = frozenset({TZ, "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES"})
"""Variables read by the runtime rather than the image: TZ (libc, Go and Node read it) and the NVIDIA
container toolkit's two (read on the host by nvidia-container-runtime)."""

# ---------------------------------------------------------------- linuxserver.io
LSIO_BASE = "linuxserver/docker-baseimage-alpine"
_LSIO_INIT = _inferred(
    LSIO_BASE,
    "root/etc/s6-overlay/s6-rc.d/init-adduser/run, root/etc/s6-overlay/s6-rc.d/init-config/run",
    "master",
    "s6-overlay init runs as root: usermod abc to PUID/PGID (needs CHOWN on /config, FOWNER), s6-setuidgid "
    "abc (SETUID, SETGID), reaches the site's 0750 dirs (DAC_OVERRIDE); s6-supervise (root) signals the app "
    "user's processes on stop, which needs KILL. Read in the base image, not at each app's tag.",
)
LSIO_ENTRYPOINT = Entrypoint(
    needs_root=True,
    capabilities={
        "CHOWN": "init chowns /config and the app's files to PUID:PGID",
        "DAC_OVERRIDE": "init reaches and fixes files in the site user's 0750 directories",
        "FOWNER": "init sets modes on files it does not own",
        "SETGID": "s6-setuidgid drops to PGID",
        "SETUID": "s6-setuidgid drops to PUID",
        "KILL": "s6-supervise (root) sends SIGTERM to the app running as PUID on docker stop",
    },
    source=_LSIO_INIT,
)


def _lsio(
    app: str,
    ref: str,
    writes: tuple[str, ...],
    env: dict[str, Setting] | None = None,
    *,
    packages: Source | None = None,
    writes_source: Source | None = None,
) -> ImageFacts:
    """A linuxserver.io image. `packages`: its package_versions.txt at the tag, read for curl (else the base image's
    Dockerfile stands in, inferred); `writes_source`: where the app's own paths were read (else its README)."""
    repo = f"linuxserver/docker-{app}"
    dockerfile = _src(repo, "Dockerfile", ref, "FROM ghcr.io/linuxserver/baseimage-*; no USER")
    return ImageFacts(
        user=_root(dockerfile),
        entrypoint=LSIO_ENTRYPOINT,
        binaries={
            "curl": Binary(
                why="the linuxserver base images install curl (the app's Dockerfile uses it at build)",
                source=packages or _inferred(LSIO_BASE, "Dockerfile", "master", "apk add curl in the base image"),
            )
        },
        writes=Writes(
            paths=writes,
            source=writes_source or _inferred(repo, "README.md", ref, "the app's state lives in /config"),
        ),
        env={
            **_env(_LSIO_INIT, "0", "PUID", "PGID", "UMASK"),
            **(env or {}),
        },
    )


# ---------------------------------------------------------------- the table
_FACTS: dict[str, ImageFacts] = {}

_traefik = _inferred(
    "traefik/traefik-library-image",
    "v3.7/alpine/Dockerfile",
    "v3.7.11",
    "the pinned v3.7.15 is not in the snapshot; v3.7.11 read (FROM alpine, no USER, /usr/local/bin/traefik)",
)
_FACTS["traefik"] = ImageFacts(
    user=_root(_traefik),
    entrypoint=Entrypoint(
        needs_root=False,
        source=_inferred(
            "traefik/traefik-library-image",
            "tmpl/alpine/entrypoint.sh",
            "v3.7.11",
            "the entrypoint only prefixes 'traefik' to flags; binding :80/:443 as a non-root user works in "
            "Docker 20.10+ (net.ipv4.ip_unprivileged_port_start=0 in the container's namespace)",
        ),
    ),
    binaries={"traefik": Binary(why="the image is the traefik binary; `traefik healthcheck --ping`", source=_traefik)},
    writes=Writes(
        paths=("/var/log/traefik", "/etc/traefik"),
        source=_inferred(
            "traefik/traefik",
            "pkg/provider/acme/local_store.go",
            "v3.7.15",
            "the access log (render.traefik.ACCESS_LOG) and the ACME store /etc/traefik/acme.json, both in mounts",
        ),
    ),
    env=_env(
        _inferred("go-acme/lego", "platform/config/env/env.go", "v4", "lego reads <NAME>_FILE since v3"),
        "v2.0.0",
        "CF_DNS_API_TOKEN_FILE",
    ),
)

_crowdsec_start = _src(
    "crowdsecurity/crowdsec",
    "docker/docker_start.sh",
    "v1.7.3",
    "set -e; rsync -av --ignore-existing /staging/etc/crowdsec/* /etc/crowdsec copies the root-only 0600 "
    "local_api_credentials.yaml: as a non-root user it fails and the container exits (crowdsec#3303)",
)
_crowdsec_df = _src(
    "crowdsecurity/crowdsec", "Dockerfile", "v1.7.3", "FROM alpine:3.21, no USER; cscli in /usr/local/bin"
)
_FACTS["crowdsec"] = ImageFacts(
    user=_root(_crowdsec_df),
    entrypoint=Entrypoint(needs_root=True, source=_crowdsec_start),
    binaries={"cscli": Binary(why="COPY --from=build /usr/local/bin/cscli", source=_crowdsec_df)},
    writes=Writes(paths=("/etc/crowdsec", "/var/lib/crowdsec/data"), source=_crowdsec_start),
    env={
        **_env(_crowdsec_start, "v1.0.0", "COLLECTIONS"),
        **_env(_crowdsec_start, "v1.3.3", "BOUNCER_KEY_traefik"),
    },
)

_bouncer = _src(
    "fbonalair/traefik-crowdsec-bouncer",
    "Dockerfile",
    "v0.5.0",
    "FROM gcr.io/distroless/base:nonroot, USER nonroot (65532); /healthchecker built from healthcheck/",
)
_bouncer_env = _src(
    "fbonalair/traefik-crowdsec-bouncer", "bouncer.go, config/config.go, controler/controler.go", "v0.5.0"
)
_FACTS["crowdsec-bouncer"] = ImageFacts(
    user=ImageUser(name="nonroot", uid=65532, gid=65532, source=_bouncer),
    entrypoint=Entrypoint(needs_root=False, source=_bouncer),
    binaries={
        "/healthchecker": Binary(
            why="healthcheck/healthchecker.go: GET 127.0.0.1:$PORT/api/v1/ping, exit 0 on 200 (the /app binary "
            "ignores its arguments and would start a second server)",
            source=_bouncer,
        )
    },
    writes=Writes(paths=(), source=_bouncer),
    env=_env(
        _bouncer_env, "v0.0.1", "CROWDSEC_AGENT_HOST", "CROWDSEC_BOUNCER_API_KEY", "CROWDSEC_BOUNCER_SCHEME", "GIN_MODE"
    )
    | _env(_bouncer_env, "v0.3.4", "TRUSTED_PROXIES"),
)

_cloudflared = _src(
    "cloudflare/cloudflared",
    "Dockerfile",
    "2025.11.1",
    "FROM gcr.io/distroless/base-debian12:nonroot, USER 65532:65532, ENTRYPOINT cloudflared --no-autoupdate",
)
_FACTS["cloudflared"] = ImageFacts(
    user=ImageUser(name="nonroot", uid=65532, gid=65532, source=_cloudflared),
    entrypoint=Entrypoint(needs_root=False, source=_cloudflared),
    binaries={"cloudflared": Binary(why="the image is cloudflared; `tunnel ready` asks /ready", source=_cloudflared)},
    writes=Writes(paths=(), source=_cloudflared),
    env=_env(
        _inferred(
            "cloudflare/cloudflared",
            "cmd/cloudflared/tunnel/cmd.go",
            "2025.11.1",
            "TUNNEL_TOKEN read by `tunnel run` since 2022.2",
        ),
        "2022.2.0",
        "TUNNEL_TOKEN",
    ),
)

_wg = _src("wg-easy/wg-easy", "Dockerfile", "v15.2.2", "FROM node:jod-alpine, no USER; busybox wget, wg")
_wg_env = _src(
    "wg-easy/wg-easy",
    "src/server/utils/config.ts",
    "v15.2.0",
    "INIT_ALLOWED_IPS first read in v15.2.0 (absent at v15.1.0)",
)
_wg_env_old = _src("wg-easy/wg-easy", "src/server/utils/config.ts", "v15.0.0")
_FACTS["wireguard"] = ImageFacts(
    user=_root(_wg),
    entrypoint=Entrypoint(
        needs_root=True,
        capabilities={"NET_ADMIN": "creates wg0 and its iptables rules", "NET_RAW": "iptables needs raw sockets"},
        source=_inferred(
            "wg-easy/wg-easy",
            "src/server/utils/WireGuard.ts",
            "v15.2.2",
            "not read line by line: wg-quick and iptables run as root (the README's compose file adds NET_ADMIN, "
            "NET_RAW)",
        ),
    ),
    binaries={"wget": Binary(why="busybox in node:jod-alpine", source=_wg)},
    writes=Writes(
        paths=("/etc/wireguard",),
        source=_inferred(
            "wg-easy/wg-easy",
            "src/server/utils/WireGuard.ts",
            "v15.2.2",
            "wg0.conf and wg-easy.db under /etc/wireguard (the documented volume), not read line by line",
        ),
    ),
    env={
        **_env(
            _wg_env_old,
            "v15.0.0",
            "PORT",
            "INSECURE",
            "DISABLE_IPV6",
            "INIT_ENABLED",
            "INIT_USERNAME",
            "INIT_PASSWORD",
            "INIT_DNS",
            "INIT_IPV4_CIDR",
            "INIT_IPV6_CIDR",
            "INIT_HOST",
            "INIT_PORT",
        ),
        **_env(
            _src("wg-easy/wg-easy", "Dockerfile", "v15.0.0", "ENV HOST=0.0.0.0; read by Nitro's node server"),
            "v15.0.0",
            "HOST",
        ),
        **_env(_wg_env, "v15.2.0", "INIT_ALLOWED_IPS"),
    },
)

_python = _inferred(
    "docker-library/python",
    "3.13/alpine3.22/Dockerfile",
    "master",
    "official image: no USER; python3 in /usr/local/bin; the path is not in the snapshot read",
)
_FACTS["wireguard-peers"] = ImageFacts(
    user=_root(_python),
    entrypoint=Entrypoint(needs_root=False, source=_python),
    binaries={"python3": Binary(why="the image is CPython", source=_python)},
    writes=Writes(paths=(), source=_src("media-server", "scripts/wireguard/provision_peers.py", "this repository")),
    env=_env(
        _src("media-server", "scripts/wireguard/provision_peers.py", "this repository", "our own script"),
        "3.13.9",
        "WG_EASY_URL",
        "WG_EASY_USERNAME",
        "WG_EASY_PASSWORD",
    ),
)

_authelia = _src(
    "authelia/authelia",
    "Dockerfile, entrypoint.sh, healthcheck.sh",
    "v4.39.20",
    "FROM authelia/base (alpine, no USER); entrypoint su-execs to PUID only when root",
)
_FACTS["authelia"] = ImageFacts(
    user=_root(_authelia),
    entrypoint=Entrypoint(needs_root=False, source=_authelia),
    binaries={"wget": Binary(why="busybox in authelia/base (alpine); healthcheck.sh uses wget", source=_authelia)},
    writes=Writes(paths=("/config",), source=_authelia),
    env={
        **_env(
            _src(
                "authelia/authelia",
                "internal/configuration/const.go",
                "v4.39.20",
                "every secret key reads AUTHELIA_<PATH>_FILE; since = the first tag whose schema has the key",
            ),
            "v4.33.0",
            "AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE",
        ),
        **_env(
            _src("authelia/authelia", "internal/configuration/schema/keys.go", "v4.29.0"),
            "v4.29.0",
            "AUTHELIA_IDENTITY_PROVIDERS_OIDC_HMAC_SECRET_FILE",
        ),
        **_env(
            _src("authelia/authelia", "internal/configuration/schema/keys.go", "v4.2.0"),
            "v4.2.0",
            "AUTHELIA_SESSION_REDIS_PASSWORD_FILE",
            "AUTHELIA_SESSION_SECRET_FILE",
            "AUTHELIA_STORAGE_POSTGRES_PASSWORD_FILE",
        ),
        **_env(
            _inferred("authelia/authelia", "internal/configuration/schema/keys.go", "v4.39.20", "present at the pin"),
            "v4.2.0",
            "AUTHELIA_NOTIFIER_SMTP_PASSWORD_FILE",
            "AUTHELIA_AUTHENTICATION_BACKEND_LDAP_PASSWORD_FILE",
            "AUTHELIA_IDENTITY_PROVIDERS_OIDC_JWKS_0_KEY_FILE",
        ),
        **_env(
            _src(
                "authelia/authelia",
                "internal/configuration/schema/keys.go",
                "v4.39.20",
                "identity_validation.reset_password.jwt_secret arrived in v4.38.0",
            ),
            "v4.38.0",
            "AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET_FILE",
        ),
        **_env(
            _src("authelia/authelia", "internal/commands", "v4.38.0", "first tag that reads X_AUTHELIA_CONFIG"),
            "v4.38.0",
            "X_AUTHELIA_CONFIG",
        ),
    },
)

_lldap = _src(
    "lldap/lldap",
    ".github/workflows/Dockerfile.ci.alpine-rootless, Dockerfile.ci.alpine-base",
    "v0.6.2",
    "alpine-rootless: USER lldap (uid 1000 made by adduser in the base stage); HEALTHCHECK /app/lldap healthcheck",
)
_FACTS["lldap"] = ImageFacts(
    user=ImageUser(name="lldap", uid=1000, gid=1000, source=_lldap),
    entrypoint=Entrypoint(needs_root=False, source=_lldap),
    binaries={"/app/lldap": Binary(why="the server binary has a `healthcheck` subcommand", source=_lldap)},
    writes=Writes(paths=("/data",), source=_lldap),
    env=_env(
        _src(
            "lldap/lldap",
            "server/src/infra/configuration.rs",
            "v0.6.2",
            "LLDAP_<KEY> overrides every config key; *_FILE variants for secrets",
        ),
        "v0.5.0",
        "LLDAP_LDAP_BASE_DN",
        "LLDAP_LDAP_USER_DN",
        "LLDAP_LDAP_USER_EMAIL",
        "LLDAP_HTTP_URL",
        "LLDAP_JWT_SECRET_FILE",
        "LLDAP_LDAP_USER_PASS_FILE",
        "LLDAP_KEY_SEED",
    ),
)

_pg = _inferred(
    "docker-library/postgres",
    "17/bookworm/Dockerfile",
    "master",
    "read at the snapshot's master, not the 17.6 tag: useradd postgres uid 999; no USER (the entrypoint "
    "gosu-s to postgres when root, else runs as the caller)",
)
_pg_entry = _src("media-server", "scripts/postgres/entrypoint.sh", "this repository", "ours: MS_* are read by it")
_FACTS["postgres"] = ImageFacts(
    user=_root(_pg),
    entrypoint=Entrypoint(needs_root=False, source=_pg),
    binaries={"pg_isready": Binary(why="postgresql-17 client binaries on PATH", source=_pg)},
    writes=Writes(paths=("/var/lib/postgresql/data", "/var/run/postgresql"), source=_pg),
    env={
        **_env(_pg, "9.4", "POSTGRES_PASSWORD"),
        **_env(_pg_entry, "17.0", "MS_DATABASES"),
        **{f"MS_PASSWORD_{n}": Setting(since="17.0", source=_pg_entry) for n in ("AUTHELIA", "JELLYSTAT", "IMMICH")},
    },
)

_redis = _inferred(
    "docker-library/redis",
    "8.2/debian/Dockerfile",
    "master",
    "official image: useradd redis uid 999, no USER; redis-cli on PATH (path not in the snapshot)",
)
_FACTS["redis"] = ImageFacts(
    user=_root(_redis),
    entrypoint=Entrypoint(needs_root=False, source=_redis),
    binaries={
        "redis-cli": Binary(why="redis-tools are part of the official image", source=_redis),
        "grep": Binary(why="debian bookworm-slim base (essential package)", source=_redis),
    },
    writes=Writes(paths=("/data",), source=_redis),
    env={
        **_env(_redis, "6.0", "REDISCLI_AUTH"),
        **_env(
            _src("media-server", "components/data.py", "this repository", "our start command reads it"),
            "8.0",
            "REDIS_PASSWORD",
        ),
    },
)

_es = _src(
    "elastic/dockerfiles",
    "elasticsearch/Dockerfile",
    "v8.19.5",
    "USER 1000:0; ubuntu:24.04 with curl; dirs 0775 group 0 so any uid in group 0 runs it",
)
_es_entry = _src(
    "elastic/dockerfiles",
    "elasticsearch/bin/docker-entrypoint.sh",
    "v8.19.5",
    "dotted env names become settings; ELASTIC_PASSWORD seeds the keystore's bootstrap.password",
)
_FACTS["elasticsearch"] = ImageFacts(
    user=ImageUser(name="elasticsearch", uid=1000, gid=0, source=_es),
    entrypoint=Entrypoint(needs_root=False, source=_es),
    binaries={"curl": Binary(why="apt-get install curl in the final stage", source=_es)},
    writes=Writes(
        paths=("/usr/share/elasticsearch/data", "/usr/share/elasticsearch/config", "/usr/share/elasticsearch/logs"),
        source=_es,
    ),
    env={
        **_env(
            _es_entry,
            "v8.0.0",
            "ELASTIC_PASSWORD",
            "ES_JAVA_OPTS",
            "discovery.type",
            "cluster.name",
            "xpack.security.enabled",
            "xpack.security.http.ssl.enabled",
        ),
        **_env(_es_entry, "v7.14.0", "ingest.geoip.downloader.enabled"),
    },
)

_jf = _src(
    "jellyfin/jellyfin-packaging",
    "docker/Dockerfile",
    "v10.11.3-202511161740",
    "debian slim, no USER; curl installed; ENV HEALTHCHECK_URL=http://localhost:8096/health",
)
_FACTS["jellyfin"] = ImageFacts(
    user=_root(_jf),
    entrypoint=Entrypoint(needs_root=False, source=_jf),
    binaries={"curl": Binary(why="installed for the image's own HEALTHCHECK", source=_jf)},
    writes=Writes(paths=("/config", "/cache"), source=_jf),
    env=_env(
        _inferred(
            "jellyfin/jellyfin",
            "Jellyfin.Server/StartupOptions.cs",
            "v10.11.3",
            "JELLYFIN_PublishedServerUrl since 10.7",
        ),
        "10.7.0",
        "JELLYFIN_PublishedServerUrl",
    ),
)

_nd = _src(
    "navidrome/navidrome",
    "Dockerfile",
    "v0.58.0",
    "final stage alpine:3.19 (busybox wget), no USER, ENTRYPOINT /app/navidrome",
)
_nd_conf = _src("navidrome/navidrome", "conf/configuration.go", "v0.58.0", "ND_<KEY> overrides every option")
_FACTS["navidrome"] = ImageFacts(
    user=_root(_nd),
    entrypoint=Entrypoint(needs_root=False, source=_nd),
    binaries={"wget": Binary(why="busybox in alpine:3.19", source=_nd)},
    writes=Writes(paths=("/data",), source=_nd),
    env={
        **_env(_nd_conf, "v0.3.0", "ND_MUSICFOLDER", "ND_DATAFOLDER"),
        **_env(_nd_conf, "v0.44.0", "ND_REVERSEPROXYWHITELIST"),
    },
)

_abs = _src("advplyr/audiobookshelf", "Dockerfile", "v2.30.0", "FROM node:20-alpine (busybox wget), no USER")
_FACTS["audiobookshelf"] = ImageFacts(
    user=_root(_abs),
    entrypoint=Entrypoint(needs_root=False, source=_abs),
    binaries={"wget": Binary(why="busybox in node:20-alpine", source=_abs)},
    writes=Writes(paths=("/config", "/metadata", "/podcasts"), source=_abs),
)

_immich = _inferred(
    "immich-app/immich",
    "server/Dockerfile",
    "v2.2.3",
    "the repository is over the snapshot size limit; not read. immich-healthcheck is shipped in "
    "server/bin since v1.106 (the image's own HEALTHCHECK)",
)
_immich_env = _inferred(
    "immich-app/immich",
    "docs/docs/install/environment-variables.md",
    "v2.2.3",
    "documented variables; not read in source",
)
_FACTS["immich-server"] = ImageFacts(
    user=_root(_immich),
    entrypoint=Entrypoint(needs_root=False, source=_immich),
    binaries={"immich-healthcheck": Binary(why="server/bin/immich-healthcheck", source=_immich)},
    writes=Writes(paths=("/data",), source=_immich),
    env={
        **_env(
            _immich_env,
            "v1.0.0",
            "DB_HOSTNAME",
            "DB_USERNAME",
            "DB_PASSWORD",
            "DB_DATABASE_NAME",
            "REDIS_HOSTNAME",
            "IMMICH_MACHINE_LEARNING_URL",
        ),
        **_env(_immich_env, "v1.118.0", "IMMICH_MEDIA_LOCATION"),
        **_env(_immich_env, "v1.106.0", "IMMICH_TELEMETRY_INCLUDE"),
    },
)
_FACTS["immich-machine-learning"] = ImageFacts(
    user=_root(_immich),
    entrypoint=Entrypoint(needs_root=False, source=_immich),
    binaries={"python3": Binary(why="a Python image; healthcheck.py in its working directory", source=_immich)},
    writes=Writes(paths=("/cache", "/.config", "/.cache"), source=_immich),
)
_immich_pg = _inferred(
    "immich-app/base-images",
    "postgres/Dockerfile",
    "master",
    "FROM the official postgres image (no USER, pg_isready on PATH); tag not matched in the snapshot",
)
_FACTS["immich-postgres"] = ImageFacts(
    user=_root(_immich_pg),
    entrypoint=Entrypoint(needs_root=False, source=_immich_pg),
    binaries={"pg_isready": Binary(why="from the official postgres base", source=_immich_pg)},
    writes=Writes(paths=("/var/lib/postgresql/data", "/var/run/postgresql"), source=_immich_pg),
    env=_env(_pg, "9.4", "POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB", "POSTGRES_INITDB_ARGS"),
)
_valkey = _inferred(
    "valkey-io/valkey-container",
    "Dockerfile.template",
    "master",
    "official image: useradd valkey uid 999, no USER; valkey-cli on PATH",
)
_FACTS["immich-redis"] = ImageFacts(
    user=_root(_valkey),
    entrypoint=Entrypoint(needs_root=False, source=_valkey),
    binaries={
        "valkey-cli": Binary(why="valkey tools are part of the image", source=_valkey),
        "grep": Binary(why="debian bookworm-slim base (essential package)", source=_valkey),
    },
    writes=Writes(paths=("/data",), source=_valkey),
)

_kavita = _inferred(
    "Kareadita/Kavita",
    "Dockerfile, entrypoint.sh",
    "develop",
    "the snapshot ends at v0.8.3.2; read at its head: ubuntu, curl installed, no USER",
)
_FACTS["kavita"] = ImageFacts(
    user=_root(_kavita),
    entrypoint=Entrypoint(needs_root=False, source=_kavita),
    binaries={"curl": Binary(why="apt-get install curl for the image's own HEALTHCHECK", source=_kavita)},
    writes=Writes(paths=("/kavita/config",), source=_kavita),
)

_FACTS["calibre-web"] = _lsio("calibre-web", "0.6.25-ls368", ("/config", "/books"))
_FACTS["sonarr"] = _lsio("sonarr", "4.0.16.2944-ls304", ("/config", "/data"))
_FACTS["radarr"] = _lsio("radarr", "6.0.4.10291-ls296", ("/config", "/data"))
_FACTS["lidarr"] = _lsio("lidarr", "2.14.5.4836-ls9", ("/config", "/data"))
_FACTS["readarr"] = _lsio("readarr", "develop-0.4.18.2805-ls157", ("/config", "/data"))
_FACTS["mylar3"] = _lsio("mylar3", "v0.8.3-ls241", ("/config", "/data"))
_FACTS["prowlarr"] = _lsio("prowlarr", "2.1.5.5216-ls131", ("/config",))
_BAZARR_BUILD = "v1.6.0-ls360"
"""The linuxserver build the catalog's 1.6.0 names (its Jenkinsfile pushes the semver tag with each -lsNN build)."""
_FACTS["bazarr"] = _lsio(
    "bazarr",
    _BAZARR_BUILD,
    ("/config", "/data"),
    packages=_src("linuxserver/docker-bazarr", "package_versions.txt", _BAZARR_BUILD, "curl 8.20.0-r0 (apk)"),
    writes_source=_inferred(
        "morpheus65535/bazarr",
        "bazarr/literals.py, bazarr/init.py, bazarr/app/database.py",
        "v1.5.3-beta.2",
        "the snapshot of the app ends at v1.5.3-beta.2 (nearest to v1.6.0): under --config /config "
        "(svc-bazarr/run at the image tag) it makes backup, cache, config, db (db/bazarr.db), log, restore; "
        "subtitles are written beside each video, under /data",
    ),
)
_qbt = _src(
    "linuxserver/docker-qbittorrent",
    "root/etc/s6-overlay/s6-rc.d/svc-qbittorrent/run",
    "5.1.2-r4-ls426",
    "reads WEBUI_PORT and TORRENTING_PORT",
)
_FACTS["qbittorrent"] = _lsio(
    "qbittorrent",
    "5.1.2-r4-ls426",
    ("/config", "/data"),
    _env(_qbt, "4.4.1", "WEBUI_PORT") | _env(_qbt, "4.6.3", "TORRENTING_PORT"),
)

_gluetun = _src("qdm12/gluetun", "Dockerfile", "v3.40.0", "FROM alpine, no USER; /gluetun-entrypoint has `healthcheck`")
_gluetun_cfg = _src("qdm12/gluetun", "internal/configuration/settings/*.go", "v3.40.0")
_FACTS["gluetun"] = ImageFacts(
    user=_root(_gluetun),
    entrypoint=Entrypoint(
        needs_root=True,
        capabilities={"NET_ADMIN": "creates the tunnel and its firewall", "NET_RAW": "ICMP health checks"},
        source=_gluetun,
    ),
    binaries={
        "/gluetun-entrypoint": Binary(why="the gluetun binary; `healthcheck` asks its health server", source=_gluetun)
    },
    writes=Writes(paths=("/gluetun", "/tmp"), source=_gluetun),
    env={
        **_env(
            _gluetun_cfg,
            "v3.28.0",
            "VPN_SERVICE_PROVIDER",
            "VPN_TYPE",
            "FIREWALL_INPUT_PORTS",
            "SERVER_COUNTRIES",
            "WIREGUARD_ADDRESSES",
            "WIREGUARD_PRIVATE_KEY",
            "OPENVPN_USER",
            "OPENVPN_PASSWORD",
            "VPN_PORT_FORWARDING",
            "HTTP_CONTROL_SERVER_ADDRESS",
        ),
        **_env(
            _src(
                "qdm12/gluetun",
                "internal/configuration/settings/openvpn.go, wireguard.go",
                "v3.40.0",
                "VPN_INTERFACE (retro OPENVPN_INTERFACE), defaults tun0 / wg0",
            ),
            "v3.28.0",
            "VPN_INTERFACE",
        ),
        **_env(
            _src(
                "qdm12/gluetun",
                "internal/portforward/service/command.go",
                "v3.40.0",
                "substitutes {{PORTS}} only; {{VPN_INTERFACE}} arrives in v3.41.0",
            ),
            "v3.40.0",
            "VPN_PORT_FORWARDING_UP_COMMAND",
        ),
        **_env(_gluetun_cfg, "v3.38.0", "PORT_FORWARD_ONLY"),
    },
)

_homepage = _src(
    "gethomepage/homepage",
    "Dockerfile, docker-entrypoint.sh",
    "v1.6.1",
    "node:22-alpine, no USER, app files --chown=1000:1000; the entrypoint chowns only when it can and "
    "runs the app as the caller when not root; HEALTHCHECK uses wget",
)
_FACTS["homepage"] = ImageFacts(
    user=_root(_homepage),
    entrypoint=Entrypoint(needs_root=False, source=_homepage),
    binaries={"wget": Binary(why="busybox in node:22-alpine; the image's own HEALTHCHECK uses it", source=_homepage)},
    writes=Writes(
        paths=("/app/config", "/app/.next/cache", "/app/.next/server"),
        source=_src(
            "gethomepage/homepage",
            "src/pages/index.jsx, src/pages/api/revalidate.js",
            "v1.6.1",
            "getStaticProps page revalidated by /api/revalidate: Next writes .next/server/pages",
        ),
    ),
    env=_env(_src("gethomepage/homepage", "src/middleware.js", "v1.6.1"), "v1.0.0", "HOMEPAGE_ALLOWED_HOSTS"),
)


def _prom(repo: str, ref: str, binary_note: str, writes: tuple[str, ...]) -> ImageFacts:
    source = _src(repo, "Dockerfile", ref, f"FROM quay.io/prometheus/busybox, USER nobody; {binary_note}")
    return ImageFacts(
        user=ImageUser(name="nobody", uid=65534, gid=65534, source=source),
        entrypoint=Entrypoint(needs_root=False, source=source),
        binaries={"wget": Binary(why="busybox base (prometheus/busybox)", source=source)},
        writes=Writes(paths=writes, source=source),
    )


_FACTS["prometheus"] = _prom("prometheus/prometheus", "v3.7.3", "/bin/prometheus", ("/prometheus",))
_FACTS["alertmanager"] = _prom("prometheus/alertmanager", "v0.28.1", "/bin/alertmanager", ("/alertmanager",))
_FACTS["node-exporter"] = _prom("prometheus/node_exporter", "v1.10.2", "/bin/node_exporter", ())
_FACTS["postgres-exporter"] = _prom(
    "prometheus-community/postgres_exporter", "v0.18.1", "/bin/postgres_exporter", ()
).model_copy(
    update={
        "env": _env(
            _src(
                "prometheus-community/postgres_exporter",
                "cmd/postgres_exporter/datasource.go",
                "v0.18.1",
                "DATA_SOURCE_PASS first in v0.3.0 of the tags read",
            ),
            "v0.3.0",
            "DATA_SOURCE_URI",
            "DATA_SOURCE_USER",
            "DATA_SOURCE_PASS",
        )
    }
)
_bb = _src(
    "prometheus/blackbox_exporter",
    "Dockerfile",
    "v0.27.0",
    "FROM quay.io/prometheus/busybox, no USER: root (not uid 6170); config at /etc/blackbox_exporter",
)
_FACTS["blackbox-exporter"] = ImageFacts(
    user=_root(_bb),
    entrypoint=Entrypoint(needs_root=False, source=_bb),
    binaries={"wget": Binary(why="busybox base (prometheus/busybox)", source=_bb)},
    writes=Writes(paths=(), source=_bb),
)

_re = _src("oliver006/redis_exporter", "Dockerfile", "v1.79.0", "scratch release stage, USER 59000:59000; no shell")
_FACTS["redis-exporter"] = ImageFacts(
    user=ImageUser(name="59000", uid=59000, gid=59000, source=_re),
    entrypoint=Entrypoint(needs_root=False, source=_re),
    writes=Writes(paths=(), source=_re),
    env=_env(
        _src(
            "oliver006/redis_exporter",
            "main.go",
            "v1.79.0",
            "getEnv(REDIS_ADDR), getEnv(REDIS_PASSWORD); the latter first in v0.4 of the tags read",
        ),
        "v0.4",
        "REDIS_ADDR",
        "REDIS_PASSWORD",
    ),
)

_grafana = _inferred(
    "grafana/grafana",
    "Dockerfile",
    "v12.2.1",
    "the repository is over the snapshot size limit; not read. GF_PATHS_*; USER grafana (472:0); "
    "alpine/ubuntu base with wget",
)
_FACTS["grafana"] = ImageFacts(
    user=ImageUser(name="grafana", uid=472, gid=0, source=_grafana),
    entrypoint=Entrypoint(needs_root=False, source=_grafana),
    binaries={"wget": Binary(why="busybox in the alpine base", source=_grafana)},
    writes=Writes(paths=("/var/lib/grafana",), source=_grafana),
    env={
        "GF_*": Setting(
            since="v5.0.0",
            source=_inferred(
                "grafana/grafana",
                "pkg/setting/setting.go",
                "v12.2.1",
                "GF_<SECTION>_<KEY> overrides any ini key (applyEnvVariableOverrides); the keys are "
                "not recorded one by one",
            ),
        )
    },
)

_loki = _src(
    "grafana/loki",
    "cmd/loki/Dockerfile",
    "v3.5.7",
    "FROM gcr.io/distroless/static:debug (busybox at /busybox, on PATH), adduser -u 10001 loki, USER 10001",
)
_FACTS["loki"] = ImageFacts(
    user=ImageUser(name="loki", uid=10001, gid=10001, source=_loki),
    entrypoint=Entrypoint(needs_root=False, source=_loki),
    binaries={"wget": Binary(why="busybox of distroless/static:debug", source=_loki)},
    writes=Writes(paths=("/loki",), source=_loki),
)

_alloy = _src(
    "grafana/alloy",
    "Dockerfile",
    "v1.11.3",
    "ubuntu:noble, user alloy (473) made but not set: runs as root; bash from ubuntu, no wget or curl",
)
_FACTS["alloy"] = ImageFacts(
    user=_root(_alloy),
    entrypoint=Entrypoint(needs_root=False, source=_alloy),
    binaries={
        "bash": Binary(why="ubuntu base; /dev/tcp asks the readiness endpoint", source=_alloy),
        "head": Binary(why="coreutils in the ubuntu base", source=_alloy),
        "grep": Binary(why="grep in the ubuntu base (essential package)", source=_alloy),
    },
    writes=Writes(paths=("/var/lib/alloy",), source=_alloy),
)

_cadvisor = _src(
    "google/cadvisor",
    "deploy/Dockerfile",
    "v0.57.0",
    "alpine:3.23, no USER; its own HEALTHCHECK healthcheck.sh uses busybox wget",
)
_FACTS["cadvisor"] = ImageFacts(
    user=_root(_cadvisor),
    entrypoint=Entrypoint(needs_root=False, source=_cadvisor),
    binaries={"wget": Binary(why="busybox in alpine", source=_cadvisor)},
    writes=Writes(paths=(), source=_cadvisor),
)

_sp = _inferred(
    "linuxserver/docker-socket-proxy",
    "Dockerfile, root/templates/haproxy.cfg, root/docker-entrypoint.sh",
    "3.4.3-r0-ls92",
    "the pinned 3.4.4-r0-ls98 is not in the snapshot; ls92 and master (2026-08-18) read: alpine (busybox "
    "wget), no USER, writes /run/haproxy; ALLOW_LOGS=0 denies /containers/{id}/logs since ls92",
)
_sp_old = _src("linuxserver/docker-socket-proxy", "Dockerfile", "3.2.18-r0-ls81", "the API section switches")
_FACTS["socket-proxy"] = ImageFacts(
    user=_root(_sp),
    entrypoint=Entrypoint(needs_root=False, source=_sp),
    binaries={"wget": Binary(why="busybox in alpine", source=_sp)},
    writes=Writes(paths=("/run",), source=_sp),
    env={
        **_env(
            _sp_old,
            "3.2.18-r0-ls81",
            "CONTAINERS",
            "INFO",
            "VERSION",
            "PING",
            "EVENTS",
            "POST",
            "IMAGES",
            "NETWORKS",
            "VOLUMES",
            "EXEC",
            "LOG_LEVEL",
        ),
        **_env(_sp, "3.4.3-r0-ls92", "ALLOW_LOGS"),
    },
)

_js = _inferred(
    "CyferShepard/Jellystat",
    "Dockerfile, backend/db.js",
    "main@3fae9f7",
    "the snapshot ends at 1.1.8 (main, 2026-02-08); the pinned 1.1.12 is newer. node:22 slim, no USER "
    "(root); wget installed; writes backend/backup-data and backend/logs",
)
_FACTS["jellystat"] = ImageFacts(
    user=_root(_js),
    entrypoint=Entrypoint(needs_root=False, source=_js),
    binaries={"node": Binary(why="the node base image", source=_js)},
    writes=Writes(paths=("/app/backend/backup-data",), source=_js),
    env=_env(
        _src("CyferShepard/Jellystat", "backend/create_database.js, backend/routes/auth.js", "1.0.8"),
        "1.0.8",
        "POSTGRES_IP",
        "POSTGRES_PORT",
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "JWT_SECRET",
    )
    | _env(
        _src(
            "CyferShepard/Jellystat",
            "backend/create_database.js, backend/db.js",
            "1.1.0",
            "absent at 1.0.9; at start it runs CREATE DATABASE as the app's role, which (no CREATEDB) logs "
            "'permission denied' and carries on with the database init-databases.sh made: noise only",
        ),
        "1.1.0",
        "POSTGRES_DB",
    ),
)

_runner = _src(
    "media-server",
    "images/backup-runner/Dockerfile",
    "this repository",
    "alpine:3.22.2, no USER; restic, busybox crond and pgrep, pg_dump, sqlite3",
)
_FACTS["backup"] = ImageFacts(
    user=_root(_runner),
    entrypoint=Entrypoint(
        needs_root=True,
        capabilities={
            "DAC_READ_SEARCH": "read every app's files, whatever their owner",
            "SETGID": "crond sets each job's groups",
            "SETUID": "crond sets each job's user",
        },
        source=_runner,
    ),
    binaries={"pgrep": Binary(why="busybox in alpine", source=_runner)},
    writes=Writes(paths=("/repository", "/metrics", "/staging"), source=_runner),
    env=_env(
        _src("media-server", "scripts/backup", "this repository", "our runner's scripts"),
        "1.0.0",
        "RESTIC_PASSWORD",
        "B2_ACCOUNT_ID",
        "B2_ACCOUNT_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "PGPASSWORD_POSTGRES",
        "PGPASSWORD_IMMICH_POSTGRES",
    ),
)

_search = _src(
    "media-server",
    "images/search/Dockerfile",
    "this repository",
    "alpine:3.22.2 with python3 from apk; USER 10001:10001 (search); busybox wget; PYTHONDONTWRITEBYTECODE and "
    "the package compiled at build, so the only path written at run time is /index; the entry runs it as "
    "PUID:PGID",
)
_FACTS["search"] = ImageFacts(
    user=ImageUser(name="search", uid=10001, gid=10001, source=_search),
    entrypoint=Entrypoint(needs_root=False, source=_search),
    binaries={
        "wget": Binary(why="busybox in alpine: `wget -q --spider` asks /healthz", source=_search),
        "python3": Binary(why="the service: python3 -m mediasearch serve", source=_search),
    },
    writes=Writes(paths=("/index",), source=_search),
)

FACTS: MappingProxyType[str, ImageFacts] = MappingProxyType(_FACTS)
"""Upstream facts by catalog name."""

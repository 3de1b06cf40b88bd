"""How a site's settings shape the media and data tiers' catalog entries, and the rules they must keep.

`tailor` is applied by `Settings.service`, so every projection (containers,
routes, backups, dashboard) sees the same entry: Jellyfin's transcode scratch
on tmpfs or the SSD path, the Calibre library's place in the data tree,
Immich machine learning's GPU image, gluetun's VPN settings, Elasticsearch's
heap. `tier_problems` lists what the settings models cannot see field by
field: a dependency that is disabled, a path that would split the hardlink
tree, a cache or heap that does not fit its memory limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, cast

from config.catalog import CATALOG
from config.ingress import ingress_trust
from config.problems import ProblemSpec
from config.search import SEARCH, elasticsearch_wanted, source_plans
from config.spec import MountRole, MountSpec, NetworkName, ServiceSpec, StorageRoot
from config.types import parse_memory_mb

if TYPE_CHECKING:
    from config.settings import Settings

TRANSCODE_DIR = "/cache/transcodes"
"""Jellyfin's default transcode folder (<cache dir>/transcodes): scratch goes here, no Jellyfin setting needed."""

DATA_TARGET = "/data"
"""Where every app that moves files sees the one data root."""

BOOKS_SOURCE = "media/books"

PORT_FORWARD_SCRIPT = "/usr/local/bin/ms-qbittorrent-port.sh"
VPN_INTERFACES = {"wireguard": "wg0", "openvpn": "tun0"}
"""gluetun's tunnel interface by VPN type (its defaults at v3.40.0, set explicitly with VPN_INTERFACE)."""
"""Where MediaTier uploads scripts/media/qbittorrent-port.sh into gluetun."""

QBITTORRENT_WEBUI_PORT = 8080

ML_GPU_VARIANTS = {"nvidia": "cuda", "intel": "openvino", "amd": "rocm"}
"""Immich machine-learning image suffix per GPU kind."""

ML_EXTRA_DEVICES = {"amd": ("/dev/kfd",)}
"""ROCm needs the compute device besides /dev/dri."""


def calibre_source(settings: Settings) -> str:
    """The Calibre library as a path under the data root (outside it, the settings check refuses the site)."""
    library = settings.media.calibre_library
    if library is None or not _inside(library, settings.paths.data_root):
        return BOOKS_SOURCE
    return str(PurePosixPath(library).relative_to(settings.paths.data_root))


def _inside(path: str, root: str) -> bool:
    return PurePosixPath(path).is_relative_to(PurePosixPath(root)) and path != root


def _jellyfin(spec: ServiceSpec, settings: Settings) -> dict[str, object]:
    tmpfs = {k: v for k, v in spec.tmpfs.items() if k != TRANSCODE_DIR}
    mounts = [m for m in spec.mounts if m.target != TRANSCODE_DIR]
    if settings.paths.transcode_path:
        mounts.append(MountSpec(target=TRANSCODE_DIR, root=StorageRoot.TRANSCODE, role=MountRole.SCRATCH))
    else:
        tmpfs[TRANSCODE_DIR] = f"rw,noexec,nosuid,size={parse_memory_mb(settings.media.transcode_tmpfs)}m"
    env = {**spec.env, "JELLYFIN_PublishedServerUrl": settings.url(spec) or ""}
    return {"tmpfs": tmpfs, "mounts": tuple(mounts), "env": env}


def _books(spec: ServiceSpec, settings: Settings) -> dict[str, object]:
    source = calibre_source(settings)
    mounts = tuple(
        m.model_copy(update={"source": source}) if m.root is StorageRoot.DATA and m.source == BOOKS_SOURCE else m
        for m in spec.mounts
    )
    return {"mounts": mounts} if mounts != spec.mounts else {}


def _machine_learning(spec: ServiceSpec, settings: Settings) -> dict[str, object]:
    kind = settings.gpu.kind.value
    variant = ML_GPU_VARIANTS.get(kind)
    if variant is None or not settings.media.machine_learning_gpu:
        return {"gpu": False}
    tag = spec.image.tag
    if not any(tag.endswith(f"-{suffix}") for suffix in ML_GPU_VARIANTS.values()):
        tag = f"{tag}-{variant}"
    return {
        "image": spec.image.model_copy(update={"tag": tag}),
        "devices": (*spec.devices, *ML_EXTRA_DEVICES.get(kind, ())),
    }


def _gluetun(spec: ServiceSpec, settings: Settings) -> dict[str, object]:
    vpn = settings.media.vpn
    env = {
        **spec.env,
        "VPN_SERVICE_PROVIDER": vpn.provider or "",
        "VPN_TYPE": vpn.type,
        "FIREWALL_INPUT_PORTS": str(QBITTORRENT_WEBUI_PORT),
        "VPN_PORT_FORWARDING": "on" if vpn.port_forwarding else "off",
    }
    if vpn.server_countries:
        env["SERVER_COUNTRIES"] = ",".join(vpn.server_countries)
    if vpn.wireguard_addresses and vpn.type == "wireguard":
        env["WIREGUARD_ADDRESSES"] = ",".join(vpn.wireguard_addresses)
    if vpn.port_forwarding:
        # gluetun runs this on every (re)connect with the port the provider handed out. The pinned v3.40.0
        # substitutes {{PORTS}} only ({{VPN_INTERFACE}} arrives in v3.41.0), so the interface is named here
        # and set to the same name.
        interface = VPN_INTERFACES[vpn.type]
        env["VPN_INTERFACE"] = interface
        env["VPN_PORT_FORWARDING_UP_COMMAND"] = f"/bin/sh {PORT_FORWARD_SCRIPT} {{{{PORTS}}}} {interface}"
        if vpn.provider in ("private internet access", "protonvpn"):
            env["PORT_FORWARD_ONLY"] = "on"
    return {"env": env}


def _elasticsearch(spec: ServiceSpec, settings: Settings) -> dict[str, object]:
    heap = parse_memory_mb(settings.data.elasticsearch_heap)
    # The image runs as any uid whose group is 0; the data dir belongs to the site user.
    return {"env": {**spec.env, "ES_JAVA_OPTS": f"-Xms{heap}m -Xmx{heap}m"}, "user": f"{settings.puid}:0"}


def _search(spec: ServiceSpec, settings: Settings) -> dict[str, object]:
    """Calibre's library only while its source is indexed (at Calibre-Web's path); the data network only
    for the Elasticsearch engine."""
    calibre = next(plan for plan in source_plans(settings) if plan.source == "calibre-web")
    source = calibre_source(settings)
    mounts = tuple(
        m.model_copy(update={"source": source}) if m.root is StorageRoot.DATA else m
        for m in spec.mounts
        if m.root is not StorageRoot.DATA or calibre.indexed
    )
    networks = (*spec.networks, NetworkName.DATA) if elasticsearch_wanted(settings) else spec.networks
    return {"mounts": mounts, "networks": networks}


def _homepage(spec: ServiceSpec, settings: Settings) -> dict[str, object]:
    hosts = [settings.domain] + ([f"{spec.subdomain}.{settings.domain}"] if spec.subdomain else [])
    return {"env": {**spec.env, "HOMEPAGE_ALLOWED_HOSTS": ",".join(hosts)}}


_TAILORS = {
    "jellyfin": _jellyfin,
    "calibre-web": _books,
    "kavita": _books,
    "immich-machine-learning": _machine_learning,
    "gluetun": _gluetun,
    "elasticsearch": _elasticsearch,
    "homepage": _homepage,
    SEARCH: _search,
}


def tailor(spec: ServiceSpec, settings: Settings) -> ServiceSpec:
    """The entry as this site deploys it."""
    shape = _TAILORS.get(spec.name)
    update = shape(spec, settings) if shape else {}
    if spec.header_trust is not None:
        # Trust the identity header from Traefik's address only, whatever an env override said.
        env = cast(dict[str, str], update.get("env", spec.env))
        update["env"] = {**env, spec.header_trust.trusted_env: ingress_trust(settings)}
    return spec.model_copy(update=update) if update else spec


# ------------------------------------------------------------------ cross-field rules
def _dependency_problems(settings: Settings) -> list[ProblemSpec]:
    problems: list[ProblemSpec] = []
    for spec in settings.enabled_services():
        for dep in spec.depends_on:
            if settings.is_enabled(dep):
                continue
            dep_tier = CATALOG[dep].tier
            why = "" if settings.tier_enabled(dep_tier) else f" (tier {dep_tier.value} is off)"
            problems.append(
                (
                    ("services", spec.name, "enabled"),
                    True,
                    f"{spec.name} needs {dep}, which is disabled{why}; expected services.{dep}.enabled true, "
                    f"or {spec.name} disabled",
                )
            )
    return problems


def _hardlink_problems(settings: Settings) -> list[ProblemSpec]:
    """Every app that moves files sees the one data root, read-write, at /data, and nothing else of it."""
    problems: list[ProblemSpec] = []
    for spec in settings.enabled_services():
        if not spec.moves_files:
            continue
        data = [(m.source, m.target, m.read_only) for m in spec.mounts if m.root is StorageRoot.DATA]
        if data != [("", DATA_TARGET, False)]:
            problems.append(
                (
                    ("services", spec.name),
                    data,
                    f"{spec.name} moves files, so it must see the whole data root read-write at {DATA_TARGET} "
                    "through one mount; separate mounts turn hardlinks into copies",
                )
            )
    return problems


def _media_problems(settings: Settings) -> list[ProblemSpec]:
    problems: list[ProblemSpec] = []
    media, root = settings.media, settings.paths.data_root
    if media.calibre_library is not None and not _inside(media.calibre_library, root):
        problems.append(
            (
                ("media", "calibreLibrary"),
                media.calibre_library,
                f"outside the data root {root}: the apps that move books would need a second mount and imports "
                f"would become copies instead of hardlinks; expected a folder under {root}/",
            )
        )
    if settings.is_enabled("gluetun") and media.vpn.provider is None:
        problems.append(
            (
                ("media", "vpn", "provider"),
                None,
                "the download client's traffic leaves only through the VPN (gluetun); expected the VPN provider, "
                "e.g. protonvpn or mullvad",
            )
        )
    return problems


@dataclass(frozen=True)
class _Share:
    """A size setting that must fit in a share of an app's memory limit."""

    service: str
    key: tuple[str, ...]
    size: str
    share: Fraction
    why: str
    alternative: str = ""


def _memory_shares(settings: Settings) -> list[_Share]:
    data = settings.data
    shares = [
        _Share("redis", ("data", "redisMaxmemory"), data.redis_maxmemory, Fraction(3, 4),
               "leaves Redis no room under its memory limit"),
        _Share("elasticsearch", ("data", "elasticsearchHeap"), data.elasticsearch_heap, Fraction(1, 2),
               "the JVM heap must leave half of Elasticsearch's memory to the file cache"),
    ]  # fmt: skip
    if settings.paths.transcode_path is None:
        shares.append(
            _Share("jellyfin", ("media", "transcodeTmpfs"), settings.media.transcode_tmpfs, Fraction(1, 2),
                   "RAM transcode scratch counts against Jellyfin's memory limit",
                   ", or paths.transcodePath on an SSD")
        )  # fmt: skip
    return shares


def _memory_problems(settings: Settings) -> list[ProblemSpec]:
    problems: list[ProblemSpec] = []
    for rule in _memory_shares(settings):
        if not settings.is_enabled(rule.service):
            continue
        limit = parse_memory_mb(settings.service(rule.service).memory)
        if parse_memory_mb(rule.size) > limit * rule.share:
            share = "half" if rule.share == Fraction(1, 2) else str(rule.share)
            problems.append(
                (
                    rule.key,
                    rule.size,
                    f"{rule.why} ({limit}m); expected at most {share} of services.{rule.service}.memory"
                    f"{rule.alternative}",
                )
            )
    return problems


def tier_problems(settings: Settings) -> list[ProblemSpec]:
    return [
        *_dependency_problems(settings),
        *_hardlink_problems(settings),
        *_media_problems(settings),
        *_memory_problems(settings),
    ]

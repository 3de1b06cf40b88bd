"""Where things live on the Docker host: a projection of settings + catalog.

`host_path` resolves a catalog mount to its host source; `directory_tree`
lists every directory host preparation creates, with owner and mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from config.image_facts import FACTS
from config.settings import Settings
from config.spec import MountSpec, ServiceSpec, StorageRoot


@dataclass(frozen=True, order=True)
class Directory:
    path: str
    mode: str
    uid: int
    gid: int


BACKUP_METRICS = "metrics"
"""<backupRoot>/metrics: the backup runner's textfile metrics, read by node-exporter."""


def runtime_owner(spec: ServiceSpec, settings: Settings) -> tuple[int, int]:
    """The uid:gid the container's process writes as: the site user where the entry runs as it (or a
    linuxserver image drops to PUID/PGID), the entry's fixed numeric user, else the image's own user
    (config.image_facts, read in the image's Dockerfile at the pinned tag)."""
    if spec.run_as_site_user or spec.linuxserver_ids:
        return settings.puid, settings.pgid
    if spec.user:
        user, _, group = spec.user.partition(":")
        if user.isdigit() and (group or user).isdigit():
            return int(user), int(group or user)
        raise ValueError(f"{spec.name}: user {spec.user!r} is not numeric uid:gid; host preparation needs numbers")
    image_user = FACTS[spec.name].user
    return image_user.uid, image_user.gid


def host_path(settings: Settings, spec: ServiceSpec, mount: MountSpec) -> str:
    paths = settings.paths
    if mount.root is StorageRoot.TRANSCODE and paths.transcode_path is None:
        raise ValueError(
            f"{spec.name}: mount {mount.target} is on the transcode path, but paths.transcodePath is unset"
        )
    base = {
        StorageRoot.CONFIG: PurePosixPath(paths.config_root) / spec.name,
        StorageRoot.CACHE: PurePosixPath(paths.cache_root) / spec.name,
        StorageRoot.DATA: PurePosixPath(paths.data_root),
        StorageRoot.BACKUPS: PurePosixPath(paths.backup_root),
        StorageRoot.LOGS: PurePosixPath(paths.cache_root) / "logs",
        StorageRoot.SITE_CONFIG: PurePosixPath(paths.config_root),
        StorageRoot.TRANSCODE: PurePosixPath(paths.transcode_path or "/"),
        StorageRoot.HOST: PurePosixPath("/"),
    }[mount.root]
    return str(base / mount.source) if mount.source else str(base)


def data_tree(settings: Settings) -> list[str]:
    """The one hardlink-friendly tree: downloads and media side by side on one filesystem."""
    root = PurePosixPath(settings.paths.data_root)
    dirs = [root, root / "media"]
    for download in settings.paths.download_dirs:
        dirs.append(root / download)
        dirs.extend(root / download / kind for kind in settings.paths.media_dirs if kind != "photos")
    dirs.extend(root / "media" / kind for kind in settings.paths.media_dirs)
    return [str(d) for d in dirs]


def directory_tree(settings: Settings) -> list[Directory]:
    """Every directory host preparation creates, sorted, parents first.

    A mount's directory belongs to the user the container writes it as (runtime_owner): the site user, a
    fixed uid, or root for an image that runs as root with every capability dropped (root without
    DAC_OVERRIDE cannot write into the site user's 0750 directory). A directory several containers mount
    belongs to the one that mounts it writable."""
    uid, gid = settings.puid, settings.pgid
    paths = settings.paths
    group_dir = "2775" if settings.umask == "002" else "2755"
    entries: dict[str, Directory] = {}

    def add(path: str, mode: str, owner: int = uid, group: int = gid) -> None:
        entries.setdefault(path, Directory(path=path, mode=mode, uid=owner, gid=group))

    add(paths.config_root, "0750")
    add(paths.cache_root, "0750")
    for path in data_tree(settings):
        add(path, group_dir)
    services = settings.enabled_services()
    # Writers first: a shared directory (Traefik's logs) takes the owner of the container that writes it.
    mounts = sorted(((spec, mount) for spec in services for mount in spec.mounts), key=lambda item: item[1].read_only)
    for spec, mount in mounts:
        if mount.root in (StorageRoot.DATA, StorageRoot.SITE_CONFIG, StorageRoot.TRANSCODE, StorageRoot.HOST):
            continue
        path = host_path(settings, spec, mount)
        parent = str(PurePosixPath(path).parent)
        if mount.root in (StorageRoot.CONFIG, StorageRoot.CACHE) and parent not in (
            paths.config_root,
            paths.cache_root,
        ):
            add(parent, "0750")
        if mount.root is StorageRoot.LOGS:
            add(str(PurePosixPath(paths.cache_root) / "logs"), "0750")
        if mount.root is StorageRoot.BACKUPS:
            # The runner is root without DAC_OVERRIDE: it can write only what root owns. Its repository
            # and staging stay private; the metrics must be readable by node-exporter (nobody).
            add(paths.backup_root, "0700", 0, 0)
            add(path, "0755" if mount.source == BACKUP_METRICS else "0700", 0, 0)
            continue
        add(path, "0750", *runtime_owner(spec, settings))
    if paths.transcode_path:
        add(paths.transcode_path, "0750")
    return sorted(entries.values(), key=lambda d: (PurePosixPath(d.path).parts, d.path))


def render_manifest(tree: list[Directory]) -> str:
    """The host preparation script's input: one `MODE UID GID PATH` record per line.

    Paths are validated to contain no whitespace (config.types.AbsPath), so the
    fields are unambiguous.
    """
    return "".join(f"{d.mode}\t{d.uid}\t{d.gid}\t{d.path}\n" for d in tree)

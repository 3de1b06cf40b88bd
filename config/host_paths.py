"""Which host directories may be a storage root (paths.configRoot, dataRoot, cacheRoot, backupRoot, transcodePath).

Host preparation runs as root (sudo) and makes every root, and the directories
under it, belong to PUID:PGID with modes 0750/2775; apps then write there (the
*arr apps see the whole data root read-write). A root on a system tree would
hand the host to any app: `dataRoot: /home` lets Sonarr write users'
`~/.ssh/authorized_keys`, `cacheRoot: /var/lib/docker` gives uid 1000 the
engine's state, `configRoot: /root` root's home. So:

- SYSTEM_TREES: neither the tree, nor anything inside it, nor anything containing it (`/var` contains
  `/var/lib`; `/` contains everything).
  /proc /sys /dev             kernel interfaces, not storage
  /boot /efi                  the boot loader and kernels
  /etc                        the host's configuration (sudoers, ssh)
  /usr /bin /sbin /lib*       the operating system's code (and /usr/local: code root runs)
  /root /home                 users' homes: keys, shells' rc files
  /run /var/run               runtime state on tmpfs (the Docker socket lives there); gone at reboot
  /var/lib                    every service's state, /var/lib/docker among them
  /var/log                    the host's logs, which root's log rotation writes
  /tmp                        world-writable and cleared at boot (tmpfs on most systems): other local users can
                              plant a path before root creates it, and the data is gone after a reboot
  /snap /lost+found           managed by snapd and fsck
- SHARED_PARENTS: not the directory itself, which other software shares (`/opt`, `/srv`, `/mnt`, `/media`,
  `/var`, `/var/cache`, `/var/tmp`, `/var/opt`, `/var/spool`), but a directory of the site's own beneath it
  (/opt/mediaserver, /var/cache/mediaserver, /mnt/ssd/transcode). /var/tmp/<x> stays allowed for the dev stack,
  which runs without sudo as the developer's own user.
"""

from __future__ import annotations

from pathlib import PurePosixPath

SYSTEM_TREES: tuple[str, ...] = (
    "/proc", "/sys", "/dev", "/boot", "/efi", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
    "/libx32", "/root", "/home", "/run", "/var/run", "/var/lib", "/var/log", "/tmp", "/snap", "/lost+found",
)  # fmt: skip
"""Trees no storage root may touch: not the tree, not inside it, not above it."""

SHARED_PARENTS: tuple[str, ...] = (
    "/opt", "/srv", "/mnt", "/media", "/var", "/var/cache", "/var/tmp", "/var/opt", "/var/spool",
)  # fmt: skip
"""Directories other software shares: a root may live beneath one, never be one."""


def system_path_problem(path: str) -> str | None:
    """Why a storage root may not be at `path` (normalised absolute), or None when it may."""
    if path == "/":
        return "the filesystem root; expected a directory of the site's own such as /srv/media"
    candidate = PurePosixPath(path)
    for tree in SYSTEM_TREES:
        system = PurePosixPath(tree)
        if candidate == system or candidate.is_relative_to(system):
            return f"inside the system tree {tree}, which host preparation (as root) would hand to the site user"
        if system.is_relative_to(candidate):
            return f"contains the system tree {tree}, which host preparation (as root) would hand to the site user"
    if path in SHARED_PARENTS:
        return f"{path} is shared with other software; expected a directory of the site's own under it"
    return None

"""The archive scripts/host/write-files.sh extracts on the Docker host: pure data in, bytes out.

Deterministic (sorted members, fixed mtime, numeric owners) so the same files give the same
archive, and so the same digest: the container is replaced only when a file really changes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True, order=True)
class HostFile:
    """One generated file at its host path, with the owner and mode the container needs."""

    host_path: str
    content: str
    uid: int
    gid: int
    mode: int


@dataclass(frozen=True, order=True)
class HostDirectory:
    host_path: str
    uid: int
    gid: int
    mode: int


def _member(path: str) -> str:
    relative = PurePosixPath(path).relative_to("/")
    if ".." in relative.parts:
        raise ValueError(f"host path {path!r} contains '..'")
    return str(relative)


MANIFEST = ".media-server-files"
"""In each bind-mount root the program writes to: the files it manages there, one relative path a line.
write-files.sh removes a file that the previous manifest lists and the new one does not."""
SECRETS_MANIFEST = ".media-server-secrets"
"""The same for the secret files, which travel in an archive of their own: each archive's manifest
lists only its own files, so neither write removes the other's."""


def manifests(files: Iterable[HostFile], roots: Iterable[str], name: str = MANIFEST) -> list[HostFile]:
    """One manifest per mount root, listing the files written under it (owned like the root's files)."""
    out = []
    files = sorted(files)
    for root in sorted(set(roots)):
        mine = [f for f in files if PurePosixPath(f.host_path).is_relative_to(root)]
        if not mine:
            continue
        listing = "".join(f"{PurePosixPath(f.host_path).relative_to(root)}\n" for f in mine)
        first = mine[0]
        out.append(HostFile(str(PurePosixPath(root) / name), listing, first.uid, first.gid, 0o644))
    return out


def render_archive(directories: Iterable[HostDirectory], files: Iterable[HostFile]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in sorted(set(directories), key=lambda d: PurePosixPath(d.host_path).parts):
            info = tarfile.TarInfo(_member(directory.host_path))
            info.type, info.mode, info.uid, info.gid, info.mtime = (
                tarfile.DIRTYPE,
                directory.mode,
                directory.uid,
                directory.gid,
                0,
            )
            tar.addfile(info)
        for file in sorted(files):
            data = file.content.encode()
            info = tarfile.TarInfo(_member(file.host_path))
            info.size, info.mode, info.uid, info.gid, info.mtime = len(data), file.mode, file.uid, file.gid, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def encode(archive: bytes) -> str:
    """stdin for write-files.sh."""
    return base64.b64encode(archive).decode() + "\n"


def digest(archive: bytes) -> str:
    return hashlib.sha256(archive).hexdigest()

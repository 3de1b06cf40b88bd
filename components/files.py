"""HostFiles: generated files for a container with a read-only root filesystem, written on the host.

pulumi-docker copies `uploads` into a container by extracting a tar at "/", which Docker refuses
when the root filesystem is read-only, even for files that land in a writable bind mount. So for
such containers the files are written on the host, into the directories the container binds, by
scripts/host/write-files.sh over SSH (pulumi-command), before the container starts. The container
is replaced whenever the written content changes (its replacement trigger is the archive digest),
as it would be for a changed upload.

The component's props list the files exactly like a container's `uploads` ({file, content}, plus
the host path) and carry the service label, so the offline report, the tests and the policy pack
read a container's configuration the same way wherever it is delivered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pulumi

from components.host import run_on_host, script_command
from config.layout import host_path, runtime_owner
from config.settings import Settings
from config.spec import ServiceSpec, StorageRoot
from render.host_files import (
    MANIFEST,
    SECRETS_MANIFEST,
    HostDirectory,
    HostFile,
    digest,
    encode,
    manifests,
    render_archive,
)

WRITE_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "host" / "write-files.sh"
HOST_FILES = "media-server:app:HostFiles"
SERVICE_LABEL = "media-server.service"


def place(spec: ServiceSpec, settings: Settings, container_path: str) -> tuple[str, str]:
    """(host path of the file, host path of the bind mount it is in). The mount must be writable."""
    target = PurePosixPath(container_path)
    mounts = [m for m in spec.mounts if target.is_relative_to(m.target) and str(target) != m.target]
    if not mounts:
        raise ValueError(
            f"{spec.name}: {container_path} is in no bind mount of the catalog entry; a read-only container "
            "receives files only inside its mounts"
        )
    mount = max(mounts, key=lambda m: len(PurePosixPath(m.target).parts))
    # A read-only mount of the app's own config directory is the program's to write (on the host): the
    # container only reads it. Any other read-only mount is a tree the program does not own (the data root).
    if mount.read_only and mount.root is not StorageRoot.CONFIG:
        raise ValueError(f"{spec.name}: {container_path} would land in the read-only mount {mount.target}")
    root = host_path(settings, spec, mount)
    return str(PurePosixPath(root) / target.relative_to(mount.target)), root


@dataclass(frozen=True)
class HostFilesArgs:
    spec: ServiceSpec
    settings: Settings
    files: Mapping[str, pulumi.Input[str]]
    """Container path -> content that holds no secret: a plain input, readable in a preview's diff."""
    private_key: pulumi.Input[str] | None = None
    secret_files: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Container path -> content that is (or holds) a secret: written by a command of its own, 0400."""


class HostFiles(pulumi.ComponentResource):
    """A container's generated files, written into its bind-mounted host directories.

    Plain and secret files travel apart, because Pulumi marks a whole property secret when any part of
    it is: the plain files are one archive whose command carries their text among its triggers (a
    preview shows a changed route or rule line by line), the secret files another, secret end to end.
    """

    written: list[pulumi.Resource]
    digest: pulumi.Output[str]

    def __init__(self, name: str, args: HostFilesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec, settings = args.spec, args.settings
        uid, gid = runtime_owner(spec, settings)
        overlap = sorted(set(args.files) & set(args.secret_files))
        if overlap:
            raise ValueError(f"{spec.name}: {', '.join(overlap)} given both as a plain and as a secret file")
        placed = {path: place(spec, settings, path) for path in sorted({*args.files, *args.secret_files})}
        described: dict[str, pulumi.Input[object]] = {
            "uploads": [
                {"file": path, "hostPath": placed[path][0], "content": args.files[path]} for path in sorted(args.files)
            ],
            # A property of its own: secret as a whole, and it leaves `uploads` plain.
            "secretUploads": [
                {"file": path, "hostPath": placed[path][0], "content": args.secret_files[path]}
                for path in sorted(args.secret_files)
            ],
            "labels": [{"label": SERVICE_LABEL, "value": spec.name}],
        }
        super().__init__(HOST_FILES, name, described, opts)
        self.written = []
        digests = []
        # Private to the container's user when it has one; root-owned files stay world-readable, as the
        # images that run as a fixed user of their own (nobody, ...) must read them. The mount's own
        # directory (made by host preparation) keeps the site's 0750. Secret files are 0400 whoever owns them.
        plain_mode = 0o640 if uid else 0o644
        for role, contents, mode, manifest in (
            ("write", args.files, plain_mode, MANIFEST),
            ("write-secrets", args.secret_files, 0o400, SECRETS_MANIFEST),
        ):
            if not contents:
                continue
            paths = sorted(contents)
            built = self._archive(
                {p: placed[p] for p in paths}, [contents[p] for p in paths], (uid, gid, mode), manifest
            )
            digest_of = built.apply(digest)
            # The plain files' text among the triggers: `pulumi preview --diff` shows what changed in
            # them, where the archive on stdin is an opaque blob.
            shown: list[pulumi.Input[object]] = [digest_of]
            if role == "write":
                shown.append({p: contents[p] for p in paths})
            self.written.append(
                run_on_host(
                    f"{name}-{role}",
                    settings.host,
                    args.private_key,
                    script_command(settings.host, WRITE_SCRIPT.read_text(), "write-files"),
                    built.apply(encode),
                    shown,
                    pulumi.ResourceOptions(parent=self),
                )
            )
            digests.append(digest_of)
        # One value that changes when any file does (secret when secret files are written).
        self.digest = pulumi.Output.all(*digests).apply("+".join)
        # The engine hands stack policies a component's registered outputs, not its inputs: the files and the
        # service label must be among them or the rules that read them (MS-020, MS-021, MS-022) see nothing.
        self.register_outputs({**described, "digest": self.digest})

    @staticmethod
    def _archive(
        placed: Mapping[str, tuple[str, str]],
        contents: list[pulumi.Input[str]],
        owner: tuple[int, int, int],
        manifest: str,
    ) -> pulumi.Output[bytes]:
        """The archive of some of the files: their directories below the mount roots, the files, a manifest.

        Secret contents make the archive, its encoding and its digest secret too (Output.all keeps it)."""
        uid, gid, mode = owner
        paths = list(placed)
        roots = [root for _, root in placed.values()]
        directories = {
            HostDirectory(str(parent), uid, gid, 0o750)
            for file_path, root in placed.values()
            for parent in PurePosixPath(file_path).parents
            if parent.is_relative_to(root) and str(parent) != root
        }

        def archive(texts: list[str]) -> bytes:
            files = [HostFile(placed[p][0], t, uid, gid, mode) for p, t in zip(paths, texts, strict=True)]
            return render_archive(directories, [*files, *manifests(files, roots, manifest)])

        return pulumi.Output.all(*contents).apply(archive)

"""ContainerService: one catalog entry + site settings -> pulled image + hardened container.

Safe defaults every tier gets for free: all capabilities dropped (the entry
adds back only what it lists), no-new-privileges, read-only root filesystem
where the entry allows it, a memory and CPU limit, unless-stopped, rotated
json-file logs, a healthcheck, labels without secrets, explicit network mode,
no published ports unless the entry is an ingress.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_docker as docker

from components.files import SERVICE_LABEL, HostFiles, HostFilesArgs
from config.layout import host_path
from config.settings import GpuKind, Settings
from config.spec import NetworkName, ServiceSpec
from config.types import parse_memory_mb

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOG_OPTS = {"max-size": "10m", "max-file": "3"}
NVIDIA_CAPABILITIES = "compute,video,utility"


@dataclass(frozen=True)
class SiteContext:
    """What every ContainerService needs from the site: settings, networks, readiness."""

    settings: Settings
    stack: str
    networks: Mapping[NetworkName, docker.Network]
    ready: Sequence[pulumi.Resource] = ()
    private_key: pulumi.Input[str] | None = None
    """For commands on the host (written files) over SSH with host.auth key."""

    @property
    def prefix(self) -> str:
        return f"ms-{self.stack}"


@dataclass(frozen=True)
class ContainerServiceArgs:
    spec: ServiceSpec
    site: SiteContext
    files: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Container path -> file content that holds no secret, uploaded into the container (or written on the
    host for a read-only one). A change replaces this container only."""
    secret_files: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Container path -> a secret (or a file that holds one), always written on the host into a bind mount,
    0400 for the container's user, so that `files` (and `uploads`) stay plain and reviewable."""
    secret_env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment values that are Pulumi secrets (the whole env list is then secret)."""
    network_container: pulumi.Input[str] | None = None
    """Share this container's network namespace (network_mode container:<id>) instead of joining networks."""
    command: Sequence[str] | None = None
    aliases: Sequence[str] = ()
    """Extra network aliases on every network, for apps that share this container's network (route_via)."""
    addresses: Mapping[NetworkName, str] = field(default_factory=dict)
    """Fixed IPv4 addresses by network (Traefik's on the proxy network: config/ingress.py)."""


def labels_for(spec: ServiceSpec, site: SiteContext) -> dict[str, str]:
    return {
        "media-server.project": "media-server",
        "media-server.stack": site.stack,
        SERVICE_LABEL: spec.name,
        "media-server.tier": spec.tier.value,
    }


def plain_env(spec: ServiceSpec, settings: Settings) -> dict[str, str]:
    env = {"TZ": settings.timezone}
    if spec.linuxserver_ids:
        env.update({"PUID": str(settings.puid), "PGID": str(settings.pgid), "UMASK": settings.umask})
    if spec.gpu and settings.gpu.kind is GpuKind.NVIDIA:
        env.update(
            {
                "NVIDIA_VISIBLE_DEVICES": settings.gpu.nvidia_visible_devices,
                "NVIDIA_DRIVER_CAPABILITIES": NVIDIA_CAPABILITIES,
            }
        )
    env.update(spec.env)
    return env


def _envs(plain: Mapping[str, str], secret: Mapping[str, pulumi.Input[str]]) -> pulumi.Input[list[str]]:
    items = [f"{k}={v}" for k, v in sorted(plain.items()) if k not in secret]
    if not secret:
        return items
    names = sorted(secret)
    return pulumi.Output.secret(
        pulumi.Output.all(*[secret[n] for n in names]).apply(
            lambda values: sorted(items + [f"{n}={v}" for n, v in zip(names, values, strict=True)])
        )
    )


def _device(path: str) -> docker.ContainerDeviceArgs:
    return docker.ContainerDeviceArgs(host_path=path, container_path=path, permissions="rwm")


def _gpu_args(spec: ServiceSpec, settings: Settings) -> dict[str, object]:
    gpu = settings.gpu
    own = [_device(d) for d in spec.devices]
    if not spec.gpu or gpu.kind is GpuKind.NONE:
        return {"devices": own} if own else {}
    if gpu.kind is GpuKind.NVIDIA:
        return {"gpus": gpu.nvidia_visible_devices, "runtime": "nvidia", **({"devices": own} if own else {})}
    groups = [str(g) for g in (gpu.render_gid, gpu.video_gid) if g is not None]
    return {"devices": [_device(d) for d in gpu.devices] + own, "group_adds": groups}


def _device_args(spec: ServiceSpec, settings: Settings) -> dict[str, object]:
    """GPU and devices, and the supplementary groups they (and site_group) need."""
    args = _gpu_args(spec, settings)
    if spec.site_group:
        groups = [str(settings.pgid), *(str(g) for g in args.get("group_adds", []))]  # type: ignore[attr-defined]
        args["group_adds"] = sorted(set(groups))
    return args


def _build_args(spec: ServiceSpec) -> docker.RemoteImageBuildArgs:
    context = PROJECT_ROOT / str(spec.image.build)
    return docker.RemoteImageBuildArgs(
        context=str(context),
        dockerfile="Dockerfile",
        # Rebuild when the Dockerfile changes, not on every run.
        build_id=hashlib.sha256((context / "Dockerfile").read_bytes()).hexdigest()[:16],
        labels={"media-server.image": spec.name},
    )


def _healthcheck(spec: ServiceSpec) -> docker.ContainerHealthcheckArgs | None:
    hc = spec.healthcheck
    if hc is None:
        return None
    return docker.ContainerHealthcheckArgs(
        tests=list(hc.test), interval=hc.interval, timeout=hc.timeout, retries=hc.retries, start_period=hc.start_period
    )


class ContainerService(pulumi.ComponentResource):
    """A catalog entry deployed as one hardened container."""

    container: docker.Container
    image: docker.RemoteImage
    container_name: pulumi.Output[str]
    image_ref: pulumi.Output[str]

    def __init__(self, name: str, args: ContainerServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:app:ContainerService", name, None, opts)
        spec, site, settings = args.spec, args.site, args.site.settings

        self.image = docker.RemoteImage(
            f"{name}-image",
            docker.RemoteImageArgs(
                name=spec.image.reference,
                keep_locally=True,
                build=_build_args(spec) if spec.image.build else None,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # A pulled image runs by its repo digest; a locally built one has none, so it runs by image ID.
        # Either way an unchanged image leaves the container unchanged.
        image_ref = self.image.image_id if spec.image.build else self.image.repo_digest

        networks = [site.networks[n] for n in spec.networks]
        if args.network_container is not None:
            network_mode: pulumi.Input[str] = pulumi.Output.concat("container:", args.network_container)
            networks_advanced = None
        elif networks:
            # Explicit mode (first own network) keeps the container off Docker's default bridge
            # and avoids the provider's perpetual network_mode diff.
            network_mode = networks[0].name
            aliases = [spec.name, *(a for a in args.aliases if a != spec.name)]
            networks_advanced = [
                docker.ContainerNetworksAdvancedArgs(name=net.name, aliases=aliases, ipv4_address=args.addresses.get(n))
                for n, net in zip(spec.networks, networks, strict=True)
            ]
        else:
            network_mode, networks_advanced = "none", None

        tmpfs = dict(spec.tmpfs)
        if spec.read_only_rootfs and "/tmp" not in tmpfs:
            tmpfs["/tmp"] = "rw,noexec,nosuid,size=64m"

        user = f"{settings.puid}:{settings.pgid}" if spec.run_as_site_user else spec.user
        # pulumi-docker copies uploads by extracting a tar at "/", which Docker refuses on a read-only root
        # filesystem ("container rootfs is marked read-only"): such a container's files are written on the
        # host into its bind mounts instead, and a change to them replaces the container all the same.
        self.files: HostFiles | None = None
        after: list[pulumi.Resource] = list(site.ready)
        replace_when: pulumi.Input[str] | None = None
        uploads: list[docker.ContainerUploadArgs] = []
        # Secret files never go among the uploads: one secret there makes the whole `uploads` property secret.
        on_host = args.files if spec.read_only_rootfs else {}
        if on_host or args.secret_files:
            self.files = HostFiles(
                f"{name}-files",
                HostFilesArgs(
                    spec=spec,
                    settings=settings,
                    files=on_host,
                    secret_files=args.secret_files,
                    private_key=site.private_key,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(site.ready)),
            )
            after.extend(self.files.written)
            replace_when = self.files.digest
        if not spec.read_only_rootfs:
            uploads = [
                docker.ContainerUploadArgs(file=path, content=content) for path, content in sorted(args.files.items())
            ]
        restart_policy = spec.restart

        self.container = docker.Container(
            f"{name}-container",
            docker.ContainerArgs(
                name=f"{site.prefix}-{spec.name}",
                image=image_ref,
                # Docker refuses a hostname for a container living in another's network namespace.
                hostname=spec.name if args.network_container is None else None,
                envs=_envs(plain_env(spec, settings), args.secret_env),
                command=list(args.command)
                if args.command is not None
                else (list(spec.command) if spec.command else None),
                user=user,
                capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"], adds=sorted(spec.capabilities)),
                security_opts=["no-new-privileges:true"],
                read_only=spec.read_only_rootfs,
                tmpfs=tmpfs or None,
                sysctls=dict(spec.sysctls) or None,
                memory=parse_memory_mb(spec.memory),
                shm_size=parse_memory_mb(spec.shm_size) if spec.shm_size else None,
                cpus=f"{spec.cpus:g}",
                restart=restart_policy,
                max_retry_count=3 if restart_policy == "on-failure" else None,
                log_driver="json-file",
                log_opts=LOG_OPTS,
                healthcheck=_healthcheck(spec),
                labels=[docker.ContainerLabelArgs(label=k, value=v) for k, v in sorted(labels_for(spec, site).items())],
                network_mode=network_mode,
                networks_advanced=networks_advanced,
                volumes=[
                    docker.ContainerVolumeArgs(
                        host_path=host_path(settings, spec, mount),
                        container_path=mount.target,
                        read_only=mount.read_only,
                    )
                    for mount in spec.mounts
                ]
                or None,
                ports=[
                    docker.ContainerPortArgs(internal=p.internal, external=p.external, protocol=p.protocol)
                    for p in spec.published
                ]
                or None,
                uploads=uploads or None,
                **_device_args(spec, settings),  # type: ignore[arg-type]
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=after,
                replacement_trigger=replace_when,
                # Container names are unique per host: the old one must go before the new one starts.
                delete_before_replace=True,
                # Tells the engine (and the policy pack, which sees no secretness) that envs holds secrets.
                additional_secret_outputs=["envs"] if args.secret_env else None,
            ),
        )
        self.container_name = self.container.name
        self.image_ref = image_ref
        self.register_outputs({"containerName": self.container_name, "imageRef": self.image_ref})

"""RemoteHost: the Docker provider for one host, and host preparation."""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from config.layout import Directory, render_manifest
from config.settings import HostSettings

PREPARE_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "host" / "prepare-host.sh"


@dataclass(frozen=True)
class RemoteHostArgs:
    host: HostSettings
    directories: list[Directory]
    private_key: pulumi.Input[str] | None = None


def script_command(host: HostSettings, script: str, name: str = "prepare-host") -> str:
    """The shell command run on the host: the script text itself (its input comes on stdin), with sudo
    for a non-root SSH user."""
    invocation = f"bash -c {shlex.quote(script)} {name}"
    if host.mode == "ssh" and host.use_sudo and host.user != "root":
        return f"sudo -n {invocation}"
    return invocation


def run_on_host(
    name: str,
    host: HostSettings,
    private_key: pulumi.Input[str] | None,
    create: str,
    stdin: pulumi.Input[str],
    triggers: Sequence[pulumi.Input[object]],
    opts: pulumi.ResourceOptions,
) -> pulumi.Resource:
    """A command on the Docker host: over SSH (pulumi-command remote) or, in local mode, here."""
    if host.mode == "ssh":
        connection = command.remote.ConnectionArgs(
            host=host.address or "",
            port=host.port,
            user=host.user,
            private_key=private_key if host.auth == "key" else None,
            host_key=host.host_key,
        )
        return command.remote.Command(
            name,
            command.remote.CommandArgs(
                connection=connection, create=create, update=create, stdin=stdin, triggers=triggers
            ),
            opts=opts,
        )
    return command.local.Command(
        name,
        command.local.CommandArgs(
            create=create, update=create, stdin=stdin, triggers=triggers, interpreter=["/bin/sh", "-c"]
        ),
        opts=opts,
    )


class RemoteHost(pulumi.ComponentResource):
    """A Docker host reached over SSH (or the local socket), with its directory tree prepared."""

    provider: docker.Provider
    prepared: pulumi.Resource
    docker_host: pulumi.Output[str]

    def __init__(self, name: str, args: RemoteHostArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:host:RemoteHost", name, None, opts)
        host = args.host

        self.provider = docker.Provider(
            f"{name}-docker",
            docker.ProviderArgs(host=host.docker_host, ssh_opts=list(host.ssh_options) or None),
            opts=pulumi.ResourceOptions(parent=self),
        )

        script = PREPARE_SCRIPT.read_text()
        manifest = render_manifest(args.directories)
        create = script_command(host, script, "prepare-host")
        # Re-run when the script or the tree changes; the script is idempotent either way.
        triggers: list[pulumi.Input[str]] = [hashlib.sha256((script + manifest).encode()).hexdigest()]
        self.prepared = run_on_host(
            f"{name}-prepare",
            host,
            args.private_key,
            create,
            manifest,
            triggers,
            pulumi.ResourceOptions(parent=self),
        )

        self.docker_host = pulumi.Output.from_input(host.docker_host)
        self.register_outputs({"dockerHost": self.docker_host})

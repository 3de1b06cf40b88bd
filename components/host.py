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
from render.ssh import docker_ssh_options, ssh_files_script

PREPARE_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "host" / "prepare-host.sh"


@dataclass(frozen=True)
class RemoteHostArgs:
    host: HostSettings
    directories: list[Directory]
    private_key: pulumi.Input[str] | None = None
    stack: str = "dev"


def docker_ssh_opts(
    host: HostSettings, stack: str, private_key: pulumi.Input[str] | None
) -> pulumi.Output[list[str]] | None:
    """The Docker provider's `ssh_opts`, resolved only once the files they name are written on this machine.

    pulumi-command's `local.run` is an invoke: it runs on every preview and up, before the provider is
    configured (the provider's inputs wait for it), and not at all under the test mocks.
    """
    if host.mode != "ssh":
        return None
    key = None
    if host.auth == "key" and private_key is not None:
        # OpenSSH refuses a private key file whose last line has no newline.
        key = pulumi.Output.from_input(private_key).apply(lambda k: k if k.endswith("\n") else k + "\n")
    written = command.local.run_output(
        command=ssh_files_script(host, stack),
        interpreter=["/bin/sh", "-c"],
        stdin=key,
        logging=command.local.Logging.NONE,
    )
    options = docker_ssh_options(host, stack)
    # The result is secret because the key went in on stdin; the options themselves hold no secret.
    return pulumi.Output.unsecret(written.apply(lambda _: options))


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
            docker.ProviderArgs(host=host.docker_host, ssh_opts=docker_ssh_opts(host, args.stack, args.private_key)),
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

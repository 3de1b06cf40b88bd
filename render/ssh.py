"""Docker over SSH from the stack config alone: the ssh options the Docker provider runs with, and the files they name.

The Docker provider (kreuzwerker/terraform-provider-docker, `internal/provider/config.go`) dials an
`ssh://` host through docker/cli's connection helper, which runs the system `ssh` binary as
`ssh <ssh_opts> -o ConnectTimeout=30 -T [-l user] [-p port] -- host docker system dial-stdio`
(`cli/connhelper/connhelper.go`, `cli/connhelper/ssh/ssh.go`). Only `ssh_opts`, the ssh config files
and an agent reach that process, so the program writes the stack's private key and a known_hosts
line holding `host.hostKey` to files and names them in `ssh_opts`.

The files live under `${HOME}/.media-server/ssh/<stack>/`, written as `${HOME}` in the options: ssh
expands `${HOME}` in IdentityFile and UserKnownHostsFile itself (OpenSSH 8.4 or later), so the
provider input is the same string on every machine (no diff when a colleague or CI runs the stack)
while the files land in whoever runs it's home. `-F none` keeps ~/.ssh/config and /etc/ssh/ssh_config
out; GlobalKnownHostsFile=/dev/null keeps /etc/ssh/ssh_known_hosts out, so the pinned key is the only
one accepted.
"""

from __future__ import annotations

import re
import shlex

from config.settings import HostSettings
from config.ssh import host_key_algorithms, parse_host_key

_STACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def ssh_dir(stack: str) -> str:
    """The per-stack directory of the key and known_hosts, as ssh and sh both expand it."""
    if not _STACK_NAME.fullmatch(stack):
        raise ValueError(f"stack name {stack!r} cannot name a directory; expected [A-Za-z0-9._-], not starting with .")
    return "${HOME}/.media-server/ssh/" + stack


def known_hosts_line(host: HostSettings) -> str:
    """The one known_hosts line: the host as ssh looks it up (`[host]:port` off port 22) and its pinned key."""
    if not host.address or not host.host_key:
        raise ValueError("ssh mode needs host.address and host.hostKey")
    pattern = host.address if host.port == 22 else f"[{host.address}]:{host.port}"
    return f"{pattern} {parse_host_key(host.host_key).line}"


def docker_ssh_options(host: HostSettings, stack: str) -> list[str]:
    """`ssh_opts` for the Docker provider: the pinned host key only, the stack's key only (key auth), no prompts."""
    if not host.host_key:
        raise ValueError("ssh mode needs host.hostKey")
    directory = ssh_dir(stack)
    options = [
        "-F", "none",
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "CheckHostIP=no",
        "-o", f"UserKnownHostsFile={directory}/known_hosts",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", f"HostKeyAlgorithms={host_key_algorithms(parse_host_key(host.host_key))}",
    ]  # fmt: skip
    if host.auth == "key":
        options += ["-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", f"IdentityFile={directory}/id"]
    # ssh keeps the first value it sees for an option, so nothing the stack adds overrides the ones above.
    return options + list(host.ssh_options)


def ssh_files_script(host: HostSettings, stack: str) -> str:
    """The sh script (run on this machine by pulumi-command's `local.run`, preview and up alike) that writes the
    files the options name: known_hosts from the settings, and in key mode the private key from stdin, both 0600
    in a 0700 directory. Each file is replaced by a rename, so ssh never reads a half-written one."""
    directory = ssh_dir(stack)
    lines = [
        "set -eu",
        "umask 077",
        ': "${HOME:?HOME is not set}"',
        f'dir="{directory}"',
        'mkdir -p "$dir"',
        'chmod 700 "$dir"',
        'rm -f "$dir/known_hosts.new" "$dir/id.new"',
        f'printf "%s\\n" {shlex.quote(known_hosts_line(host))} > "$dir/known_hosts.new"',
        'mv -f "$dir/known_hosts.new" "$dir/known_hosts"',
    ]
    if host.auth == "key":
        lines += ['cat > "$dir/id.new"', 'mv -f "$dir/id.new" "$dir/id"']
    return "\n".join(lines) + "\n"

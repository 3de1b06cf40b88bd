"""A throwaway sshd on 127.0.0.1 for tests: own host key, own client key, own port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SshServer:
    port: int
    user: str
    client_key: Path
    known_hosts: Path
    host_public_key: Path

    def ssh(self, remote_command: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                "ssh",
                "-p", str(self.port),
                "-i", str(self.client_key),
                "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=yes",
                "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-o", "IdentitiesOnly=yes",
                f"{self.user}@127.0.0.1",
                remote_command,
            ],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sshd() -> str:
    found = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)
    if not found:
        raise RuntimeError("sshd is missing: run `make setup-system` (Debian openssh-server)")
    return found


@contextmanager
def ssh_server(workdir: Path, user: str = "root", extra_config: Sequence[str] = ()) -> Iterator[SshServer]:
    """sshd on a free loopback port; `extra_config` lines are appended to its sshd_config (e.g. SetEnv)."""
    workdir.mkdir(parents=True, exist_ok=True)
    host_key = workdir / "host_ed25519"
    client_key = workdir / "client_ed25519"
    for key in (host_key, client_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorized = workdir / "authorized_keys"
    authorized.write_text(client_key.with_suffix(".pub").read_text())
    authorized.chmod(0o600)
    port = _free_port()
    known_hosts = workdir / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_key.with_suffix('.pub').read_text()}")
    config = workdir / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                f"AuthorizedKeysFile {authorized}",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "StrictModes no",
                "UsePAM no",
                f"PidFile {workdir / 'sshd.pid'}",
                *extra_config,
                "",
            ]
        )
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    proc = subprocess.Popen([_sshd(), "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.05)
        yield SshServer(
            port=port,
            user=user,
            client_key=client_key,
            known_hosts=known_hosts,
            host_public_key=host_key.with_suffix(".pub"),
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)

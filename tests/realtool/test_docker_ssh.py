"""Docker over SSH from the stack config alone, for real: sshd on loopback in front of a real dockerd.

The program runs under the mocks with an ssh stack (key auth, pinned host key); the test then does on
this machine exactly what the engine and the providers would: pulumi-command's `local.run` invoke runs
the recorded script (`/bin/sh -c`, the key on stdin), and the Docker CLI dials the recorded host through
`ssh` with the recorded `ssh_opts` in front of its own arguments, as docker/cli's connection helper does
for the Docker provider (`cli/connhelper/connhelper.go`: `ssh <sshFlags> -o ConnectTimeout=30 -T -l user
-p port -- host docker system dial-stdio`). The environment has an empty HOME, no SSH_AUTH_SOCK and no
DOCKER_* variables: nothing but what the stack config produced can let the connection through.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from config.stack import load_stack_file
from offline.runner import RunResult, run_program
from tests.conftest import as_stack, minimal_config
from tests.realtool.docker_engine import docker_engine
from tests.realtool.sshd import SshServer, ssh_server

pytestmark = pytest.mark.realtool
ROOT = Path(__file__).resolve().parents[2]
PROVIDER = "pulumi:providers:docker"


def _ssh_stack(server: SshServer, host_key: str) -> RunResult:
    raw = minimal_config(
        host={
            "mode": "ssh",
            "address": "127.0.0.1",
            "port": server.port,
            "user": server.user,
            "auth": "key",
            "hostKey": host_key,
            "sshOptions": ["-o", "ConnectTimeout=10"],
        },
        tiers={"edge": False, "media": False, "monitoring": False, "backup": False},
    )
    result = run_program(as_stack(raw, secrets={"sshPrivateKey": server.client_key.read_text().rstrip("\n")}))
    assert result.ok, result.problems
    return result


def _recorded(result: RunResult) -> tuple[str, list[str], dict[str, Any]]:
    (provider,) = [r for r in result.resources if r.type == PROVIDER]
    (invoke,) = [args for token, args in result.calls if token == "command:local:run"]
    return str(provider.inputs["host"]), list(provider.inputs["sshOpts"]), invoke


def _clean_env(home: Path, path: str) -> dict[str, str]:
    # No SSH_AUTH_SOCK (no agent), no DOCKER_HOST/DOCKER_CONTEXT, a HOME with nothing in it.
    return {"HOME": str(home), "PATH": path, "LANG": "C.UTF-8"}


def _write_files(invoke: dict[str, Any], env: dict[str, str]) -> None:
    """What pulumi-command's local.run does with the invoke's args (provider/pkg/provider/local/commandOutputs.go:
    interpreter + command, the process environment, stdin from the input)."""
    done = subprocess.run(
        [*invoke["interpreter"], invoke["command"]],
        input=invoke.get("stdin", ""),
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr


def _ssh_shim(bin_dir: Path, ssh_opts: list[str], log: Path) -> None:
    """An `ssh` first on PATH that runs the real ssh with the provider's ssh_opts in front of the CLI's arguments
    (the Docker CLI has no flag for ssh options; the provider passes them exactly there)."""
    real_ssh = shutil.which("ssh")
    assert real_ssh, "ssh is missing: run `make setup-system` (Debian openssh-client)"
    bin_dir.mkdir()
    shim = bin_dir / "ssh"
    shim.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {shlex.quote(str(log))}\n'
        f'exec {shlex.quote(real_ssh)} {shlex.join(ssh_opts)} "$@"\n'
    )
    shim.chmod(0o755)


def _clients() -> list[str]:
    """Every Docker CLI here: Debian docker.io's (/usr/bin/docker) and whichever is first on PATH."""
    found = {path for path in (shutil.which("docker"), "/usr/bin/docker") if path and Path(path).is_file()}
    return sorted(str(Path(path).resolve()) for path in found) or ["docker"]


def _docker(docker: str, host: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert shutil.which(docker), "the docker CLI is missing: run `make setup-system` (Debian docker.io)"
    return subprocess.run(
        [docker, "-H", host, *args], env=env, capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Any:
    if os.geteuid() != 0:
        pytest.fail("this test starts sshd and dockerd: it must run as root (CI does)")
    with docker_engine() as engine:
        # The remote side of docker's ssh helper runs `docker system dial-stdio` as the SSH user: it needs the
        # docker CLI on PATH and the engine's socket (DOCKER_HOST here; /var/run/docker.sock on a real host).
        setenv = f"SetEnv DOCKER_HOST=unix://{engine.socket_path}"
        with ssh_server(tmp_path_factory.mktemp("sshd"), extra_config=[setenv]) as server:
            yield server


@pytest.mark.parametrize("docker", _clients())
def test_docker_cli_reaches_the_engine_with_only_what_the_stack_config_generates(
    site: SshServer, tmp_path: Path, docker: str
) -> None:
    result = _ssh_stack(site, site.host_public_key.read_text().strip())
    host, ssh_opts, invoke = _recorded(result)
    assert host == f"ssh://root@127.0.0.1:{site.port}"

    home = tmp_path / "home"
    home.mkdir()
    env = _clean_env(home, os.environ["PATH"])
    _write_files(invoke, env)
    ssh_dir = home / ".media-server" / "ssh" / "test"
    assert stat.S_IMODE(ssh_dir.stat().st_mode) == 0o700
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in ssh_dir.iterdir()} == {"id": 0o600, "known_hosts": 0o600}
    assert (ssh_dir / "id").read_text() == site.client_key.read_text()

    log = tmp_path / "ssh-argv"
    _ssh_shim(tmp_path / "bin", ssh_opts, log)
    env["PATH"] = f"{tmp_path / 'bin'}:{os.environ['PATH']}"
    version = _docker(docker, host, env, "version", "--format", "{{.Server.Version}}")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip(), version.stdout
    listed = _docker(docker, host, env, "ps", "--all", "--format", "{{.Names}}")
    assert listed.returncode == 0, listed.stderr
    # The CLI added only the destination and the remote command after the stack's options.
    argv = log.read_text().splitlines()
    assert argv[-4:] == ["127.0.0.1", "docker", "system", "dial-stdio"]
    assert argv[argv.index("-l") : argv.index("-l") + 2] == ["-l", "root"]
    assert not (home / ".ssh").exists()


@pytest.mark.parametrize("docker", _clients())
def test_a_wrong_host_key_is_refused(site: SshServer, tmp_path: Path, docker: str) -> None:
    impostor = tmp_path / "impostor"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(impostor)], check=True)
    result = _ssh_stack(site, impostor.with_suffix(".pub").read_text().strip())
    host, ssh_opts, invoke = _recorded(result)

    home = tmp_path / "home"
    home.mkdir()
    env = _clean_env(home, os.environ["PATH"])
    _write_files(invoke, env)
    _ssh_shim(tmp_path / "bin", ssh_opts, tmp_path / "ssh-argv")
    env["PATH"] = f"{tmp_path / 'bin'}:{os.environ['PATH']}"
    refused = _docker(docker, host, env, "version", "--format", "{{.Server.Version}}")
    assert refused.returncode != 0
    assert "Host key verification failed" in refused.stderr, refused.stderr


@pytest.mark.parametrize("docker", _clients())
def test_without_the_generated_options_the_cli_cannot_connect(site: SshServer, tmp_path: Path, docker: str) -> None:
    """The control: the same machine state minus the options (what the program sent before) is refused."""
    home = tmp_path / "home"
    home.mkdir()
    env = _clean_env(home, os.environ["PATH"])
    plain = _docker(docker, f"ssh://root@127.0.0.1:{site.port}", {**env, "PATH": os.environ["PATH"]}, "version")
    assert plain.returncode != 0


def test_the_generated_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: run `make setup-system`"
    result = run_program(load_stack_file(ROOT / "Pulumi.prod.yaml"))
    (invoke,) = [args for token, args in result.calls if token == "command:local:run"]
    checked = subprocess.run(
        [shellcheck, "-s", "sh", "-"], input=invoke["command"], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout

"""A throwaway Docker engine for tests, and the Engine API calls pulumi-docker makes for a Container.

No registry is reachable here, so the containers run a tiny local image (a static busybox, imported
from a tarball) instead of the apps' images; everything else about each container is exactly what
the program recorded: capabilities, security options, read-only root, tmpfs, limits, user, mounts,
networks and aliases, healthcheck, log options, and the uploaded files.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from config.goforms import parse_duration

TEST_IMAGE = "media-server-test/busybox:1"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 60) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class EngineError(RuntimeError):
    pass


@dataclass(frozen=True)
class Engine:
    """The Docker Engine API over a unix socket (the calls the Docker provider makes)."""

    socket_path: str

    def call(
        self, method: str, path: str, body: Any = None, raw: bytes | None = None, content_type: str | None = None
    ) -> Any:
        conn = _UnixConnection(self.socket_path)
        headers = {}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif content_type:
            headers["Content-Type"] = content_type
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        if response.status >= 400:
            raise EngineError(f"{method} {path}: {response.status} {payload.decode(errors='replace')}")
        if payload and response.getheader("Content-Type", "").startswith("application/json"):
            return json.loads(payload)
        return payload

    def exec(self, container: str, argv: list[str]) -> int:
        created = self.call("POST", f"/containers/{container}/exec", {"Cmd": argv, "AttachStdout": True})
        self.call("POST", f"/exec/{created['Id']}/start", {"Detach": False, "Tty": False})
        return int(self.call("GET", f"/exec/{created['Id']}/json")["ExitCode"])


@contextmanager
def docker_engine() -> Iterator[Engine]:
    """Start dockerd (no iptables, no default bridge, vfs storage) in a scratch directory."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise RuntimeError("dockerd is missing: run `make setup-system` (Debian docker.io)")
    # A short root: the engine's unix sockets must fit in 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="msd-", dir="/tmp"))
    sock = root / "docker.sock"
    # The default bridge the provider creates containers on (then disconnects), on a Linux bridge of this
    # engine's own so parallel engines never share docker0.
    bridge = f"msb{os.getpid() % 100000}"
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    log = (root / "dockerd.log").open("w")
    proc = subprocess.Popen(
        [
            dockerd,
            "--iptables=false",
            "--ip6tables=false",
            f"--bridge={bridge}",
            "--storage-driver=vfs",
            f"--data-root={root / 'data'}",
            f"--exec-root={root / 'exec'}",
            f"--pidfile={root / 'docker.pid'}",
            f"--host=unix://{sock}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    engine = Engine(str(sock))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if engine.call("GET", "/_ping") == b"OK":
                    break
            except (OSError, EngineError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not start: {(root / 'dockerd.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield engine
    finally:
        try:
            for container in engine.call("GET", "/containers/json?all=1"):
                engine.call("DELETE", f"/containers/{container['Id']}?force=1&v=1")
        except (OSError, EngineError):
            pass
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["ip", "link", "delete", bridge], check=False)


def import_test_image(engine: Engine) -> None:
    """A minimal image: a static busybox with a few applets, imported from a tarball (no registry)."""
    busybox = shutil.which("busybox")
    if busybox is None:
        raise RuntimeError("busybox is missing: run `make setup-system` (Debian busybox-static)")
    linked = subprocess.run(["ldd", busybox], capture_output=True, text=True, check=False)
    if "not a dynamic executable" not in linked.stdout + linked.stderr:
        raise RuntimeError(f"{busybox} is dynamically linked: install Debian busybox-static for the test image")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for directory in ("bin", "tmp", "etc"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for applet in ("sh", "sleep", "id", "touch", "test", "wget", "cat", "mkdir", "httpd"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        passwd = b"root:x:0:0:root:/:/bin/sh\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(passwd)
        tar.addfile(info, io.BytesIO(passwd))
    repo, tag = TEST_IMAGE.rsplit(":", 1)
    engine.call(
        "POST",
        f"/images/create?fromSrc=-&repo={urllib.parse.quote(repo)}&tag={tag}",
        raw=buffer.getvalue(),
        content_type="application/x-tar",
    )


def duration_ns(text: str) -> int:
    """A healthcheck duration in the Engine API's nanoseconds, parsed as the provider does (time.ParseDuration)."""
    return parse_duration(text)


HANDLED_INPUTS = frozenset(
    {
        "capabilities", "command", "cpus", "devices", "envs", "groupAdds", "healthcheck", "hostname", "image",
        "labels", "logDriver", "logOpts", "maxRetryCount", "memory", "name", "networkMode", "networksAdvanced",
        "ports", "readOnly", "restart", "securityOpts", "shmSize", "sysctls", "tmpfs", "uploads", "user", "volumes",
        "memorySwap", "mustRun", "destroyGraceSeconds",
    }
)  # fmt: skip
"""Container inputs translated below; a new input must be added here (and translated) or the test fails."""


def create_spec(
    inputs: dict[str, Any], host_root: Path, network_ids: dict[str, str], container_ids: dict[str, str]
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """The Engine API create body for recorded inputs, and the networks to connect after it (name, endpoint).

    As the provider does (resource_docker_container_funcs.go:391, 456, 462-503, 586): the create request carries an
    empty NetworkingConfig and only the network mode; then, for networks_advanced, the default bridge is
    disconnected and every entry, the network-mode one included, is connected with its aliases, before start.

    Substitutions, all for running here: the test image and `sleep` for the app's image and command;
    bind sources under `host_root`; published ports on 127.0.0.1 with a free host port; host devices
    (absent here) backed by /dev/null; CPU limits capped at this machine's cores; a shared network
    namespace by the real id of the recorded one.
    """
    host: dict[str, Any] = {
        "CapDrop": inputs["capabilities"].get("drops", []),
        "CapAdd": inputs["capabilities"].get("adds", []) or None,
        "SecurityOpt": inputs.get("securityOpts"),
        "ReadonlyRootfs": bool(inputs.get("readOnly")),
        "Tmpfs": inputs.get("tmpfs"),
        "Memory": int(inputs["memory"]) * 1024 * 1024,
        "MemorySwap": int(inputs["memorySwap"]) * 1024 * 1024,
        # The engine refuses a limit above the host's cores; this machine may have fewer than the site's host.
        "NanoCpus": int(min(float(inputs["cpus"]), os.cpu_count() or 1) * 1e9),
        "RestartPolicy": {"Name": inputs["restart"], "MaximumRetryCount": int(inputs.get("maxRetryCount") or 0)},
        "LogConfig": {"Type": inputs["logDriver"], "Config": inputs.get("logOpts") or {}},
        "Binds": [
            f"{host_root}{v['hostPath']}:{v['containerPath']}:{'ro' if v.get('readOnly') else 'rw'}"
            for v in inputs.get("volumes") or []
        ],
        "GroupAdd": inputs.get("groupAdds"),
        "Sysctls": inputs.get("sysctls"),
        "Devices": [
            {"PathOnHost": "/dev/null", "PathInContainer": d["containerPath"], "CgroupPermissions": d["permissions"]}
            for d in inputs.get("devices") or []
        ],
    }
    if inputs.get("shmSize"):
        host["ShmSize"] = int(inputs["shmSize"]) * 1024 * 1024
    exposed: dict[str, dict[str, Any]] = {}
    for port in inputs.get("ports") or []:
        key = f"{port['internal']}/{port.get('protocol', 'tcp')}"
        exposed[key] = {}
        host.setdefault("PortBindings", {})[key] = [{"HostIp": "127.0.0.1", "HostPort": ""}]
    mode = str(inputs["networkMode"])
    if mode.startswith("container:"):
        host["NetworkMode"] = "container:" + container_ids[mode.removeprefix("container:")]
    else:
        host["NetworkMode"] = network_ids.get(mode, mode)
    connect = []
    for net in inputs.get("networksAdvanced") or []:
        endpoint: dict[str, Any] = {"Aliases": list(net.get("aliases") or [])}
        if net.get("ipv4Address"):  # a fixed address (Traefik's on the proxy network), as the provider sends it
            endpoint["IPAMConfig"] = {"IPv4Address": net["ipv4Address"]}
        connect.append((net["name"], endpoint))
    check = inputs.get("healthcheck")
    body: dict[str, Any] = {
        "Image": TEST_IMAGE,
        "Cmd": ["sleep", "3600"],
        "Hostname": inputs.get("hostname"),
        "User": inputs.get("user") or "",
        "Env": inputs.get("envs") or [],
        "Labels": {item["label"]: item["value"] for item in inputs.get("labels") or []},
        "ExposedPorts": exposed or None,
        "HostConfig": host,
        "NetworkingConfig": {},
    }
    if check:
        body["Healthcheck"] = {
            "Test": check["tests"],
            "Interval": duration_ns(check.get("interval", "30s")),
            "Timeout": duration_ns(check.get("timeout", "30s")),
            "Retries": int(check.get("retries", 3)),
            "StartPeriod": duration_ns(check.get("startPeriod", "0s")),
        }
    return body, connect


def upload(engine: Engine, container: str, path: str, content: str, executable: bool = False) -> None:
    """What the provider does for each upload: a one-entry tar named by the file's full path, extracted at "/"
    (terraform-provider-docker's resource_docker_container_funcs.go: CopyToContainer(ctx, id, "/", ...))."""
    data = content.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(str(PurePosixPath(path)))
        info.size, info.mode = len(data), 0o744 if executable else 0o644
        tar.addfile(info, io.BytesIO(data))
    engine.call(
        "PUT", f"/containers/{container}/archive?path=/", raw=buffer.getvalue(), content_type="application/x-tar"
    )

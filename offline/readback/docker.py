"""pulumi-docker 5.2.0: what the provider's Read stores for what the program sends.

pulumi-docker 5.2.0 bundles kreuzwerker/terraform-provider-docker v4.5.0 (the `upstream` submodule of
pulumi/pulumi-docker is at 5074970c, tag v4.5.0, at v5.1.0 and on master after it; no later upstream tag
exists). Line numbers below are from that tag, `internal/provider/`. The Docker daemon side is moby's
`daemon/daemon_unix.go` (adaptContainerSettings) and docker/cli v28.5.2 (`opts/opts.go`, `opts/gpus.go`),
the versions that provider's go.mod pins.

Create ends by calling Read (resource_docker_container_funcs.go:673), so the state after the first `up` is
already the read-back form: the second `up` diffs the program's inputs against it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Any

from config.goforms import docker_cpus, go_duration
from offline.readback.schema import Attr

CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"

DEFAULT_SHM_MB = 64
"""moby daemon/config: DefaultShmSize = 64 MiB, applied by adaptContainerSettings when ShmSize is 0."""


@dataclass(frozen=True)
class DeviceRequest:
    driver: str = ""
    count: int = 0
    device_ids: tuple[str, ...] = ()
    capabilities: tuple[tuple[str, ...], ...] = ()


def gpu_request(value: str) -> DeviceRequest:
    """docker/cli v28.5.2 opts.GpuOpts.Set (opts/gpus.go), after the provider strips outer quotes
    (funcs.go:705-718 normalizeGPUOptionString). The value is one CSV record: "0,1" is two fields, each
    without "=", so each is read as a count (the last wins: Count=1, no device IDs); "device=0,1" is the
    fields "device=0" and "1" (DeviceIDs ["0"] and Count=1, which the NVIDIA runtime refuses)."""
    text = value.strip()
    while len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    fields = next(csv.reader([text]))
    driver, count = "", 0
    ids: tuple[str, ...] = ()
    caps: tuple[tuple[str, ...], ...] = ()
    seen: set[str] = set()
    for item in fields:
        key, sep, val = item.partition("=")
        if key in seen:
            raise ValueError(f"gpu request key '{key}' can be specified only once")
        seen.add(key)
        if not sep:
            seen.add("count")
            count = -1 if key == "all" else int(key)
        elif key == "driver":
            driver = val
        elif key == "count":
            count = -1 if val == "all" else int(val)
        elif key == "device":
            ids = tuple(val.split(","))
        elif key == "capabilities":
            caps = ((*val.split(","), "gpu"),)
        else:
            raise ValueError(f"unexpected key '{key}' in '{item}'")
    return DeviceRequest(driver, count, ids, caps or (("gpu",),))


def flatten_gpus(req: DeviceRequest) -> str | None:
    """funcs.go:720-748 flattenGPUsFromDeviceRequests: the `gpus` text for one request, None if it has none."""
    if req.device_ids:
        return "device=" + ",".join(req.device_ids)
    if req.count != -1:
        return None
    return "all" if any(c.lower() == "gpu" for caps in req.capabilities for c in caps) else None


def _one_shot(inputs: dict[str, Any]) -> bool:
    """Modelling assumption: a container whose restart policy lets it stay down (`no`, `on-failure`) is a job
    that has exited by the time Read runs; services here restart `unless-stopped`/`always`."""
    return str(inputs.get("restart") or "no") in ("no", "on-failure")


def read_container(inputs: dict[str, Any]) -> dict[str, Any]:
    """resourceDockerContainerRead (funcs.go:750-985) over what Docker stores for the create request."""
    state = dict(inputs)
    state["restart"] = inputs.get("restart") or "no"  # funcs.go:857, RestartPolicy.Name
    state["maxRetryCount"] = inputs.get("maxRetryCount") or 0
    if inputs.get("cpus"):
        state["cpus"] = docker_cpus(str(inputs["cpus"]))  # funcs.go:946-948
    memory = int(inputs.get("memory") or 0)
    state["memory"] = memory  # funcs.go:930, Memory/1024/1024
    swap = int(inputs.get("memorySwap") or 0)
    if swap == 0 and memory > 0:
        # moby daemon/daemon_unix.go adaptContainerSettings: "By default, MemorySwap is set to twice the size
        # of Memory"; Read stores MemorySwap/1024/1024 (funcs.go:940-944); memory_swap is not Computed.
        swap = 2 * memory
    state["memorySwap"] = swap
    state["shmSize"] = int(inputs.get("shmSize") or DEFAULT_SHM_MB)  # funcs.go:945
    hc = inputs.get("healthcheck")
    if isinstance(hc, dict):
        # funcs.go:960-971: durations as Go's Duration.String(), "0s" for unset ones (create parses them with
        # time.ParseDuration, funcs.go:147-159).
        state["healthcheck"] = {
            "tests": list(hc.get("tests") or []),
            **{k: go_duration(str(hc.get(k) or "0s")) for k in ("interval", "timeout", "startPeriod", "startInterval")},
            "retries": int(hc.get("retries") or 0),
        }
    if inputs.get("gpus"):
        # funcs.go:919-925: stored form when representable, else the configured text is kept.
        flat = flatten_gpus(gpu_request(str(inputs["gpus"])))
        if flat is not None:
            state["gpus"] = flat
    if isinstance(inputs.get("deviceRequests"), list):
        # funcs.go:926-929 / structures.go:500-524 flattenDeviceRequests: driver and count always present.
        state["deviceRequests"] = [
            {**r, "driver": r.get("driver") or "cdi", "count": int(r.get("count") or 0)}
            for r in inputs["deviceRequests"]
        ]
    if _one_shot(inputs):
        # funcs.go:815-824: a stopped container's exit code is read, and must_run=true is flipped to false
        # in state "to trigger update", which starts it again (funcs.go:994-1010).
        state["exitCode"] = 0
        if inputs.get("mustRun", True):
            state["mustRun"] = False
    state.setdefault("networkDatas", [])
    return state


_HEALTHCHECK = {
    "tests": Attr(kind="list"),
    "interval": Attr(default="0s"),
    "timeout": Attr(default="0s"),
    "startPeriod": Attr(default="0s"),
    "startInterval": Attr(default="0s"),
    "retries": Attr(default=0),
}
_NETWORK_ADVANCED = {
    "name": Attr(),
    "aliases": Attr(kind="set"),
    "ipv4Address": Attr(),
    "ipv6Address": Attr(),
    "gwPriority": Attr(),
}
_PORT = {"internal": Attr(), "external": Attr(), "ip": Attr(default="0.0.0.0"), "protocol": Attr(default="tcp")}  # noqa: S104
_DEVICE_REQUEST = {
    "driver": Attr(default="cdi"),
    "count": Attr(default=0),
    "deviceIds": Attr(kind="set"),
    "capabilities": Attr(kind="set"),
    "options": Attr(kind="map"),
}


def _suppress_empty_new(state: Any, config: Any) -> bool:
    """resource_docker_container.go:187-193 (user) and :247-253 (working_dir): "" in config is a no-op."""
    return config in (None, "")


# resource_docker_container.go:47-1189, the attributes this program sends or the provider fills in.
CONTAINER_SCHEMA: dict[str, Attr] = {
    "name": Attr(force_new=True),
    "rm": Attr(default=False),
    "readOnly": Attr(force_new=True, default=False),
    "start": Attr(default=True),
    "mustRun": Attr(default=True),
    "image": Attr(force_new=True),
    "hostname": Attr(force_new=True, computed=True),
    "command": Attr(force_new=True, computed=True, kind="list"),
    "entrypoint": Attr(force_new=True, computed=True, kind="list"),
    "user": Attr(force_new=True, suppress=_suppress_empty_new),
    "restart": Attr(default="no"),
    "maxRetryCount": Attr(),
    "workingDir": Attr(force_new=True, suppress=_suppress_empty_new),
    "capabilities": Attr(force_new=True, kind="set", block={"adds": Attr(kind="set"), "drops": Attr(kind="set")}),
    "securityOpts": Attr(force_new=True, computed=True, kind="set"),
    "runtime": Attr(force_new=True, computed=True),
    "volumes": Attr(
        force_new=True,
        kind="set",
        block={
            "hostPath": Attr(),
            "containerPath": Attr(),
            "readOnly": Attr(),
            "volumeName": Attr(),
            "fromContainer": Attr(),
        },
    ),
    "tmpfs": Attr(kind="map"),
    "ports": Attr(force_new=True, kind="list", block=_PORT),
    "envs": Attr(force_new=True, computed=True, kind="set"),
    "devices": Attr(
        force_new=True,
        kind="set",
        block={"hostPath": Attr(), "containerPath": Attr(), "permissions": Attr()},
    ),
    "deviceRequests": Attr(force_new=True, kind="set", block=_DEVICE_REQUEST),
    "destroyGraceSeconds": Attr(),
    "labels": Attr(force_new=True, computed=True, kind="set", block={"label": Attr(), "value": Attr()}),
    "memory": Attr(),
    "memoryReservation": Attr(default=0),
    "memorySwap": Attr(),
    "shmSize": Attr(force_new=True, computed=True),
    "logDriver": Attr(force_new=True, computed=True),
    "logOpts": Attr(force_new=True, kind="map"),
    "networkMode": Attr(force_new=True, default="bridge"),
    "networksAdvanced": Attr(force_new=True, kind="set", block=_NETWORK_ADVANCED),
    "uploads": Attr(
        force_new=True,
        kind="set",
        block={"file": Attr(), "content": Attr(), "contentBase64": Attr(), "executable": Attr(), "source": Attr()},
    ),
    "healthcheck": Attr(computed=True, kind="block", block=_HEALTHCHECK),
    "sysctls": Attr(force_new=True, kind="map"),
    "groupAdds": Attr(force_new=True, kind="set"),
    "gpus": Attr(force_new=True),
    "cpus": Attr(force_new=True),
}


def read_network(inputs: dict[str, Any]) -> dict[str, Any]:
    """resourceDockerNetworkReadRefreshFunc (resource_docker_network_funcs.go:160-203): name, labels, driver,
    internal, attachable, ingress, ipv6, ipam driver/options/config as the daemon reports them, which for a
    bridge network created with these fields is what was sent (Options {} when none were given)."""
    state = dict(inputs)
    state["driver"] = inputs.get("driver") or "bridge"
    state["internal"] = bool(inputs.get("internal"))
    state["ipamDriver"] = inputs.get("ipamDriver") or "default"
    state.setdefault("options", {})
    state["scope"] = "local"
    return state


# resource_docker_network.go:20-150.
NETWORK_SCHEMA: dict[str, Attr] = {
    "name": Attr(force_new=True),
    "labels": Attr(force_new=True, kind="set", block={"label": Attr(), "value": Attr()}),
    "driver": Attr(force_new=True, computed=True),
    "options": Attr(force_new=True, computed=True, kind="map"),
    "internal": Attr(force_new=True, computed=True),
    "attachable": Attr(force_new=True),
    "ingress": Attr(force_new=True),
    "ipamDriver": Attr(force_new=True, default="default"),
    "ipamOptions": Attr(force_new=True, kind="map"),
    "ipamConfigs": Attr(
        force_new=True,
        computed=True,
        kind="set",
        block={"subnet": Attr(), "gateway": Attr(), "ipRange": Attr(), "auxAddress": Attr(kind="map")},
    ),
}


def read_remote_image(inputs: dict[str, Any]) -> dict[str, Any]:
    """resourceDockerImageRead (resource_docker_image_funcs.go:103-132) sets only image_id and repo_digest,
    which the mocks compute; every input stays as sent."""
    return dict(inputs)


# resource_docker_image.go:28-95; build.context is ForceNew (:344-349), a path on the machine running Pulumi.
REMOTE_IMAGE_SCHEMA: dict[str, Attr] = {
    "name": Attr(force_new=True),
    "keepLocally": Attr(),
    "pullTriggers": Attr(force_new=True, kind="set"),
    "triggers": Attr(force_new=True, kind="map"),
    "platform": Attr(force_new=True, default=""),
    "build": Attr(force_new=True, kind="block", block={"context": Attr(), "dockerfile": Attr(), "buildId": Attr()}),
}

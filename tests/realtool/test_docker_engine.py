"""The prod stack's containers on a real Docker engine, created through the Engine API calls the Docker
provider makes, with the host tree made by the real host preparation script.

What this proves that mocks cannot: the engine accepts every hardened setting the program records
(capabilities, no-new-privileges, read-only roots with tmpfs, limits, users, healthchecks, log options,
device and sysctl settings, aliases on the segmented networks), every bind source exists after host
preparation, every upload is accepted where the provider puts it, and the hardening holds at run time.
Only the image and command are replaced (no registry is reachable: a static busybox runs `sleep`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest

from components.files import WRITE_SCRIPT
from components.host import PREPARE_SCRIPT
from config.ingress import ingress_address
from config.layout import directory_tree, render_manifest
from config.stack import load_stack_file
from offline.runner import ROOT, RunResult, run_program
from tests.conftest import CONTAINER, containers
from tests.edge_support import stack_settings, unwrap
from tests.realtool.docker_engine import (
    HANDLED_INPUTS,
    Engine,
    EngineError,
    create_spec,
    docker_engine,
    duration_ns,
    import_test_image,
    upload,
)

pytestmark = pytest.mark.realtool


@dataclass
class Deployed:
    engine: Engine
    result: RunResult
    host_root: Path
    ids: dict[str, str]  # catalog name -> real container id


def _networks(engine: Engine, result: RunResult) -> dict[str, str]:
    ids = {}
    for net in result.of_type("docker:index/network:Network"):
        inputs = net.inputs
        ipam = inputs["ipamConfigs"][0]
        created = engine.call(
            "POST",
            "/networks/create",
            {
                "Name": inputs["name"],
                "Driver": inputs["driver"],
                "Internal": bool(inputs.get("internal")),
                "IPAM": {
                    "Config": [
                        {
                            "Subnet": ipam["subnet"],
                            "Gateway": ipam["gateway"],
                            **({"IPRange": ipam["ipRange"]} if ipam.get("ipRange") else {}),
                        }
                    ]
                },
                "Labels": {item["label"]: item["value"] for item in inputs.get("labels") or []},
            },
        )
        ids[inputs["name"]] = created["Id"]
    return ids


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, prod_module: RunResult) -> Iterator[Deployed]:
    if os.geteuid() != 0:
        pytest.fail("this test starts dockerd and prepares a host tree: it must run as root (CI does)")
    result = prod_module
    host_root = tmp_path_factory.mktemp("docker-host")
    prepared = subprocess.run(
        ["bash", str(PREPARE_SCRIPT), "--root", str(host_root)],
        input=render_manifest(directory_tree(stack_settings("prod"))),
        text=True,
        capture_output=True,
        check=False,
    )
    assert prepared.returncode == 0, prepared.stderr
    # What HostFiles does over SSH: the real script with each recorded archive, plain files and secret files.
    writes = [
        r for r in result.of_type("command:remote:Command") if r.name.endswith(("-files-write", "-write-secrets"))
    ]
    assert len([w for w in writes if w.name.endswith("-files-write")]) > 5
    assert len([w for w in writes if w.name.endswith("-files-write-secrets")]) >= 4
    for write in writes:
        done = subprocess.run(
            ["bash", str(WRITE_SCRIPT), "--root", str(host_root)],
            input=unwrap(write.inputs["stdin"]),
            text=True,
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    with docker_engine() as engine:
        import_test_image(engine)
        network_ids = _networks(engine, result)
        mock_to_real: dict[str, str] = {}
        ids: dict[str, str] = {}
        recorded = sorted(containers(result).items(), key=lambda item: str(item[1].inputs["networkMode"]))
        # A container sharing another's network namespace is created after it.
        recorded.sort(key=lambda item: str(item[1].inputs["networkMode"]).startswith("container:"))
        for name, res in recorded:
            inputs = unwrap(res.inputs)
            body, extra = create_spec(inputs, host_root, network_ids, mock_to_real)
            created = engine.call("POST", f"/containers/create?name=t-{inputs['name']}", body)
            mock_to_real[res.id] = ids[name] = created["Id"]
            if extra:
                # The provider disconnects the default bridge first, ignoring "is not connected" (funcs.go:464-468).
                with contextlib.suppress(EngineError):
                    engine.call("POST", "/networks/bridge/disconnect", {"Container": created["Id"]})
            for network, endpoint in extra:
                engine.call(
                    "POST",
                    f"/networks/{network_ids[network]}/connect",
                    {"Container": created["Id"], "EndpointConfig": endpoint},
                )
            for item in inputs.get("uploads") or []:
                upload(engine, created["Id"], item["file"], item["content"], bool(item.get("executable")))
            engine.call("POST", f"/containers/{created['Id']}/start")
        yield Deployed(engine=engine, result=result, host_root=host_root, ids=ids)


@pytest.fixture(scope="module")
def prod_module() -> RunResult:
    result = run_program(load_stack_file(ROOT / "Pulumi.prod.yaml"))
    assert result.ok, result.problems
    return result


def test_every_recorded_input_is_translated(prod_module: RunResult) -> None:
    seen = {key for res in prod_module.of_type(CONTAINER) for key in res.inputs}
    assert seen <= HANDLED_INPUTS, f"translate these container inputs in docker_engine.py: {seen - HANDLED_INPUTS}"


def test_every_container_is_created_and_running(deployed: Deployed) -> None:
    states = {
        name: deployed.engine.call("GET", f"/containers/{cid}/json")["State"]["Status"]
        for name, cid in deployed.ids.items()
    }
    assert len(states) == len(containers(deployed.result)) > 30
    assert {name for name, state in states.items() if state != "running"} == set()


def test_engine_kept_the_hardening(deployed: Deployed) -> None:
    for name, res in containers(deployed.result).items():
        inputs = unwrap(res.inputs)
        info = deployed.engine.call("GET", f"/containers/{deployed.ids[name]}/json")
        host = info["HostConfig"]
        assert host["CapDrop"] == ["ALL"], name
        assert sorted(host["CapAdd"] or []) == sorted(inputs["capabilities"].get("adds", [])), name
        assert host["SecurityOpt"] == ["no-new-privileges:true"], name
        assert host["ReadonlyRootfs"] is bool(inputs.get("readOnly")), name
        assert host["Memory"] == inputs["memory"] * 1024 * 1024 and host["Memory"] > 0, name
        assert host["Privileged"] is False and host["NetworkMode"] != "host", name
        assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "3", "max-size": "10m"}}, name
        if inputs.get("healthcheck"):
            assert info["Config"]["Healthcheck"]["Test"] == inputs["healthcheck"]["tests"], name


def test_every_bind_source_was_prepared(deployed: Deployed) -> None:
    """Host preparation made every directory a container binds, except the host's own system paths."""
    roots = ("/opt/mediaserver", "/data", "/var/cache/mediaserver", "/srv/backups", "/mnt/ssd/transcode")
    missing = [
        (name, volume["hostPath"])
        for name, res in containers(deployed.result).items()
        for volume in unwrap(res.inputs.get("volumes")) or []
        if volume["hostPath"].startswith(roots) and not (deployed.host_root / volume["hostPath"][1:]).is_dir()
    ]
    assert missing == []


def test_read_only_root_refuses_writes_but_tmp_and_mounts_accept_them(deployed: Deployed) -> None:
    engine, ids = deployed.engine, deployed.ids
    navidrome = ids["navidrome"]
    assert engine.exec(navidrome, ["touch", "/probe"]) != 0
    assert engine.exec(navidrome, ["touch", "/tmp/probe"]) == 0
    assert engine.exec(navidrome, ["touch", "/data/probe"]) == 0  # its config dir, a writable bind
    assert engine.exec(navidrome, ["touch", "/music/probe"]) != 0  # the music library is mounted read-only


def test_processes_run_as_the_configured_user(deployed: Deployed) -> None:
    engine, ids = deployed.engine, deployed.ids
    assert engine.exec(ids["prometheus"], ["sh", "-c", 'test "$(id -u):$(id -g)" = "1000:1000"']) == 0


def test_data_network_is_internal_and_aliases_resolve_names(deployed: Deployed) -> None:
    engine = deployed.engine
    data = engine.call("GET", "/networks/ms-prod-data")
    assert data["Internal"] is True
    assert engine.call("GET", "/networks/ms-prod-socket")["Internal"] is True
    assert engine.call("GET", "/networks/ms-prod-proxy")["Internal"] is False
    postgres = engine.call("GET", f"/containers/{deployed.ids['postgres']}/json")
    assert set(postgres["NetworkSettings"]["Networks"]) == {"ms-prod-data"}
    assert "postgres" in postgres["NetworkSettings"]["Networks"]["ms-prod-data"]["Aliases"]


def test_traefik_holds_its_fixed_address_and_nobody_else_can_get_it(deployed: Deployed) -> None:
    """Navidrome trusts Remote-User from Traefik's address alone: the engine must give Traefik exactly that address
    and hand every other container on the proxy network one from the dynamic pool, which excludes it."""
    engine = deployed.engine
    settings = stack_settings("prod")
    proxy = engine.call("GET", "/networks/ms-prod-proxy")
    (ipam,) = proxy["IPAM"]["Config"]
    pool = ipaddress.IPv4Network(ipam["IPRange"])
    address = ingress_address(settings)
    assert ipaddress.IPv4Address(address) not in pool
    members = {
        name: info["NetworkSettings"]["Networks"]["ms-prod-proxy"]["IPAddress"]
        for name, cid in deployed.ids.items()
        if "ms-prod-proxy" in (info := engine.call("GET", f"/containers/{cid}/json"))["NetworkSettings"]["Networks"]
    }
    assert members.pop("traefik") == address
    assert len(members) > 10 and all(ipaddress.IPv4Address(ip) in pool for ip in members.values()), members
    navidrome = engine.call("GET", f"/containers/{deployed.ids['navidrome']}/json")["Config"]["Env"]
    assert f"ND_REVERSEPROXYWHITELIST={address}/32" in navidrome


def test_download_client_lives_in_the_vpn_namespace(deployed: Deployed) -> None:
    engine, ids = deployed.engine, deployed.ids
    qbit = engine.call("GET", f"/containers/{ids['qbittorrent']}/json")
    assert qbit["HostConfig"]["NetworkMode"] == f"container:{ids['gluetun']}"
    assert qbit["NetworkSettings"]["Networks"] == {}


def test_engine_refuses_uploads_into_a_read_only_root(deployed: Deployed) -> None:
    """Why read-only containers receive no files: the provider extracts uploads at "/"."""
    engine = deployed.engine
    with pytest.raises(EngineError, match="read-only"):
        upload(engine, deployed.ids["navidrome"], "/data/extra.yml", "x: 1\n")


def test_read_only_containers_read_the_files_written_on_the_host(deployed: Deployed) -> None:
    engine, ids = deployed.engine, deployed.ids
    assert engine.exec(ids["prometheus"], ["test", "-r", "/etc/prometheus/prometheus.yml"]) == 0
    assert engine.exec(ids["traefik"], ["test", "-r", "/etc/traefik/traefik.yml"]) == 0
    assert engine.exec(ids["traefik"], ["test", "-r", "/etc/traefik/dynamic/site.yml"]) == 0
    assert engine.exec(ids["authelia"], ["test", "-r", "/config/configuration.yml"]) == 0
    # Secrets written for Authelia are the site user's alone (0400), and it reads them.
    secrets = deployed.host_root / "opt/mediaserver/authelia/secrets"
    modes = {p.name: (p.stat().st_uid, p.stat().st_mode & 0o777) for p in secrets.iterdir()}
    assert modes and all(mode == (1000, 0o400) for mode in modes.values()), modes
    assert engine.exec(ids["authelia"], ["test", "-r", "/config/secrets/session"]) == 0
    assert engine.exec(ids["grafana"], ["test", "-r", "/etc/grafana/provisioning/secrets/security_admin_password"]) == 0
    assert engine.exec(ids["alertmanager"], ["test", "-r", "/etc/alertmanager/secrets/alertWebhookUrl"]) == 0


def test_every_name_and_alias_is_registered_on_exactly_its_networks(deployed: Deployed) -> None:
    """After the provider's create/connect/start order, each container's endpoint on every network it lists
    carries all its aliases (what Docker's embedded DNS answers from: DNSNames on Engine API >= 1.44, else
    Aliases), and it is on no other network. Resolution itself is not run from inside: this test engine runs
    without iptables, so the embedded DNS at 127.0.0.11 is not reachable in its containers."""
    failures = []
    for name, res in containers(deployed.result).items():
        inputs = unwrap(res.inputs)
        wanted = {n["name"]: set(n.get("aliases") or []) for n in inputs.get("networksAdvanced") or []}
        if not wanted:
            continue
        got = deployed.engine.call("GET", f"/containers/{deployed.ids[name]}/json")["NetworkSettings"]["Networks"]
        if set(got) != set(wanted):
            failures.append(f"{name}: on {sorted(got)}, wants {sorted(wanted)}")
        for network, aliases in wanted.items():
            endpoint = got.get(network) or {}
            names = set(endpoint.get("DNSNames") or []) | set(endpoint.get("Aliases") or [])
            if not aliases <= names:
                failures.append(f"{name}: {sorted(aliases - names)} missing on {network}")
    gluetun = unwrap(containers(deployed.result)["gluetun"].inputs)
    assert all("qbittorrent" in n["aliases"] for n in gluetun["networksAdvanced"])
    assert failures == []


def _health(engine: Engine, container: str) -> dict[str, Any]:
    health: dict[str, Any] = engine.call("GET", f"/containers/{container}/json")["State"].get("Health") or {}
    return health


def test_engine_runs_the_recorded_healthchecks(deployed: Deployed) -> None:
    """The engine runs each recorded check in the container, as its user, on the recorded schedule: where a
    loopback stand-in serves the checked path the container turns healthy; where nothing listens, it fails."""
    engine, ids = deployed.engine, deployed.ids
    recorded = {name: unwrap(res.inputs) for name, res in containers(deployed.result).items()}
    wget = sorted(
        name
        for name, inputs in recorded.items()
        if (inputs.get("healthcheck") or {}).get("tests", [])[:2] == ["CMD", "wget"]
        and "/tmp" in (inputs.get("tmpfs") or {})
    )
    assert len(wget) >= 2, wget
    served, silent = wget[0], wget[1]
    url = urlsplit(recorded[served]["healthcheck"]["tests"][-1])
    assert url.hostname == "127.0.0.1" and url.port, url
    page = PurePosixPath("/tmp/www") / url.path.lstrip("/")
    serve = f"mkdir -p {page.parent} && echo ok > {page} && httpd -p 127.0.0.1:{url.port} -h /tmp/www"
    assert engine.exec(ids[served], ["sh", "-c", serve]) == 0
    for name in (served, silent):
        config = engine.call("GET", f"/containers/{ids[name]}/json")["Config"]["Healthcheck"]
        check = recorded[name]["healthcheck"]
        assert config["Test"] == check["tests"] and config["Interval"] == duration_ns(check["interval"]), name
    # The first check runs one interval after the start; allow two and the check's timeout.
    interval = recorded[served]["healthcheck"]["interval"]
    deadline = time.monotonic() + 2 * duration_ns(interval) / 1e9 + 15
    while time.monotonic() < deadline:
        good, bad = _health(engine, ids[served]), _health(engine, ids[silent])
        if good.get("Status") == "healthy" and bad.get("Log"):
            break
        time.sleep(1)
    assert good.get("Status") == "healthy", (served, good)
    assert good["Log"][-1]["ExitCode"] == 0 and good["FailingStreak"] == 0
    # Nothing listens in the other: the same recorded check fails there (not yet counted in the start period).
    assert bad["Log"][-1]["ExitCode"] == 1 and "Connection refused" in bad["Log"][-1]["Output"], (silent, bad)
    assert bad["Status"] in ("starting", "unhealthy")

"""MediaTier under mocks: containers, GPU kinds, the VPN-bound download client, the hardlink invariant."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from config.catalog import LSIO_CAPABILITIES
from config.layout import host_path
from config.settings import Settings
from config.spec import Tier
from config.stack import parse_settings
from offline.recorder import Recorded, Secret
from offline.runner import ROOT, RunResult
from tests.conftest import CONTAINER, containers, minimal_config
from tests.edge_support import uploads as delivered_files

IMAGE = "docker:index/remoteImage:RemoteImage"
GPU_APPS = {"jellyfin", "immich-server", "immich-machine-learning"}
READ_ONLY_MEDIA = {
    "jellyfin": {"/data/media"},
    "navidrome": {"/music"},
    "audiobookshelf": {"/audiobooks"},
    "kavita": {"/books", "/comics"},
}
"""Apps that only read the library, and the mounts that must be read-only (written out, not derived)."""
MOVERS = {"sonarr", "radarr", "lidarr", "mylar3", "qbittorrent", "bazarr"}
MEDIA_ONLY = {"tiers": {"edge": False, "monitoring": False, "backup": False}}


def env_of(res: Recorded) -> dict[str, str]:
    envs = res.inputs.get("envs") or []
    if isinstance(envs, Secret):
        envs = envs.value
    return dict(item.split("=", 1) for item in envs)


def uploads_of(res: Recorded) -> dict[str, str]:
    """Every file the container receives (uploads, or written on the host for a read-only root)."""
    return delivered_files(res)


def stack_settings(name: str) -> Settings:
    """The validated settings of a stack file (secret keys left out, as the loader does)."""
    doc = yaml.safe_load((ROOT / f"Pulumi.{name}.yaml").read_text())
    raw = {
        key.split(":", 1)[1]: value
        for key, value in doc["config"].items()
        if not (isinstance(value, dict) and set(value) == {"secure"})
    }
    return parse_settings(raw)


def prod_settings() -> Settings:
    return stack_settings("prod")


def images_by_service(result: RunResult) -> dict[str, str]:
    parents = {res.parent: name for name, res in containers(result).items()}
    return {parents[res.parent]: res.inputs["name"] for res in result.of_type(IMAGE) if res.parent in parents}


def test_every_enabled_media_app_has_one_container_as_its_entry_says(prod: RunResult) -> None:
    settings = prod_settings()
    found = containers(prod)
    images = images_by_service(prod)
    media = settings.enabled_services(Tier.MEDIA)
    labels = [
        item["value"]
        for res in prod.of_type(CONTAINER)
        for item in res.inputs["labels"]
        if item["label"] == "media-server.service"
    ]
    assert sorted(labels) == sorted(set(labels)), "a service with more than one container"
    assert {s.name for s in media} <= set(found)
    for spec in media:
        inputs = found[spec.name].inputs
        assert images[spec.name] == spec.image.reference, spec.name
        nets = [n["name"] for n in inputs.get("networksAdvanced") or []]
        assert nets == [f"ms-prod-{n.value}" for n in spec.networks], spec.name
        volumes = {v["containerPath"]: (v["hostPath"], v.get("readOnly", False)) for v in inputs.get("volumes") or []}
        expected = {m.target: (host_path(settings, spec, m), m.read_only) for m in spec.mounts}
        assert volumes == expected, spec.name
        assert inputs["readOnly"] is spec.read_only_rootfs, spec.name


def test_apps_that_only_read_media_mount_it_read_only(prod: RunResult) -> None:
    found = containers(prod)
    for name, targets in READ_ONLY_MEDIA.items():
        volumes = found[name].inputs["volumes"]
        read_only = {v["containerPath"] for v in volumes if v.get("readOnly")}
        assert targets <= read_only, name
        writable_data = {
            v["containerPath"] for v in volumes if v["hostPath"].startswith("/data") and not v.get("readOnly")
        }
        # Audiobookshelf downloads podcast episodes itself.
        assert writable_data == ({"/podcasts"} if name == "audiobookshelf" else set()), name


def test_only_the_ingress_publishes_ports(prod: RunResult) -> None:
    published = sorted(name for name, res in containers(prod).items() if res.inputs.get("ports"))
    assert published == ["traefik", "wireguard"]


def _gpu_site(kind: str) -> dict[str, Any]:
    gpu: dict[str, Any] = {"kind": kind}
    if kind in ("intel", "amd"):
        gpu.update(renderGid=993, videoGid=44)
    return minimal_config(gpu=gpu, **MEDIA_ONLY)


@pytest.mark.parametrize("kind", ["none", "nvidia", "intel", "amd"])
def test_gpu_kind_reaches_exactly_the_gpu_apps(kind: str, run_site: Callable[..., RunResult]) -> None:
    result = run_site(_gpu_site(kind))
    assert result.ok, result.problems
    found = containers(result)
    assert set(found) >= GPU_APPS
    for name, res in found.items():
        inputs, env = res.inputs, env_of(res)
        gpu_app = name in GPU_APPS and kind != "none"
        devices = sorted(d["hostPath"] for d in inputs.get("devices") or [])
        if gpu_app and kind in ("intel", "amd"):
            extra = ["/dev/kfd"] if (kind, name) == ("amd", "immich-machine-learning") else []
            assert devices == sorted(["/dev/dri", *extra]), name
            assert inputs["groupAdds"] == ["993", "44"], name
            assert not inputs.get("deviceRequests") and not inputs.get("runtime"), name
        elif gpu_app:
            # All GPUs as a device request (docker/cli reads a `gpus` text as CSV: see offline/readback/docker.py).
            assert inputs["deviceRequests"] == [{"driver": "nvidia", "count": -1, "capabilities": ["gpu"]}], name
            assert inputs["runtime"] == "nvidia" and not inputs.get("gpus"), name
            assert env["NVIDIA_VISIBLE_DEVICES"] == "all", name
            assert set(env["NVIDIA_DRIVER_CAPABILITIES"].split(",")) >= {"compute", "video", "utility"}, name
            assert devices == [], name
        else:
            assert devices == [] and not inputs.get("groupAdds"), name
            assert not inputs.get("deviceRequests") and not inputs.get("runtime"), name
            assert not any(key.startswith("NVIDIA_") for key in env), name
        assert not inputs.get("ports"), name


@pytest.mark.parametrize(
    ("kind", "suffix"), [("none", ""), ("nvidia", "-cuda"), ("intel", "-openvino"), ("amd", "-rocm")]
)
def test_immich_machine_learning_image_matches_the_gpu(
    kind: str, suffix: str, run_site: Callable[..., RunResult]
) -> None:
    result = run_site(_gpu_site(kind))
    image = images_by_service(result)["immich-machine-learning"]
    assert image == f"ghcr.io/immich-app/immich-machine-learning:v2.2.3{suffix}"
    assert images_by_service(result)["immich-server"] == "ghcr.io/immich-app/immich-server:v2.2.3"


def test_machine_learning_can_stay_on_the_cpu(run_site: Callable[..., RunResult]) -> None:
    site = _gpu_site("nvidia")
    site["media"] = {"machineLearningGpu": False}
    result = run_site(site)
    ml = containers(result)["immich-machine-learning"].inputs
    assert not ml.get("gpus") and images_by_service(result)["immich-machine-learning"].endswith(":v2.2.3")
    assert containers(result)["jellyfin"].inputs["deviceRequests"][0]["count"] == -1


def test_jellyfin_transcodes_on_tmpfs_or_the_ssd_path(prod: RunResult, run_site: Callable[..., RunResult]) -> None:
    ssd = containers(prod)["jellyfin"].inputs
    volumes = {v["containerPath"]: v["hostPath"] for v in ssd["volumes"]}
    assert volumes["/cache/transcodes"] == "/mnt/ssd/transcode"
    assert "/cache/transcodes" not in (ssd.get("tmpfs") or {})
    assert volumes["/config/metadata"] != volumes["/cache"] and volumes["/cache"].startswith("/var/cache/")
    ram = containers(run_site(minimal_config(media={"transcodeTmpfs": "1g"}, **MEDIA_ONLY)))["jellyfin"].inputs
    assert ram["tmpfs"]["/cache/transcodes"] == "rw,noexec,nosuid,size=1024m"
    assert "/cache/transcodes" not in {v["containerPath"] for v in ram["volumes"]}
    assert env_of(containers(prod)["jellyfin"])["JELLYFIN_PublishedServerUrl"] == "https://jellyfin.media.example.org"


def test_download_client_lives_in_the_vpn_namespace(prod: RunResult) -> None:
    found = containers(prod)
    qbit, gluetun = found["qbittorrent"], found["gluetun"]
    assert qbit.inputs["networkMode"] == f"container:{gluetun.id}"
    assert not qbit.inputs.get("networksAdvanced") and not qbit.inputs.get("hostname")
    assert qbit.inputs["volumes"] and not qbit.inputs.get("ports")
    for net in gluetun.inputs["networksAdvanced"]:
        assert set(net["aliases"]) == {"gluetun", "qbittorrent"}
    assert [n["name"] for n in gluetun.inputs["networksAdvanced"]] == ["ms-prod-proxy"]
    assert [d["hostPath"] for d in gluetun.inputs["devices"]] == ["/dev/net/tun"]
    assert "NET_ADMIN" in gluetun.inputs["capabilities"]["adds"]
    assert not gluetun.inputs.get("ports")


def test_vpn_settings_and_credentials_reach_gluetun_as_secrets(prod: RunResult) -> None:
    gluetun = containers(prod)["gluetun"]
    assert isinstance(gluetun.inputs["envs"], Secret)
    env = env_of(gluetun)
    assert env["VPN_SERVICE_PROVIDER"] == "protonvpn" and env["VPN_TYPE"] == "wireguard"
    assert env["SERVER_COUNTRIES"] == "Switzerland,Netherlands"
    assert env["WIREGUARD_PRIVATE_KEY"] == "offline-placeholder-secret"
    assert env["VPN_PORT_FORWARDING"] == "on" and env["PORT_FORWARD_ONLY"] == "on"
    assert env["HTTP_CONTROL_SERVER_ADDRESS"].startswith("127.0.0.1:")


def test_forwarded_port_is_applied_to_qbittorrent_on_every_reconnect(prod: RunResult) -> None:
    found = containers(prod)
    command = env_of(found["gluetun"])["VPN_PORT_FORWARDING_UP_COMMAND"]
    script = command.split()[1]
    # gluetun v3.40.0 substitutes {{PORTS}} only: the interface is named, and set to the same name.
    assert command == f"/bin/sh {script} {{{{PORTS}}}} wg0" and env_of(found["gluetun"])["VPN_INTERFACE"] == "wg0"
    assert uploads_of(found["gluetun"])[script] == (ROOT / "scripts/media/qbittorrent-port.sh").read_text()
    init = uploads_of(found["qbittorrent"])
    assert list(init) == ["/custom-cont-init.d/50-media-server-localhost-auth.sh"]
    assert init[next(iter(init))] == (ROOT / "scripts/media/qbittorrent-localhost-auth.sh").read_text()


def test_without_port_forwarding_no_hook_and_no_localhost_bypass(run_site: Callable[..., RunResult]) -> None:
    site = minimal_config(
        media={"vpn": {"provider": "mullvad", "wireguardAddresses": ["10.64.0.2/32"]}},
        services={"gluetun": {"enabled": True}, "qbittorrent": {"enabled": True}},
        **MEDIA_ONLY,
    )
    result = run_site(site, secrets={"vpnWireguardPrivateKey": "key"})
    assert result.ok, result.problems
    found = containers(result)
    env = env_of(found["gluetun"])
    assert env["VPN_PORT_FORWARDING"] == "off" and "VPN_PORT_FORWARDING_UP_COMMAND" not in env
    assert env["WIREGUARD_ADDRESSES"] == "10.64.0.2/32"
    assert uploads_of(found["qbittorrent"]) == {} and uploads_of(found["gluetun"]) == {}


def test_every_app_that_moves_files_sees_the_same_data_root(prod: RunResult) -> None:
    found = containers(prod)
    settings = prod_settings()
    movers = {s.name for s in settings.enabled_services() if s.moves_files}
    assert movers == MOVERS
    data_mounts = set()
    for name in movers:
        under_data = [
            (v["hostPath"], v["containerPath"], v.get("readOnly", False))
            for v in found[name].inputs["volumes"]
            if v["hostPath"].startswith(settings.paths.data_root)
        ]
        assert len(under_data) == 1, name
        data_mounts.add(under_data[0])
    assert data_mounts == {("/data", "/data", False)}


def test_linuxserver_apps_get_ids_umask_and_their_init_capabilities(prod: RunResult) -> None:
    for name in ("sonarr", "radarr", "qbittorrent", "calibre-web"):
        res = containers(prod)[name]
        assert {"PUID", "PGID", "UMASK"} <= set(env_of(res)), name
        assert set(res.inputs["capabilities"]["adds"]) == set(LSIO_CAPABILITIES)
        assert "KILL" in LSIO_CAPABILITIES  # s6-supervise (root) signals the app user on stop


def test_immich_keeps_its_own_database_with_a_generated_password(prod: RunResult) -> None:
    found = containers(prod)
    server, database = env_of(found["immich-server"]), env_of(found["immich-postgres"])
    assert isinstance(found["immich-server"].inputs["envs"], Secret)
    assert server["DB_PASSWORD"] == database["POSTGRES_PASSWORD"]
    assert server["DB_HOSTNAME"] == "immich-postgres" and server["REDIS_HOSTNAME"] == "immich-redis"
    assert database["POSTGRES_USER"] == server["DB_USERNAME"] == "immich"
    assert "vectorchord" in images_by_service(prod)["immich-postgres"]
    assert [n["name"] for n in found["immich-postgres"].inputs["networksAdvanced"]] == ["ms-prod-data"]
    volumes = {v["containerPath"]: v["hostPath"] for v in found["immich-server"].inputs["volumes"]}
    assert volumes["/data"] == "/data/media/photos"
    assert volumes["/data/thumbs"].startswith("/var/cache/mediaserver/")


def test_readarr_is_off_unless_asked_for(prod: RunResult, run_site: Callable[..., RunResult]) -> None:
    assert "readarr" not in containers(prod)
    result = run_site(minimal_config(services={"readarr": {"enabled": True}}, **MEDIA_ONLY))
    assert "readarr" in containers(result)

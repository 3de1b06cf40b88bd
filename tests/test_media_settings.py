"""Media tier bad input: each a clear error naming the key, the value and what is allowed, before any resource."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import MappingProxyType

import pytest

from config.catalog import CATALOG
from config.spec import MountRole, MountSpec, StorageRoot
from config.stack import parse_settings
from offline.runner import RunResult
from tests.conftest import minimal_config
from tests.test_settings import only_problem

DOWNLOADS = {"gluetun": {"enabled": True}, "qbittorrent": {"enabled": True}}
MOVERS = sorted(name for name, spec in CATALOG.items() if spec.moves_files)
PROTON = {"vpn": {"provider": "protonvpn", "portForwarding": True}}


def test_immich_without_its_database() -> None:
    problem = only_problem(services={"immich-postgres": {"enabled": False}})
    assert problem == (
        "media-server:services.immich-server.enabled: immich-server needs immich-postgres, which is disabled; "
        "expected services.immich-postgres.enabled true, or immich-server disabled (got true)"
    )


def test_download_client_without_the_vpn_container() -> None:
    problem = only_problem(services={"qbittorrent": {"enabled": True}})
    assert problem.startswith("media-server:services.qbittorrent.enabled: qbittorrent needs gluetun, which is disabled")


def test_dependency_in_a_disabled_tier_says_so() -> None:
    problem = only_problem(tiers={"media": False})
    assert problem.startswith(
        "media-server:services.jellystat.enabled: jellystat needs jellyfin, which is disabled (tier media is off)"
    )


def test_nvidia_with_an_intel_only_device_path() -> None:
    problem = only_problem(gpu={"kind": "nvidia", "devices": ["/dev/dri/renderD128"]})
    assert problem == (
        "media-server:gpu.devices[0]: an Intel/AMD render node with gpu kind nvidia; expected kind intel/amd "
        '(got "/dev/dri/renderD128")'
    )


def test_media_path_outside_the_data_root_is_refused() -> None:
    problem = only_problem(media={"calibreLibrary": "/srv/calibre"})
    assert problem.startswith("media-server:media.calibreLibrary: outside the data root /data: ")
    assert "hardlinks" in problem and "expected a folder under /data/" in problem
    assert problem.endswith('(got "/srv/calibre")')


def test_calibre_library_inside_the_data_root_moves_the_books_mounts() -> None:
    settings = parse_settings(minimal_config(media={"calibreLibrary": "/data/media/calibre"}))
    for name in ("calibre-web", "kavita"):
        sources = [m.source for m in settings.service(name).mounts if m.target == "/books"]
        assert sources == ["media/calibre"], name
    sonarr = [(m.source, m.target) for m in settings.service("sonarr").mounts if m.target == "/data"]
    assert sonarr == [("", "/data")]


def test_download_client_without_a_vpn_provider() -> None:
    problem = only_problem(services=DOWNLOADS)
    assert problem.startswith("media-server:media.vpn.provider: the download client's traffic leaves only through")


def test_port_forwarding_with_a_provider_that_has_none() -> None:
    problem = only_problem(media={"vpn": {"provider": "mullvad", "portForwarding": True}})
    assert problem.startswith("media-server:media.vpn.portForwarding: mullvad has no port forwarding")
    assert "protonvpn" in problem
    assert problem.endswith("or portForwarding false (got true)")


def test_unknown_vpn_provider() -> None:
    problem = only_problem(media={"vpn": {"provider": "acme-vpn"}})
    assert problem.startswith("media-server:media.vpn.provider: unknown VPN provider; expected one of: airvpn")


def test_bad_wireguard_address() -> None:
    problem = only_problem(media={"vpn": {"wireguardAddresses": ["10.64.0.300/32"]}})
    assert problem.startswith("media-server:media.vpn.wireguardAddresses[0]: not an interface address")


def test_transcode_scratch_larger_than_jellyfins_memory() -> None:
    problem = only_problem(media={"transcodeTmpfs": "3g"})
    assert problem.startswith("media-server:media.transcodeTmpfs: RAM transcode scratch counts against")
    # With scratch on an SSD path the RAM size no longer counts: accepted, and the scratch is that mount.
    settings = parse_settings(minimal_config(media={"transcodeTmpfs": "3g"}, paths={"transcodePath": "/mnt/ssd/t"}))
    jellyfin = settings.service("jellyfin")
    assert "/cache/transcodes" not in jellyfin.tmpfs
    assert [m.root for m in jellyfin.mounts if m.target == "/cache/transcodes"] == [StorageRoot.TRANSCODE]
    # Only the scratch mount is replaced: every other catalog mount stays as it was.
    others = [m for m in CATALOG["jellyfin"].mounts if m.target != "/cache/transcodes"]
    assert others and [m for m in jellyfin.mounts if m.target != "/cache/transcodes"] == others


@pytest.mark.parametrize(
    ("vpn", "missing"),
    [({"type": "wireguard"}, ["vpnWireguardPrivateKey"]), ({"type": "openvpn"}, ["vpnPassword", "vpnUser"])],
)
def test_download_client_without_vpn_credentials(
    vpn: dict[str, str], missing: list[str], run_site: Callable[..., RunResult]
) -> None:
    result = run_site(minimal_config(services=DOWNLOADS, media={"vpn": {"provider": "protonvpn", **vpn}}))
    assert [p.key for p in result.problems] == [f"media-server:{key}" for key in missing]
    for problem in result.problems:
        assert "the download client's traffic leaves only through the VPN" in problem.message
        assert "pulumi config set --secret" in problem.message
    assert result.resources == []


def test_vpn_credentials_must_be_secret(run_site: Callable[..., RunResult]) -> None:
    site = minimal_config(services=DOWNLOADS, media=PROTON, vpnWireguardPrivateKey="plain-text-key")
    result = run_site(site)
    assert [p.key for p in result.problems] == ["media-server:vpnWireguardPrivateKey"]
    assert "must be set with `pulumi config set --secret vpnWireguardPrivateKey`" in result.problems[0].message


def test_download_client_with_vpn_credentials_deploys(run_site: Callable[..., RunResult]) -> None:
    site = minimal_config(services=DOWNLOADS, media=PROTON, tiers={"edge": False, "monitoring": False})
    result = run_site(site, secrets={"vpnWireguardPrivateKey": "k"})
    assert result.ok, result.problems


HARDLINK_BREAKERS = {
    "separate downloads and media mounts": (("downloads", "/downloads", False), ("media", "/media", False)),
    "a subfolder at /data": (("media", "/data", False),),
    "the data root read-only": (("", "/data", True),),
    "the data root elsewhere": (("", "/mnt/data", False),),
    "no data mount": (),
}


@pytest.mark.parametrize("data_mounts", HARDLINK_BREAKERS.values(), ids=HARDLINK_BREAKERS.keys())
def test_app_that_moves_files_must_see_the_one_data_root(
    data_mounts: tuple[tuple[str, str, bool], ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No setting splits a mover's data mount today: a catalog entry that did (or a tailoring) is refused."""
    sonarr = CATALOG["sonarr"]
    assert sonarr.moves_files
    mounts = [m for m in sonarr.mounts if m.root is not StorageRoot.DATA]
    mounts += [
        MountSpec(target=t, root=StorageRoot.DATA, source=s, read_only=ro, role=MountRole.MEDIA)
        for s, t, ro in data_mounts
    ]
    split = sonarr.model_copy(update={"mounts": tuple(mounts)})
    monkeypatch.setattr("config.settings.CATALOG", MappingProxyType({**CATALOG, "sonarr": split}))
    problem = only_problem()
    got = json.dumps([list(m) for m in data_mounts])
    assert problem == (
        "media-server:services.sonarr: sonarr moves files, so it must see the whole data root read-write at /data "
        f"through one mount; separate mounts turn hardlinks into copies (got {got})"
    )


def test_shipped_movers_keep_the_hardlink_invariant() -> None:
    movers = {name: {"enabled": True} for name in MOVERS}
    settings = parse_settings(minimal_config(services={**DOWNLOADS, **movers}, media=PROTON))
    for name in MOVERS:
        data = [(m.source, m.target, m.read_only) for m in settings.service(name).mounts if m.root is StorageRoot.DATA]
        assert data == [("", "/data", False)], name


@pytest.mark.parametrize(
    ("tag", "image_tag"), [(None, "-cuda"), ("v2.3.1", "v2.3.1-cuda"), ("v2.3.1-cuda", "v2.3.1-cuda")]
)
def test_machine_learning_gpu_suffix_is_added_once(tag: str | None, image_tag: str) -> None:
    services = {"immich-machine-learning": {"imageTag": tag}} if tag else {}
    settings = parse_settings(
        minimal_config(gpu={"kind": "nvidia", "devices": []}, media={"machineLearningGpu": True}, services=services)
    )
    found = settings.service("immich-machine-learning").image.tag
    assert found.endswith(image_tag) and found.count("-cuda") == 1, found


@pytest.mark.parametrize(
    ("vpn", "expected"),
    [
        ({"type": "wireguard", "wireguardAddresses": ["10.64.0.2/32"]}, "10.64.0.2/32"),
        ({"type": "wireguard"}, None),
        ({"type": "openvpn", "wireguardAddresses": ["10.64.0.2/32"]}, None),
    ],
)
def test_wireguard_addresses_reach_gluetun_only_for_wireguard(vpn: dict[str, object], expected: str | None) -> None:
    settings = parse_settings(minimal_config(services=DOWNLOADS, media={"vpn": {"provider": "protonvpn", **vpn}}))
    assert settings.service("gluetun").env.get("WIREGUARD_ADDRESSES") == expected


@pytest.mark.parametrize(
    ("vpn", "forwarding"),
    [
        ({"provider": "protonvpn", "portForwarding": True}, True),
        ({"provider": "protonvpn", "type": "openvpn", "portForwarding": True}, True),
        ({"provider": "mullvad", "portForwarding": False}, False),
    ],
)
def test_gluetun_env_follows_the_vpn_settings(vpn: dict[str, object], forwarding: bool) -> None:
    settings = parse_settings(minimal_config(services=DOWNLOADS, media={"vpn": vpn}))
    env = settings.service("gluetun").env
    assert env["VPN_SERVICE_PROVIDER"] == vpn["provider"]
    # the web UI of qBittorrent, which shares gluetun's network namespace, must get through gluetun's firewall
    assert env["FIREWALL_INPUT_PORTS"] == str(settings.service("qbittorrent").port) == "8080"
    interface = {"wireguard": "wg0", "openvpn": "tun0"}[str(vpn.get("type", "wireguard"))]
    if forwarding:
        assert env["VPN_PORT_FORWARDING"] == "on" and env["VPN_INTERFACE"] == interface
        assert env["VPN_PORT_FORWARDING_UP_COMMAND"] == (
            f"/bin/sh /usr/local/bin/ms-qbittorrent-port.sh {{{{PORTS}}}} {interface}"
        )
    else:
        assert env["VPN_PORT_FORWARDING"] == "off"
        assert "VPN_INTERFACE" not in env and "VPN_PORT_FORWARDING_UP_COMMAND" not in env


def test_machine_learning_stays_on_the_cpu_without_a_gpu_kind() -> None:
    settings = parse_settings(minimal_config(media={"machineLearningGpu": True}))
    spec = settings.service("immich-machine-learning")
    assert spec.image.tag == CATALOG["immich-machine-learning"].image.tag
    assert spec.devices == CATALOG["immich-machine-learning"].devices
    assert spec.gpu is False

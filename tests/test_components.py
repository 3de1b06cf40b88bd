"""Components in isolation, with Output-checking tests as the SDK intends (@pulumi.runtime.test)."""

from __future__ import annotations

import base64
import io
import tarfile

import pulumi
import pulumi_docker as docker
import pytest

from components.networks import BridgeNetworks, BridgeNetworksArgs
from components.service import ContainerService, ContainerServiceArgs, SiteContext
from config.catalog import CATALOG
from config.stack import parse_settings
from offline.recorder import EngineMocks
from tests.conftest import minimal_config


@pytest.fixture(autouse=True)
def mocks() -> None:
    pulumi.runtime.set_mocks(EngineMocks(), project="media-server", stack="unit", preview=False)


def _site(**overrides: object) -> tuple[SiteContext, BridgeNetworks]:
    settings = parse_settings(minimal_config(**overrides))
    nets = BridgeNetworks("nets", BridgeNetworksArgs(networks=settings.networks, prefix="ms-unit", labels={}))
    return SiteContext(settings=settings, stack="unit", networks=nets.by_name), nets


@pulumi.runtime.test
def test_container_uses_repo_digest_and_explicit_network_mode() -> pulumi.Output[None]:
    site, _ = _site()
    svc = ContainerService("sonarr", ContainerServiceArgs(spec=CATALOG["sonarr"], site=site))

    def check(args: list[object]) -> None:
        image, repo_digest, mode, nets = args
        assert image == repo_digest and "@sha256:" in str(image)
        assert mode == "ms-unit-proxy"
        assert [n["name"] for n in nets] == ["ms-unit-proxy", "ms-unit-media"]  # type: ignore[index]
        assert all(n["aliases"] == ["sonarr"] for n in nets)  # type: ignore[index]

    return pulumi.Output.all(
        svc.container.image, svc.image.repo_digest, svc.container.network_mode, svc.container.networks_advanced
    ).apply(check)


@pulumi.runtime.test
def test_read_only_rootfs_gets_tmp_scratch() -> pulumi.Output[None]:
    site, _ = _site()
    svc = ContainerService("navidrome", ContainerServiceArgs(spec=CATALOG["navidrome"], site=site))

    def check(args: list[object]) -> None:
        read_only, tmpfs, user = args
        assert read_only is True
        assert tmpfs == {"/tmp": "rw,noexec,nosuid,size=64m"}
        assert user == "1000:1000"

    return pulumi.Output.all(svc.container.read_only, svc.container.tmpfs, svc.container.user).apply(check)


@pulumi.runtime.test
def test_read_only_entry_gets_its_files_written_on_the_host() -> pulumi.Output[None]:
    # pulumi-docker extracts uploads at "/", which Docker refuses on a read-only root filesystem.
    site, _ = _site()
    svc = ContainerService(
        "prometheus",
        ContainerServiceArgs(spec=CATALOG["prometheus"], site=site, files={"/etc/prometheus/prometheus.yml": "x: 1\n"}),
    )
    assert svc.files is not None

    def check(args: list[object]) -> None:
        uploads, read_only, encoded = args
        assert uploads is None and read_only is True
        with tarfile.open(fileobj=io.BytesIO(base64.b64decode(str(encoded)))) as tar:
            members = {m.name: m for m in tar.getmembers()}
            assert sorted(members) == [
                "opt/mediaserver/prometheus/config/.media-server-files",
                "opt/mediaserver/prometheus/config/prometheus.yml",
            ]
            member = members["opt/mediaserver/prometheus/config/prometheus.yml"]
            assert (member.uid, member.gid, member.mode) == (1000, 1000, 0o640)

    return pulumi.Output.all(
        svc.container.uploads,
        svc.container.read_only,
        svc.files.written[0].stdin,  # type: ignore[attr-defined]
    ).apply(check)


def test_a_file_outside_the_mounts_of_a_read_only_entry_is_refused() -> None:
    site, _ = _site()
    with pytest.raises(ValueError, match=r"navidrome: /etc/navidrome.toml is in no bind mount"):
        ContainerService(
            "navidrome", ContainerServiceArgs(spec=CATALOG["navidrome"], site=site, files={"/etc/navidrome.toml": "x"})
        )


@pulumi.runtime.test
def test_secret_env_makes_env_secret() -> pulumi.Output[None]:
    site, _ = _site()
    svc = ContainerService(
        "postgres",
        ContainerServiceArgs(spec=CATALOG["postgres"], site=site, secret_env={"POSTGRES_PASSWORD": "s3cret"}),
    )

    def check(args: list[object]) -> None:
        envs, secret = args
        assert secret is True
        assert "POSTGRES_PASSWORD=s3cret" in envs  # type: ignore[operator]

    return pulumi.Output.all(svc.container.envs, pulumi.Output.is_secret(svc.container.envs)).apply(check)


@pulumi.runtime.test
def test_intel_gpu_gets_dri_and_groups() -> pulumi.Output[None]:
    site, _ = _site(gpu={"kind": "intel", "renderGid": 993, "videoGid": 44})
    svc = ContainerService("jellyfin", ContainerServiceArgs(spec=CATALOG["jellyfin"], site=site))

    def check(args: list[object]) -> None:
        devices, groups = args
        assert devices == [{"host_path": "/dev/dri", "container_path": "/dev/dri", "permissions": "rwm"}]
        assert groups == ["993", "44"]

    return pulumi.Output.all(svc.container.devices, svc.container.group_adds).apply(check)


@pulumi.runtime.test
def test_file_upload_is_an_input_of_that_container_only() -> pulumi.Output[None]:
    site, _ = _site()
    svc = ContainerService(
        "sonarr", ContainerServiceArgs(spec=CATALOG["sonarr"], site=site, files={"/config/a.yml": "x: 1\n"})
    )
    other = ContainerService("radarr", ContainerServiceArgs(spec=CATALOG["radarr"], site=site))

    def check(args: list[object]) -> None:
        uploads, other_uploads = args
        assert uploads == [{"file": "/config/a.yml", "content": "x: 1\n"}]
        assert other_uploads is None

    return pulumi.Output.all(svc.container.uploads, other.container.uploads).apply(check)


@pulumi.runtime.test
def test_data_network_is_internal() -> pulumi.Output[None]:
    _, nets = _site()
    from config.spec import NetworkName

    data: docker.Network = nets.by_name[NetworkName.DATA]
    proxy: docker.Network = nets.by_name[NetworkName.PROXY]

    def check(args: list[object]) -> None:
        assert args == [True, False]

    return pulumi.Output.all(data.internal, proxy.internal).apply(check)

"""The real program under mocks: what the dev and prod stacks register."""

from __future__ import annotations

import ipaddress

from offline.recorder import Secret
from offline.report import to_json
from offline.runner import RunResult
from tests.conftest import CONTAINER, containers, minimal_config
from tests.test_media import prod_settings


def test_prod_docker_provider_is_ssh(prod: RunResult) -> None:
    (provider,) = prod.of_type("pulumi:providers:docker")
    assert provider.inputs["host"] == "ssh://deploy@media-host.example.org:22"
    options = provider.inputs["sshOpts"]
    assert options[:2] == ["-F", "none"] and "UserKnownHostsFile=${HOME}/.media-server/ssh/prod/known_hosts" in options
    assert options[-4:] == ["-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=15"]


def test_dev_uses_local_socket(dev: RunResult) -> None:
    (provider,) = dev.of_type("pulumi:providers:docker")
    assert provider.inputs["host"] == "unix:///var/run/docker.sock"
    assert dev.of_type("command:local:Command") and not dev.of_type("command:remote:Command")


def test_networks_with_subnets_data_internal(prod: RunResult) -> None:
    nets = {r.inputs["name"]: r.inputs for r in prod.of_type("docker:index/network:Network")}
    assert sorted(nets) == ["ms-prod-admin", "ms-prod-data", "ms-prod-media", "ms-prod-proxy", "ms-prod-socket"]
    subnets = {name: net["ipamConfigs"][0]["subnet"] for name, net in nets.items()}
    assert subnets == {
        "ms-prod-proxy": "10.10.0.0/24",
        "ms-prod-media": "10.10.1.0/24",
        "ms-prod-admin": "10.10.2.0/24",
        "ms-prod-data": "10.10.3.0/24",
        "ms-prod-socket": "10.10.4.0/24",
    }
    for name, net in nets.items():
        assert net["internal"] is name.endswith(("-data", "-socket")), name
        gateway = ipaddress.IPv4Address(net["ipamConfigs"][0]["gateway"])
        assert gateway in ipaddress.IPv4Network(net["ipamConfigs"][0]["subnet"])


def test_every_container_hardened_and_under_a_component(prod: RunResult) -> None:
    types = {r.urn: r.type for r in prod.resources}
    found = prod.of_type(CONTAINER)
    assert len(found) >= 30
    for res in found:
        inputs = res.inputs
        assert types[res.parent or ""] == "media-server:app:ContainerService", res.name
        assert res.provider and res.provider.endswith("pulumi:providers:docker::host-docker"), res.name
        assert not inputs.get("privileged"), res.name
        assert inputs["capabilities"]["drops"] == ["ALL"], res.name
        assert "SYS_ADMIN" not in inputs["capabilities"].get("adds", []), res.name
        assert inputs["memory"] > 0, res.name
        assert "no-new-privileges:true" in inputs["securityOpts"], res.name
        one_shot = inputs["restart"] == "on-failure" and 1 <= inputs.get("maxRetryCount", 0) <= 5
        assert inputs["restart"] == "unless-stopped" or one_shot, res.name
        assert inputs["logDriver"] == "json-file" and inputs["logOpts"]["max-size"], res.name
        assert inputs["networkMode"] != "host", res.name
        # "bridge" only as the provider's create-then-connect flow: it leaves the default bridge for these.
        assert inputs["networkMode"] != "bridge" or inputs.get("networksAdvanced"), res.name
        # A pulled image runs by its repo digest, a locally built one by its image ID: never by a moving tag.
        assert "@sha256:" in inputs["image"] or inputs["image"].startswith("sha256:"), res.name


def test_containers_wait_for_host_preparation(prod: RunResult) -> None:
    for res in prod.of_type(CONTAINER):
        assert any(dep.endswith("command:remote:Command::host-prepare") for dep in res.dependencies), res.name


def test_only_ingress_publishes_ports(prod: RunResult) -> None:
    published = {name: res.inputs.get("ports") for name, res in containers(prod).items() if res.inputs.get("ports")}
    assert sorted(published) == ["traefik", "wireguard"]
    assert sorted(p["external"] for p in published["traefik"]) == [80, 443]
    assert published["wireguard"] == [{"external": 51820, "internal": 51820, "protocol": "udp"}]


def test_labels_name_project_stack_service_tier_and_hold_no_secret(prod: RunResult) -> None:
    for name, res in containers(prod).items():
        labels = {item["label"]: item["value"] for item in res.inputs["labels"]}
        assert labels == {
            "media-server.project": "media-server",
            "media-server.stack": "prod",
            "media-server.service": name,
            "media-server.tier": labels["media-server.tier"],
        }
        assert not any(isinstance(v, Secret) for v in res.inputs["labels"])


def test_linuxserver_images_get_ids_and_umask(prod: RunResult) -> None:
    sonarr = containers(prod)["sonarr"].inputs
    assert {"PUID=1000", "PGID=1000", "UMASK=002", "TZ=Europe/Berlin"} <= set(sonarr["envs"])


def test_generated_secrets_stay_secret(prod: RunResult) -> None:
    passwords = prod.of_type("random:index/randomPassword:RandomPassword")
    assert passwords
    for res in passwords:
        assert {"result", "bcryptHash"} <= set(res.additional_secret_outputs)
    postgres = containers(prod)["postgres"].inputs
    assert isinstance(postgres["envs"], Secret)
    assert isinstance(prod.exports["generatedSecrets"], Secret)
    dumped = to_json(prod)
    assert "POSTGRES_PASSWORD=" not in dumped and "REDIS_PASSWORD=" not in dumped


def test_invalid_stack_registers_nothing(run_site) -> None:  # type: ignore[no-untyped-def]
    result = run_site(minimal_config(domain="bad domain", puid=0, services={"sonarr": {"imageTag": "latest"}}))
    assert not result.ok
    assert len(result.problems) == 3
    assert result.resources == []


def test_disabled_tier_registers_no_layer(run_site) -> None:  # type: ignore[no-untyped-def]
    result = run_site(minimal_config(tiers={"edge": True, "media": False, "monitoring": False, "backup": False}))
    assert result.ok, result.problems
    types = {r.type for r in result.resources}
    assert "media-server:apps:MediaTier" not in types
    assert "jellyfin" not in containers(result)


def test_service_override_changes_image_and_limits(run_site) -> None:  # type: ignore[no-untyped-def]
    result = run_site(minimal_config(services={"sonarr": {"imageTag": "4.0.17", "memory": "1g", "cpus": 2}}))
    images = {r.inputs["name"] for r in result.of_type("docker:index/remoteImage:RemoteImage")}
    assert "lscr.io/linuxserver/sonarr:4.0.17" in images
    sonarr = containers(result)["sonarr"].inputs
    assert sonarr["memory"] == 1024 and sonarr["cpus"] == "2.0"  # the provider's read-back form


def test_plain_secret_config_refused(run_site) -> None:  # type: ignore[no-untyped-def]
    result = run_site(minimal_config(cloudflareApiToken="plaintext"))
    assert [str(p) for p in result.problems] == [
        "media-server:cloudflareApiToken: must be set with `pulumi config set --secret cloudflareApiToken` "
        "(got a plain value)"
    ]
    assert result.resources == []


def test_two_runs_render_identically(run_site) -> None:  # type: ignore[no-untyped-def]
    first = to_json(run_site(minimal_config()))
    second = to_json(run_site(minimal_config()))
    assert first == second


def _inside(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def test_files_land_where_docker_and_the_host_can_write_them(prod: RunResult) -> None:
    """pulumi-docker extracts uploads at "/": Docker refuses that on a read-only root filesystem, and refuses a
    file inside a read-only mount (tests/realtool/test_docker_engine.py shows both on a real engine). So a
    read-only container gets its files written on the host into its writable bind mounts (HostFiles), and a
    writable one gets uploads outside its read-only mounts."""
    from tests.edge_support import unwrap

    written = uploaded = 0
    for name, res in containers(prod).items():
        volumes = [
            (v["containerPath"], v["hostPath"], v.get("readOnly", False))
            for v in unwrap(res.inputs.get("volumes")) or []
        ]
        if res.inputs.get("readOnly"):
            assert not res.inputs.get("uploads"), f"{name}: read-only root filesystem with uploads"
            for item in unwrap(res.host_files) or []:
                (target, source, read_only) = max(
                    (v for v in volumes if _inside(item["file"], v[0])), key=lambda v: len(v[0])
                )
                # A read-only mount of the app's own config directory is written on the host by the program
                # (components/files.py place); no other read-only mount is.
                own = _inside(source, f"{prod_settings().paths.config_root}/{name}")
                assert own or not read_only, f"{name}: {item['file']} is in the read-only mount {target}"
                assert item["hostPath"] == source + item["file"][len(target) :], name
                written += 1
        else:
            assert res.host_files is None, name
            for item in unwrap(res.inputs.get("uploads")) or []:
                mounts = [v for v in volumes if _inside(item["file"], v[0])]
                assert not (mounts and max(mounts, key=lambda v: len(v[0]))[2]), f"{name}: {item['file']}"
                uploaded += 1
    assert written > 20 and uploaded > 5

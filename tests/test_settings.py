"""Settings validation: every bad input names the config key, the value and what is allowed."""

from __future__ import annotations

import ipaddress
import itertools
import re
from typing import Any

import pytest

from config.problems import SettingsError
from config.spec import NetworkName
from config.stack import parse_settings
from tests.conftest import minimal_config


def problems_for(**overrides: Any) -> list[str]:
    with pytest.raises(SettingsError) as info:
        parse_settings(minimal_config(**overrides))
    return [str(p) for p in info.value.problems]


def only_problem(**overrides: Any) -> str:
    found = problems_for(**overrides)
    assert len(found) == 1, found
    return found[0]


def test_minimal_site_is_valid() -> None:
    settings = parse_settings(minimal_config())
    assert settings.domain == "media.example.org"
    assert settings.networks.data.cidr == "10.10.3.0/24"
    assert settings.paths.config_root == "/opt/mediaserver"


@pytest.mark.parametrize(
    ("overrides", "key", "expected"),
    [
        ({"domain": "not a domain"}, "media-server:domain", r"not a valid domain name.*\(got \"not a domain\"\)"),
        ({"domain": "localhost"}, "media-server:domain", r"not a valid domain name"),
        ({"timezone": "Mars/Olympus"}, "media-server:timezone", r"not an IANA time zone.*Europe/Berlin"),
        (
            {"networks": {"proxy": {"cidr": "10.10.0.0/33"}}},
            "media-server:networks.proxy.cidr",
            r"not a valid IPv4 network.*10\.10\.0\.0/33",
        ),
        (
            {"networks": {"media": {"cidr": "10.10.0.128/25"}}},
            "media-server:networks.media.cidr",
            r"overlaps the proxy network \(10\.10\.0\.0/24\); expected disjoint subnets",
        ),
        (
            {"services": {"plex": {"enabled": True}}},
            "media-server:services.plex",
            r"unknown service; expected one of: .*jellyfin",
        ),
        ({"services": {"sonarr": {"imageTag": "latest"}}}, "media-server:services.sonarr.imageTag", r"'latest'"),
        ({"services": {"sonarr": {"imageTag": ""}}}, "media-server:services.sonarr.imageTag", r"empty image tag"),
        ({"puid": 0}, "media-server:puid", r"0 is root; expected the uid/gid of an unprivileged user"),
        ({"paths": {"configRoot": "opt/media"}}, "media-server:paths.configRoot", r"relative path"),
        ({"paths": {"dataRoot": "/data/../etc"}}, "media-server:paths.dataRoot", r"contains '\.\.'"),
        (
            {
                "cloudflare": {
                    "enabled": True,
                    "zoneId": "0123456789abcdef0123456789abcdef",
                    "publicAddress": "203.0.113.10",
                }
            },
            "media-server:cloudflare.zone",
            r"Cloudflare is enabled; expected the zone name",
        ),
        (
            {"host": {"mode": "ssh", "address": "h.example.org", "port": 70000}},
            "media-server:host.port",
            r"less than or equal to 65535",
        ),
        (
            {
                "host": {
                    "mode": "ssh",
                    "address": "h.example.org",
                    "hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0cMVt0d6vNRiX0i5cM1qk0D0Y0xG4yKQ2iHk4n7Bq2",
                    "sshOptions": ["-o", "StrictHostKeyChecking=no"],
                }
            },
            "media-server:host.sshOptions[1]",
            r"disables host key checking",
        ),
        (
            {"services": {"jellyfin": {"memory": "lots"}}},
            "media-server:services.jellyfin.memory",
            r"memory limit does not parse; expected a size such as 256m",
        ),
        ({"umask": "999"}, "media-server:umask", r"not a umask"),
        ({"colour": "blue"}, "media-server:colour", r"unknown key"),
    ],
)
def test_bad_input_names_key_value_and_expectation(overrides: dict[str, Any], key: str, expected: str) -> None:
    problem = only_problem(**overrides)
    assert problem.startswith(key + ": "), problem
    assert re.search(expected, problem), problem
    assert "(got " in problem


def test_two_services_on_one_subdomain() -> None:
    problem = only_problem(services={"radarr": {"subdomain": "sonarr"}})
    assert problem.startswith("media-server:services.")
    assert "subdomain already used by" in problem
    assert '(got "sonarr")' in problem


def test_every_problem_reported_at_once() -> None:
    found = problems_for(
        domain="bad domain",
        timezone="Nowhere/Land",
        puid=0,
        paths={"configRoot": "relative", "dataRoot": "/data/../x"},
        networks={"admin": {"cidr": "10.10.0.0/24"}},
        services={"nope": {}, "sonarr": {"imageTag": "latest", "memory": "a lot"}},
    )
    keys = sorted(p.split(": ", 1)[0] for p in found)
    assert keys == [
        "media-server:domain",
        "media-server:networks.admin.cidr",
        "media-server:paths.configRoot",
        "media-server:paths.dataRoot",
        "media-server:puid",
        "media-server:services.nope",
        "media-server:services.sonarr.imageTag",
        "media-server:services.sonarr.memory",
        "media-server:timezone",
    ]


def test_ssh_mode_needs_address_and_host_key() -> None:
    found = problems_for(host={"mode": "ssh"})
    assert [p.split(":")[1] for p in found] == ["host.address", "host.hostKey"], found
    assert found[0].startswith("media-server:host.address: ssh mode needs"), found


def test_gpu_intel_needs_group_ids() -> None:
    found = problems_for(gpu={"kind": "intel"})
    assert [p.split(":", 2)[1] for p in found] == ["gpu.renderGid", "gpu.videoGid"]


def test_nvidia_with_intel_render_node_refused() -> None:
    problem = only_problem(gpu={"kind": "nvidia", "devices": ["/dev/dri/renderD128"]})
    assert problem.startswith("media-server:gpu.devices[0]: an Intel/AMD render node with gpu kind nvidia")


def test_overlapping_roots_refused() -> None:
    problem = only_problem(paths={"cacheRoot": "/opt/mediaserver/cache"})
    assert problem.startswith("media-server:paths.cacheRoot: overlaps configRoot")


def test_memory_parses_units() -> None:
    from config.types import parse_memory_mb

    assert parse_memory_mb("512m") == 512
    assert parse_memory_mb("2g") == 2048
    assert parse_memory_mb("1.5G") == 1536
    with pytest.raises(ValueError, match="below Docker's minimum"):
        parse_memory_mb("1k")


def test_cpu_limits_capped_at_the_hosts_cores() -> None:
    settings = parse_settings(minimal_config(host={"mode": "local", "cpus": 2}))
    assert settings.service("jellyfin").cpus == 2.0  # the catalog asks for 4
    assert settings.service("sonarr").cpus == 1.0
    problem = only_problem(host={"mode": "local", "cpus": 2}, services={"jellyfin": {"cpus": 3}})
    assert problem == (
        "media-server:services.jellyfin.cpus: above the host's 2 cores (host.cpus); Docker refuses such a limit "
        "(got 3.0)"
    )


DEFAULT_NETWORKS = {name.value: parse_settings(minimal_config()).networks.cidr(name) for name in NetworkName}


NETWORK_PAIRS = list(itertools.combinations([n.value for n in NetworkName], 2))


@pytest.mark.parametrize(("first", "second"), NETWORK_PAIRS, ids=[f"{a}-{b}" for a, b in NETWORK_PAIRS])
def test_any_two_networks_overlapping_are_refused(first: str, second: str) -> None:
    """Every pair, not only pairs with the proxy network: the second takes a /25 inside the first's subnet."""
    inside = str(next(ipaddress.IPv4Network(DEFAULT_NETWORKS[first]).subnets(new_prefix=25)))
    problem = only_problem(networks={second: {"cidr": inside}})
    assert problem == (
        f"media-server:networks.{second}.cidr: overlaps the {first} network ({DEFAULT_NETWORKS[first]}); "
        f'expected disjoint subnets (got "{inside}")'
    )


def test_disjoint_networks_are_accepted() -> None:
    moved = {name: {"cidr": f"10.20.{i}.0/24"} for i, name in enumerate(DEFAULT_NETWORKS)}
    settings = parse_settings(minimal_config(networks=moved))
    assert [settings.networks.cidr(n) for n in NetworkName] == [f"10.20.{i}.0/24" for i in range(len(NetworkName))]


@pytest.mark.parametrize(
    ("subset", "accepted"),
    [
        ("0.1%", True),
        ("100%", True),
        ("0%", False),
        ("100.5%", False),
        ("1/10", True),
        ("10/10", True),
        ("0/10", False),
        ("11/10", False),
        ("500M", True),
        ("500", False),
    ],
)
def test_restic_data_subset_bounds(subset: str, accepted: bool) -> None:
    backup = {"check": {"readDataSubset": subset}}
    if accepted:
        assert parse_settings(minimal_config(backup=backup)).backup.check.read_data_subset == subset
    else:
        problem = only_problem(backup=backup)
        assert problem.startswith("media-server:backup.check.readDataSubset: not a restic data subset"), problem


def test_lldap_runs_only_for_the_ldap_backend() -> None:
    assert not parse_settings(minimal_config()).is_enabled("lldap")
    assert parse_settings(minimal_config(edge={"auth": {"backend": "ldap"}})).is_enabled("lldap")


def test_image_tag_and_digest_overrides_apply_alone_or_together() -> None:
    digest = "sha256:" + "b" * 64
    catalog = parse_settings(minimal_config()).service("sonarr").image
    tag_only = parse_settings(minimal_config(services={"sonarr": {"imageTag": "4.1.0"}})).service("sonarr").image
    assert (tag_only.tag, tag_only.digest) == ("4.1.0", None)
    digest_only = parse_settings(minimal_config(services={"sonarr": {"imageDigest": digest}})).service("sonarr").image
    assert (digest_only.tag, digest_only.digest) == (catalog.tag, digest)


def test_tunnel_mode_proxies_every_app_even_media() -> None:
    hex32 = "0123456789abcdef0123456789abcdef"
    tunnel = {"enabled": True, "mode": "tunnel", "zone": "media.example.org", "zoneId": hex32, "accountId": hex32}
    reason = "the site accepts Cloudflare terms for its own small audience"
    from config.catalog import CATALOG

    acknowledged = {"acknowledgeProxiedMedia": {n: reason for n, spec in CATALOG.items() if spec.streams_media}}
    settings = parse_settings(minimal_config(cloudflare=tunnel, policy=acknowledged))
    jellyfin = settings.service("jellyfin")
    assert jellyfin.streams_media and settings.cloudflare_proxied(jellyfin)


def test_offsite_repository_names_the_secret_keys_of_its_kind() -> None:
    from config.settings import OffsiteRepository

    b2 = OffsiteRepository(name="b2", kind="b2", bucket="bkt")
    assert b2.secret_keys == ("backupB2AccountId", "backupB2AccountKey")


def test_acknowledged_proxied_media_needs_a_streaming_app_and_a_reason() -> None:
    reason = "the site accepts Cloudflare terms for its own small audience"
    short = only_problem(policy={"acknowledgeProxiedMedia": {"jellyfin": "ok"}})
    assert short.startswith("media-server:policy.acknowledgeProxiedMedia.jellyfin: expected the reason"), short
    other = only_problem(policy={"acknowledgeProxiedMedia": {"sonarr": reason}})
    assert other.startswith("media-server:policy.acknowledgeProxiedMedia.sonarr: not a streaming app"), other


def test_proxied_media_problem_says_why_it_is_proxied() -> None:
    hex32 = "0123456789abcdef0123456789abcdef"
    dns = {"enabled": True, "zone": "media.example.org", "zoneId": hex32, "publicAddress": "203.0.113.10"}
    proxied = only_problem(cloudflare={**dns, "proxied": {"jellyfin": True}})
    assert proxied.startswith(
        "media-server:policy.acknowledgeProxiedMedia.jellyfin: jellyfin streams media and would be proxied "
        "(cloudflare.proxied); "
    ), proxied
    tunnel = problems_for(cloudflare={**dns, "mode": "tunnel", "accountId": hex32})
    assert tunnel and all("tunnel mode carries every app through Cloudflare" in p for p in tunnel), tunnel


def test_a_twenty_character_reason_is_enough() -> None:
    reason = "x" * 8 + " accepted " + "y" * 2
    assert len(reason) == 20
    settings = parse_settings(minimal_config(policy={"acknowledgeProxiedMedia": {"jellyfin": reason}}))
    assert settings.policy.acknowledge_proxied_media == {"jellyfin": reason}


@pytest.mark.parametrize(
    ("size", "mb"),
    [
        ("6m", 6),
        ("6291456", 6),
        ("10485760b", 10),
        ("2048k", 2),
        ("1.5G", 1536),
        # 1023 MiB in each unit: a factor off by one unit (1023 for 1024) reads 1024
        ("1072693248", 1023),
        ("1072693248b", 1023),
        ("1047552k", 1023),
        ("1023m", 1023),
    ],
)
def test_memory_sizes_in_every_unit(size: str, mb: int) -> None:
    from config.types import parse_memory_mb

    if mb < 6:
        with pytest.raises(ValueError, match="below Docker's minimum of 6m"):
            parse_memory_mb(size)
    else:
        assert parse_memory_mb(size) == mb


@pytest.mark.parametrize(
    ("domain", "accepted"),
    [("media.9lives.org", True), ("media.example.123", False), ("10.0.0.1", False), ("a.b", True)],
)
def test_domain_top_label_cannot_be_numeric(domain: str, accepted: bool) -> None:
    if accepted:
        assert parse_settings(minimal_config(domain=domain)).domain == domain
    else:
        assert only_problem(domain=domain).startswith("media-server:domain: not a valid domain name")


def test_network_prefix_at_most_29() -> None:
    settings = parse_settings(minimal_config(networks={"socket": {"cidr": "10.10.4.0/29"}}))
    assert settings.networks.socket.cidr == "10.10.4.0/29"
    assert only_problem(networks={"socket": {"cidr": "10.10.4.0/30"}}).startswith("media-server:networks.socket.cidr:")


def test_problem_values_are_sorted_json_cut_at_120_characters() -> None:
    from config.problems import _value

    assert _value({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'
    assert _value("x" * 118) == '"' + "x" * 118 + '"'  # 120 characters: whole
    cut = _value("x" * 119)  # 121 characters: cut
    assert len(cut) == 120 and cut.endswith("...")
    assert _value({}) == "nothing"


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [("1y", 365 * 86400), ("2w", 14 * 86400), ("1d1h", 90000), ("1m30s", 90), ("1s500ms", 1.5), ("26h", 93600)],
)
def test_durations_in_every_prometheus_unit(duration: str, seconds: float) -> None:
    from config.types import duration_seconds

    assert duration_seconds(duration) == pytest.approx(seconds)


def test_a_network_with_host_bits_set_is_refused() -> None:
    assert only_problem(networks={"socket": {"cidr": "10.10.4.1/29"}}) == (
        "media-server:networks.socket.cidr: not a valid IPv4 network (10.10.4.1/29 has host bits set); expected a "
        'CIDR such as 10.10.0.0/24 with no host bits set (got "10.10.4.1/29")'
    )


@pytest.mark.parametrize(("umask", "stored"), [("002", "002"), ("0027", "027"), ("077", "077")])
def test_umask_is_stored_as_three_octal_digits(umask: str, stored: str) -> None:
    assert parse_settings(minimal_config(umask=umask)).umask == stored


def test_ports_start_at_1() -> None:
    assert parse_settings(minimal_config(host={"mode": "local", "port": 1})).host.port == 1
    assert only_problem(host={"mode": "local", "port": 0}) == (
        "media-server:host.port: Input should be greater than or equal to 1 (got 0)"
    )


HEX32 = "0123456789abcdef0123456789abcdef"
DNS = {"enabled": True, "zone": "media.example.org", "zoneId": HEX32, "publicAddress": "203.0.113.10"}


def test_the_proxied_media_problem_shows_the_line_to_add() -> None:
    assert only_problem(cloudflare={**DNS, "proxied": {"jellyfin": True}}).endswith(
        "or give the reason the site accepts them under config:, e.g. media-server:policy: {acknowledgeProxiedMedia: "
        "{jellyfin: '<why the site accepts the CDN terms for this app, 20+ characters>'}} (got null)"
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"services": {"homepage": {"bypassPaths": ["^/api/.*$"]}}},
            "media-server:services.homepage.bypassPaths: homepage has no login of its own, so a bypass path would "
            'make it public (^/api/.*$); expected no bypass paths for it (got ["^/api/.*$"])',
        ),
        (
            {"edge": {"wireguard": {"peers": [{"name": "phone"}, {"name": "phone"}]}}},
            'media-server:edge.wireguard.peers: peer names must be unique (got [{"name": "phone"}, {"name": "phone"}])',
        ),
        (
            {"media": {"vpn": {"provider": "protonvpn", "serverCountries": ["Switzerland,Germany"]}}},
            "media-server:media.vpn.serverCountries: server country 'Switzerland,Germany' is not a name; expected "
            'names such as Switzerland (got ["Switzerland,Germany"])',
        ),
        (
            {"cloudflare": {**DNS, "zone": "other.org"}},
            'media-server:cloudflare.zone: the domain media.example.org is not inside this zone (got "other.org")',
        ),
    ],
)
def test_cross_field_problems_name_key_value_and_expectation(overrides: dict[str, Any], expected: str) -> None:
    assert only_problem(**overrides) == expected


def test_checks_that_need_a_switch_apply_only_with_it_on() -> None:
    # a zone is only checked against the domain when Cloudflare is on; a short max-age only with preload
    settings = parse_settings(minimal_config(cloudflare={"zone": "other.org"}, edge={"hstsSeconds": 300}))
    assert (settings.cloudflare.zone, settings.edge.hsts_seconds) == ("other.org", 300)


def test_hosts_too_deep_for_universal_ssl_are_named_three_then_counted() -> None:
    zone = {"enabled": True, "zone": "example.org", "zoneId": HEX32, "publicAddress": "203.0.113.10"}
    problem = only_problem(cloudflare=zone)
    assert re.match(
        r"media-server:cloudflare\.advancedCertificates: proxied hosts alerts\.media\.example\.org, "
        r"auth\.media\.example\.org, books\.media\.example\.org and [1-9][0-9]* more are more than one level below "
        r"zone example\.org, which Universal SSL does not cover",
        problem,
    ), problem


def test_sections_are_immutable_and_built_by_field_name_in_code() -> None:
    from pydantic import ValidationError

    from config.settings import PathSettings

    settings = parse_settings(minimal_config())
    with pytest.raises(ValidationError):
        settings.paths.config_root = "/elsewhere"  # type: ignore[misc]
    assert PathSettings(config_root="/srv/x").config_root == "/srv/x"  # type: ignore[call-arg]


def test_an_exempt_field_reports_a_control_character_in_its_own_words() -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0cMVt0d6vNRiX0i5cM1qk0D0Y0xG4yKQ2iHk4n7Bq2"
    problem = only_problem(host={"mode": "ssh", "address": "h\x07.example.org", "hostKey": key})
    assert problem.startswith("media-server:host.address: not a host name or IP address; expected an RFC 1123 name")

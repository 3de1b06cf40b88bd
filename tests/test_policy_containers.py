"""Container and provider rules (MS-001 to MS-017): golden passes, one mutation per failure, allowlists."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.policy_harness import (
    DIGEST,
    PINNED_SSH_OPTS,
    Res,
    check,
    container,
    image,
    messages,
    network,
    provider,
    rules,
)

WHY = "needed for this service's documented function"
MEDIA_VOLUME = {"hostPath": "/opt/mediaserver/sonarr", "containerPath": "/config", "readOnly": False}


def test_golden_container_image_and_provider_pass_every_rule() -> None:
    verdict = check(container(), image(), provider(), provider(host="unix:///var/run/docker.sock"))
    assert verdict.violations == [] and verdict.not_run == [] and verdict.config_errors == []


# One mutation per failure condition -> exactly that rule ID (mandatory and advisory parts alike).
MUTATIONS: list[tuple[str, dict[str, Any], str]] = [
    ("privileged", {"privileged": True}, "MS-001"),
    ("cap add", {"capabilities": {"drops": ["ALL"], "adds": ["NET_ADMIN"]}}, "MS-002"),
    ("cap SYS_ADMIN", {"capabilities": {"drops": ["ALL"], "adds": ["CAP_SYS_ADMIN"]}}, "MS-002"),
    ("no cap drop", {"capabilities": {"drops": [], "adds": []}}, "MS-002"),
    ("no capabilities", {"capabilities": None}, "MS-002"),
    ("rw /etc", {"volumes": [MEDIA_VOLUME, {"hostPath": "/etc", "containerPath": "/host/etc"}]}, "MS-004"),
    ("rw /usr/lib", {"mounts": [{"type": "bind", "source": "/usr/lib", "target": "/lib2"}]}, "MS-004"),
    ("rw /", {"volumes": [{"hostPath": "/", "containerPath": "/rootfs", "readOnly": False}]}, "MS-004"),
    ("ro /sys", {"volumes": [{"hostPath": "/sys", "containerPath": "/sys", "readOnly": True}]}, "MS-004"),
    ("host network", {"networkMode": "host", "networksAdvanced": None}, "MS-005"),
    ("host pid", {"pidMode": "host"}, "MS-005"),
    ("host ipc", {"ipcMode": "host"}, "MS-005"),
    ("host userns", {"usernsMode": "host"}, "MS-005"),
    ("device", {"devices": [{"hostPath": "/dev/dri", "containerPath": "/dev/dri"}]}, "MS-006"),
    ("gpus", {"gpus": "all"}, "MS-006"),
    ("device requests", {"deviceRequests": [{"driver": "nvidia", "count": -1}]}, "MS-006"),
    ("nvidia runtime", {"runtime": "nvidia"}, "MS-006"),
    ("no nnp", {"securityOpts": []}, "MS-007"),
    ("nnp false", {"securityOpts": ["no-new-privileges:false"]}, "MS-007"),
    ("seccomp", {"securityOpts": ["no-new-privileges:true", "seccomp=unconfined"]}, "MS-007"),
    ("apparmor", {"securityOpts": ["no-new-privileges:true", "apparmor:unconfined"]}, "MS-007"),
    ("writable root", {"readOnly": False}, "MS-008"),
    ("read-only without tmpfs", {"tmpfs": None}, "MS-008"),
    ("no memory", {"memory": None}, "MS-009"),
    ("zero memory", {"memory": 0}, "MS-009"),
    ("no cpu", {"cpus": None}, "MS-009"),
    ("restart always", {"restart": "always"}, "MS-010"),
    ("restart no", {"restart": "no"}, "MS-010"),
    ("restart unset", {"restart": None}, "MS-010"),
    ("on-failure unbounded", {"restart": "on-failure"}, "MS-010"),
    ("on-failure 10", {"restart": "on-failure", "maxRetryCount": 10}, "MS-010"),
    ("no healthcheck", {"healthcheck": None}, "MS-011"),
    ("healthcheck NONE", {"healthcheck": {"tests": ["NONE"]}}, "MS-011"),
    ("low port", {"ports": [{"internal": 8989, "external": 443, "ip": "127.0.0.1"}]}, "MS-012"),
    ("all interfaces", {"ports": [{"internal": 8989, "external": 8989}]}, "MS-012"),
    ("ipv6 any", {"ports": [{"internal": 8989, "external": 8989, "ip": "::"}]}, "MS-012"),
    ("random host port", {"ports": [{"internal": 8989, "ip": "127.0.0.1"}]}, "MS-012"),
    ("publish all", {"publishAllPorts": True}, "MS-012"),
    ("latest", {"image": "lscr.io/linuxserver/sonarr:latest"}, "MS-014"),
    ("untagged", {"image": "lscr.io/linuxserver/sonarr"}, "MS-014"),
    ("by tag only", {"image": "lscr.io/linuxserver/sonarr:4.0.16"}, "MS-014"),
    ("root user", {"user": None}, "MS-015"),
    ("uid 0", {"user": "0:1000"}, "MS-015"),
    ("plain secret env", {"envs": ["TZ=Etc/UTC", "SONARR__AUTH__APIKEY=abc123def456"]}, "MS-016"),
]


@pytest.mark.parametrize(("change", "rule"), [(c, r) for _, c, r in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_each_failure_condition_names_its_rule(change: dict[str, Any], rule: str) -> None:
    found = rules(container(**change))
    if rule == "MS-016":
        # The offline gate also sees the value is not a Pulumi secret (MS-900).
        assert found == {"MS-016", "MS-900"}
    else:
        assert found == {rule}


@pytest.mark.parametrize(
    ("name", "rule"),
    [("lscr.io/linuxserver/sonarr:latest", "MS-014"), ("sonarr", "MS-014"), ("ghcr.io/x/y:nightly", "MS-014")],
)
def test_remote_image_must_be_pinned(name: str, rule: str) -> None:
    verdict = check(image(name))
    assert verdict.rule_ids() == [rule]
    assert [v.level for v in verdict.violations] == ["mandatory"]


def test_remote_image_by_tag_only_is_advisory() -> None:
    verdict = check(image("registry.example.org:5000/team/app:1.2.3"))
    assert [(v.rule, v.level) for v in verdict.violations] == [("MS-014", "advisory")]
    assert check(image(f"registry.example.org:5000/team/app@{DIGEST}")).violations == []


def test_levels_follow_the_baseline() -> None:
    levels = {
        rule: {v.level for v in check(container(**change)).violations if v.rule == rule}
        for _, change, rule in MUTATIONS
    }
    assert levels["MS-001"] == {"mandatory"}
    assert check(container(capabilities={"drops": [], "adds": []})).violations[0].level == "advisory"
    assert check(container(readOnly=False)).violations[0].level == "advisory"
    assert check(container(cpus=None)).violations[0].level == "advisory"
    assert check(container(memory=None)).violations[0].level == "mandatory"
    assert check(container(user=None)).violations[0].level == "advisory"
    ro = check(container(volumes=[{"hostPath": "/sys", "containerPath": "/sys", "readOnly": True}]))
    assert [v.level for v in ro.violations] == ["advisory"]


# ------------------------------------------------------------------ MS-011: levels by kind
@pytest.mark.parametrize(
    ("service", "tier", "level"),
    [
        ("postgres", "data", "mandatory"),
        ("immich-redis", "media", "mandatory"),
        ("authelia", "auth", "mandatory"),
        ("traefik", "edge", "mandatory"),
        ("elasticsearch", "data", "advisory"),
        ("postgres-exporter", "monitoring", "advisory"),
        ("sonarr", "media", "advisory"),
    ],
)
def test_healthcheck_is_mandatory_for_databases_caches_auth_and_proxy(service: str, tier: str, level: str) -> None:
    verdict = check(container(service, tier, healthcheck=None))
    assert [(v.rule, v.level) for v in verdict.violations] == [("MS-011", level)]


def test_service_kind_can_be_configured() -> None:
    res = container("keystore", "media", healthcheck=None)
    assert check(res).violations[0].level == "advisory"
    kinds = {"kinds": {"keystore": "database"}}  # each policy reads its own config, as in the engine
    config = {"ms-011-healthcheck-critical": kinds, "ms-011-healthcheck": kinds}
    assert [v.level for v in check(res, config=config).violations] == ["mandatory"]
    published = container("keystore", "media", ports=[{"internal": 1, "external": 10001, "ip": "127.0.0.1"}])
    assert rules(published, config={"ms-013-backends-unpublished": kinds}) == {"MS-013"}


# ------------------------------------------------------------------ MS-011: one-shot jobs
JOB_CONFIG = {"ms-011-healthcheck-critical": {"allowlist": {"wireguard-peers": {"justification": WHY}}}}


def _job(**changes: Any) -> Res:
    base: dict[str, Any] = {"healthcheck": None, "restart": "on-failure", "maxRetryCount": 3}
    base.update(changes)
    return container("wireguard-peers", "edge", **base)


def test_one_shot_job_needs_no_healthcheck_only_with_its_entry() -> None:
    assert [(v.rule, v.level) for v in check(_job()).violations] == [("MS-011", "mandatory")]
    assert check(_job(), config=JOB_CONFIG).violations == []
    # The same job with restart 'no' is also MS-010's one-shot exception: each rule reads its own allowlist.
    as_job = {**JOB_CONFIG, "ms-010-restart-policy": JOB_CONFIG["ms-011-healthcheck-critical"]}
    assert check(_job(restart="no", maxRetryCount=None), config=as_job).violations == []
    other = {"ms-011-healthcheck-critical": {"allowlist": {"wireguard": {"justification": WHY}}}}
    assert rules(_job(), config=other) == {"MS-011"}
    unjustified = check(_job(), config={"ms-011-healthcheck-critical": {"allowlist": {"wireguard-peers": {}}}})
    assert any("has no justification" in m for m in messages(unjustified, "MS-011"))


def test_a_service_that_never_exits_is_no_one_shot_job() -> None:
    verdict = check(_job(restart="unless-stopped", maxRetryCount=None), config=JOB_CONFIG)
    assert [(v.rule, v.level) for v in verdict.violations] == [("MS-011", "mandatory")]
    assert "allowlisted as a one-shot job but restarts 'unless-stopped'" in verdict.violations[0].message


# ------------------------------------------------------------------ MS-013
@pytest.mark.parametrize(
    ("service", "tier"),
    [("postgres", "data"), ("immich-redis", "media"), ("elasticsearch", "data"), ("lldap", "auth"), ("loki", "x")],
)
def test_backends_publish_nothing_even_on_loopback(service: str, tier: str) -> None:
    res = container(service, tier, ports=[{"internal": 5432, "external": 15432, "ip": "127.0.0.1"}])
    assert rules(res) == {"MS-013"}


def test_exporters_and_apps_may_publish_on_loopback() -> None:
    for service in ("postgres-exporter", "sonarr"):
        assert rules(container(service, ports=[{"internal": 9187, "external": 19187, "ip": "127.0.0.1"}])) == set()


# ------------------------------------------------------------------ allowlists: only with the entry, for that service
ALLOWLISTED: list[tuple[str, str, dict[str, Any], str, dict[str, Any]]] = [
    (
        "capabilities",
        "ms-002-capability-adds-allowlisted",
        {"capabilities": {"drops": ["ALL"], "adds": ["NET_ADMIN"]}},
        "MS-002",
        {"capabilities": ["NET_ADMIN"]},
    ),
    (
        "devices",
        "ms-006-devices-allowlisted",
        {"devices": [{"hostPath": "/dev/dri/renderD128", "containerPath": "/dev/dri/renderD128"}]},
        "MS-006",
        {"devices": ["/dev/dri"]},
    ),
    ("gpu", "ms-006-devices-allowlisted", {"gpus": "all"}, "MS-006", {"gpu": True}),
    ("one-shot", "ms-010-restart-policy", {"restart": "no"}, "MS-010", {}),
    (
        "ingress ports",
        "ms-012-host-ports",
        {"ports": [{"internal": 443, "external": 443}, {"internal": 51820, "external": 51820, "protocol": "udp"}]},
        "MS-012",
        {"ports": ["443/tcp", "51820/udp"]},
    ),
    ("PUID/PGID image", "ms-015-non-root-user", {"user": None, "envs": ["PUID=1000", "PGID=1000"]}, "MS-015", {}),
]


@pytest.mark.parametrize(
    ("policy", "change", "rule", "fields"),
    [(p, c, r, f) for _, p, c, r, f in ALLOWLISTED],
    ids=[a[0] for a in ALLOWLISTED],
)
def test_allowlist_entry_exempts_only_its_service(
    policy: str, change: dict[str, Any], rule: str, fields: dict[str, Any]
) -> None:
    res = container("wireguard", "edge", **change)
    assert rules(res) == {rule}
    assert rules(res, config={policy: {"allowlist": {"wireguard": {**fields, "justification": WHY}}}}) == set()
    assert rules(res, config={policy: {"allowlist": {"gluetun": {**fields, "justification": WHY}}}}) == {rule}
    unjustified = check(res, config={policy: {"allowlist": {"wireguard": {**fields}}}})
    assert unjustified.rule_ids() == [rule]
    assert any("has no justification" in m for m in messages(unjustified, rule))
    placeholder = check(res, config={policy: {"allowlist": {"wireguard": {**fields, "justification": "todo"}}}})
    assert any("has no justification" in m for m in messages(placeholder, rule))


def test_unjustified_entry_is_a_violation_even_when_unused() -> None:
    verdict = check(container("wireguard", "edge"), config={"ms-012-host-ports": {"allowlist": {"wireguard": {}}}})
    assert verdict.rule_ids() == ["MS-012"] and "has no justification" in verdict.violations[0].message


@pytest.mark.parametrize("cap", ["SYS_ADMIN", "CAP_SYS_ADMIN", "ALL", "cap_all"])
def test_sys_admin_and_all_are_never_allowlisted(cap: str) -> None:
    res = container("wireguard", "edge", capabilities={"drops": ["ALL"], "adds": [cap]})
    config = {"ms-002-capability-adds-allowlisted": {"allowlist": {"wireguard": {"capabilities": [cap],
                                                                                 "justification": WHY}}}}  # fmt: skip
    verdict = check(res, config=config)
    name = cap.upper().removeprefix("CAP_")
    assert messages(verdict, "MS-002") == [
        f"wireguard adds {name}, which no service may have; fix: remove it from the capability adds"
    ]


def test_allowlisted_port_still_may_not_be_another_port() -> None:
    res = container("traefik", "edge", ports=[{"internal": 8080, "external": 8080}])
    config = {"ms-012-host-ports": {"allowlist": {"traefik": {"ports": ["80/tcp", "443/tcp"], "justification": WHY}}}}
    assert rules(res, config=config) == {"MS-012"}
    # an allowlisted port does not end the check of the ports after it
    both = container("traefik", "edge", ports=[{"internal": 443, "external": 443}, {"internal": 8080, "ip": "::"}])
    assert messages(check(both, config=config), "MS-012") == [
        "traefik publishes 8080/tcp on a random host port; fix: do not publish it"
    ]


def test_a_container_without_a_service_label_is_named_by_its_container_name() -> None:
    res = container("sonarr", privileged=True, labels=[{"label": "media-server.tier", "value": "media"}])
    (message,) = messages(check(res), "MS-001")
    assert message.startswith("ms-test-sonarr ")


def test_puid_image_needs_non_zero_ids() -> None:
    res = container("sonarr", user=None, envs=["PUID=0", "PGID=1000"])
    config = {"ms-015-non-root-user": {"allowlist": {"sonarr": {"justification": WHY}}}}
    assert rules(res, config=config) == {"MS-015", "MS-032"}  # MS-032: PUID=0 is a weakening env of its own
    uid_1 = container("sonarr", user=None, envs=["PUID=1", "PGID=1"])  # the lowest unprivileged ids
    assert rules(uid_1, config=config) == set()


# ------------------------------------------------------------------ MS-003: the one socket proxy
SOCKET = {"hostPath": "/var/run/docker.sock", "containerPath": "/var/run/docker.sock", "readOnly": True}
PROXY_CONFIG = {"ms-003-no-docker-socket": {"allowlist": {"socket-proxy": {"justification": WHY}}}}


def socket_proxy(**changes: Any) -> Res:
    base: dict[str, Any] = {
        "volumes": [SOCKET],
        "networkMode": "ms-test-socket",
        "networksAdvanced": [{"name": "ms-test-socket", "aliases": ["socket-proxy"]}],
    }
    base.update(changes)
    return container("socket-proxy", "monitoring", **base)


def test_socket_proxy_passes_only_read_only_unpublished_and_internal() -> None:
    internal = network("ms-test-socket", internal=True)
    assert rules(socket_proxy(), internal, config=PROXY_CONFIG) == set()
    assert rules(socket_proxy(), internal) == {"MS-003"}
    assert rules(socket_proxy(), internal, config={"ms-003-no-docker-socket": {"allowlist": {"alloy": {
        "justification": WHY}}}}) == {"MS-003"}  # fmt: skip
    rw = socket_proxy(volumes=[{**SOCKET, "readOnly": False}])
    assert rules(rw, internal, config=PROXY_CONFIG) == {"MS-003"}
    published = socket_proxy(ports=[{"internal": 2375, "external": 2375, "ip": "127.0.0.1"}])
    assert rules(published, internal, config=PROXY_CONFIG) == {"MS-003"}
    assert rules(socket_proxy(), network("ms-test-socket", internal=False), config=PROXY_CONFIG) == {"MS-003"}


CLIENTS_CONFIG = {
    "ms-003-no-docker-socket": {"allowlist": {"socket-proxy": {"clients": ["cadvisor", "alloy"], "justification": WHY}}}
}


def _on_socket_network(service: str, **changes: Any) -> Res:
    base: dict[str, Any] = {
        "networkMode": "ms-test-socket",
        "networksAdvanced": [{"name": "ms-test-socket", "aliases": [service]}, {"name": "ms-test-admin"}],
    }
    base.update(changes)
    return container(service, "monitoring", **base)


def test_socket_proxy_network_holds_only_its_declared_clients() -> None:
    internal = network("ms-test-socket", internal=True)
    readers = [_on_socket_network("cadvisor"), _on_socket_network("alloy")]
    assert rules(socket_proxy(), internal, *readers, config=CLIENTS_CONFIG) == set()
    intruder = _on_socket_network("grafana")
    verdict = check(socket_proxy(), internal, *readers, intruder, config=CLIENTS_CONFIG)
    assert verdict.rule_ids() == ["MS-003"]
    assert [v.resource for v in verdict.violations] == ["monitoring-grafana-container"]
    assert "is not one of its clients (alloy, cadvisor)" in verdict.violations[0].message
    # Without a clients list the rule does not judge the network's other members.
    assert rules(socket_proxy(), internal, *readers, intruder, config=PROXY_CONFIG) == set()


def test_sharing_the_socket_proxys_namespace_counts_as_joining_its_network() -> None:
    sidecar = container("sidecar", "monitoring", networkMode="container:ms-test-socket-proxy", networksAdvanced=None)
    verdict = check(socket_proxy(), network("ms-test-socket", internal=True), sidecar, config=CLIENTS_CONFIG)
    assert verdict.rule_ids() == ["MS-003"] and "its own namespace" in verdict.violations[0].message


@pytest.mark.parametrize(
    "mount",
    [
        {"volumes": [SOCKET]},
        {"volumes": [{"hostPath": "/var/run", "containerPath": "/var/run", "readOnly": True}]},
        {"mounts": [{"type": "bind", "source": "/run/docker.sock", "target": "/docker.sock", "readOnly": True}]},
    ],
)
def test_docker_socket_read_only_included_is_refused(mount: dict[str, Any]) -> None:
    assert rules(container("alloy", "monitoring", **mount)) == {"MS-003"}


def test_only_one_container_may_hold_the_socket() -> None:
    config = {"ms-003-no-docker-socket": {"allowlist": {"socket-proxy": {"justification": WHY},
                                                        "other-proxy": {"justification": WHY}}}}  # fmt: skip
    second = container(
        "other-proxy", "monitoring", volumes=[SOCKET], networkMode="ms-test-socket", networksAdvanced=None
    )
    verdict = check(socket_proxy(), second, network("ms-test-socket", internal=True), config=config)
    assert verdict.rule_ids() == ["MS-003"]
    assert any("2 containers mount the Docker socket" in m for m in messages(verdict, "MS-003"))


# ------------------------------------------------------------------ MS-016: secrets in env
def test_secret_env_passes_when_envs_is_a_secret_output_or_a_file() -> None:
    env = ["TZ=Etc/UTC", "POSTGRES_PASSWORD=" + "x" * 40]
    marked = container("postgres", "data", envs=env)
    marked.secret_outputs = ("envs",)
    assert "MS-016" not in rules(marked)
    assert rules(container("postgres", "data", envs=["POSTGRES_PASSWORD_FILE=/run/secrets/pg"])) == set()
    assert rules(container("grafana", envs=["GF_AUTH_GENERIC_OAUTH_TOKEN_URL=https://auth.example.org/token"])) == set()


# ------------------------------------------------------------------ MS-017: docker daemon transport
@pytest.mark.parametrize(
    ("inputs", "ok"),
    [
        ({"host": "ssh://deploy@h.example.org:22", "sshOpts": PINNED_SSH_OPTS}, True),
        ({"host": "ssh://deploy@h.example.org:22", "sshOpts": json.dumps(PINNED_SSH_OPTS)}, True),
        ({"host": "ssh://h:22", "sshOpts": ["-oStrictHostKeyChecking yes", "-oUserKnownHostsFile=/k"]}, True),
        ({"host": "ssh://deploy@h.example.org:22"}, False),
        ({"host": "ssh://deploy@h.example.org:22", "sshOpts": '["-o","StrictHostKeyChecking=yes"]'}, False),
        ({"host": "ssh://h:22", "sshOpts": ["-o", "StrictHostKeyChecking=accept-new", *PINNED_SSH_OPTS]}, False),
        ({"host": "ssh://h:22", "sshOpts": [*PINNED_SSH_OPTS, "-o", "ProxyCommand=nc %h %p"]}, False),
        ({"host": "ssh://h:22", "sshOpts": [*PINNED_SSH_OPTS, "-o", "LocalCommand=id"]}, False),
        ({"host": "ssh://h:22", "sshOpts": [*PINNED_SSH_OPTS, "-o", "PermitLocalCommand=yes"]}, False),
        ({"host": "ssh://h:22", "sshOpts": [*PINNED_SSH_OPTS, "-F", "/tmp/ssh_config"]}, False),
        ({"host": "unix:///var/run/docker.sock"}, True),
        ({"host": "tcp://h.example.org:2376", "caMaterial": "ca", "certMaterial": "cert", "keyMaterial": "key"}, True),
        ({"host": "tcp://h.example.org:2376", "certPath": "/etc/docker/certs"}, True),
        ({"host": "tcp://h.example.org:2375"}, False),
        ({"host": "http://h.example.org:2375"}, False),
        ({}, False),
        ({"host": "ssh://deploy@h.example.org:22", "sshOpts": '["-o","StrictHostKeyChecking=no"]'}, False),
        ({"host": "ssh://deploy@h.example.org:22", "sshOpts": ["-o", "UserKnownHostsFile=/dev/null"]}, False),
    ],
)
def test_docker_provider_transport(inputs: dict[str, Any], ok: bool) -> None:
    found = rules(provider(**inputs) if inputs else Res("pulumi:providers:docker", "default", {}))
    assert found - {"MS-900"} == (set() if ok else {"MS-017"})


# ------------------------------------------------------------------ boundaries: the nearest passing and failing values
BOUNDARIES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("memory 1 MB", {"memory": 1}, set()),
    ("memory negative", {"memory": -1}, {"MS-009"}),
    ("cpu quota only", {"cpus": None, "cpuQuota": 50000}, set()),
    ("cpu quota unlimited", {"cpus": None, "cpuQuota": -1}, {"MS-009"}),
    ("cpu quota 0", {"cpus": None, "cpuQuota": 0}, {"MS-009"}),
    ("cpu quota 1", {"cpus": None, "cpuQuota": 1}, set()),
    ("empty tmpfs", {"tmpfs": {}}, {"MS-008"}),
    ("tmpfs mount", {"tmpfs": None, "mounts": [{"type": "tmpfs", "target": "/tmp"}]}, set()),
    ("on-failure 1 retry", {"restart": "on-failure", "maxRetryCount": 1}, set()),
    ("on-failure 5 retries", {"restart": "on-failure", "maxRetryCount": 5}, set()),
    ("on-failure 0 retries", {"restart": "on-failure", "maxRetryCount": 0}, {"MS-010"}),
    ("on-failure 6 retries", {"restart": "on-failure", "maxRetryCount": 6}, {"MS-010"}),
    ("on-failure unset retries", {"restart": "on-failure", "maxRetryCount": None}, {"MS-010"}),
]


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in BOUNDARIES], ids=[b[0] for b in BOUNDARIES])
def test_limits_at_their_boundaries(change: dict[str, Any], expected: set[str]) -> None:
    assert rules(container(**change)) == expected


def test_numbers_and_justifications_as_the_rules_read_them() -> None:
    from policies.rules.common import JUSTIFICATION_MIN_CHARS, justified, number

    assert (number(" 512 "), number(2), number("lots"), number(True), number(None)) == (512.0, 2.0, None, None, None)
    assert JUSTIFICATION_MIN_CHARS == 20
    assert justified("x" * 20) and not justified("x" * 19) and not justified(" " * 30)
    assert rules(container(memory="lots")) == {"MS-009"}


def test_host_port_messages_name_the_port_and_the_boundary() -> None:
    random_port = check(container(ports=[{"internal": 8989, "ip": "127.0.0.1"}]))
    assert messages(random_port, "MS-012") == [
        "sonarr publishes 8989/tcp on a random host port; fix: do not publish it"
    ]
    assert rules(container(ports=[{"internal": 80, "external": 1024, "ip": "127.0.0.1"}])) == set()
    low = check(container(ports=[{"internal": 80, "external": 1023, "ip": "127.0.0.1"}]))
    assert [m.split(";")[0] for m in messages(low, "MS-012")] == ["sonarr publishes privileged host port 1023/tcp"]
    both = check(container(ports=[{"internal": 1, "ip": "127.0.0.1"}, {"internal": 2, "ip": "127.0.0.1"}]))
    assert len(messages(both, "MS-012")) == 2, "every port is judged, not only the first"


def test_backend_publishing_every_exposed_port_says_so() -> None:
    verdict = check(container("postgres", "data", publishAllPorts=True))
    assert any("publishes every exposed port;" in m for m in messages(verdict, "MS-013")), verdict.violations


def test_only_bind_mounts_are_host_paths() -> None:
    from policies.rules.common import Resource
    from policies.rules.mounts import Bind, binds

    res = container(
        volumes=[{"volumeName": "sonarr-cache", "containerPath": "/cache"}],
        mounts=[
            {"type": "volume", "source": "sonarr-config", "target": "/config"},
            {"type": "tmpfs", "target": "/run"},
            {"type": "bind", "source": "/srv/media/", "target": "/media", "readOnly": True},
        ],
    )
    assert binds(Resource(res.type, res.urn, res.name, res.inputs)) == [Bind("/srv/media", "/media", True)]


def test_the_socket_message_names_the_first_socket_mount() -> None:
    holder = container("alloy", "monitoring", volumes=[SOCKET, {**SOCKET, "hostPath": "/run"}])
    assert messages(check(container(), holder), "MS-003") == [
        "alloy mounts the Docker socket (/var/run/docker.sock), which is root on the host; fix: remove the mount "
        "and talk to a read-only socket proxy, or allowlist this service as that one proxy"
    ]


def _not_internal(networks: str) -> str:
    return (
        f"socket proxy socket-proxy is on a network that is not internal ({networks}); fix: attach it only to an "
        "internal network shared with its clients"
    )


@pytest.mark.parametrize(
    ("mode", "attached", "expected"),
    [
        # with networks_advanced, "bridge" is left right after create: no network the proxy is on
        ("bridge", [{"name": "ms-test-socket"}], []),
        ("ms-test-socket", [{"name": "ms-test-socket"}], []),  # the same network, once
        (None, [{"name": "ms-test-socket"}], []),
        ("container:ms-test-other", [{"name": "ms-test-socket"}], []),  # a namespace, no network
        ("ms-test-socket", None, []),  # network_mode alone
        ("ms-test-public", [{"name": "ms-test-socket"}], [_not_internal("ms-test-public")]),
        (None, None, [_not_internal("bridge")]),  # Docker's default network, as the provider reads it back
        ("container:ms-test-other", None, [_not_internal("none")]),
    ],
)
def test_socket_proxy_networks_are_those_it_joins(
    mode: str | None, attached: list[dict[str, str]] | None, expected: list[str]
) -> None:
    proxy = socket_proxy(networkMode=mode, networksAdvanced=attached)
    internal = network("ms-test-socket", internal=True)
    assert messages(check(proxy, internal, network("ms-test-public"), config=PROXY_CONFIG), "MS-003") == expected


def test_socket_proxy_clients_are_judged_only_on_its_networks() -> None:
    internal = network("ms-test-socket", internal=True)
    bystander = container(
        "grafana", "monitoring", networkMode="ms-test-admin", networksAdvanced=[{"name": "ms-test-admin"}]
    )
    assert messages(check(socket_proxy(), internal, bystander, config=CLIENTS_CONFIG), "MS-003") == []
    intruder = _on_socket_network("grafana")
    assert messages(check(socket_proxy(), internal, intruder, config=CLIENTS_CONFIG), "MS-003") == [
        "grafana shares the socket proxy's network (ms-test-socket) but is not one of its clients (alloy, cadvisor); "
        "fix: take it off that network, or list it in the proxy's allowlist entry (clients) with a reason"
    ]


@pytest.mark.parametrize(
    ("read_only", "rule", "expected"),
    [
        (False, "MS-004", "sonarr binds the host's /etc (/etc) read-write at /host/etc; fix: mount only the data it "
         "needs from a non-system path, and never read-write"),
        (True, "MS-004", "sonarr binds the host's /etc (/etc) read-only at /host/etc; fix: mount only the data it "
         "needs from a non-system path"),
    ],
)  # fmt: skip
def test_system_dir_messages_name_path_root_mode_and_target(read_only: bool, rule: str, expected: str) -> None:
    res = container(volumes=[MEDIA_VOLUME, {"hostPath": "/etc/", "containerPath": "/host/etc", "readOnly": read_only}])
    assert messages(check(res), rule) == [expected]


# ------------------------------------------------------------------ MS-014: references and requireDigests
@pytest.mark.parametrize(
    ("reference", "repository", "tag", "digest"),
    [
        ("lscr.io/linuxserver/sonarr:4.0.16", "lscr.io/linuxserver/sonarr", "4.0.16", None),
        ("registry.example.org:5000/team/app", "registry.example.org:5000/team/app", None, None),
        ("registry.example.org:5000/team/app:1.2", "registry.example.org:5000/team/app", "1.2", None),
        (f"postgres:17.6@{DIGEST}", "postgres", "17.6", DIGEST),
        (f"ghcr.io/immich-app/immich-server@{DIGEST}", "ghcr.io/immich-app/immich-server", None, DIGEST),
        (f" {DIGEST} ", "", None, DIGEST),  # an image ID is its own digest
    ],
)
def test_image_references_split_into_repository_tag_and_digest(
    reference: str, repository: str, tag: str | None, digest: str | None
) -> None:
    from policies.rules.images import ImageRef, parse_image

    assert parse_image(reference) == ImageRef(repository, tag, digest)


def _tag_only(who: str, reference: str) -> list[tuple[str, str, str]]:
    return [
        ("MS-014", "mandatory", f"{who} pulls {reference!r} by tag only and the stack sets policy.requireDigests; "
         "fix: `make pin` (or `make upgrade APP=<app>`) to pin it by digest")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("policy", "mandatory"),
    [
        ({"requireDigests": True}, True),
        ({"requireDigests": False}, False),
        ({"requireDigests": "true"}, False),  # only the boolean the settings model writes
        ({}, False),
        (None, False),
        ("{not json", False),  # an unreadable setting requires nothing more
    ],
)
def test_require_digests_makes_a_tag_only_pull_mandatory(
    engine_config: dict[str, str], policy: Any, mandatory: bool
) -> None:
    if policy is not None:
        engine_config["media-server:policy"] = policy if isinstance(policy, str) else json.dumps(policy)
    reference = "lscr.io/linuxserver/sonarr:4.0.16"
    verdict = check(image(reference))
    found = [(v.rule, v.level, v.message) for v in verdict.violations]
    if mandatory:
        assert found == _tag_only("image media-sonarr-image", reference)
    else:
        assert [(r, level) for r, level, _ in found] == [("MS-014", "advisory")]


def test_require_digests_judges_pulls_not_containers_or_built_images(engine_config: dict[str, str]) -> None:
    engine_config["media-server:policy"] = json.dumps({"requireDigests": True})
    # the container runs the pulled image's digest: the pull is what is judged
    assert check(container(image="lscr.io/linuxserver/sonarr:4.0.16")).violations == []
    built = image("media-server/backup-runner:1.0.0", "backup-runner-image")
    built.inputs["build"] = {"context": "images/backup-runner"}
    assert check(built).violations == []


def test_a_built_image_gets_no_pin_advice() -> None:
    """`make pin` pins pulled images; one built on the host (the backup runner, search) is run by its image ID."""
    built = image("media-server/search:1.0.0", "media-search-image")
    built.inputs["build"] = {"context": "images/search"}
    assert check(built).violations == []
    pulled = image("media-server/search:1.0.0", "media-search-image")
    assert [(v.rule, v.level) for v in check(pulled).violations] == [("MS-014", "advisory")]


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("ADMIN_PASS", True),
        ("DBPASS", True),  # a word ending in PASS
        ("AUTH_BYPASS", False),  # ...but BYPASS is no password
        ("DB_PASSWORD", True),
        ("GITHUB_TOKEN", True),
        ("API_KEY", True),
        ("KEY", True),
        ("HOST_KEY", False),  # a public key: HOST, PUBLIC or PUB before KEY
        ("SSH_PUBLIC_KEYS", False),
        ("KEY_PUB", True),  # a KEY with no word before it is not excused by the last word
        ("HOST_PASSWORD", True),  # HOST excuses a KEY only
        ("SSH_HOST_KEY_PASSPHRASE", True),  # the passphrase of a host key is a secret
        ("OAUTH_TOKEN_URL", False),
        ("AUTHELIA_SESSION_SECRET_FILE", False),
    ],
)
def test_which_env_names_look_secret(name: str, secret: bool) -> None:
    from policies.rules.secrets import looks_secret

    assert looks_secret(name) is secret


_PROVIDER_FIX = (
    "; fix: let the program generate ssh_opts from host.hostKey (StrictHostKeyChecking=yes, UserKnownHostsFile with "
    "the pinned key, no command options)"
)


@pytest.mark.parametrize(
    ("ssh_opts", "problems"),
    [
        (["-4", *PINNED_SSH_OPTS], []),  # an option ssh takes without an argument is passed over
        (
            ["-oStrictHostKeyChecking=yes", "-oUserKnownHostsFile=/k", "-F/tmp/ssh_config"],
            ["reads ssh config file /tmp/ssh_config (-F)"],
        ),
        (
            "-oStrictHostKeyChecking=yes",  # one option as plain text, not a JSON list
            ["names no known_hosts file holding the pinned key (UserKnownHostsFile is unset)"],
        ),
        (
            ["-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=/dev/null /home/deploy/known_hosts"],
            [
                "names no known_hosts file holding the pinned key (UserKnownHostsFile is /dev/null "
                "/home/deploy/known_hosts)"
            ],
        ),
    ],
)
def test_ssh_options_as_ssh_reads_them(ssh_opts: Any, problems: list[str]) -> None:
    verdict = check(provider(host="ssh://deploy@h.example.org:22", sshOpts=ssh_opts))
    assert messages(verdict, "MS-017") == [f"docker provider host-docker {p}{_PROVIDER_FIX}" for p in problems]


@pytest.mark.parametrize(
    ("host", "shown"), [("http://h.example.org:2375", "http://h.example.org:2375"), ("", "unset (DOCKER_HOST decides)")]
)
def test_a_provider_without_a_known_transport_names_its_host(host: str, shown: str) -> None:
    verdict = check(provider(host=host, sshOpts=PINNED_SSH_OPTS))
    assert messages(verdict, "MS-017") == [
        f"docker provider host-docker has host {shown}; fix: set host to ssh://user@host (or unix:// in dev)"
    ]

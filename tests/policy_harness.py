"""Running the policy pack over hand-built resources, the way the offline gate runs it over a program.

Mirrors the AWSGuard tests (pulumi-policy-aws src/tests/util.ts): a golden
resource with the real type token, one property changed per test, the exact
rule ID asserted. Resources go through offline.gate, so props reach the rules
as the engine sends them (numbers as floats, secrets unwrapped, unknowns
behind the unknown-checking proxy) and config is reconciled from the schema
defaults plus what the test passes explicitly.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy.proxy import UNKNOWN_ARRAY_VALUE, UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE

from offline.gate import Verdict, evaluate
from offline.readback import read_back
from offline.recorder import Recorded
from offline.runner import RunResult
from policies.rules.common import CONTAINER, DOCKER_PROVIDER, NETWORK, REMOTE_IMAGE

STACK_URN = "urn:pulumi:test::media-server::pulumi:pulumi:Stack::media-server-test"
DIGEST = "sha256:" + "a" * 64
PROVIDER_URN = "urn:pulumi:test::media-server::pulumi:providers:docker::host-docker"


@dataclass
class Res:
    """A resource to put in a test stack: type token, name and inputs (camelCase, as recorded)."""

    type: str
    name: str
    inputs: dict[str, Any]
    secret_outputs: tuple[str, ...] = ()

    @property
    def urn(self) -> str:
        return f"urn:pulumi:test::media-server::{self.type}::{self.name}"


def labels(service: str, tier: str) -> list[dict[str, str]]:
    return [
        {"label": "media-server.project", "value": "media-server"},
        {"label": "media-server.service", "value": service},
        {"label": "media-server.stack", "value": "test"},
        {"label": "media-server.tier", "value": tier},
    ]


def container(service: str = "sonarr", tier: str = "media", **changes: Any) -> Res:
    """A container as ContainerService builds it: every rule passes, advisories included."""
    inputs: dict[str, Any] = {
        "name": f"ms-test-{service}",
        "image": f"lscr.io/linuxserver/{service}@{DIGEST}",
        "hostname": service,
        "labels": labels(service, tier),
        "capabilities": {"drops": ["ALL"], "adds": []},
        "securityOpts": ["no-new-privileges:true"],
        "readOnly": True,
        "tmpfs": {"/tmp": "rw,noexec,nosuid,size=64m"},
        "memory": 512,
        "cpus": "1",
        "restart": "unless-stopped",
        "logDriver": "json-file",
        "logOpts": {"max-file": "3", "max-size": "10m"},
        "healthcheck": {"tests": ["CMD", "curl", "-fsS", "http://127.0.0.1:8989/ping"], "interval": "30s"},
        "user": "1000:1000",
        "envs": ["TZ=Etc/UTC"],
        "networkMode": "ms-test-proxy",
        "networksAdvanced": [{"name": "ms-test-proxy", "aliases": [service]}],
        "volumes": [{"hostPath": f"/opt/mediaserver/{service}", "containerPath": "/config", "readOnly": False}],
    }
    for key, value in changes.items():
        if value is None:
            inputs.pop(key, None)
        else:
            inputs[key] = value
    return Res(CONTAINER, f"{tier}-{service}-container", inputs)


def image(name: str = f"lscr.io/linuxserver/sonarr:4.0.16@{DIGEST}", resource: str = "media-sonarr-image") -> Res:
    return Res(REMOTE_IMAGE, resource, {"name": name, "keepLocally": True})


PINNED_SSH_OPTS = [
    "-F", "none", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=${HOME}/.media-server/ssh/x/known_hosts"
]  # fmt: skip


def provider(**inputs: Any) -> Res:
    pinned = {"host": "ssh://deploy@media-host.example.org:22", "sshOpts": PINNED_SSH_OPTS}
    return Res(DOCKER_PROVIDER, "host-docker", inputs or pinned)


def network(name: str, internal: bool = False) -> Res:
    return Res(NETWORK, f"networks-{name.rsplit('-', 1)[-1]}", {"name": name, "driver": "bridge", "internal": internal})


_UNKNOWNS = frozenset({UNKNOWN_ARRAY_VALUE, UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE})


def _has_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return isinstance(value, str) and value in _UNKNOWNS


def _outputs(r: Res) -> dict[str, Any]:
    """What stack policies see, as under the engine: the provider's read-back state for a modelled type, else
    (a component such as HostFiles) what it registers, which here is what it is given. While an input is not
    known yet (a preview), its outputs are not either: they stay as given."""
    inputs = copy.deepcopy(r.inputs)
    if _has_unknown(inputs):
        return inputs
    try:
        return read_back(r.type, inputs) or inputs
    except (TypeError, ValueError):
        # A value of the wrong type (memory "lots") fails the provider's schema check, so the engine would hold no
        # state for it; resource policies, which read inputs, still judge it.
        return inputs


def run(resources: Iterable[Res]) -> RunResult:
    recorded = [
        Recorded(
            type=r.type,
            name=r.name,
            urn=r.urn,
            parent=STACK_URN,
            provider=None if r.type.startswith("pulumi:providers:") else PROVIDER_URN,
            custom=True,
            dependencies=[],
            additional_secret_outputs=list(r.secret_outputs),
            inputs=copy.deepcopy(r.inputs),
            # What stack policies see, as under the engine: the provider's read-back state for a modelled type,
            # else (a component such as HostFiles) what it registers, which is what it is given.
            outputs=_outputs(r),
        )
        for r in resources
    ]
    return RunResult(stack="test", resources=recorded)


def check(*resources: Res, config: Mapping[str, Any] | None = None) -> Verdict:
    """Every policy over these resources, with exactly this pack config (schema defaults filled in)."""
    return evaluate(run(resources), config=dict(config or {}))


def rules(*resources: Res, config: Mapping[str, Any] | None = None) -> set[str]:
    """The rule IDs violated (mandatory and advisory)."""
    return set(check(*resources, config=config).rule_ids())


def messages(verdict: Verdict, rule: str) -> list[str]:
    return [v.message for v in verdict.violations if v.rule == rule]

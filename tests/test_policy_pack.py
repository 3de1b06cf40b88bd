"""The pack as the Pulumi engine runs it: `python -m pulumi.policy <engine> policies`, spoken to over gRPC.

The CLI is not installable here, so this test plays the engine's part of the
analyzer protocol: read the port the pack prints, ask for its info (policies,
schemas, initial config), configure it, and analyze one resource.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from offline.gate import reconcile
from offline.runner import ROOT
from policies.rules import POLICIES
from tests.policy_harness import container


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the pack needs nothing of the project
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(ROOT / "policies")],
        cwd=ROOT / "policies",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=60):
            raise AssertionError("the policy pack printed no port within 60 s")
        line = proc.stdout.readline().strip()
        assert line.isdigit(), (line, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_pack_announces_every_policy_and_the_site_exceptions(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "media-server-baseline" and info.supportsConfig
    assert [p.name for p in info.policies] == [p.name for p in POLICIES]
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert levels["ms-001-no-privileged-containers"] == analyzer_pb2.MANDATORY
    assert levels["ms-008-read-only-root"] == analyzer_pb2.ADVISORY
    initial = json_format.MessageToDict(info.initialConfig["ms-012-host-ports"].properties)
    assert sorted(initial["allowlist"]) == ["traefik", "wireguard"]


def _configure(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    """What the engine sends after reconciling: defaults, then the pack's initial config."""
    configs, errors = reconcile(POLICIES, json.loads((ROOT / "policies" / "config.json").read_text()))
    assert errors == []
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, config in configs.items():
        props = struct_pb2.Struct()
        props.update(config.properties)
        level = analyzer_pb2.MANDATORY if config.level.value == "mandatory" else analyzer_pb2.ADVISORY
        request.policyConfig[name].CopyFrom(analyzer_pb2.PolicyConfig(enforcementLevel=level, properties=props))
    analyzer.Configure(request)


def _analyze(analyzer: analyzer_pb2_grpc.AnalyzerStub, inputs: dict[str, object]) -> list[tuple[str, int]]:
    res = container("wireguard", "edge", **inputs)
    props = struct_pb2.Struct()
    props.update(res.inputs)
    request = analyzer_pb2.AnalyzeRequest(type=res.type, properties=props, urn=res.urn, name=res.name)
    return [(d.policyName, d.enforcementLevel) for d in analyzer.Analyze(request).diagnostics]


def test_pack_judges_a_resource_like_the_offline_gate(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    _configure(analyzer)
    assert _analyze(analyzer, {}) == []
    assert _analyze(analyzer, {"privileged": True}) == [("ms-001-no-privileged-containers", analyzer_pb2.MANDATORY)]
    allowlisted = {"ports": [{"internal": 51820, "external": 51820, "protocol": "udp"}]}
    assert _analyze(analyzer, allowlisted) == []
    other_port = {"ports": [{"internal": 51821, "external": 51821, "protocol": "tcp"}]}
    assert _analyze(analyzer, other_port) == [("ms-012-host-ports", analyzer_pb2.MANDATORY)]

"""The offline gate hands stack policies each resource's registered outputs, as the engine does; resource
policies get inputs. A component that forgets to register what a rule reads fails the gate."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.files import HOST_FILES, HostFiles
from config.stack import load_stack_file
from offline.gate import evaluate, stack_props
from offline.runner import ROOT, RunResult, run_program


def test_components_expose_only_what_they_registered(prod: RunResult) -> None:
    for res in prod.resources:
        if res.type == HOST_FILES:
            assert set(res.outputs) == {"uploads", "secretUploads", "labels", "digest"}, res.name
        if res.type == "media-server:networks:BridgeNetworks":
            assert set(stack_props(res)) == {"names"}
        if res.type == "docker:index/container:Container":
            # A custom resource's outputs are its provider's read-back state: cpus as the provider prints it.
            assert res.outputs["cpus"].endswith((".0", ".5", ".25")), res.name


def test_dev_and_prod_pass_the_gate_over_registered_outputs(prod: RunResult, dev: RunResult) -> None:
    for result in (dev, prod):
        verdict = evaluate(result)
        assert verdict.mandatory == [], [v.message for v in verdict.mandatory]


def test_a_component_that_forgets_what_a_rule_reads_fails_the_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """HostFiles registering only its digest (as it once did): Authelia's secrets are then written on the host
    but no stack rule can see them, and MS-022 fails as it would under `pulumi preview --policy-pack`."""

    def digest_only(self: HostFiles, outputs: dict[str, Any]) -> None:
        pulumi.ComponentResource.register_outputs(self, {"digest": outputs["digest"]})

    monkeypatch.setattr(HostFiles, "register_outputs", digest_only)
    result = run_program(load_stack_file(ROOT / "Pulumi.prod.yaml"))
    assert result.ok, result.problems
    files = next(r for r in result.resources if r.type == HOST_FILES and "authelia" in r.name)
    assert set(files.outputs) == {"digest"} and "secretUploads" in files.inputs
    verdict = evaluate(result)
    failed = {(v.rule, v.resource) for v in verdict.mandatory}
    assert ("MS-022", "auth-authelia-container") in failed

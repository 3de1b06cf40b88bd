"""The policy gate, offline: every rule in policies/ run over a recorded program run, the way the engine runs it.

The engine reconciles each policy's config (schema defaults, then the pack's
initial config, then --policy-pack-config), validates it against the schema,
and calls validators with props that have secrets unwrapped, numbers as
floats and unknowns behind `unknown_checking_proxy`. This does the same over
what offline.runner recorded, and adds one check only it can make (MS-900):
under mocks it knows which values are Pulumi secrets, which the engine hides.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from pulumi.runtime import config as runtime_config
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from config.stack import OFFLINE_SECRET_PLACEHOLDER, StackConfig
from offline.recorder import Recorded, Secret
from offline.runner import ROOT, RunResult
from policies.rules import POLICIES, rule_id
from policies.rules.secrets import looks_secret

PACK_CONFIG = ROOT / "policies" / "config.json"
OFFLINE_SECRETS = "MS-900"
MIN_SECRET_CHARS = 8


@dataclass(frozen=True, order=True)
class Violation:
    rule: str
    level: str
    resource: str
    message: str
    policy: str = ""
    urn: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "level": self.level,
            "resource": self.resource,
            "policy": self.policy,
            "urn": self.urn,
            "message": self.message,
        }


@dataclass
class Verdict:
    violations: list[Violation] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)
    """Policies that met a value not known yet (the engine's "can't run during preview")."""
    config_errors: list[str] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == EnforcementLevel.MANDATORY.value]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == EnforcementLevel.ADVISORY.value]

    @property
    def ok(self) -> bool:
        return not self.mandatory and not self.config_errors

    def rule_ids(self, level: EnforcementLevel | None = None) -> list[str]:
        return sorted({v.rule for v in self.violations if level is None or v.level == level.value})

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "mandatory": len(self.mandatory),
            "advisory": len(self.advisory),
            "violations": [v.as_dict() for v in self.violations],
            "notRun": self.not_run,
            "configErrors": self.config_errors,
        }


# ------------------------------------------------------------------ policy config, as the engine reconciles it
@dataclass(frozen=True)
class PolicyConfig:
    level: EnforcementLevel
    properties: dict[str, Any]


def load_pack_config(path: Path = PACK_CONFIG) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _apply(result: dict[str, PolicyConfig], given: Mapping[str, Any]) -> None:
    all_level = given.get("all")
    if isinstance(all_level, str):
        for name, current in result.items():
            result[name] = PolicyConfig(EnforcementLevel(all_level), current.properties)
    for name, value in given.items():
        if name == "all" or name not in result:
            continue
        current = result[name]
        if isinstance(value, str):
            result[name] = PolicyConfig(EnforcementLevel(value), current.properties)
            continue
        props = {k: v for k, v in value.items() if k != "enforcementLevel"}
        level = EnforcementLevel(value["enforcementLevel"]) if "enforcementLevel" in value else current.level
        result[name] = PolicyConfig(level, {**current.properties, **props})


def reconcile(
    policies: Sequence[Policy], *configs: Mapping[str, Any] | None
) -> tuple[dict[str, PolicyConfig], list[str]]:
    """Schema defaults, then each config in order (initial config, then CLI config); schema-validated."""
    result: dict[str, PolicyConfig] = {}
    for policy in policies:
        properties = policy.config_schema.properties if policy.config_schema else {}
        defaults = {k: json.loads(json.dumps(v["default"])) for k, v in properties.items() if "default" in v}
        result[policy.name] = PolicyConfig(policy.enforcement_level or EnforcementLevel.ADVISORY, defaults)
    for given in configs:
        if given:
            _apply(result, given)
    errors = []
    for policy in policies:
        if policy.config_schema is None:
            continue
        schema = {"type": "object", "properties": policy.config_schema.properties}
        for error in jsonschema.Draft7Validator(schema).iter_errors(result[policy.name].properties):
            where = ".".join(str(p) for p in error.absolute_path) or "(root)"
            errors.append(f"{policy.name}: {where}: {error.message}")
    return result, sorted(errors)


# ------------------------------------------------------------------ props as the engine hands them over
def engine_value(value: Any) -> Any:
    """Secrets unwrapped, numbers as floats (the engine's wire form), booleans kept."""
    if isinstance(value, Secret):
        return engine_value(value.value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: engine_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [engine_value(v) for v in value]
    return value


def _options(res: Recorded) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(res.additional_secret_outputs),
        parent=res.parent,
    )


@dataclass
class _Stack:
    recorded: list[Recorded]
    props: Mapping[str, Mapping[str, Any]]
    """Inputs: what resource policies see (the engine's Analyze runs on a resource's inputs)."""
    providers: dict[str, PolicyProviderResource]
    resources: list[PolicyResource]
    """Outputs: what stack policies see."""


def stack_props(res: Recorded) -> dict[str, Any]:
    """What the engine hands a stack policy for a resource: its outputs (pulumi/pulumi v3.259.0
    pkg/resource/deploy/step_generator.go:3439-3463, AnalyzeResources: "AnalyzeStack is called on the final
    outputs of each resource", `Properties: v.Outputs`). For a custom resource that is the provider's read-back
    state (offline.readback); for a component, only what it passed to register_outputs. A provider resource's
    outputs are its inputs."""
    if res.type.startswith("pulumi:providers:"):
        return res.inputs
    return res.outputs


def _stack(result: RunResult) -> _Stack:
    """Every recorded resource once, as policies see it: inputs for resource policies, outputs for stack ones."""
    recorded = list(result.resources)
    props = {r.urn: unknown_checking_proxy(engine_value(r.inputs)) for r in recorded}
    outputs = {r.urn: unknown_checking_proxy(engine_value(stack_props(r))) for r in recorded}
    providers = {
        r.urn: PolicyProviderResource(r.type, outputs[r.urn], r.urn, r.name)
        for r in recorded
        if r.type.startswith("pulumi:providers:")
    }
    resources = {
        r.urn: PolicyResource(
            r.type, outputs[r.urn], r.urn, r.name, _options(r), providers.get(r.provider or ""), None, [], {}
        )
        for r in recorded
    }
    for r in recorded:
        res = resources[r.urn]
        res.parent = resources.get(r.parent or "")
        res.dependencies = [resources[d] for d in r.dependencies if d in resources]
    return _Stack(recorded, props, providers, list(resources.values()))


# ------------------------------------------------------------------ running the pack
@contextmanager
def _stack_config(stack: StackConfig | None) -> Iterator[None]:
    """The stack's config as the engine gives it to policy packs (rules may read site settings)."""
    if stack is None:
        yield
        return
    token = runtime_config.CONFIG.set(dict(stack.values))
    try:
        yield
    finally:
        runtime_config.CONFIG.reset(token)


def evaluate(
    result: RunResult,
    config: Mapping[str, Any] | None = None,
    stack: StackConfig | None = None,
    policies: Sequence[Policy] = POLICIES,
) -> Verdict:
    """Every policy over the run. `config` is the pack config (default: policies/config.json)."""
    configs, errors = reconcile(policies, load_pack_config() if config is None else config)
    verdict = Verdict(config_errors=errors)
    if errors:
        return verdict
    view = _stack(result)
    names = {r.urn: r.name for r in view.recorded}
    with _stack_config(stack):
        for policy in policies:
            settings = configs[policy.name]
            if settings.level == EnforcementLevel.DISABLED:
                continue
            level = EnforcementLevel.MANDATORY if settings.level == EnforcementLevel.REMEDIATE else settings.level
            found, unknown = _run_policy(policy, view, settings.properties)
            if unknown:
                verdict.not_run.append(f"{policy.name}: {unknown}")
            verdict.violations.extend(
                Violation(rule_id(policy.name), level.value, names.get(urn, "stack"), message, policy.name, urn)
                for message, urn in found
            )
    verdict.violations.extend(unmarked_secrets(result, stack))
    verdict.violations.sort()
    return verdict


def _run_policy(policy: Policy, view: _Stack, config: dict[str, Any]) -> tuple[list[tuple[str, str]], str | None]:
    """(message, urn) of each violation, and the unknown value that stopped the policy, if one did."""
    found: list[tuple[str, str]] = []

    def reporter(urn: str) -> ReportViolation:
        def report(message: str, reported: str | None = None) -> None:
            found.append((message, reported or urn))

        return report

    try:
        if isinstance(policy, ResourceValidationPolicy):
            for res in view.recorded:
                provider = view.providers.get(res.provider or "")
                args = ResourceValidationArgs(
                    res.type, view.props[res.urn], res.urn, res.name, _options(res), provider, config
                )
                # The engine ties a resource policy's violations to the resource validated.
                policy.validate(args, reporter(res.urn))
        elif isinstance(policy, StackValidationPolicy):
            policy.validate(StackValidationArgs(view.resources, config), reporter(""))
    except UnknownValueError as exc:
        return found, exc.message
    return found, None


# ------------------------------------------------------------------ MS-900: secrets that reached an input unmarked
def _secret_leaves(value: Any, inside: bool = False) -> Iterator[str]:
    if isinstance(value, Secret):
        yield from _secret_leaves(value.value, True)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _secret_leaves(v, inside)
    elif isinstance(value, list):
        for v in value:
            yield from _secret_leaves(v, inside)
    elif inside and isinstance(value, str):
        yield value


def known_secrets(result: RunResult, stack: StackConfig | None = None) -> set[str]:
    """Values that are Pulumi secrets at their source: computed secret outputs (generated passwords and
    keys) and secret config. Inputs that merely became secret by sharing a list with one are not sources."""
    values = {OFFLINE_SECRET_PLACEHOLDER}
    if stack is not None:
        values |= {stack.values[k] for k in stack.secret_keys if k in stack.values}
    for res in result.resources:
        for key, value in res.outputs.items():
            if key not in res.inputs:
                values.update(_secret_leaves(value))
    return {v for v in values if len(v) >= MIN_SECRET_CHARS}


def _plain_leaves(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every value outside Secret markers."""
    if isinstance(value, Secret):
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str):
                yield f"{path}.{k}", k, v
            yield from _plain_leaves(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, str):
                yield f"{path}[{i}]", "", v
            yield from _plain_leaves(v, f"{path}[{i}]")


def unmarked_secrets(result: RunResult, stack: StackConfig | None = None) -> list[Violation]:
    secrets = known_secrets(result, stack)
    out = []
    for res in result.resources:
        problems: set[str] = set()
        for path, key, value in _plain_leaves(res.inputs, "inputs"):
            if not isinstance(value, str) or not value:
                continue
            if any(s in value for s in secrets):
                problems.add(f"{path} holds a Pulumi secret's value in plain text")
                continue
            name, sep, rest = value.partition("=")
            if sep and rest and ".envs[" in path and looks_secret(name):
                problems.add(f"{path} sets {name} in plain text")
            elif key and looks_secret(key):
                problems.add(f"{path} ({key}) is set in plain text")
            elif key == "value" and looks_secret(_sibling_label(res.inputs, path)):
                problems.add(f"{path} (label {_sibling_label(res.inputs, path)}) is set in plain text")
        for problem in sorted(problems):
            out.append(
                Violation(
                    rule=OFFLINE_SECRETS,
                    level=EnforcementLevel.MANDATORY.value,
                    resource=res.name,
                    message=f"{problem}; fix: make it a Pulumi secret (pulumi-random, config --secret, "
                    f"Output.secret) end to end, and never put it in a label or a plain file",
                    policy="ms-900-offline-unmarked-secret",
                    urn=res.urn,
                )
            )
    return out


def _sibling_label(inputs: dict[str, Any], path: str) -> str:
    """For labels[i].value: the label's name."""
    head = path.rsplit(".", 1)[0].removeprefix("inputs.")
    node: Any = inputs
    for part in head.replace("]", "").replace("[", ".").split("."):
        if isinstance(node, list) and part.isdigit():
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
    return str(node.get("label", "")) if isinstance(node, dict) else ""

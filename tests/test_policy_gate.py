"""The pack's shape, the offline gate, the stacks' verdicts, and the insecure fixture stack."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationArgs
from pulumi_policy.proxy import UNKNOWN_ARRAY_VALUE, UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE, UnknownValueError

from config.catalog import CATALOG
from config.stack import load_stack_file
from offline.check import main as check_main
from offline.gate import (
    OFFLINE_SECRETS,
    _options,
    engine_value,
    evaluate,
    load_pack_config,
    reconcile,
    unmarked_secrets,
)
from offline.recorder import Recorded, Secret
from offline.runner import ROOT, RunResult, run_program
from policies.rules import POLICIES, authelia, cloudflare, rule_id
from policies.rules.common import justified
from tests import policy_fixtures as fx
from tests.conftest import containers, make_check, minimal_config
from tests.policy_harness import Res, check, container, image, provider, run
from tests.test_policy_containers import MUTATIONS

M, A = "mandatory", "advisory"
BASELINE = {  # the table: rule -> levels
    "MS-001": {M}, "MS-002": {M, A}, "MS-003": {M}, "MS-004": {M, A}, "MS-005": {M}, "MS-006": {M}, "MS-007": {M},
    "MS-008": {A}, "MS-009": {M, A}, "MS-010": {M}, "MS-011": {M, A}, "MS-012": {M}, "MS-013": {M},
    "MS-014": {M, A}, "MS-015": {A}, "MS-016": {M}, "MS-017": {M}, "MS-018": {M}, "MS-019": {M, A}, "MS-020": {M},
    "MS-021": {M, A}, "MS-022": {M}, "MS-023": {M}, "MS-024": {A}, "MS-025": {M}, "MS-026": {A}, "MS-027": {M},
    "MS-028": {A}, "MS-029": {M}, "MS-030": {M}, "MS-031": {M}, "MS-032": {M},
}  # fmt: skip
INSECURE = ROOT / "tests" / "fixtures" / "insecure" / "Pulumi.insecure.yaml"


# ------------------------------------------------------------------ the pack
def test_every_rule_of_the_baseline_at_its_level() -> None:
    levels: dict[str, set[str]] = {}
    for policy in POLICIES:
        assert policy.enforcement_level is not None
        levels.setdefault(rule_id(policy.name), set()).add(policy.enforcement_level.value)
    assert levels == BASELINE


def test_policies_are_named_described_and_explain_the_fix() -> None:
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names))
    for policy in POLICIES:
        assert re.fullmatch(r"ms-\d{3}(-[a-z0-9]+)+", policy.name), policy.name
        assert policy.description.endswith(").") or policy.description.endswith("."), policy.name
        assert policy.remediation_steps, policy.name
    assert "pids-limit" in next(p for p in POLICIES if p.name == "ms-009-memory-limit").description


def test_pack_main_only_builds_the_pack_and_nothing_imports_it() -> None:
    main = (ROOT / "policies" / "__main__.py").read_text()
    assert main.count("PolicyPack(") == 1
    for path in [*ROOT.glob("*.py"), *ROOT.glob("[!.]*/**/*.py")]:
        if path.name == "__main__.py" and path.parent.name == "policies":
            continue
        imports_main = r"(?m)^\s*(from\s+policies(\.__main__)?\s+import\s+(__main__|\*)|import\s+policies\.__main__)"
        assert not re.search(imports_main, path.read_text()), path


def test_pack_config_is_valid_justified_and_disables_nothing() -> None:
    config = load_pack_config()
    _, errors = reconcile(POLICIES, config)
    assert errors == []
    names = {p.name for p in POLICIES}
    for policy, settings in config.items():
        assert policy in names, policy
        assert isinstance(settings, dict) and "enforcementLevel" not in settings, f"{policy}: never change levels"
        for service, entry in settings.get("allowlist", {}).items():
            assert service in CATALOG, service
            assert justified(entry.get("justification")), (policy, service)


def test_catalog_facts_in_the_pack_match_the_catalog() -> None:
    assert sorted(authelia.ADMIN_SERVICES) == sorted(n for n, s in CATALOG.items() if s.admin)
    assert sorted(cloudflare.MEDIA_SERVICES) == sorted(n for n, s in CATALOG.items() if s.streams_media)


# ------------------------------------------------------------------ config, as the engine reconciles it
def test_schema_defaults_are_filled_and_explicit_config_wins() -> None:
    configs, errors = reconcile(POLICIES, {})
    assert errors == []
    assert len(configs["ms-020-traefik-forwarded-headers"].properties["trustedRanges"]) == 22
    configs, _ = reconcile(POLICIES, {"ms-020-traefik-forwarded-headers": {"trustedRanges": ["198.51.100.0/24"]}})
    assert configs["ms-020-traefik-forwarded-headers"].properties["trustedRanges"] == ["198.51.100.0/24"]
    configs, _ = reconcile(POLICIES, {"all": "advisory"}, {"ms-001-no-privileged-containers": "mandatory"})
    assert configs["ms-001-no-privileged-containers"].level is EnforcementLevel.MANDATORY
    assert configs["ms-007-no-new-privileges-confined"].level is EnforcementLevel.ADVISORY


def test_config_that_breaks_a_schema_fails_the_gate() -> None:
    bad = {"ms-012-host-ports": {"allowlist": {"traefik": {"port": ["80/tcp"], "justification": "x" * 30}}}}
    verdict = check(container(), config=bad)
    assert not verdict.ok
    assert verdict.config_errors and "ms-012-host-ports: allowlist.traefik" in verdict.config_errors[0]


def test_props_reach_rules_as_the_engine_sends_them() -> None:
    assert engine_value({"memory": 512, "readOnly": True, "envs": Secret(["A=b"])}) == {
        "memory": 512.0,
        "readOnly": True,
        "envs": ["A=b"],
    }


# ------------------------------------------------------------------ unknown values
UNKNOWN = {"bool": UNKNOWN_BOOLEAN_VALUE, "list": UNKNOWN_ARRAY_VALUE, "other": UNKNOWN_STRING_VALUE}


def _unknown(value: Any) -> str:
    if isinstance(value, bool):
        return UNKNOWN["bool"]
    return UNKNOWN["list"] if isinstance(value, list) else UNKNOWN["other"]


@pytest.mark.parametrize(("change", "rule"), [(c, r) for _, c, r in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_unknown_values_neither_crash_nor_pass(change: dict[str, Any], rule: str) -> None:
    """The violating values, not yet computed: the rule cannot run (like the engine's preview), it does not pass."""
    unknown = {key: _unknown(value) for key, value in change.items()}
    verdict = check(container(**unknown))
    assert rule not in verdict.rule_ids(EnforcementLevel.MANDATORY)
    assert any(rule_id(note.split(":", 1)[0]) == rule for note in verdict.not_run), verdict.not_run


def _with_unknown(res: Res, key: str, sentinel: str = UNKNOWN_STRING_VALUE) -> Res:
    res.inputs[key] = sentinel
    return res


def _socket_holder() -> Res:
    return container("alloy", "monitoring", volumes=[{"hostPath": "/var/run/docker.sock", "containerPath": "/s"}])


# Every rule, with the value it judges not known yet (the insecure value it would have had, were it known).
UNKNOWN_CASES: list[tuple[str, list[Res]]] = [
    ("MS-003", [_with_unknown(_socket_holder(), "volumes", UNKNOWN_ARRAY_VALUE)]),
    ("MS-013", [_with_unknown(container("postgres", "data"), "ports", UNKNOWN_ARRAY_VALUE)]),
    ("MS-014", [_with_unknown(image(), "name")]),
    ("MS-017", [_with_unknown(provider(), "host")]),
    *(
        (rule, [_with_unknown(fx.traefik(), "uploads", UNKNOWN_ARRAY_VALUE), fx.authelia(), *fx.cloudflare()])
        for rule in ("MS-018", "MS-019", "MS-020", "MS-021", "MS-029", "MS-030", "MS-031")
    ),
    # The bouncer's env holds its generated API key: unknown at the first preview.
    ("MS-020", [fx.traefik(), _with_unknown(fx.bouncer(), "envs", UNKNOWN_ARRAY_VALUE), fx.proxy_network()]),
    *(
        (rule, [fx.traefik(), _with_unknown(fx.authelia(), "uploads", UNKNOWN_ARRAY_VALUE), *fx.cloudflare()])
        for rule in ("MS-022", "MS-023", "MS-024")
    ),
    *(
        (rule, [*fx.edge(), _with_unknown(fx.dns("jellyfin", True), "proxied", UNKNOWN_BOOLEAN_VALUE)])
        for rule in ("MS-025", "MS-026", "MS-027")
    ),
    ("MS-028", [*fx.edge(), _with_unknown(fx.bot_management(True), "fightMode", UNKNOWN_BOOLEAN_VALUE)]),
    ("MS-032", [_with_unknown(container(), "envs", UNKNOWN_ARRAY_VALUE)]),
]


def test_unknown_cases_cover_every_rule() -> None:
    covered = {rule for _, _, rule in MUTATIONS} | {rule for rule, _ in UNKNOWN_CASES}
    assert covered == set(BASELINE)


@pytest.mark.parametrize(
    ("rule", "resources"), UNKNOWN_CASES, ids=[f"{r}-{i}" for i, (r, _) in enumerate(UNKNOWN_CASES)]
)
def test_unknown_values_stop_the_rule_instead_of_passing(rule: str, resources: list[Res]) -> None:
    verdict = check(*resources)
    assert rule in {rule_id(note.split(":", 1)[0]) for note in verdict.not_run}, verdict.not_run
    assert rule not in verdict.rule_ids()


def test_unknown_upload_contents_of_other_services_do_not_stop_edge_rules() -> None:
    """At preview a config rendered from generated secrets is unknown; only its own rules wait for it."""
    grafana = container("grafana", uploads=[{"file": "/etc/grafana/grafana.ini", "content": UNKNOWN_STRING_VALUE}])
    verdict = check(*fx.edge(), grafana)
    assert verdict.not_run == [] and verdict.violations == []


def test_validators_raise_on_unknown_like_under_the_engine() -> None:
    from pulumi_policy.proxy import unknown_checking_proxy

    privileged = container(privileged=UNKNOWN_BOOLEAN_VALUE)
    recorded = run([privileged]).resources[0]
    args = ResourceValidationArgs(
        privileged.type, unknown_checking_proxy(engine_value(privileged.inputs)), privileged.urn, privileged.name,
        _options(recorded), None, {},
    )  # fmt: skip
    with pytest.raises(UnknownValueError):
        POLICIES[0].validate(args, lambda message, urn=None: None)


# ------------------------------------------------------------------ MS-900: secrets the engine cannot see
def _recorded(type_: str, name: str, inputs: dict[str, Any], outputs: dict[str, Any] | None = None) -> Recorded:
    return Recorded(
        type=type_, name=name, urn=f"urn:pulumi:test::media-server::{type_}::{name}", parent=None, provider=None,
        custom=True, dependencies=[], additional_secret_outputs=[], inputs=inputs, outputs=outputs or {},
    )  # fmt: skip


def test_generated_secret_in_a_plain_input_fails_offline() -> None:
    password = "a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6"
    generator = _recorded(
        "random:index/randomPassword:RandomPassword", "secrets-app", {"length": 32}, {"result": Secret(password)}
    )
    leaky = container(labels=[{"label": "media-server.service", "value": "sonarr"}, {"label": "k", "value": password}])
    marked = container("radarr", envs=Secret(["TZ=Etc/UTC", f"RADARR_PASSWORD={password}"]))
    found = unmarked_secrets(RunResult("test", [generator, *run([leaky, marked]).resources]))
    assert [(v.rule, v.resource) for v in found] == [(OFFLINE_SECRETS, "media-sonarr-container")]
    assert password not in found[0].message


def test_secret_looking_plain_inputs_fail_offline() -> None:
    found = unmarked_secrets(run([container(envs=["TZ=Etc/UTC", "API_TOKEN=plain-value-123"])]))
    assert [v.rule for v in found] == [OFFLINE_SECRETS] and "API_TOKEN" in found[0].message
    label = container(labels=[{"label": "media-server.service", "value": "x"}, {"label": "db.password", "value": "v"}])
    assert [v.rule for v in unmarked_secrets(run([label]))] == [OFFLINE_SECRETS]
    host_key = _recorded("command:remote:Command", "host-prepare", {"connection": {"hostKey": "ssh-ed25519 AAAA"}})
    assert unmarked_secrets(RunResult("test", [host_key])) == []


def test_secret_in_service_env_override_is_refused_before_anything_registers(run_site) -> None:  # type: ignore[no-untyped-def]
    """services.<name>.env is documented as never secrets: a secret-looking name is refused by the settings, so
    neither MS-016 nor MS-900 ever has to catch it."""
    result = run_site(minimal_config(services={"sonarr": {"env": {"SONARR__AUTH__APIKEY": "0123456789abcdef"}}}))
    assert result.resources == []
    assert [p.key for p in result.problems] == ["media-server:services.sonarr.env.SONARR__AUTH__APIKEY"]


# ------------------------------------------------------------------ the stacks
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stacks_have_no_mandatory_violation(stack: str, request: pytest.FixtureRequest) -> None:
    result: RunResult = request.getfixturevalue(stack)
    verdict = evaluate(result, stack=load_stack_file(ROOT / f"Pulumi.{stack}.yaml"))
    assert verdict.config_errors == [] and verdict.not_run == []
    assert verdict.mandatory == [], [(v.rule, v.resource, v.message) for v in verdict.mandatory]


def test_every_prod_exception_is_load_bearing(prod: RunResult) -> None:
    """No stale exception: each entry (and each capability, device, port or client it lists) for a service prod
    deploys is what keeps a violation away; entries for services prod leaves off (readarr) stay for sites that
    turn them on."""
    stack = load_stack_file(ROOT / "Pulumi.prod.yaml")
    config = load_pack_config()
    baseline = len(evaluate(prod, config=config, stack=stack).violations)
    deployed = set(containers(prod))
    for policy, settings in config.items():
        for service, entry in settings.get("allowlist", {}).items():
            if service not in deployed:
                assert not CATALOG[service].enabled_by_default, (policy, service)
                continue
            trimmed = copy.deepcopy(config)
            del trimmed[policy]["allowlist"][service]
            assert len(evaluate(prod, config=trimmed, stack=stack).violations) > baseline, (policy, service)
            for field, values in entry.items():
                for value in values if isinstance(values, list) else []:
                    trimmed = copy.deepcopy(config)
                    trimmed[policy]["allowlist"][service][field].remove(value)
                    found = len(evaluate(prod, config=trimmed, stack=stack).violations)
                    assert found > baseline, (policy, service, field, value)


def test_secret_env_is_an_additional_secret_output(prod: RunResult) -> None:
    found = containers(prod)
    assert "envs" in found["postgres"].additional_secret_outputs
    assert "envs" not in found["sonarr"].additional_secret_outputs


def _check(*args: str) -> tuple[int, str]:
    """`make check` in this process (the CLI is also run as a subprocess in test_check_cli.py)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = check_main(list(args))
    return code, out.getvalue()


def test_insecure_fixture_stack_fails_with_exactly_its_rule_ids() -> None:
    code, output = _check("--stack-file", str(INSECURE.relative_to(ROOT)), "--json")
    assert code == 1
    doc = json.loads(output)
    assert doc["ok"] is False and doc["problems"] == []
    mandatory = sorted({v["rule"] for v in doc["policy"]["violations"] if v["level"] == "mandatory"})
    assert mandatory == ["MS-001", "MS-013", "MS-014", "MS-021", "MS-027", "MS-031"]
    for violation in doc["policy"]["violations"]:
        assert {"rule", "level", "resource", "message"} <= set(violation)


def test_insecure_fixture_summary_prints_each_violation_and_the_verdict() -> None:
    """As the issue says it: `make check STACK_FILE=...` (setup is taken as done: the suite runs inside it)."""
    made = make_check(INSECURE.relative_to(ROOT))
    code, output = made.returncode, made.stdout
    assert code != 0, made.stderr
    assert "Policy violations" in output
    verdict = output.strip().splitlines()[-1]
    # Four of the nine: MS-031 once per Jellyfin router (app, two bypass paths, login).
    assert verdict.startswith("policy: FAIL: 9 mandatory (MS-001, MS-013, MS-014, MS-021, MS-027, MS-031)")
    assert re.search(r"MS-001 mandatory media-sonarr-container: sonarr runs privileged", output)


def test_fixture_stack_file_is_valid_settings() -> None:
    """The faults come from the fixture program; the stack file itself passes settings validation."""
    stack = load_stack_file(INSECURE, INSECURE.with_name("Pulumi.yaml"))
    result = run_program(stack)
    assert result.ok, result.problems


def test_prod_check_prints_a_passing_verdict_and_json_carries_the_violations() -> None:
    code, summary = _check("--stack", "prod")
    assert code == 0, summary[-2000:]
    assert summary.strip().splitlines()[-1].startswith("policy: PASS: 0 mandatory (none)")
    doc = json.loads(_check("--stack", "prod", "--json")[1])
    assert doc["ok"] is True and doc["policy"]["ok"] is True and doc["policy"]["mandatory"] == 0
    assert all(v["level"] == "advisory" for v in doc["policy"]["violations"])

"""The README's counts and lists, checked against the program so they cannot go stale (issue 14)."""

from __future__ import annotations

import re

from config.layout import host_path
from offline.gate import OFFLINE_SECRETS
from offline.recorder import Secret
from offline.runner import ROOT, RunResult
from policies.rules import POLICIES, rule_id
from render.authelia import NOTIFICATIONS_PATH
from render.grafana import grafana_env
from tests.monitoring_support import site, stack_settings

README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end]


def test_resource_count_is_prods(prod: RunResult) -> None:
    (claimed,) = re.findall(r"Prod\s+registers (\d+) resources", _section("Performance"))
    assert int(claimed) == len(prod.resources)


def test_secret_outputs_listed_are_prods(prod: RunResult) -> None:
    bullet = re.search(r"- \*\*Secret outputs\.\*\*(.*?)\n- \*\*", _section("Security model"), re.DOTALL)
    assert bullet is not None
    listed = set(re.findall(r"`([A-Za-z]+)`", bullet[1].split("Every other generated")[0])) - {"pulumi"}
    secret = {name for name, value in prod.exports.items() if isinstance(value, Secret)}
    assert listed == secret


def test_rule_table_lists_every_rule_of_the_pack() -> None:
    table = set(re.findall(r"^\| (MS-\d{3}) \|", README, re.MULTILINE))
    assert table == {rule_id(p.name) for p in POLICIES} | {OFFLINE_SECRETS}  # MS-900: the offline gate's own


def test_grafana_admins_follow_the_auth_backends_group() -> None:
    """With LLDAP the admins are `lldap_admin`; a Grafana role mapping on `admins` would make nobody admin."""
    for backend, group in (("file", "admins"), ("ldap", "lldap_admin")):
        env = grafana_env(site(edge={"auth": {"backend": backend}}), oidc=True)
        assert env["GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH"] == (
            f"contains(groups[*], '{group}') && 'Admin' || 'Viewer'"
        )
    chosen = grafana_env(site(edge={"auth": {"backend": "ldap"}}, monitoring={"grafanaAdminGroup": "ops"}), oidc=True)
    assert "'ops'" in chosen["GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH"]


def test_every_stack_output_command_names_a_real_export(prod: RunResult) -> None:
    """The walkthrough's and the plan's `pulumi stack output` commands read outputs prod really exports."""
    named = re.findall(r"pulumi stack output(?: --stack \S+)?(?: --show-secrets)?\s+([A-Za-z]+)", README)
    assert {"autheliaUsers", "urls", "grafanaAdminPassword", "oidcClientSecrets"} <= set(named)
    assert set(named) <= set(prod.exports)
    walkthrough = _section("First login, from `make up` to a working site")
    assert "/opt/mediaserver/authelia/notification.txt" in walkthrough
    settings = stack_settings("prod")
    authelia = settings.service("authelia")
    config = next(m for m in authelia.mounts if m.target == "/config")
    assert NOTIFICATIONS_PATH == "/config/notification.txt"
    assert f"{host_path(settings, authelia, config)}/notification.txt" == "/opt/mediaserver/authelia/notification.txt"

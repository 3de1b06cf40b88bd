"""The real amtool (Debian `prometheus-alertmanager`) checks alertmanager.yml and its routing.

A critical alert reaches the pager receiver (the channels of
alerts.routes.critical) and a warning does not.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.settings import Settings
from render.alertmanager import RECEIVER, render_alertmanager_config, secret_files
from render.serialise import to_yaml
from tests.monitoring_support import site, stack_settings

pytestmark = pytest.mark.realtool

SECRETS = {
    "alertSmtpPassword": "smtp-password",
    "alertWebhookUrl": "https://discord.com/api/webhooks/123/abc",
    "alertTelegramBotToken": "123456:ABCDEF",
}
EMAIL = {"to": ["ops@example.org"], "sender": "alerts@example.org", "smarthost": "smtp.example.org:587"}
SITES = {
    "prod": lambda: stack_settings("prod"),
    "no-receivers": site,
    "slack-and-email": lambda: site(
        alerts={
            "email": {**EMAIL, "username": "alerts@example.org", "requireTls": True},
            "webhook": {"kind": "slack", "channel": "#alerts"},
            "routes": {"critical": ["webhook", "email"], "warning": ["email"], "info": ["webhook"]},
        }
    ),
    "ntfy-only": lambda: site(alerts={"webhook": {"kind": "ntfy"}, "repeatCritical": "30m"}),
}


def _amtool() -> str:
    found = shutil.which("amtool")
    assert found, "amtool is missing: run `make setup-system` (Debian package prometheus-alertmanager)"
    return found


# Fields Alertmanager reads credentials from. Debian 12's amtool is 0.25.0, which knows only the first two
# (config/notifiers.go at v0.25.0); the others came in v0.26.0 (url_file, bot_token_file) and v0.27.0
# (webhook_url_file), and the pinned image (v0.28.1) has all five. For that amtool the newer ones are
# given back inline, with the value the file would hold.
KNOWN_TO_DEBIAN_AMTOOL = {"auth_password_file", "api_url_file"}
INLINE = {"url_file": "url", "bot_token_file": "bot_token", "webhook_url_file": "webhook_url"}


def _write(settings: Settings, tmp_path: Path) -> Path:
    """alertmanager.yml, with its credential files where it names them (under tmp_path, as the host would)."""
    values = {}
    for key, container_path in secret_files(settings).items():
        target = tmp_path / container_path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(SECRETS[key])
        values[container_path] = SECRETS[key]
    path = tmp_path / "alertmanager.yml"
    path.write_text(to_yaml(_for_amtool(render_alertmanager_config(settings), tmp_path, values)))
    return path


def _for_amtool(document: Any, root: Path, values: dict[str, str]) -> Any:
    """The document with every `*_file` path moved under root, or inlined where Debian's amtool lacks the field."""
    if isinstance(document, list):
        return [_for_amtool(item, root, values) for item in document]
    if not isinstance(document, dict):
        return document
    out = {}
    for key, value in document.items():
        if key in KNOWN_TO_DEBIAN_AMTOOL:
            out[key] = f"{root}{value}"
        elif key in INLINE:
            out[INLINE[key]] = values[value]
        else:
            assert not key.endswith("_file"), key
            out[key] = _for_amtool(value, root, values)
    return out


def _routes(config: Path, *labels: str) -> str:
    result = subprocess.run(
        [_amtool(), "config", "routes", "test", f"--config.file={config}", *labels],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("name", sorted(SITES))
def test_amtool_check_config(name: str, tmp_path: Path) -> None:
    config = _write(SITES[name](), tmp_path)
    result = subprocess.run(
        [_amtool(), "check-config", str(config)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "4 receivers" not in result.stdout  # pager, notify, digest: exactly three
    assert " - 3 receivers" in result.stdout
    assert " - 2 inhibit rules" in result.stdout


@pytest.mark.parametrize("name", sorted(SITES))
def test_critical_reaches_the_pager_and_a_warning_does_not(name: str, tmp_path: Path) -> None:
    config = _write(SITES[name](), tmp_path)
    pager = RECEIVER[next(iter(RECEIVER))]
    critical = _routes(config, "alertname=TargetDown", "severity=critical", "service=jellyfin", "host=media-host")
    assert critical == pager
    warning = _routes(config, "alertname=DiskAlmostFull", "severity=warning", "host=media-host")
    assert pager not in warning.split(",")
    assert warning == "notify"
    assert _routes(config, "alertname=Unlabelled") == "notify"  # no severity: the default receiver
    # amtool's own verification: it exits non-zero when the receivers differ.
    verify = subprocess.run(
        [_amtool(), "config", "routes", "test", f"--config.file={config}", "--verify.receivers=pager",
         "severity=warning", "alertname=X"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert verify.returncode != 0


def test_prod_pager_uses_every_configured_channel(tmp_path: Path) -> None:
    config = yaml.safe_load(_write(stack_settings("prod"), tmp_path).read_text())
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    assert set(receivers["pager"]) == {"name", "telegram_configs", "discord_configs", "email_configs"}
    assert set(receivers["notify"]) == {"name", "email_configs", "discord_configs"}
    assert set(receivers["digest"]) == {"name"}
    assert receivers["pager"]["telegram_configs"][0]["chat_id"] == -1001234567890
    host_down = config["inhibit_rules"][0]
    assert host_down["source_matchers"] == ['alertname="HostDown"'] and host_down["equal"] == ["host"]

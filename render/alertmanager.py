"""alertmanager.yml: receivers per severity, grouping and inhibition.

Routing by severity: critical alerts go to the `pager` receiver (every
channel in alerts.routes.critical, re-sent hourly), warnings to `notify`,
info to `digest`; anything without a known severity falls back to `notify`.
Inhibition: a HostDown silences every other alert of that host, and a
critical alert silences the warning of the same name and target.

Receiver credentials are never in alertmanager.yml: each is a file of its own
under /etc/alertmanager/secrets, named by the receiver's `*_file` field
(auth_password_file, webhook_url_file, api_url_file, url_file,
bot_token_file; all in config/notifiers.go at v0.28.1). So the configuration
stays a plain input that a preview's diff shows.
"""

from __future__ import annotations

from typing import Any

from config.settings import SECRET_FOR_CHANNEL, AlertChannel, Settings, Severity

RECEIVER = {Severity.CRITICAL: "pager", Severity.WARNING: "notify", Severity.INFO: "digest"}
CONFIG_PATH = "/etc/alertmanager/alertmanager.yml"
SECRETS_DIR = "/etc/alertmanager/secrets"


def secret_path(key: str) -> str:
    """Where the secret config value `key` (alertSmtpPassword, ...) is written for Alertmanager to read."""
    return f"{SECRETS_DIR}/{key}"


def secret_files(settings: Settings) -> dict[str, str]:
    """Secret config key -> container path, for every credential this site's receivers read."""
    return {key: secret_path(key) for key in sorted(settings.alerts.required_secrets())}


GROUP_BY = ["alertname", "host", "service"]


def _email(settings: Settings) -> dict[str, Any]:
    email = settings.alerts.email
    assert email is not None
    config: dict[str, Any] = {
        "to": ", ".join(email.to),
        "from": email.sender,
        "smarthost": email.smarthost,
        "require_tls": email.require_tls,
        "send_resolved": True,
    }
    if email.username:
        config["auth_username"] = email.username
        config["auth_password_file"] = secret_path(SECRET_FOR_CHANNEL[AlertChannel.EMAIL])
    return config


def _webhook(settings: Settings) -> tuple[str, dict[str, Any]]:
    webhook = settings.alerts.webhook
    assert webhook is not None
    url_file = secret_path(SECRET_FOR_CHANNEL[AlertChannel.WEBHOOK])
    if webhook.kind == "discord":
        return "discord_configs", {"webhook_url_file": url_file, "send_resolved": True}
    if webhook.kind == "slack":
        slack: dict[str, Any] = {"api_url_file": url_file, "send_resolved": True}
        if webhook.channel:
            slack["channel"] = webhook.channel
        return "slack_configs", slack
    return "webhook_configs", {"url_file": url_file, "send_resolved": True, "max_alerts": 20}


def _telegram(settings: Settings) -> dict[str, Any]:
    telegram = settings.alerts.telegram
    assert telegram is not None
    return {
        "bot_token_file": secret_path(SECRET_FOR_CHANNEL[AlertChannel.TELEGRAM]),
        "chat_id": telegram.chat_id,
        "parse_mode": "HTML",
        "send_resolved": True,
    }


def _receiver(name: str, channels: list[AlertChannel], settings: Settings) -> dict[str, Any]:
    receiver: dict[str, Any] = {"name": name}
    for channel in channels:
        if channel is AlertChannel.EMAIL:
            receiver.setdefault("email_configs", []).append(_email(settings))
        elif channel is AlertChannel.WEBHOOK:
            key, config = _webhook(settings)
            receiver.setdefault(key, []).append(config)
        else:
            receiver.setdefault("telegram_configs", []).append(_telegram(settings))
    return receiver


def render_alertmanager_config(settings: Settings) -> dict[str, Any]:
    """alertmanager.yml; the receivers' credentials are read from secret_files(settings)."""
    alerts = settings.alerts
    repeat = {
        Severity.CRITICAL: alerts.repeat_critical,
        Severity.WARNING: alerts.repeat_warning,
        Severity.INFO: "24h",
    }
    routes = [
        {
            "receiver": RECEIVER[severity],
            "matchers": [f'severity="{severity.value}"'],
            "repeat_interval": repeat[severity],
        }
        for severity in Severity
    ]
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": RECEIVER[Severity.WARNING],
            "group_by": GROUP_BY,
            "group_wait": alerts.group_wait,
            "group_interval": alerts.group_interval,
            "repeat_interval": alerts.repeat_warning,
            "routes": routes,
        },
        "inhibit_rules": [
            {
                # One host down: its apps' alerts are symptoms, not news.
                "source_matchers": ['alertname="HostDown"'],
                "target_matchers": ['alertname!="HostDown"'],
                "equal": ["host"],
            },
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["alertname", "host", "instance"],
            },
        ],
        "receivers": [_receiver(RECEIVER[severity], alerts.channels_for(severity), settings) for severity in Severity],
    }


def alertmanager_flags(settings: Settings) -> list[str]:
    flags = [
        f"--config.file={CONFIG_PATH}",
        "--storage.path=/alertmanager",
        # A single instance: no gossip port for a cluster that does not exist.
        "--cluster.listen-address=",
    ]
    url = settings.url(settings.service("alertmanager"))
    if url:
        flags.append(f"--web.external-url={url}/")
    return flags

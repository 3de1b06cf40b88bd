"""Monitoring and alerting settings: every bad input names the key, the value and what is allowed."""

from __future__ import annotations

import re
from typing import Any

import pytest

from config.problems import SettingsError
from config.settings import AlertChannel, Severity
from config.stack import parse_settings
from config.types import duration_seconds
from tests.conftest import minimal_config
from tests.monitoring_support import stack_settings

EMAIL = {"to": ["ops@example.org"], "sender": "alerts@example.org", "smarthost": "smtp.example.org:587"}


def only_problem(**overrides: Any) -> str:
    with pytest.raises(SettingsError) as info:
        parse_settings(minimal_config(**overrides))
    found = [str(p) for p in info.value.problems]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("overrides", "key", "expected"),
    [
        (
            {"monitoring": {"prometheusRetentionTime": "30 days"}},
            "media-server:monitoring.prometheusRetentionTime",
            r"not a duration; expected a positive Prometheus duration such as 30s.*\(got \"30 days\"\)",
        ),
        (
            {"monitoring": {"prometheusRetentionTime": "1h"}},
            "media-server:monitoring.prometheusRetentionTime",
            r"shorter than the 2d the alert and dashboard windows look back; expected >= 2d \(got \"1h\"\)",
        ),
        (
            {"monitoring": {"prometheusRetentionSize": "20G"}},
            "media-server:monitoring.prometheusRetentionSize",
            r"not a size; expected a whole number with a unit B, KB, MB, GB.*\(got \"20G\"\)",
        ),
        (
            {"monitoring": {"lokiRetention": "36h"}},
            "media-server:monitoring.lokiRetention",
            r"Loki deletes logs by whole days; expected a multiple of 24h such as 7d or 31d \(got \"36h\"\)",
        ),
        (
            {"monitoring": {"scrapeInterval": "10m"}},
            "media-server:monitoring.scrapeInterval",
            r"longer than 5m leaves gaps in rate\(\); expected <= 5m",
        ),
        (
            {"monitoring": {"backupMaxAge": {"databases": "30m"}}},
            "media-server:monitoring.backupMaxAge.databases",
            r"backups run at most hourly; expected an allowed age of 1h or more \(got \"30m\"\)",
        ),
        (
            {"monitoring": {"backupMaxAge": {"Data Bases": "2h"}}},
            "media-server:monitoring.backupMaxAge.Data Bases",
            r"not a backup set; expected one of: databases, config",
        ),
        (
            {"monitoring": {"thresholds": {"diskPercent": 100}}},
            "media-server:monitoring.thresholds.diskPercent",
            r"less than 100",
        ),
        (
            {"monitoring": {"thresholds": {"cpuPercent": 0}}},
            "media-server:monitoring.thresholds.cpuPercent",
            r"greater than 0",
        ),
        (
            {"monitoring": {"thresholds": {"certificateDays": 120}}},
            "media-server:monitoring.thresholds.certificateDays",
            r"less than or equal to 89",
        ),
        (
            {"monitoring": {"thresholds": {"restarts": 20}}},
            "media-server:monitoring.thresholds.restarts",
            r"cannot be seen within restartWindow 15m.*expected fewer restarts or a longer window \(got 20\)",
        ),
        (
            {"alerts": {"email": {**EMAIL, "to": ["not-an-address"]}}},
            "media-server:alerts.email.to[0]",
            r"not an e-mail address; expected name@example.org \(got \"not-an-address\"\)",
        ),
        (
            {"alerts": {"email": {**EMAIL, "to": []}}},
            "media-server:alerts.email.to",
            r"at least 1 item",
        ),
        (
            {"alerts": {"email": {**EMAIL, "smarthost": "smtp.example.org"}}},
            "media-server:alerts.email.smarthost",
            r"not host:port; expected a host name and a port 1-65535, such as smtp.example.org:587",
        ),
        (
            {"alerts": {"webhook": {"kind": "teams"}}},
            "media-server:alerts.webhook.kind",
            r"'discord', 'slack', 'ntfy' or 'generic'",
        ),
        (
            {"alerts": {"webhook": {"kind": "discord", "channel": "#alerts"}}},
            "media-server:alerts.webhook.channel",
            r"only a slack webhook takes a channel \(kind is discord\) \(got \"#alerts\"\)",
        ),
        (
            {"alerts": {"telegram": {"chatId": 0}}},
            "media-server:alerts.telegram.chatId",
            r"0 is not a Telegram chat; expected the chat's ID",
        ),
        (
            {"alerts": {"telegram": {"chatId": 5}, "routes": {"critical": ["telegram", "email"]}}},
            "media-server:alerts.routes.critical[1]",
            r"the email channel is not configured; set alerts.email or remove it \(got \"email\"\)",
        ),
        (
            {"alerts": {"routes": {"urgent": []}}},
            "media-server:alerts.routes.urgent",
            r"'critical', 'warning' or 'info'",
        ),
        (
            {"alerts": {"repeatCritical": "often"}},
            "media-server:alerts.repeatCritical",
            r"not a duration",
        ),
        ({"alerts": {"pager": "telegram"}}, "media-server:alerts.pager", r"unknown key"),
    ],
)
def test_bad_input_names_key_value_and_expectation(overrides: dict[str, Any], key: str, expected: str) -> None:
    problem = only_problem(**overrides)
    assert problem.startswith(key + ": "), problem
    assert re.search(expected, problem), problem
    assert "(got " in problem


def test_default_routes_send_critical_everywhere_and_warnings_to_email_and_webhook() -> None:
    alerts = parse_settings(
        minimal_config(alerts={"email": EMAIL, "webhook": {"kind": "ntfy"}, "telegram": {"chatId": -1}})
    ).alerts
    assert alerts.channels_for(Severity.CRITICAL) == [AlertChannel.TELEGRAM, AlertChannel.WEBHOOK, AlertChannel.EMAIL]
    assert alerts.channels_for(Severity.WARNING) == [AlertChannel.EMAIL, AlertChannel.WEBHOOK]
    assert alerts.channels_for(Severity.INFO) == []
    assert alerts.required_secrets().keys() == {"alertWebhookUrl", "alertTelegramBotToken"}  # no SMTP login


def test_explicit_routes_win_and_unconfigured_channels_are_left_out_of_defaults() -> None:
    alerts = parse_settings(
        minimal_config(alerts={"email": {**EMAIL, "username": "u"}, "routes": {"warning": ["email"]}})
    ).alerts
    assert alerts.channels_for(Severity.WARNING) == [AlertChannel.EMAIL]
    assert alerts.channels_for(Severity.CRITICAL) == []
    assert set(alerts.required_secrets()) == {"alertSmtpPassword"}
    assert parse_settings(minimal_config(alerts={"email": EMAIL})).alerts.channels_for(Severity.CRITICAL) == [
        AlertChannel.EMAIL
    ]


def test_prod_stack_alerting_is_valid() -> None:
    settings = stack_settings("prod")
    assert settings.alerts.telegram is not None and settings.alerts.telegram.chat_id == -1001234567890
    assert settings.monitoring.prometheus_retention_time == "90d"


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("1h30m", 5400), ("26h", 93600), ("8d", 691200), ("2w", 1209600)]
)
def test_durations(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


def test_duration_refuses_garbage() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        duration_seconds("1x")


def test_backup_max_age_names_only_real_backup_sets() -> None:
    from config.problems import SettingsError
    from config.stack import parse_settings
    from tests.conftest import minimal_config

    with pytest.raises(SettingsError) as info:
        parse_settings(minimal_config(monitoring={"backupMaxAge": {"photos": "26h"}}))
    (problem,) = info.value.problems
    assert problem.key == "media-server:monitoring.backupMaxAge.photos"
    assert "not a backup set; expected one of: databases, config, metadata, originals, media" in problem.message


@pytest.mark.parametrize(
    ("monitoring", "accepted"),
    [
        ({"prometheusRetentionTime": "2d"}, True),
        ({"prometheusRetentionTime": "47h"}, False),
        ({"prometheusRetentionTime": "36h"}, False),
        ({"scrapeInterval": "5m"}, True),
        ({"scrapeInterval": "301s"}, False),
        ({"backupMaxAge": {"databases": "1h"}}, True),
        ({"backupMaxAge": {"databases": "59m"}}, False),
    ],
)
def test_monitoring_windows_at_their_bounds(monitoring: dict[str, object], accepted: bool) -> None:
    raw = minimal_config(monitoring=monitoring)
    ((key, value),) = monitoring.items()
    if accepted:
        kept = parse_settings(raw).monitoring.model_dump(by_alias=True)[key]
        assert kept.items() >= value.items() if isinstance(value, dict) else kept == value
    else:
        with pytest.raises(SettingsError) as info:
            parse_settings(raw)
        (problem,) = info.value.problems
        assert str(problem).startswith(f"media-server:monitoring.{key}"), problem


@pytest.mark.parametrize(("window", "accepted"), [("181s", True), ("3m", False)])
def test_restart_alert_needs_a_minute_per_restart_in_its_window(window: str, accepted: bool) -> None:
    thresholds = {"restarts": 3, "restartWindow": window}
    raw = minimal_config(monitoring={"thresholds": thresholds})
    if accepted:
        assert parse_settings(raw).monitoring.thresholds.restart_window == window
    else:
        with pytest.raises(SettingsError) as info:
            parse_settings(raw)
        (problem,) = info.value.problems
        assert str(problem).startswith("media-server:monitoring.thresholds.restarts: cannot be seen within"), problem

"""MonitoringTier in isolation, with Output-checking tests as the SDK intends (@pulumi.runtime.test)."""

from __future__ import annotations

import base64
import io
import tarfile

import pulumi
import pytest
import yaml

from components.layer import LayerArgs
from components.monitoring import MonitoringTier
from components.networks import BridgeNetworks, BridgeNetworksArgs
from components.secrets import SiteSecrets, SiteSecretsArgs
from components.service import SiteContext
from config.stack import parse_settings
from offline.recorder import EngineMocks
from tests.conftest import minimal_config


@pytest.fixture(autouse=True)
def mocks() -> None:
    pulumi.runtime.set_mocks(EngineMocks(), project="media-server", stack="unit", preview=False)


def _tier(**overrides: object) -> MonitoringTier:
    settings = parse_settings(minimal_config(**overrides))
    nets = BridgeNetworks("nets", BridgeNetworksArgs(networks=settings.networks, prefix="ms-unit", labels={}))
    site = SiteContext(settings=settings, stack="unit", networks=nets.by_name)
    generated = SiteSecrets("secrets", SiteSecretsArgs(settings=settings))
    token = pulumi.Output.secret("123456:bot-token")
    return MonitoringTier(
        "monitoring",
        LayerArgs(site=site, generated=generated, config_secrets={"alertTelegramBotToken": token}),
    )


@pulumi.runtime.test
def test_alertmanager_config_carries_the_token_as_a_secret() -> pulumi.Output[None]:
    tier = _tier(alerts={"telegram": {"chatId": -42}})
    # Alertmanager's root filesystem is read-only: its config is written on the host (HostFiles).
    files = tier.services["alertmanager"].files
    assert files is not None
    stdin = files.written.stdin  # type: ignore[attr-defined]

    def check(args: list[object]) -> None:
        encoded, secret = args
        assert secret is True
        with tarfile.open(fileobj=io.BytesIO(base64.b64decode(str(encoded)))) as tar:
            (member,) = [m for m in tar.getmembers() if m.isfile() and not m.name.endswith(".media-server-files")]
            assert member.name.endswith("alertmanager/config/alertmanager.yml")
            content = tar.extractfile(member).read().decode()  # type: ignore[union-attr]
        config = yaml.safe_load(content)
        pager = next(r for r in config["receivers"] if r["name"] == "pager")
        assert pager["telegram_configs"][0] == {
            "bot_token": "123456:bot-token",
            "chat_id": -42,
            "parse_mode": "HTML",
            "send_resolved": True,
        }

    return pulumi.Output.all(stdin, pulumi.Output.is_secret(stdin)).apply(check)


@pulumi.runtime.test
def test_grafana_admin_password_is_generated_and_secret() -> pulumi.Output[None]:
    tier = _tier()
    assert tier.grafana_admin_password is not None
    envs = tier.services["grafana"].container.envs

    def check(args: list[object]) -> None:
        password, password_secret, env, env_secret = args
        assert password_secret is True and env_secret is True
        assert f"GF_SECURITY_ADMIN_PASSWORD={password}" in env  # type: ignore[operator]
        assert any(str(item).startswith("GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET=") for item in env)  # type: ignore[union-attr]

    return pulumi.Output.all(
        tier.grafana_admin_password,
        pulumi.Output.is_secret(tier.grafana_admin_password),
        envs,
        pulumi.Output.is_secret(envs),
    ).apply(check)


def test_missing_receiver_secret_is_a_clear_error() -> None:
    settings = parse_settings(minimal_config(alerts={"webhook": {"kind": "discord"}}))
    nets = BridgeNetworks("nets2", BridgeNetworksArgs(networks=settings.networks, prefix="ms-unit", labels={}))
    site = SiteContext(settings=settings, stack="unit", networks=nets.by_name)
    generated = SiteSecrets("secrets2", SiteSecretsArgs(settings=settings))
    with pytest.raises(ValueError, match="alert receivers need secret config alertWebhookUrl"):
        MonitoringTier("monitoring2", LayerArgs(site=site, generated=generated))

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


def _archive(encoded: object) -> dict[str, tuple[tarfile.TarInfo, str]]:
    """The regular files of a write-files archive, by member name: (member, text)."""
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(str(encoded)))) as tar:
        return {
            m.name: (m, tar.extractfile(m).read().decode())  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


@pulumi.runtime.test
def test_alertmanager_config_is_plain_and_reads_the_token_from_a_secret_file() -> pulumi.Output[None]:
    tier = _tier(alerts={"telegram": {"chatId": -42}})
    # Alertmanager's root filesystem is read-only: its files are written on the host (HostFiles), the
    # configuration by one command, the token by another.
    files = tier.services["alertmanager"].files
    assert files is not None and len(files.written) == 2
    plain, secret = (w.stdin for w in files.written)  # type: ignore[attr-defined]

    def check(args: list[object]) -> None:
        plain_stdin, plain_secret, secret_stdin, secret_secret = args
        assert plain_secret is False and secret_secret is True
        written = _archive(plain_stdin)
        (config_name,) = [n for n in written if n.endswith("alertmanager/config/alertmanager.yml")]
        config = yaml.safe_load(written[config_name][1])
        pager = next(r for r in config["receivers"] if r["name"] == "pager")
        assert pager["telegram_configs"][0] == {
            "bot_token_file": "/etc/alertmanager/secrets/alertTelegramBotToken",
            "chat_id": -42,
            "parse_mode": "HTML",
            "send_resolved": True,
        }
        assert not any("123456:bot-token" in text for _, text in written.values())
        (token_name,) = [n for n in _archive(secret_stdin) if n.endswith("secrets/alertTelegramBotToken")]
        member, token = _archive(secret_stdin)[token_name]
        assert token == "123456:bot-token" and member.mode == 0o400

    return pulumi.Output.all(plain, pulumi.Output.is_secret(plain), secret, pulumi.Output.is_secret(secret)).apply(
        check
    )


@pulumi.runtime.test
def test_grafana_admin_password_is_generated_secret_and_read_from_a_file() -> pulumi.Output[None]:
    tier = _tier()
    assert tier.grafana_admin_password is not None
    envs = tier.services["grafana"].container.envs
    files = tier.services["grafana"].files
    assert files is not None
    secret_stdin = files.written[1].stdin  # type: ignore[attr-defined]

    def check(args: list[object]) -> None:
        password, password_secret, env, env_secret, encoded = args
        assert password_secret is True and env_secret is False
        assert not any(str(password) in str(item) for item in env)  # type: ignore[union-attr]
        assert "GF_SECURITY_ADMIN_PASSWORD__FILE=/etc/grafana/provisioning/secrets/security_admin_password" in env  # type: ignore[operator]
        assert any(str(item).startswith("GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET__FILE=") for item in env)  # type: ignore[union-attr]
        written = {name.rsplit("/", 1)[-1]: text for name, (_, text) in _archive(encoded).items()}
        assert written["security_admin_password"] == password

    return pulumi.Output.all(
        tier.grafana_admin_password,
        pulumi.Output.is_secret(tier.grafana_admin_password),
        envs,
        pulumi.Output.is_secret(envs),
        secret_stdin,
    ).apply(check)


def test_missing_receiver_secret_is_a_clear_error() -> None:
    settings = parse_settings(minimal_config(alerts={"webhook": {"kind": "discord"}}))
    nets = BridgeNetworks("nets2", BridgeNetworksArgs(networks=settings.networks, prefix="ms-unit", labels={}))
    site = SiteContext(settings=settings, stack="unit", networks=nets.by_name)
    generated = SiteSecrets("secrets2", SiteSecretsArgs(settings=settings))
    with pytest.raises(ValueError, match="alert receivers need secret config alertWebhookUrl"):
        MonitoringTier("monitoring2", LayerArgs(site=site, generated=generated))

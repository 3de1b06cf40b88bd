"""CloudflareZone: DNS records, WAF and rate-limit rulesets, cache rule, zone settings, or a tunnel.

Imported only when Cloudflare is enabled (pulumi_cloudflare costs seconds to
import); the dev stack registers nothing from here. Every Cloudflare resource
uses one provider made from the secret config `cloudflareApiToken`.
In tunnel mode the records point at a Cloudflare Tunnel and this component
also runs cloudflared, which dials out: the host publishes no web port.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pulumi
import pulumi_cloudflare as cloudflare
import pulumi_random as random

from components.layer import LayerArgs, ServiceLayer
from render import cloudflare as render

TTL_AUTOMATIC = 1


def _rule(rule: dict[str, Any]) -> cloudflare.RulesetRuleArgs:
    ratelimit = rule.get("ratelimit")
    parameters = rule.get("action_parameters")
    return cloudflare.RulesetRuleArgs(
        action=rule["action"],
        expression=rule["expression"],
        description=rule["description"],
        enabled=True,
        ratelimit=cloudflare.RulesetRuleRatelimitArgs(**ratelimit) if ratelimit else None,
        action_parameters=cloudflare.RulesetRuleActionParametersArgs(
            cache=parameters["cache"],
            edge_ttl=cloudflare.RulesetRuleActionParametersEdgeTtlArgs(**parameters["edge_ttl"]),
            browser_ttl=cloudflare.RulesetRuleActionParametersBrowserTtlArgs(**parameters["browser_ttl"]),
        )
        if parameters
        else None,
    )


class CloudflareZone(ServiceLayer):
    """The zone in front of the site."""

    records: dict[str, cloudflare.DnsRecord]
    tunnel_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("media-server:edge:CloudflareZone", name, args, opts)
        settings = self.settings
        cf = settings.cloudflare
        token = args.config_secrets["cloudflareApiToken"]
        self._provider = cloudflare.Provider(
            f"{name}-provider", cloudflare.ProviderArgs(api_token=token), opts=pulumi.ResourceOptions(parent=self)
        )
        self._zone_id = cf.zone_id or ""
        self.tunnel_id = None
        target: pulumi.Input[str] = cf.public_address or ""
        record_type = "A"
        if cf.mode == "tunnel":
            self.tunnel_id = self._tunnel(name)
            target = pulumi.Output.concat(self.tunnel_id, ".cfargotunnel.com")
            record_type = "CNAME"

        self.records = {}
        for record in render.dns_records(settings):
            self.records[record.name] = cloudflare.DnsRecord(
                f"{name}-record-{record.name}",
                cloudflare.DnsRecordArgs(
                    zone_id=self._zone_id,
                    name=record.name,
                    type=record_type,
                    content=target,
                    ttl=TTL_AUTOMATIC,
                    proxied=record.proxied,
                    comment=f"media-server: {record.app}" + ("" if record.proxied else " (DNS only: streams media)"),
                ),
                opts=self._cf(),
            )
        for ruleset in render.rulesets(settings):
            self._ruleset(name, ruleset)
        for setting_id, value in render.ZONE_SETTINGS.items():
            cloudflare.ZoneSetting(
                f"{name}-setting-{setting_id}",
                cloudflare.ZoneSettingArgs(zone_id=self._zone_id, setting_id=setting_id, value=value),
                opts=self._cf(),
            )
        outputs: dict[str, pulumi.Input[object]] = {
            "records": sorted(self.records),
            "proxied": sorted(r.name for r in render.dns_records(settings) if r.proxied),
        }
        if self.tunnel_id is not None:
            outputs["tunnelId"] = self.tunnel_id
        self.finish(**outputs)

    def _cf(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self._provider)

    def _ruleset(self, name: str, ruleset: render.PhaseRuleset) -> None:
        cloudflare.Ruleset(
            f"{name}-{ruleset.role}",
            cloudflare.RulesetArgs(
                zone_id=self._zone_id,
                kind="zone",
                name=f"media-server {ruleset.title.lower()}",
                description=f"{ruleset.title} for {self.settings.domain}, managed by media-server",
                phase=ruleset.phase,
                rules=[_rule(rule) for rule in ruleset.rules],
            ),
            opts=self._cf(),
        )

    def _tunnel(self, name: str) -> pulumi.Output[str]:
        settings = self.settings
        account = settings.cloudflare.account_id or ""
        secret = random.RandomBytes(
            f"{name}-tunnel-secret",
            random.RandomBytesArgs(length=32),
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["base64", "hex"]),
        )
        tunnel = cloudflare.ZeroTrustTunnelCloudflared(
            f"{name}-tunnel",
            cloudflare.ZeroTrustTunnelCloudflaredArgs(
                account_id=account,
                name=f"media-server-{pulumi.get_stack()}",
                config_src="cloudflare",
                tunnel_secret=secret.base64,
            ),
            opts=self._cf(),
        )
        cloudflare.ZeroTrustTunnelCloudflaredConfig(
            f"{name}-tunnel-config",
            cloudflare.ZeroTrustTunnelCloudflaredConfigArgs(
                account_id=account,
                tunnel_id=tunnel.id,
                config=cloudflare.ZeroTrustTunnelCloudflaredConfigConfigArgs(
                    ingresses=[
                        cloudflare.ZeroTrustTunnelCloudflaredConfigConfigIngressArgs(
                            hostname=rule.get("hostname"),
                            service=rule["service"],
                            origin_request=cloudflare.ZeroTrustTunnelCloudflaredConfigConfigIngressOriginRequestArgs(
                                **rule["origin_request"]
                            )
                            if "origin_request" in rule
                            else None,
                        )
                        for rule in render.tunnel_ingress(settings)
                    ]
                ),
            ),
            opts=self._cf(),
        )
        # cloudflared's token is the account, tunnel and secret as base64 JSON (what the dashboard shows).
        token: pulumi.Output[str] = pulumi.Output.all(tunnel.id, secret.base64).apply(
            lambda values: base64.b64encode(
                json.dumps({"a": account, "t": values[0], "s": values[1]}, separators=(",", ":")).encode()
            ).decode()
        )
        self.deploy(settings.service("cloudflared"), secret_env={"TUNNEL_TOKEN": token})
        return tunnel.id

"""pulumi-cloudflare 6.23.1 (cloudflare/terraform-provider-cloudflare v5, Plugin Framework, behind the bridge).

The v5 resources are generated from Cloudflare's API schema: state is the API's response, and for the
fields this program sends the API answers with what it was sent (a DNS record's full `name`, its `content`,
`ttl`, `proxied`, `comment`; a ruleset's rules with their `expression`, `action` and `action_parameters`; a
zone setting's `value`), plus computed ids and timestamps, which the next plan keeps (UseStateForUnknown).
Not modelled (not verified against the source here): the API's own rewriting of values this program does not
send in such forms (relative record names, uncompressed IPv6 `content`, rule `ref`/`version`).
"""

from __future__ import annotations

from typing import Any

from offline.readback.schema import Attr

DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
RULESET = "cloudflare:index/ruleset:Ruleset"
ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"


def read_echo(inputs: dict[str, Any]) -> dict[str, Any]:
    return dict(inputs)


DNS_RECORD_SCHEMA: dict[str, Attr] = {
    "zoneId": Attr(force_new=True),
    "name": Attr(),
    "type": Attr(),
    "content": Attr(),
    "ttl": Attr(),
    "proxied": Attr(),
    "comment": Attr(),
}
RULESET_SCHEMA: dict[str, Attr] = {
    "zoneId": Attr(force_new=True),
    "kind": Attr(force_new=True),
    "phase": Attr(force_new=True),
    "name": Attr(),
    "description": Attr(),
    "rules": Attr(kind="list"),
}
ZONE_SETTING_SCHEMA: dict[str, Attr] = {
    "zoneId": Attr(force_new=True),
    "settingId": Attr(force_new=True),
    "value": Attr(),
}

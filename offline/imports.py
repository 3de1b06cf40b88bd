"""`pulumi import` commands for the Cloudflare entry-point rulesets the program manages.

A zone has at most one entry-point ruleset per phase (developers.cloudflare.com/ruleset-engine/about/phases/);
creating one where it already exists (rules made in the dashboard, or by an earlier tool) fails. Importing it
into the stack first lets `pulumi up` take it over. The ruleset id is looked up with the Rulesets API's
"Get a zone entry point ruleset" (GET /zones/{zone_id}/rulesets/phases/{phase}/entrypoint), and the import ID
format is pulumi-cloudflare's `zones/<zone_id>/<ruleset_id>` (sdk: pulumi_cloudflare/ruleset.py, "Import").
"""

from __future__ import annotations

import shlex

from offline.recorder import Recorded
from offline.runner import RunResult

RULESET = "cloudflare:index/ruleset:Ruleset"
_API = "https://api.cloudflare.com/client/v4"


def _engine_urn(urn: str) -> str:
    # The mocks put the root stack's type into its children's URNs; the engine does not.
    return urn.replace("pulumi:pulumi:Stack$", "")


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _command(stack: str, ruleset: Recorded) -> str:
    zone, phase = str(ruleset.inputs["zoneId"]), str(ruleset.inputs["phase"])
    lookup = (
        f'curl -fsS -H "Authorization: Bearer $CLOUDFLARE_API_TOKEN" '
        f"{_API}/zones/{zone}/rulesets/phases/{phase}/entrypoint | jq -r .result.id"
    )
    parts = ["pulumi", "import", "--stack", stack, "--generate-code=false", "--yes"]
    if ruleset.parent:
        parent = _engine_urn(ruleset.parent)
        parts += ["--parent", f"{_name(parent)}={parent}"]
    if ruleset.provider:
        provider = _engine_urn(ruleset.provider)
        parts += ["--provider", f"{_name(provider)}={provider}"]
    parts += [RULESET, ruleset.name]
    return f'{shlex.join(parts)} "zones/{zone}/$({lookup})"'


def ruleset_imports(result: RunResult) -> list[str]:
    """One shell command per zone ruleset the stack manages, in phase order; none without Cloudflare."""
    rulesets = [r for r in result.of_type(RULESET) if r.inputs.get("kind") == "zone"]
    return [_command(result.stack, r) for r in sorted(rulesets, key=lambda r: str(r.inputs.get("phase")))]

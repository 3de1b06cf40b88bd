"""The policy pack: `pulumi preview --policy-pack policies`.

Constructing PolicyPack starts the analyzer server and blocks, so this
module only builds it; nothing imports it. The site's exceptions
(policies/config.json, the engine's --policy-pack-config format) are the
pack's initial config, so a plain `--policy-pack policies` applies them.
"""

import json
import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from rules import POLICIES  # noqa: E402 - the pack directory is on sys.path only now


def _initial_config() -> dict[str, EnforcementLevel | dict[str, object]]:
    raw = json.loads((HERE / "config.json").read_text())
    out: dict[str, EnforcementLevel | dict[str, object]] = {}
    for name, value in raw.items():
        if isinstance(value, str):
            out[name] = EnforcementLevel(value)
        else:
            level = value.pop("enforcementLevel", None)
            out[name] = {**value, **({"enforcementLevel": EnforcementLevel(level)} if level else {})}
    return out


PolicyPack(
    name="media-server-baseline",
    policies=POLICIES,
    enforcement_level=EnforcementLevel.MANDATORY,
    initial_config=_initial_config(),
    description="media-server security baseline (MS-001..MS-028): CIS Docker, KICS/checkov, Traefik, Authelia, "
    "Cloudflare",
)

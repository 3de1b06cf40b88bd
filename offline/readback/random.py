"""pulumi-random 4.21.4 (hashicorp/terraform-provider-random behind the bridge).

RandomPassword/RandomBytes have no Read beyond import: state is the configuration with the schema defaults
plus the generated values, and every argument is RequiresReplace (terraform-provider-random
internal/provider/resource_password.go, passwordSchemaV3: special/upper/lower default true, numeric
Computed from the deprecated `number`, which defaults true; min_* default 0; all RequiresReplace).
The mocks generate `result`/`bcryptHash`/`hex`/`base64`, marked secret as the provider does.
"""

from __future__ import annotations

from typing import Any

from offline.readback.schema import Attr

PASSWORD = "random:index/randomPassword:RandomPassword"  # noqa: S105 - a type token
BYTES = "random:index/randomBytes:RandomBytes"
PASSWORD_DEFAULTS = {
    "upper": True,
    "lower": True,
    "numeric": True,
    "special": True,
    "minUpper": 0,
    "minLower": 0,
    "minNumeric": 0,
    "minSpecial": 0,
}


def read_password(inputs: dict[str, Any]) -> dict[str, Any]:
    return {**PASSWORD_DEFAULTS, **{k: v for k, v in inputs.items() if v is not None}}


def read_bytes(inputs: dict[str, Any]) -> dict[str, Any]:
    return dict(inputs)


PASSWORD_SCHEMA: dict[str, Attr] = {
    "length": Attr(force_new=True),
    "overrideSpecial": Attr(force_new=True),
    "keepers": Attr(force_new=True, kind="map"),
    **{k: Attr(force_new=True, default=v) for k, v in PASSWORD_DEFAULTS.items()},
}
BYTES_SCHEMA: dict[str, Attr] = {"length": Attr(force_new=True), "keepers": Attr(force_new=True, kind="map")}

"""pulumi-tls 5.6.2: PrivateKey has no Read beyond import; state is the configuration with its defaults
(rsa_bits 2048, ecdsa_curve "P224", both RequiresReplace) plus the generated PEMs, which the mocks compute."""

from __future__ import annotations

from typing import Any

from offline.readback.schema import Attr

PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
DEFAULTS = {"rsaBits": 2048, "ecdsaCurve": "P224"}


def read_private_key(inputs: dict[str, Any]) -> dict[str, Any]:
    return {**DEFAULTS, **{k: v for k, v in inputs.items() if v is not None}}


PRIVATE_KEY_SCHEMA: dict[str, Attr] = {
    "algorithm": Attr(force_new=True),
    **{k: Attr(force_new=True, default=v) for k, v in DEFAULTS.items()},
}

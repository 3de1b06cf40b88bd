"""Secret-looking environment values come from Pulumi secrets or files (MS-016).

The engine hands policies secrets already unwrapped, so a policy cannot see
whether one env value was a Pulumi secret; what it can see is the resource's
`additional_secret_outputs`. The offline gate, which does see secretness,
adds a stricter check (MS-900 in offline/gate.py) using `looks_secret`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .common import CONTAINER, MANDATORY, Report, Resource, resource_rule

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_PUBLIC_BEFORE_KEY = frozenset({"HOST", "PUBLIC", "PUB"})
_SAFE_LAST = frozenset(
    {"FILE", "PATH", "DIR", "URL", "URI", "ENDPOINT", "HOST", "PORT", "ID", "NAME", "USER", "USERNAME", "TYPE",
     "ALGORITHM", "LENGTH", "SIZE", "TTL", "TIMEOUT", "EXPIRY", "HEADER", "ENABLED", "ENABLE", "DISABLED", "MODE"}
)  # fmt: skip


def _secret_word(word: str) -> bool:
    if word in ("PASS", "PWD", "KEY", "KEYS") or word.endswith("KEY"):
        return True
    if any(part in word for part in ("PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "JWT")):
        return True
    return word.endswith("PASS") and word != "BYPASS"


def looks_secret(name: str) -> bool:
    """Whether an env/config name suggests a secret (PASS, SECRET, TOKEN, KEY, JWT), unless it names a
    file, URL or other non-secret attribute of one (AUTHELIA_SESSION_SECRET_FILE, OAUTH_TOKEN_URL)."""
    words = [w.upper() for w in _WORD.findall(name)]
    if not words or words[-1] in _SAFE_LAST:
        return False
    for i, word in enumerate(words):
        if word in ("KEY", "KEYS") and i > 0 and words[i - 1] in _PUBLIC_BEFORE_KEY:
            continue
        if word not in ("HOSTKEY", "PUBLICKEY", "PUBKEY") and _secret_word(word):
            return True
    return False


def _env_secrets(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    exposed = sorted({k for k, v in res.envs if v and looks_secret(k)})
    if exposed and "envs" not in res.secret_outputs:
        report(
            f"{res.service} sets {', '.join(exposed)} inline while envs is not a secret output; fix: pass the value "
            f"as a Pulumi secret (ContainerServiceArgs.secret_env, which marks envs secret) or mount it as NAME_FILE"
        )


ms_016 = resource_rule(
    "ms-016-env-secrets-are-secret",
    "Env values whose names look secret (PASS, SECRET, TOKEN, KEY, JWT) come from Pulumi secrets "
    "(additional_secret_outputs covers envs) or are passed as *_FILE (Pulumi secrets docs).",
    MANDATORY,
    (CONTAINER,),
    _env_secrets,
    "Pass the value through ContainerServiceArgs.secret_env (a Pulumi secret), or mount it and use NAME_FILE.",
)

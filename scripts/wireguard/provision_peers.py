"""Create the WireGuard peers named in settings through wg-easy's API (standard library only).

Runs as a one-shot container next to wg-easy:

    python3 provision_peers.py /peers/peers.json

Environment: WG_EASY_URL (e.g. http://wireguard:51821), WG_EASY_USERNAME,
WG_EASY_PASSWORD (HTTP basic auth, the admin set at wg-easy's first start).
Idempotent: peers that exist (by name) are left alone; none is ever deleted,
so a peer removed from settings stays until an admin removes it in the UI.
Waits for the API to come up (WG_EASY_WAIT seconds, default 300).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any


def _request(method: str, url: str, auth: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - URL from our own settings
    request.add_header("Authorization", f"Basic {auth}")
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        text = response.read().decode() or "null"
    return json.loads(text)


def _existing(base: str, auth: str, wait: float) -> set[str]:
    deadline = time.monotonic() + wait
    while True:
        try:
            clients = _request("GET", f"{base}/api/client", auth)
            return {str(client["name"]) for client in clients}
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise SystemExit(f"wg-easy refused the admin credentials ({exc.code})") from None
            error: Exception = exc
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            error = exc
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise SystemExit(f"wg-easy at {base} did not answer: {error}")
        time.sleep(min(2.0, remaining))


def provision(peers: list[str], base: str, username: str, password: str, wait: float = 300.0) -> list[str]:
    """Create every peer not yet on the server; return the names created."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    existing = _existing(base.rstrip("/"), auth, wait)
    created = []
    for name in peers:
        if name in existing:
            continue
        _request("POST", f"{base.rstrip('/')}/api/client", auth, {"name": name, "expiresAt": None})
        created.append(name)
    return created


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: provision_peers.py PEERS_JSON", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        peers = [str(name) for name in json.load(handle)["peers"]]
    created = provision(
        peers,
        os.environ["WG_EASY_URL"],
        os.environ["WG_EASY_USERNAME"],
        os.environ["WG_EASY_PASSWORD"],
        float(os.environ.get("WG_EASY_WAIT", "300")),
    )
    print(f"wireguard peers: {len(peers)} wanted, {len(created)} created ({', '.join(created) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

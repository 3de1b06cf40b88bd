"""Run inside a network namespace of its own (`unshare -rn`): the prod site on the real Traefik with the shipped
Cloudflare allow-list, a client holding one of Cloudflare's addresses and one holding 127.0.0.1.

Everything lives on the namespace's loopback interface, which the namespace alone has: the addresses given to
it (one of Cloudflare's) route nowhere else, and nothing leaves. Prints one JSON object of observations; the
test (test_traefik.test_origin_accepts_proxied_hosts_only_from_cloudflare) judges them.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from pathlib import Path

from config.data.cloudflare_ips import IPV4
from tests.realtool.test_traefik import ALLOW, Site, serve_site

CLOUDFLARE_ADDRESS = str(next(ipaddress.IPv4Network(IPV4[0]).hosts()))
DIRECT = "127.0.0.1"


def _status(site: Site, source: str, host: str, path: str, headers: dict[str, str] | None = None) -> dict[str, int]:
    site.source = source
    before = len(site.backend.seen)
    status, _, _ = site.get(host, path, headers)
    return {"status": status, "reached": len(site.backend.seen) - before}


def observe(tmp: Path) -> dict[str, object]:
    with serve_site("prod", tmp, loopback=False, source=CLOUDFLARE_ADDRESS) as site:
        sonarr, jellyfin = site.host("sonarr"), site.host("jellyfin")
        session = {ALLOW: "allow"}
        spoofed = {**session, "X-Forwarded-For": CLOUDFLARE_ADDRESS, "CF-Connecting-IP": CLOUDFLARE_ADDRESS}
        login = [_status(site, DIRECT, jellyfin, "/Users/AuthenticateByName")["status"] for _ in range(20)]
        return {
            "cloudflare_address": CLOUDFLARE_ADDRESS,
            "proxied_via_cloudflare": _status(site, CLOUDFLARE_ADDRESS, sonarr, "/calendar", session),
            "proxied_via_cloudflare_bypass": _status(site, CLOUDFLARE_ADDRESS, sonarr, "/api/v3/system/status"),
            "proxied_direct": _status(site, DIRECT, sonarr, "/calendar", session),
            "proxied_direct_bypass": _status(site, DIRECT, sonarr, "/api/v3/system/status"),
            "proxied_direct_spoofed": _status(site, DIRECT, sonarr, "/calendar", spoofed),
            "portal_direct": _status(site, DIRECT, site.host("auth"), "/"),
            "dns_only_direct": _status(site, DIRECT, jellyfin, "/web/index.html", session),
            "dns_only_login_burst": login,
        }


def main() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "address", "add", f"{CLOUDFLARE_ADDRESS}/32", "dev", "lo"], check=True)
    print(json.dumps(observe(Path(sys.argv[1]))))


if __name__ == "__main__":
    main()

"""blackbox-exporter's modules: how the public URLs are probed (targets come from render/prometheus.py)."""

from __future__ import annotations

from typing import Any

from config.settings import Settings
from render.prometheus import PROBE_MODULE

# Redirects are answers: an app behind forward-auth answers an anonymous client with Authelia's 302 (browser)
# or 401 (API client). Following them would probe the portal instead of the route.
EDGE_STATUS_CODES = [200, 204, 301, 302, 303, 307, 308, 401]


def render_blackbox_config(settings: Settings) -> dict[str, Any]:
    del settings  # the modules are the same for every site; the targets are per site
    return {
        "modules": {
            PROBE_MODULE: {
                "prober": "http",
                "timeout": "10s",
                "http": {
                    "preferred_ip_protocol": "ip4",
                    "ip_protocol_fallback": True,
                    "follow_redirects": False,
                    "fail_if_not_ssl": True,
                    "valid_status_codes": EDGE_STATUS_CODES,
                    "headers": {"User-Agent": "media-server-blackbox/1"},
                },
            }
        }
    }

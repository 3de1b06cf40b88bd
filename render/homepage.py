"""The main dashboard (gethomepage/homepage): its configuration as a projection of the catalog.

One tile per enabled app with a web UI, grouped by what the app is for,
each with its public URL and description, and a status dot that Homepage
checks over the proxy network. Nothing here is a secret: no widget that
needs an API key, no credentials, only names and URLs.
"""

from __future__ import annotations

from typing import Any

from config.search import SEARCH
from config.settings import Settings
from config.spec import NetworkName, ServiceSpec, Tier
from render.serialise import to_yaml

CONFIG_DIR = "/app/config"

TIER_GROUPS = {
    Tier.MEDIA: "Media",
    Tier.EDGE: "Administration",
    Tier.AUTH: "Administration",
    Tier.DATA: "Administration",
    Tier.MONITORING: "Monitoring",
    Tier.BACKUP: "Administration",
}
"""The group of an app whose catalog entry has no dashboard tile of its own."""

GROUP_ORDER = ("Media", "Content management", "Monitoring", "Administration")


def dashboard_apps(settings: Settings) -> list[ServiceSpec]:
    """Enabled apps with a web UI, except the dashboard itself."""
    return [spec for spec in settings.enabled_services() if spec.routed and not spec.apex]


def group_of(spec: ServiceSpec) -> str:
    return spec.dashboard.group if spec.dashboard else TIER_GROUPS[spec.tier]


def _status_url(spec: ServiceSpec, settings: Settings) -> str | None:
    """The app's address on the proxy network (Homepage's only network), for the status dot."""
    host = spec.route_via or spec.name
    networks = settings.service(host).networks if spec.route_via else spec.networks
    if NetworkName.PROXY not in networks:
        return None
    path = "" if spec.status_path == "/" else spec.status_path
    return f"http://{host}:{spec.port}{path}"


def _tile(spec: ServiceSpec, settings: Settings) -> dict[str, Any]:
    tile: dict[str, Any] = {
        "href": settings.url(spec),
        "description": spec.dashboard.description if spec.dashboard else spec.display_name,
        "icon": spec.dashboard.icon if spec.dashboard else f"{spec.name}.png",
    }
    status = _status_url(spec, settings)
    if status:
        tile["siteMonitor"] = status
    return tile


def _order(group: str) -> tuple[int, str]:
    return (GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER), group)


def render_services(settings: Settings) -> list[dict[str, Any]]:
    """services.yaml: [{group: [{App: {href, description, icon, siteMonitor}}]}]."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for spec in dashboard_apps(settings):
        groups.setdefault(group_of(spec), []).append({spec.display_name: _tile(spec, settings)})
    return [{group: groups[group]} for group in sorted(groups, key=_order)]


def render_settings(settings: Settings) -> dict[str, Any]:
    """settings.yaml: title, one row layout per group, quiet header."""
    groups = sorted({group_of(spec) for spec in dashboard_apps(settings)}, key=_order)
    return {
        "title": settings.domain,
        "headerStyle": "clean",
        "statusStyle": "dot",
        "hideVersion": True,
        "target": "_self",
        "layout": {group: {"style": "row", "columns": 4} for group in groups},
    }


def search_widget(settings: Settings) -> dict[str, Any]:
    """The search bar: the site's own search service when it runs, else a web search.

    Homepage v1.6.1's `search` widget (docs/widgets/info/search.md; src/components/widgets/search/search.jsx,
    doSearch): `provider: custom` has no URL of its own, so the query is opened at `url` + the encoded query,
    in `target`. No `suggestionUrl`: Homepage's server fetches suggestions itself
    (src/pages/api/search/searchSuggestion.js), without the user's Authelia session, which search.<domain>
    requires."""
    if settings.is_enabled(SEARCH):
        url = settings.url(settings.service(SEARCH))
        return {"provider": "custom", "url": f"{url}/?q=", "target": "_blank"}
    return {"provider": "duckduckgo", "target": "_blank"}


def render_widgets(settings: Settings) -> list[dict[str, Any]]:
    """widgets.yaml: the date and a search bar; nothing that needs a key."""
    return [
        {"datetime": {"text_size": "xl", "format": {"dateStyle": "long", "timeStyle": "short", "hour12": False}}},
        {"search": search_widget(settings)},
    ]


def render_files(settings: Settings) -> dict[str, str]:
    """Every file Homepage reads, by container path. Files not given here would be filled with Homepage's examples."""
    return {
        f"{CONFIG_DIR}/services.yaml": to_yaml(render_services(settings)),
        f"{CONFIG_DIR}/settings.yaml": to_yaml(render_settings(settings)),
        f"{CONFIG_DIR}/widgets.yaml": to_yaml(render_widgets(settings)),
        f"{CONFIG_DIR}/bookmarks.yaml": to_yaml([]),
        f"{CONFIG_DIR}/docker.yaml": to_yaml({}),
    }

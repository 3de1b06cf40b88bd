"""The dashboard is a projection of the catalog: a tile per enabled app with a UI, none for a disabled one,
and no secret in what it serves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from config.stack import parse_settings
from offline.recorder import Secret
from offline.runner import RunResult
from render.homepage import CONFIG_DIR, render_files, render_services, render_settings
from tests.conftest import containers, minimal_config
from tests.test_media import env_of, prod_settings, uploads_of


def tiles(services: list[dict[str, Any]]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Display name -> (group, tile)."""
    out = {}
    for group in services:
        ((name, entries),) = group.items()
        for entry in entries:
            ((title, tile),) = entry.items()
            assert title not in out, f"{title} has two tiles"
            out[title] = (name, tile)
    return out


def test_every_enabled_app_with_a_ui_has_one_tile(prod: RunResult) -> None:
    settings = prod_settings()
    shown = tiles(render_services(settings))
    with_ui = {s.display_name: s for s in settings.enabled_services() if s.subdomain and s.name != "homepage"}
    assert set(shown) == set(with_ui)
    for title, (group, tile) in shown.items():
        spec = with_ui[title]
        assert tile["href"] == settings.url(spec) == f"https://{spec.subdomain}.media.example.org"
        assert tile["description"]
        if spec.dashboard:
            assert (group, tile["description"], tile["icon"]) == (
                spec.dashboard.group,
                spec.dashboard.description,
                spec.dashboard.icon,
            )


def test_tiles_are_grouped_and_the_layout_names_every_group(prod: RunResult) -> None:
    settings = prod_settings()
    services = render_services(settings)
    groups = [next(iter(group)) for group in services]
    assert groups[:3] == ["Media", "Content management", "Monitoring"] and groups[-1] == "Administration"
    assert list(render_settings(settings)["layout"]) == groups
    shown = tiles(services)
    assert shown["Jellyfin"][0] == "Media" and shown["Sonarr"][0] == "Content management"
    assert shown["qBittorrent"][1]["siteMonitor"] == "http://gluetun:8080"
    assert shown["Jellyfin"][1]["siteMonitor"] == "http://jellyfin:8096"


def test_a_disabled_app_has_no_tile(run_site: Callable[..., RunResult]) -> None:
    settings = parse_settings(minimal_config(services={"kavita": {"enabled": False}}, tiers={"monitoring": False}))
    shown = tiles(render_services(settings))
    assert "Kavita" not in shown and "Grafana" not in shown and "Jellyfin" in shown
    result = run_site(minimal_config(services={"kavita": {"enabled": False}}, tiers={"monitoring": False}))
    served = yaml.safe_load(uploads_of(containers(result)["homepage"])[f"{CONFIG_DIR}/services.yaml"])
    assert "Kavita" not in tiles(served) and "Jellyfin" in tiles(served)


def test_the_container_serves_the_rendered_files_and_no_secret(prod: RunResult) -> None:
    homepage = containers(prod)["homepage"]
    # Writable root (Next writes .next/server on revalidation): its files are uploads, and nothing in them is secret.
    assert homepage.inputs["readOnly"] is False and homepage.host_files is None
    assert not isinstance(homepage.inputs["uploads"], Secret) and not isinstance(homepage.inputs["envs"], Secret)
    assert uploads_of(homepage) == render_files(prod_settings())
    secrets = {
        value
        for res in containers(prod).values()
        if isinstance(res.inputs.get("envs"), Secret)
        for key, value in env_of(res).items()
        if any(word in key for word in ("PASSWORD", "KEY", "TOKEN", "SECRET")) and len(value) >= 16
    }
    assert secrets
    text = "".join(uploads_of(homepage).values())
    assert not any(secret in text for secret in secrets)
    for content in uploads_of(homepage).values():
        yaml.safe_load(content)


def test_homepage_answers_at_the_apex_and_its_subdomain(prod: RunResult) -> None:
    env = env_of(containers(prod)["homepage"])
    assert env["HOMEPAGE_ALLOWED_HOSTS"] == "media.example.org,home.media.example.org"
    # Next writes /app/.next/server when the index is revalidated (config.image_facts): no read-only root.
    assert containers(prod)["homepage"].inputs["readOnly"] is False

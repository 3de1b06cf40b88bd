"""Image pins without a registry: release ordering, the lock file's validation, and how settings apply it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from config.lock import LOCK_ENV, LockError, parse_lock, read_lock, write_lock
from config.stack import parse_settings
from offline.runner import ROOT
from pins.versions import newer
from tests.conftest import minimal_config

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def test_newer_releases_keep_the_tags_shape_and_skip_pre_releases() -> None:
    tags = ["4.0.15", "4.0.17", "4.1.0", "4.1", "4", "4.2.0-rc1", "4.2.0-beta.2", "latest", "5.0.0", "develop"]
    assert newer("4.0.16", tags) == ["4.0.17", "4.1.0", "5.0.0"]
    ls = ["5.1.2-r1-ls400", "5.1.2-r1-ls401", "5.1.3-r0-ls402", "5.1.3", "5.2.0-r0-ls403-beta"]
    assert newer("5.1.2-r1-ls400", ls) == ["5.1.2-r1-ls401", "5.1.3-r0-ls402"]
    assert newer("v3.7.15", ["v3.7.16", "3.7.17", "v3.8.0-rc.1", "v3.10.0"]) == ["v3.7.16", "v3.10.0"]
    assert newer("17.6-bookworm", ["17.7-bookworm", "17.7-alpine", "18.0-bookworm", "17.7"]) == [
        "17.7-bookworm",
        "18.0-bookworm",
    ]
    assert newer("latest", ["1.0.0"]) == []


def test_lock_values_are_full_matched(tmp_path: Path) -> None:
    good = {"images": {"sonarr": {"image": "lscr.io/linuxserver/sonarr", "tag": "4.0.16", "digest": DIGEST_A}}}
    assert parse_lock(good).images["sonarr"].digest == DIGEST_A
    for app, field, value in (
        ("sonarr", "digest", DIGEST_A + "\n"),
        ("sonarr", "digest", "sha256:" + "g" * 64),
        ("sonarr", "tag", "4.0.16\n"),
        ("sonarr", "tag", "4.0.16 && rm -rf /"),
        ("sonarr", "image", "lscr.io/linuxserver/sonarr\n"),
        ("sonarr", "image", "https://evil.example/x"),
    ):
        bad = json.loads(json.dumps(good))
        bad["images"][app][field] = value
        with pytest.raises(LockError, match=rf"images\.{app}\.{field}: .* is not"):
            parse_lock(bad)
    with pytest.raises(LockError, match="expected image, tag and digest"):
        parse_lock({"images": {"sonarr": {"image": "x", "tag": "1"}}})
    with pytest.raises(LockError, match="variants"):
        parse_lock({"variants": {"ghcr.io/a/b:v1\n": DIGEST_A}})
    (tmp_path / "lock.json").write_text("{not json")
    with pytest.raises(LockError, match="not JSON"):
        read_lock(tmp_path / "lock.json")


def test_settings_take_tag_and_digest_from_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lock = tmp_path / "images.lock.json"
    lock.write_text(
        json.dumps(
            {
                "images": {
                    "sonarr": {"image": "lscr.io/linuxserver/sonarr", "tag": "4.0.99", "digest": DIGEST_A},
                    "radarr": {"image": "somewhere.else/radarr", "tag": "9.9.9", "digest": DIGEST_B},
                },
                "variants": {},
            }
        )
    )
    monkeypatch.setenv(LOCK_ENV, str(lock))
    settings = parse_settings(minimal_config())
    sonarr = settings.service("sonarr").image
    assert (sonarr.tag, sonarr.digest) == ("4.0.99", DIGEST_A)
    assert sonarr.reference == f"lscr.io/linuxserver/sonarr:4.0.99@{DIGEST_A}"
    radarr = settings.service("radarr").image  # the lock pins another repository: not this app's image
    assert radarr.repository == "lscr.io/linuxserver/radarr" and radarr.digest is None and radarr.tag != "9.9.9"
    # the site's own tag wins over the lock, and then the lock's digest (for another tag) does not apply
    site = parse_settings(minimal_config(services={"sonarr": {"imageTag": "4.0.50"}}))
    assert (site.service("sonarr").image.tag, site.service("sonarr").image.digest) == ("4.0.50", None)
    monkeypatch.setenv(LOCK_ENV, str(tmp_path / "absent.json"))
    assert parse_settings(minimal_config()).service("sonarr").image.digest is None


def test_the_lock_never_moves_a_built_image_nor_a_sites_own_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock entry for the reference an image is built as, or for a tag the site pinned itself, changes
    nothing: the built image has no registry digest, and the site's own digest wins."""
    from config.catalog import CATALOG

    built = CATALOG["backup"].image
    lock = tmp_path / "images.lock.json"
    lock.write_text(
        json.dumps(
            {
                "images": {},
                "variants": {
                    f"{built.repository}:{built.tag}": DIGEST_A,
                    "lscr.io/linuxserver/sonarr:4.0.50": DIGEST_A,
                },
            }
        )
    )
    monkeypatch.setenv(LOCK_ENV, str(lock))
    plain = parse_settings(minimal_config())
    assert plain.service("backup").image.digest is None
    site = parse_settings(minimal_config(services={"sonarr": {"imageTag": "4.0.50", "imageDigest": DIGEST_B}}))
    assert site.service("sonarr").image.digest == DIGEST_B


def test_renovate_reads_every_pin_the_lock_writer_writes(tmp_path: Path) -> None:
    """renovate.json's regex manager (JavaScript named groups) over a lock written by write_lock."""
    config = json.loads((ROOT / "renovate.json").read_text())
    (manager,) = config["customManagers"]
    assert any(re.fullmatch(p.strip("/"), "config/images.lock.json") for p in manager["managerFilePatterns"])
    (pattern,) = manager["matchStrings"]
    lock = parse_lock(
        {
            "images": {
                "sonarr": {"image": "lscr.io/linuxserver/sonarr", "tag": "4.0.16", "digest": DIGEST_A},
                "postgres": {"image": "postgres", "tag": "17.6-bookworm", "digest": DIGEST_B},
            },
            "variants": {"ghcr.io/immich-app/immich-machine-learning:v2.2.3-openvino": DIGEST_A},
        }
    )
    path = tmp_path / "images.lock.json"
    write_lock(lock, path)
    found = [m.groupdict() for m in re.finditer(pattern.replace("(?<", "(?P<"), path.read_text())]
    assert found == [
        {"depName": p.image, "currentValue": p.tag, "currentDigest": p.digest} for _, p in sorted(lock.images.items())
    ]
    assert config["customManagers"][0]["datasourceTemplate"] == "docker"

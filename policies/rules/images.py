"""Pinned images (MS-014): on RemoteImage.name and Container.image alike."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from .common import (
    ADVISORY,
    CONTAINER,
    MANDATORY,
    PROJECT,
    REMOTE_IMAGE,
    Report,
    Resource,
    get_path,
    resource_rule,
    text,
)

MOVING_TAGS = frozenset({"latest", "stable", "edge", "nightly", "develop", "dev", "main", "master", "rolling"})
_IMAGE_ID = re.compile(r"^sha256:[a-f0-9]{64}$")


@dataclass(frozen=True)
class ImageRef:
    repository: str
    tag: str | None
    digest: str | None


def parse_image(reference: str) -> ImageRef:
    """`[registry[:port]/]repository[:tag][@digest]`; a bare image ID counts as its own digest."""
    ref = reference.strip()
    if _IMAGE_ID.match(ref):
        return ImageRef(repository="", tag=None, digest=ref)
    name, _, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        tag = last.rsplit(":", 1)[1]
        name = name[: -len(tag) - 1]
    return ImageRef(repository=name, tag=tag or None, digest=digest or None)


def _reference(res: Resource) -> tuple[str, str]:
    if res.type == REMOTE_IMAGE:
        return text(res.props.get("name")), f"image {res.name}"
    return text(res.props.get("image")), res.service


def digests_required() -> bool:
    """Stack setting `media-server:policy.requireDigests` (the engine gives packs the stack's config)."""
    try:
        doc = pulumi.Config(PROJECT).get_object("policy")
    except Exception:  # an unreadable setting requires nothing more
        return False
    return get_path(doc, "requireDigests") is True


def _pinned(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    reference, who = _reference(res)
    image = parse_image(reference)
    if image.digest:
        return
    if image.tag is None:
        report(f"{who} uses {reference!r} without a tag (that is latest); fix: pin an exact version tag")
    elif image.tag.lower() in MOVING_TAGS:
        report(f"{who} uses the moving tag {image.tag!r} ({reference}); fix: pin an exact version tag")
    elif res.type == REMOTE_IMAGE and digests_required() and not res.props.get("build"):
        # The container runs the image's repo digest; the pull is what a re-pushed tag would change. An image
        # built on the host (its Dockerfile pins the base) is run by its image ID and pulled from nowhere.
        report(
            f"{who} pulls {reference!r} by tag only and the stack sets policy.requireDigests; fix: `make pin` "
            "(or `make upgrade APP=<app>`) to pin it by digest"
        )


ms_014_tag = resource_rule(
    "ms-014-image-tag-pinned",
    "Images are pinned: never latest, another moving tag, or untagged (CKV_DOCKER_7, CIS 5.28).",
    MANDATORY,
    (REMOTE_IMAGE, CONTAINER),
    _pinned,
    "Use the catalog's exact version tag (services.<name>.imageTag to override).",
)


def _by_digest(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    if res.type == REMOTE_IMAGE and res.props.get("build"):
        return  # built on the host from a Dockerfile pinning its base: pulled from nowhere, nothing to `make pin`
    reference, who = _reference(res)
    image = parse_image(reference)
    # MS-014's mandatory part reports those (and every tag-only pull under policy.requireDigests)
    unpinned = image.tag is None or image.tag.lower() in MOVING_TAGS or digests_required()
    if not image.digest and not unpinned:
        report(f"{who} pulls {reference!r} by tag only; fix: `make pin` pins every image by digest")


ms_014_digest = resource_rule(
    "ms-014-image-digest",
    "Images are pinned by digest, so a re-pushed tag cannot change what runs (CIS 5.28).",
    ADVISORY,
    (REMOTE_IMAGE, CONTAINER),
    _by_digest,
    "Run `make pin` (config/images.lock.json), or set services.<name>.imageDigest.",
)

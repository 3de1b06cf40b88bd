"""Pinned images (MS-014): on RemoteImage.name and Container.image alike."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .common import ADVISORY, CONTAINER, MANDATORY, REMOTE_IMAGE, Report, Resource, resource_rule, text

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


def _pinned(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    reference, who = _reference(res)
    image = parse_image(reference)
    if image.digest:
        return
    if image.tag is None:
        report(f"{who} uses {reference!r} without a tag (that is latest); fix: pin an exact version tag")
    elif image.tag.lower() in MOVING_TAGS:
        report(f"{who} uses the moving tag {image.tag!r} ({reference}); fix: pin an exact version tag")


ms_014_tag = resource_rule(
    "ms-014-image-tag-pinned",
    "Images are pinned: never latest, another moving tag, or untagged (CKV_DOCKER_7, CIS 5.28).",
    MANDATORY,
    (REMOTE_IMAGE, CONTAINER),
    _pinned,
    "Use the catalog's exact version tag (services.<name>.imageTag to override).",
)


def _by_digest(res: Resource, config: Mapping[str, Any], report: Report) -> None:
    reference, who = _reference(res)
    image = parse_image(reference)
    unpinned = image.tag is None or image.tag.lower() in MOVING_TAGS  # MS-014's mandatory part reports those
    if not image.digest and not unpinned:
        report(f"{who} pulls {reference!r} by tag only; fix: pin its sha256 digest (services.<name>.imageDigest)")


ms_014_digest = resource_rule(
    "ms-014-image-digest",
    "Images are pinned by digest, so a re-pushed tag cannot change what runs (CIS 5.28).",
    ADVISORY,
    (REMOTE_IMAGE, CONTAINER),
    _by_digest,
    "Set the image digest in the catalog entry or services.<name>.imageDigest.",
)

"""The image lock: each app's pinned tag and the digest a registry served for it (`make pin`, `make upgrade`).

    {"images": {"sonarr": {"image": "lscr.io/linuxserver/sonarr", "tag": "4.0.16", "digest": "sha256:..."}},
     "variants": {"ghcr.io/immich-app/immich-machine-learning:v2.2.3-openvino": "sha256:..."}}

`images` moves an app's tag (Renovate's regex manager reads image, tag and digest side by side); `variants`
holds the digests of references a site's settings derive from that tag (a GPU build of an image). Nothing
here is typed by hand: `python -m pins` writes it from what the registry answers. The program reads it
through `Settings.service`; a missing file is an empty lock (every image by tag).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCK_FILE = Path(__file__).resolve().parent / "images.lock.json"
LOCK_ENV = "MEDIA_SERVER_IMAGES_LOCK"
"""Read another lock file instead (tests; a site that keeps its pins beside its stack file)."""

_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_APP = re.compile(r"[a-z][a-z0-9-]{0,40}")
_REPOSITORY = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]{1,5})?(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*")


class LockError(ValueError):
    """The lock file is not what `make pin` writes."""


@dataclass(frozen=True)
class Pin:
    image: str
    tag: str
    digest: str

    @property
    def reference(self) -> str:
        return f"{self.image}:{self.tag}"


@dataclass(frozen=True)
class ImageLock:
    images: dict[str, Pin] = field(default_factory=dict)
    variants: dict[str, str] = field(default_factory=dict)

    def tag_for(self, app: str, repository: str) -> str | None:
        """The tag the lock moved the app to, if it pins this repository for it."""
        pin = self.images.get(app)
        return pin.tag if pin is not None and pin.image == repository else None

    def digest_for(self, app: str, repository: str, tag: str) -> str | None:
        pin = self.images.get(app)
        if pin is not None and pin.image == repository and pin.tag == tag:
            return pin.digest
        return self.variants.get(f"{repository}:{tag}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "images": {
                app: {"image": p.image, "tag": p.tag, "digest": p.digest} for app, p in sorted(self.images.items())
            },
            "variants": dict(sorted(self.variants.items())),
        }


def _check(pattern: re.Pattern[str], value: object, where: str, expected: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise LockError(f"{where}: {value!r} is not {expected}")
    return value


def parse_lock(doc: object, source: str = "lock") -> ImageLock:
    if not isinstance(doc, dict) or set(doc) - {"images", "variants"}:
        raise LockError(f"{source}: expected an object with images and variants")
    images: dict[str, Pin] = {}
    for app, entry in (doc.get("images") or {}).items():
        _check(_APP, app, f"{source}: images", "an app name")
        if not isinstance(entry, dict) or set(entry) != {"image", "tag", "digest"}:
            raise LockError(f"{source}: images.{app}: expected image, tag and digest")
        images[app] = Pin(
            image=_check(_REPOSITORY, entry["image"], f"{source}: images.{app}.image", "an image repository"),
            tag=_check(_TAG, entry["tag"], f"{source}: images.{app}.tag", "an image tag"),
            digest=_check(_DIGEST, entry["digest"], f"{source}: images.{app}.digest", "a sha256 digest"),
        )
    variants = {}
    for reference, digest in (doc.get("variants") or {}).items():
        repository, _, tag = str(reference).rpartition(":")
        _check(_REPOSITORY, repository, f"{source}: variants", "repository:tag")
        _check(_TAG, tag, f"{source}: variants", "repository:tag")
        variants[reference] = _check(_DIGEST, digest, f"{source}: variants.{reference}", "a sha256 digest")
    return ImageLock(images=images, variants=variants)


def lock_path() -> Path:
    return Path(os.environ.get(LOCK_ENV) or LOCK_FILE)


def read_lock(path: Path | None = None) -> ImageLock:
    path = path or lock_path()
    if not path.is_file():
        return ImageLock()
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise LockError(f"{path}: not JSON ({exc})") from None
    return parse_lock(doc, str(path))


def write_lock(lock: ImageLock, path: Path | None = None) -> None:
    """Replace the file in one step: a failed run leaves the old lock whole."""
    path = path or lock_path()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(lock.as_dict(), indent=2) + "\n")
    tmp.replace(path)

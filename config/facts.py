"""The shape of what an image is, as read in its upstream source at the pinned tag.

A catalog entry makes claims about an image it has never run: which user it runs as, which binary its
healthcheck calls, which paths it writes, which environment variables it reads and since which version.
Each claim lives here as a typed fact with the place it was read (repository, path, ref), so that a
reviewer, and the next tag bump, can check it. `verified` is False where the fact is inferred (the
pinned tag is not in the snapshot read, or the fact follows from a base image); `note` then says how.

The table of facts itself is config/image_facts.py, one record per catalog entry.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Frozen):
    """Where a fact was read: a GitHub repository, a path in it, and the tag or commit."""

    repo: str = Field(
        pattern=r"^(?:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+|media-server)$",
        description="owner/name on GitHub, or media-server for this repository (our own scripts and image).",
    )
    path: str = Field(min_length=1, description="File (or files, comma-separated) the fact is in.")
    ref: str = Field(min_length=1, description="Tag or commit read.")
    verified: bool = Field(default=True, description="Read at the pinned tag (False: inferred, see note).")
    note: str = Field(default="", description="How an inferred fact was inferred, or what the file says.")

    def cite(self) -> str:
        mark = "" if self.verified else " (inferred)"
        return f"{self.repo}:{self.path}@{self.ref}{mark}"


class ImageUser(_Frozen):
    """The user the image's entrypoint starts as (Dockerfile USER, or root when none)."""

    name: str
    uid: int = Field(ge=0)
    gid: int = Field(ge=0)
    source: Source


class Entrypoint(_Frozen):
    """Whether the entrypoint needs root, and each capability it needs with every other one dropped."""

    needs_root: bool
    capabilities: dict[str, str] = Field(default_factory=dict, description="Capability -> what for.")
    source: Source


class Binary(_Frozen):
    """A program the image contains (a healthcheck calls it), and why it is there."""

    why: str
    source: Source


class Writes(_Frozen):
    """The paths the app writes at run time; a read-only root needs each on a mount or a tmpfs."""

    paths: tuple[str, ...]
    source: Source

    @field_validator("paths")
    @classmethod
    def _absolute(cls, paths: tuple[str, ...]) -> tuple[str, ...]:
        for path in paths:
            if not path.startswith("/"):
                raise ValueError(f"written path {path!r} is not absolute")
        return paths


class Setting(_Frozen):
    """An environment variable (or config key) the app reads, and the first release that reads it."""

    since: str = Field(description="First upstream release (same tag scheme as the pinned tag) that reads it.")
    source: Source


class ImageFacts(_Frozen):
    """Everything the catalog relies on about one image."""

    user: ImageUser
    entrypoint: Entrypoint
    binaries: dict[str, Binary] = Field(default_factory=dict, description="Program name -> why it is in the image.")
    writes: Writes
    env: dict[str, Setting] = Field(
        default_factory=dict, description="Every variable we set -> since when the image reads it."
    )


_TAG = re.compile(
    r"^(?:[A-Za-z]+-)?[vV]?(?P<version>\d+(?:\.\d+)*)"
    r"(?:-(?P<pre>(?:alpha|beta|rc)[.-]?\d*))?"
    r"(?:-r(?P<revision>\d+))?(?:-ls(?P<ls>\d+))?(?:[-_].*)?$"
)


_PRE_KINDS = ("alpha", "beta", "rc")
_NEWEST = 1 << 30


def version_key(tag: str, floating: bool = False) -> tuple[tuple[int, ...], int, int, int, int, int]:
    """An order on release tags: numbers, then pre-release before release, then linuxserver's -rN and -lsNN.

    floating: the tag names the newest build of its line, as an image tag does ("4.0.16" is every
    4.0.16.x-lsNN build; "17.6" every 17.6.x): missing parts sort after every value. Otherwise missing
    parts are 0 (a "since" of "3.0" is 3.0.0). Suffixes such as "-bookworm" or "-alpine-rootless" name a
    variant, not a version.
    """
    match = _TAG.fullmatch(tag)
    if match is None:
        raise ValueError(f"not a release tag: {tag!r}")
    # A linuxserver build tag (-lsNN) or a pre-release names one build: nothing in it floats.
    missing = _NEWEST if floating and match["ls"] is None and match["pre"] is None else 0
    numbers = tuple(int(part) for part in match["version"].split("."))
    numbers = numbers + (missing,) * (5 - len(numbers))
    pre = match["pre"]
    released = 0 if pre else 1
    kind = next((i for i, k in enumerate(_PRE_KINDS) if pre and pre.startswith(k)), 0)
    pre_number = int(re.sub(r"\D", "", pre) or 0) if pre else 0
    revision = int(match["revision"]) if match["revision"] else (missing if match["ls"] is None else 0)
    ls = int(match["ls"]) if match["ls"] else missing
    return numbers, released, kind, pre_number, revision, ls


def available_in(since: str, pinned: str) -> bool:
    """Whether a setting first read in release `since` is read by the image tagged `pinned`."""
    return version_key(since) <= version_key(pinned, floating=True)

"""What the index holds: one Document per findable thing, whatever app it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """What a document is. The page groups results by KIND_GROUPS."""

    MOVIE = "movie"
    SERIES = "series"
    EPISODE = "episode"
    ALBUM = "album"
    ARTIST = "artist"
    TRACK = "track"
    AUDIOBOOK = "audiobook"
    PODCAST = "podcast"
    BOOK = "book"
    COMIC = "comic"
    PHOTO_ALBUM = "photo_album"
    PERSON = "person"
    PLACE = "place"


KIND_GROUPS: dict[Kind, str] = {
    Kind.MOVIE: "Films",
    Kind.SERIES: "Series and episodes",
    Kind.EPISODE: "Series and episodes",
    Kind.ALBUM: "Music",
    Kind.ARTIST: "Music",
    Kind.TRACK: "Music",
    Kind.AUDIOBOOK: "Audiobooks",
    Kind.PODCAST: "Podcasts",
    Kind.BOOK: "Books",
    Kind.COMIC: "Comics",
    Kind.PHOTO_ALBUM: "Photos",
    Kind.PERSON: "Photos",
    Kind.PLACE: "Photos",
}
"""The page's result groups, in the order they are shown."""

SOURCES: tuple[str, ...] = ("jellyfin", "navidrome", "audiobookshelf", "kavita", "calibre-web", "immich")
"""Every app a connector exists for, by its catalog name (the same name the stack's services use)."""


@dataclass(frozen=True, slots=True)
class Document:
    """One findable item. `source` + `id` is unique; `link` opens the item in its own app (public URL)."""

    source: str
    id: str
    kind: Kind
    title: str
    link: str
    creators: tuple[str, ...] = ()
    year: int | None = None
    cover: str | None = None
    """The search service's own path for the item's cover (`/cover/<source>/<id>`, proxied by the server
    through the connector's `cover()`), or None when the app serves none. Never a URL carrying a key."""
    description: str = ""
    """Secondary text that is searched with low weight (series name, album, overview excerpt)."""
    updated: float | None = None
    """When the app last changed the item (epoch seconds), where the app says."""

    @property
    def key(self) -> str:
        return f"{self.source}:{self.id}"


@dataclass(frozen=True, slots=True)
class Hit:
    document: Document
    score: float
    """Higher is better; only comparable within one result list."""


@dataclass(slots=True)
class SourceStatus:
    """What the page and /metrics say about one source."""

    app: str
    state: str
    """connected | not_configured | disabled | error | indexing"""
    reason: str = ""
    """Why a source is not connected, in words a user can act on (names the stack setting)."""
    documents: int = 0
    last_success: float | None = None
    last_attempt: float | None = None
    errors: int = 0
    extra: dict[str, str] = field(default_factory=dict)

"""Navidrome 0.58.0 (the catalog's pin): albums, artists and tracks through its Subsonic/OpenSubsonic API.

API facts (the OpenSubsonic OpenAPI description, tests/fixtures/search-apis/SOURCES.md; navidrome v0.58.0 source):
- `search3` with an empty `query` returns everything, paged per kind by artistCount/artistOffset, albumCount/
  albumOffset, songCount/songOffset (OpenSubsonic: "Servers must support an empty query and return all the data";
  navidrome v0.58.0 server/subsonic/searching.go defaults an empty query to `""`, and persistence/sql_search.go
  lists in natural order with LIMIT/OFFSET for it). One endpoint gives all three kinds, so no getArtists index
  walk and no per-album calls.
- Auth: token auth, u=<user>, s=<random salt>, t=md5(password + salt), with v, c, f=json. Navidrome 0.58.0 does
  NOT offer OpenSubsonic's `apiKeyAuthentication` extension (server/subsonic/opensubsonic.go lists
  transcodeOffset, formPost, songLyrics), and the Subsonic security schemes are all `in: query`. It does offer
  `formPost`: server/subsonic/middlewares.go postFormToQueryParams merges an application/x-www-form-urlencoded
  body into the parameters, so every request here is a POST with the credentials in the body. No URL this
  connector builds ever holds them, so none can reach a log line, an error or a page.
- Failures come as HTTP 200 with subsonic-response.status "failed" and error.code (40 wrong credentials, 41 token
  auth unsupported for the user, 50 not authorised).
- Cover: `getCoverArt` with the entity's id (navidrome v0.58.0 core/artwork/artwork.go getArtworkId accepts a
  plain album, artist or media-file id).
- Deep links: the UI is a hash-routed react-admin app under /app (consts.URLPathUI; ui/src/App.jsx
  createHashHistory): `/app/#/album/<id>/show`, `/app/#/artist/<id>/show`; a track opens its album (as the
  player does, ui/src/audioplayer/Player.jsx).
- No change-time filter exists in the API; `since` keeps the tracks and albums whose `created` is later (a changed
  tag is picked up by the next full rebuild).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from typing import Any

from mediasearch.config import SourceConfig
from mediasearch.connectors import ConnectorError
from mediasearch.connectors.documents import (
    cover_path,
    epoch_of,
    items,
    link,
    names,
    need_obj,
    obj,
    quote,
    text,
    year_of,
)
from mediasearch.connectors.http import HttpClient
from mediasearch.model import Document, Kind

APP = "navidrome"
API_VERSION = "1.16.1"
"""The Subsonic protocol version navidrome 0.58.0 implements (server/subsonic/api.go Version)."""
CLIENT = "media-server-search"
PAGE = 500
MAX_PAGES = 4000

_AUTH_CODES = {
    40: "wrong user name or password",
    41: "token authentication not supported for this user",
    50: "not authorised",
}
_RESULTS = {
    "artist": ("artistCount", "artistOffset"),
    "album": ("albumCount", "albumOffset"),
    "song": ("songCount", "songOffset"),
}


class NavidromeConnector:
    def __init__(self, config: SourceConfig, timeout: float) -> None:
        self.config = config
        self.timeout = timeout

    def _call(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        answer = self._client().json("POST", f"/rest/{endpoint}", form={**self._credentials(), **params})
        body = need_obj(obj(answer).get("subsonic-response"), APP, f"{endpoint} has no subsonic-response")
        if body.get("status") != "ok":
            error = obj(body.get("error"))
            code = error.get("code")
            words = _AUTH_CODES.get(code) if isinstance(code, int) else None
            if words:
                raise ConnectorError(f"{APP}: the API refused the login ({words}, Subsonic error {code})")
            raise ConnectorError(
                f"{APP}: {endpoint} failed (Subsonic error {code!r}: {text(error.get('message'), 200)})"
            )
        return body

    def _client(self) -> HttpClient:
        return HttpClient(APP, self.config.url or "", self.timeout)

    def _credentials(self) -> dict[str, str]:
        if not self.config.user:
            raise ConnectorError(f"{APP}: no user configured (setting search.sources.navidrome.user)")
        salt = secrets.token_hex(8)
        token = hashlib.md5((self.config.secret() + salt).encode(), usedforsecurity=False).hexdigest()
        return {"u": self.config.user, "t": token, "s": salt, "v": API_VERSION, "c": CLIENT, "f": "json"}

    def fetch(self, since: float | None) -> Iterator[Document]:
        offset = 0
        open_kinds = set(_RESULTS)
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"query": ""}
            for kind, (count, start) in _RESULTS.items():
                params[count] = PAGE if kind in open_kinds else 0
                params[start] = offset
            body = self._call("search3", params)
            result = body.get("searchResult3")
            result = need_obj(result, APP, "search3 has no searchResult3")
            for kind in sorted(open_kinds):
                entries = items(result.get(kind))
                for entry in entries[:PAGE]:
                    document = self._document(kind, entry)
                    if document is not None and (since is None or (document.updated or 0) > since or kind == "artist"):
                        yield document
                if len(entries) < PAGE:
                    open_kinds.discard(kind)
            if not open_kinds:
                return
            offset += PAGE
        raise ConnectorError(f"{APP}: more than {MAX_PAGES} pages of search3; stopped")

    def _document(self, kind: str, entry: Any) -> Document | None:
        if not isinstance(entry, dict):
            return None
        raw_id = text(entry.get("id"), 128)
        title = text(entry.get("title") if kind == "song" else entry.get("name"))
        if not raw_id or not title:
            return None
        cover = entry.get("coverArt")
        if kind == "artist":
            return Document(
                source=APP,
                id=f"artist:{raw_id}",
                kind=Kind.ARTIST,
                title=title,
                link=link(self.config.public_url, f"/app/#/artist/{quote(raw_id)}/show"),
                cover=cover_path(APP, f"artist:{raw_id}") if cover else None,
            )
        artists = entry.get("artists")
        credited = [a.get("name") for a in items(artists) if isinstance(a, dict)]
        creators = names(credited or entry.get("artist") or [])
        if kind == "album":
            return Document(
                source=APP,
                id=f"album:{raw_id}",
                kind=Kind.ALBUM,
                title=title,
                link=link(self.config.public_url, f"/app/#/album/{quote(raw_id)}/show"),
                creators=creators,
                year=year_of(entry.get("year")),
                cover=cover_path(APP, f"album:{raw_id}") if cover else None,
                updated=epoch_of(entry.get("created")),
            )
        album_id = text(entry.get("albumId"), 128)
        return Document(
            source=APP,
            id=f"track:{raw_id}",
            kind=Kind.TRACK,
            title=title,
            link=link(self.config.public_url, f"/app/#/album/{quote(album_id)}/show" if album_id else "/app/"),
            creators=creators,
            year=year_of(entry.get("year")),
            cover=cover_path(APP, f"track:{raw_id}") if cover else None,
            description=text(entry.get("album"), 200),
            updated=epoch_of(entry.get("created")),
        )

    def cover(self, item_id: str) -> tuple[str, bytes]:
        _, _, raw_id = item_id.partition(":")
        if not raw_id:
            raise ConnectorError(f"{APP}: {item_id!r} is not an item id of this connector")
        params = {**self._credentials(), "id": raw_id, "size": 400}
        return self._client().image("POST", "/rest/getCoverArt", form=params)

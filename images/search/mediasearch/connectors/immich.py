"""Immich v2.2.3 (the catalog's pin): photo albums, named people and places.

API facts from Immich's OpenAPI document (immich-openapi-specs.json; which version and why in
tests/fixtures/search-apis/SOURCES.md) and the @immich/sdk 2.2.3 release built from it:
- Auth: security scheme api_key, header `x-api-key`. API keys carry permissions; each operation names the one it
  needs in `x-immich-permission` (the SDK's "This endpoint requires the `...` permission").
- `GET /api/albums` (getAllAlbums, album.read) -> [AlbumResponseDto {id, albumName, description,
  albumThumbnailAssetId, owner {name}, startDate, updatedAt}]; without `shared` it lists the user's own and
  the albums shared with them.
- `GET /api/people?page=&size=` (getAllPeople, person.read; size 1..1000) -> PeopleResponseDto {people
  [{id, name, isHidden, updatedAt}], total, hasNextPage}.
- Places: `GET /api/search/cities` (getAssetsByCity, asset.read) -> one AssetResponseDto per city with exifInfo
  {city, state, country}. `/api/search/places` is not the library's places (it looks a `name` up in the
  geonames table), and `/api/search/explore` answers a capped sample; `POST /api/search/metadata` would page
  through every asset to find the same cities, so it is not used.
- Covers: `GET /api/assets/{id}/thumbnail?size=thumbnail` (viewAsset, asset.view) for an album's
  albumThumbnailAssetId (read with `GET /api/albums/{id}?withoutAssets=true`, album.read) and for a place's
  asset; `GET /api/people/{id}/thumbnail` (person.read) for a person.
- Deep links: the web app's routes `/albums/<id>`, `/people/<id>`, `/photos/<assetId>` (a place opens the
  city's photo).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mediasearch.config import SourceConfig
from mediasearch.connectors import ConnectorError
from mediasearch.connectors.documents import cover_path, epoch_of, link, names, need_list, need_obj, obj, text, year_of
from mediasearch.connectors.http import HttpClient
from mediasearch.model import Document, Kind

APP = "immich"
PEOPLE_PAGE = 1000
MAX_PAGES = 1000

REQUIRED_PERMISSIONS: tuple[str, ...] = ("album.read", "asset.read", "asset.view", "person.read")
"""The narrowest API key this connector works with: exactly the x-immich-permission of the operations it calls
(a test checks this against the OpenAPI document). Create the key with these four and nothing else."""

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class ImmichConnector:
    def __init__(self, config: SourceConfig, timeout: float) -> None:
        self.config = config
        self.timeout = timeout

    def _client(self) -> HttpClient:
        return HttpClient(APP, self.config.url or "", self.timeout, {"x-api-key": self.config.secret()})

    def fetch(self, since: float | None) -> Iterator[Document]:
        client = self._client()
        for document in [*self._albums(client), *self._people(client), *self._places(client)]:
            if since is None or document.updated is None or document.updated > since:
                yield document

    def _albums(self, client: HttpClient) -> Iterator[Document]:
        albums = client.json("GET", "/api/albums")
        for album in need_list(albums, APP, "/api/albums is not a list"):
            if not isinstance(album, dict):
                continue
            album_id, title = album.get("id"), text(album.get("albumName"))
            if not isinstance(album_id, str) or not _UUID.fullmatch(album_id) or not title:
                continue
            owner = obj(album.get("owner"))
            yield Document(
                source=APP,
                id=f"album:{album_id}",
                kind=Kind.PHOTO_ALBUM,
                title=title,
                link=link(self.config.public_url, f"/albums/{album_id}"),
                creators=names(owner.get("name") or []),
                year=year_of(album.get("startDate")),
                cover=cover_path(APP, f"album:{album_id}") if album.get("albumThumbnailAssetId") else None,
                description=text(album.get("description"), 200),
                updated=epoch_of(album.get("updatedAt")),
            )

    def _people(self, client: HttpClient) -> Iterator[Document]:
        for page in range(1, MAX_PAGES + 1):
            answer = client.json("GET", "/api/people", query={"page": page, "size": PEOPLE_PAGE, "withHidden": False})
            answer = need_obj(answer, APP, "/api/people is not an object")
            people = need_list(answer.get("people"), APP, "/api/people has no people list")
            for person in people[:PEOPLE_PAGE]:
                if not isinstance(person, dict) or person.get("isHidden") is True:
                    continue
                person_id, name = person.get("id"), text(person.get("name"))
                if not isinstance(person_id, str) or not _UUID.fullmatch(person_id) or not name:
                    continue  # unnamed faces are not findable by a name
                yield Document(
                    source=APP,
                    id=f"person:{person_id}",
                    kind=Kind.PERSON,
                    title=name,
                    link=link(self.config.public_url, f"/people/{person_id}"),
                    cover=cover_path(APP, f"person:{person_id}"),
                    updated=epoch_of(person.get("updatedAt")),
                )
            if answer.get("hasNextPage") is not True or len(people) < PEOPLE_PAGE:
                return
        raise ConnectorError(f"{APP}: more than {MAX_PAGES} pages of /api/people; stopped")

    def _places(self, client: HttpClient) -> Iterator[Document]:
        assets = client.json("GET", "/api/search/cities")
        seen: set[tuple[str, ...]] = set()
        for asset in need_list(assets, APP, "/api/search/cities is not a list"):
            if not isinstance(asset, dict) or not isinstance(asset.get("exifInfo"), dict):
                continue
            exif = asset["exifInfo"]
            asset_id, city = asset.get("id"), text(exif.get("city"))
            region = tuple(text(exif.get(key), 120) for key in ("state", "country"))
            if not isinstance(asset_id, str) or not _UUID.fullmatch(asset_id) or not city or (city, *region) in seen:
                continue
            seen.add((city, *region))
            yield Document(
                source=APP,
                id=f"place:{asset_id}",
                kind=Kind.PLACE,
                title=city,
                link=link(self.config.public_url, f"/photos/{asset_id}"),
                cover=cover_path(APP, f"place:{asset_id}"),
                description=", ".join(part for part in region if part),
            )

    def cover(self, item_id: str) -> tuple[str, bytes]:
        kind, _, raw_id = item_id.partition(":")
        if kind not in ("album", "person", "place") or not _UUID.fullmatch(raw_id):
            raise ConnectorError(f"{APP}: {item_id!r} is not an item id of this connector")
        client = self._client()
        if kind == "person":
            return client.image("GET", f"/api/people/{raw_id}/thumbnail")
        asset_id = raw_id
        if kind == "album":
            album = client.json("GET", f"/api/albums/{raw_id}", query={"withoutAssets": True})
            thumb = obj(album).get("albumThumbnailAssetId")
            if not isinstance(thumb, str) or not _UUID.fullmatch(thumb):
                raise ConnectorError(f"{APP}: album {raw_id} has no cover")
            asset_id = thumb
        return client.image("GET", f"/api/assets/{asset_id}/thumbnail", query={"size": "thumbnail"})

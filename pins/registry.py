"""A registry's HTTP API (distribution spec), read-only: a tag's manifest digest, a repository's tags.

Anonymous token flow: a 401 carries `WWW-Authenticate: Bearer realm=...,service=...,scope=...`; the realm
hands out a pull token for that scope, kept per repository and asked for once more when the registry refuses a
kept one (it expired). A realm that is not http(s), hands out no token or refuses, and a registry that refuses
the token it just issued, each end in a RegistryError naming the repository.

The digest pinned is the sha256 of the manifest the registry serves for the tag, the multi-arch index (manifest
list, OCI index) when there is one, checked against the Docker-Content-Digest header. Registries are reached at
https://<host>, Docker Hub at registry-1.docker.io; `bases` replaces a host's base URL (a mirror, or a test's
loopback registry).
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "https://registry-1.docker.io"
TIMEOUT = 20
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(RuntimeError):
    """A registry could not answer: unreachable, unknown tag, refused."""


def split_repository(repository: str) -> tuple[str, str]:
    """(registry host, repository path): `postgres` -> (docker.io, library/postgres)."""
    first, _, rest = repository.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return DOCKER_HUB, repository if rest else f"library/{repository}"


def _request(url: str, headers: Mapping[str, str] | None = None) -> urllib.request.Request:
    """Only http(s): a token realm comes from the registry's header and must not name a file."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise RegistryError(f"{url}: not an http(s) URL")
    return urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310 - scheme checked above


@dataclass
class Registries:
    bases: Mapping[str, str] = field(default_factory=dict)
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def base(self, host: str) -> str:
        if host in self.bases:
            return self.bases[host].rstrip("/")
        return DOCKER_HUB_API if host == DOCKER_HUB else f"https://{host}"

    def _token(self, challenge: str, scope_default: str) -> str:
        params = dict(_CHALLENGE.findall(challenge))
        realm = params.pop("realm", "")
        if not challenge.lower().startswith("bearer") or not realm:
            raise RegistryError(
                f"the registry asks for credentials ({challenge or 'no challenge'}); only public images"
            )
        params.setdefault("scope", scope_default)
        url = f"{realm}?{urllib.parse.urlencode(params)}"
        try:
            doc = json.loads(self._open(_request(url), f"token from {realm}")[1])
        except urllib.error.HTTPError as exc:
            raise RegistryError(f"token from {realm}: HTTP {exc.code} {exc.reason}") from None
        except ValueError:
            raise RegistryError(f"token from {realm}: did not answer JSON") from None
        token = (doc.get("token") or doc.get("access_token")) if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{realm} gave no token")
        return token

    @staticmethod
    def _open(request: urllib.request.Request, what: str) -> tuple[Mapping[str, str], bytes]:
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - http(s) only, below
                return response.headers, response.read()
        except urllib.error.HTTPError:
            raise
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryError(f"{what}: registry unreachable ({reason})") from None

    def get(self, repository: str, path: str, accept: tuple[str, ...] = ()) -> tuple[Mapping[str, str], bytes]:
        """GET /v2/<name>/<path> with the anonymous token flow."""
        host, name = split_repository(repository)
        url = f"{self.base(host)}/v2/{name}/{path}"
        headers = {"Accept": ", ".join(accept)} if accept else {}
        scope = f"repository:{name}:pull"
        token = self._tokens.get((host, name))
        fresh = False  # a kept token may have expired: one new one is asked for before giving up
        for _attempt in range(2):
            if token:
                headers["Authorization"] = f"Bearer {token}"
            try:
                return self._open(_request(url, headers), f"{repository} ({url})")
            except urllib.error.HTTPError as exc:
                if exc.code == 401 and not fresh:
                    try:
                        token = self._token(exc.headers.get("WWW-Authenticate", ""), scope)
                    except RegistryError as problem:
                        raise RegistryError(f"{repository}: {problem}") from None
                    self._tokens[(host, name)], fresh = token, True
                    continue
                if exc.code == 401:
                    raise RegistryError(f"{repository}: {url} refused the registry's own token (HTTP 401)") from None
                if exc.code == 404:
                    raise RegistryError(f"{repository}: {path} not found in the registry ({url})") from None
                raise RegistryError(f"{repository}: {url} answered HTTP {exc.code} {exc.reason}") from None
        raise RegistryError(f"{repository}: {url} refused the registry's own token")

    def digest(self, repository: str, tag: str) -> str:
        """The digest of the manifest (or multi-arch index) the tag points at now."""
        headers, body = self.get(repository, f"manifests/{tag}", MANIFEST_TYPES)
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        announced = headers.get("Docker-Content-Digest")
        if announced and announced != digest:
            raise RegistryError(f"{repository}:{tag}: the registry says {announced}, its manifest hashes to {digest}")
        media_type = json.loads(body).get("mediaType") or headers.get("Content-Type", "")
        if media_type and media_type.split(";")[0] not in MANIFEST_TYPES:
            raise RegistryError(f"{repository}:{tag}: {media_type} is not an image manifest")
        return digest

    def tags(self, repository: str) -> list[str]:
        """Every tag, following the `Link: <...>; rel="next"` pages."""
        found: list[str] = []
        path = "tags/list?n=1000"
        for _page in range(100):
            headers, body = self.get(repository, path)
            doc: dict[str, Any] = json.loads(body)
            found.extend(str(t) for t in doc.get("tags") or [])
            link = headers.get("Link", "")
            match = re.search(r'<([^>]+)>;\s*rel="next"', link)
            if not match:
                return found
            path = match[1].split("/v2/", 1)[-1].split("/tags/", 1)[-1]
            path = "tags/" + path
        return found

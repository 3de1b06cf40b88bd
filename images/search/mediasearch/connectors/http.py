"""The connectors' one way to talk HTTP: a deadline per request, a cap on what is read, JSON decoded, and every
failure turned into a ConnectorError that names the app and never carries a credential.

Stdlib only (the image has no requests). A key travels in a header or in a form body, never in a URL this
module is given; for the one API that takes a key only in the query string (Kavita's), the caller marks the
parameter `secret_query` and it is added here, below the point where anything is logged or put in a message.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from mediasearch.connectors import ConnectorError

MAX_JSON_BYTES = 64 * 1024 * 1024
"""One answer larger than this is refused: a page of a few hundred items is far below it, a runaway or hostile
server is not read into memory without end."""
MAX_IMAGE_BYTES = 16 * 1024 * 1024
USER_AGENT = "media-server-search/1"
READ_CHUNK = 64 * 1024

_REDIRECTS_REFUSED = (301, 302, 303, 307, 308)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could carry a header with the key to another host; the apps' APIs answer without one."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))


def _status_message(app: str, status: int, path: str) -> str:
    if status in (401, 403):
        return f"{app}: the API refused the credentials (HTTP {status} on {path}); check the key in its stack secret"
    if status == 404:
        return f"{app}: {path} not found (HTTP 404): is this the app's internal address, at the pinned version?"
    return f"{app}: HTTP {status} on {path}"


class HttpClient:
    """One app's API at `base_url` (the container-network address)."""

    def __init__(self, app: str, base_url: str, timeout: float, headers: Mapping[str, str] | None = None) -> None:
        if not base_url:
            raise ConnectorError(f"{app}: no internal URL configured")
        self.app = app
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers = dict(headers or {})

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        secret_query: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> tuple[str, bytes]:
        """(content type, body) of a 2xx answer; ConnectorError otherwise. `path` names the endpoint in errors."""
        limit = MAX_JSON_BYTES if limit is None else limit
        params = [(k, _text(v)) for k, v in (query or {}).items() if v is not None]
        params += list((secret_query or {}).items())
        url = self.base_url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data: bytes | None = None
        all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **self.headers, **(headers or {})}
        if json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode([(k, _text(v)) for k, v in form.items() if v is not None]).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310 (http(s) only: config checks the scheme)
        try:
            deadline = time.monotonic() + self.timeout
            with _OPENER.open(req, timeout=self.timeout) as answer:
                kind = answer.headers.get("Content-Type", "")
                body = self._read(answer, limit, deadline, path)
        except urllib.error.HTTPError as error:
            error.close()
            if error.code in _REDIRECTS_REFUSED:
                raise ConnectorError(
                    f"{self.app}: {path} answered a redirect (HTTP {error.code}); not followed"
                ) from None
            raise ConnectorError(_status_message(self.app, error.code, path)) from None
        except ConnectorError:
            raise
        except TimeoutError:
            raise ConnectorError(f"{self.app}: no answer from {path} within {self.timeout:g} s") from None
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise ConnectorError(f"{self.app}: no answer from {path} within {self.timeout:g} s") from None
            raise ConnectorError(f"{self.app}: cannot reach the API ({type(reason).__name__})") from None
        except (OSError, ValueError) as error:
            raise ConnectorError(f"{self.app}: connection failed on {path} ({type(error).__name__})") from None
        if len(body) > limit:
            raise ConnectorError(f"{self.app}: the answer of {path} is larger than {limit} bytes; refused")
        return kind, body

    def _read(self, answer: Any, limit: int, deadline: float, path: str) -> bytes:
        """The body, in chunks, within the same deadline as the whole request: the socket timeout alone would let
        a server that trickles a byte now and then hold a source for ever."""
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = answer.read1(min(READ_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if time.monotonic() > deadline:
                raise ConnectorError(f"{self.app}: the answer of {path} took longer than {self.timeout:g} s")
        return b"".join(chunks)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        _, body = self.request(method, path, **kwargs)
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ConnectorError(f"{self.app}: {path} did not answer JSON") from None

    def image(self, method: str, path: str, **kwargs: Any) -> tuple[str, bytes]:
        kind, body = self.request(method, path, limit=MAX_IMAGE_BYTES, headers={"Accept": "image/*"}, **kwargs)
        kind = kind.split(";", 1)[0].strip().lower()
        if not kind.startswith("image/"):
            raise ConnectorError(f"{self.app}: {path} answered {kind or 'no content type'}, not an image")
        return kind, body


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_text(v) for v in value)
    return str(value)

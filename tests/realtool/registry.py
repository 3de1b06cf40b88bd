"""A real registry on loopback (Debian's docker-registry, distribution 2.8) and images pushed through its API.

Images are built here as OCI manifests (a config blob and one layer blob) and pushed with the registry's
HTTP API (blob upload, manifest PUT); a multi-arch image is two manifests and an OCI index under the tag.
The digests tests expect are the sha256 of the manifest bytes pushed, computed here, never typed in.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.realtool.backup_env import free_port, require

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


@dataclass(frozen=True)
class Registry:
    url: str

    def _call(self, method: str, url: str, body: bytes = b"", content_type: str = "") -> urllib.response.addinfourl:
        request = urllib.request.Request(url, data=body if method in ("POST", "PUT") else None, method=method)  # noqa: S310
        if content_type:
            request.add_header("Content-Type", content_type)
        return urllib.request.urlopen(request, timeout=10)  # noqa: S310 - the test's own loopback registry

    def blob(self, name: str, data: bytes) -> dict[str, object]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with self._call("POST", f"{self.url}/v2/{name}/blobs/uploads/") as started:
            location = urllib.parse.urljoin(self.url, started.headers["Location"])
        joiner = "&" if "?" in location else "?"
        with self._call("PUT", f"{location}{joiner}digest={digest}", data, "application/octet-stream") as done:
            assert done.status == 201, done.status
        return {"digest": digest, "size": len(data)}

    def manifest(self, name: str, reference: str, doc: dict[str, object], media_type: str) -> str:
        body = json.dumps(doc, sort_keys=True).encode()
        with self._call("PUT", f"{self.url}/v2/{name}/manifests/{reference}", body, media_type) as done:
            assert done.status == 201, done.status
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            assert done.headers["Docker-Content-Digest"] == digest
            return digest

    def image(self, name: str, tag: str, content: str = "", arches: tuple[str, ...] = ("amd64",)) -> str:
        """Push `name:tag`; returns the digest the tag now points at (the index's, for several arches)."""
        manifests = []
        for arch in arches:
            config = json.dumps({"architecture": arch, "os": "linux", "config": {"Labels": {"t": content or tag}}})
            layer = f"{name}:{tag}:{arch}:{content}".encode()
            doc = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **self.blob(name, config.encode())},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **self.blob(name, layer)}],
            }
            if len(arches) == 1:
                return self.manifest(name, tag, doc, OCI_MANIFEST)
            body = json.dumps(doc, sort_keys=True).encode()
            digest = self.manifest(name, "sha256:" + hashlib.sha256(body).hexdigest(), doc, OCI_MANIFEST)
            manifests.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": digest,
                    "size": len(body),
                    "platform": {"os": "linux", "architecture": arch},
                }
            )
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        return self.manifest(name, tag, index, OCI_INDEX)


@contextmanager
def registry(tmp: Path) -> Iterator[Registry]:
    """docker-registry serving http on a free loopback port, storage in tmp; stopped on exit."""
    require("docker-registry")
    port = free_port()
    config = tmp / "registry.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "version": 0.1,
                "log": {"level": "error"},
                "storage": {"filesystem": {"rootdirectory": str(tmp / "storage")}},
                "http": {"addr": f"127.0.0.1:{port}"},
            }
        )
    )
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{url}/v2/", timeout=1):  # noqa: S310 - loopback
                    break
            except (urllib.error.URLError, OSError):
                assert process.poll() is None, process.stderr.read() if process.stderr else "exited"
                time.sleep(0.1)
        yield Registry(url)
    finally:
        process.terminate()
        process.wait(timeout=10)

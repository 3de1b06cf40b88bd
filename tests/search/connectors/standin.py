"""Stand-ins for the media apps' APIs that hold every request and every answer to the app's published OpenAPI
description (tests/fixtures/search-apis/, SOURCES.md says which document at which version).

A StandIn is a loopback HTTP server on a free port. For each request it finds the operation by method and path
template, then checks what the document says the operation takes: path parameters, query parameters (an
undeclared one is an error too: a misspelt parameter is what this is here to catch), required headers, the
security scheme (one of the operation's alternatives must be met), and the request body against its schema and
content type. Only then does the test's handler answer; a JSON answer is itself validated against the
operation's response schema for that status, so a test cannot feed the connector a shape the app never sends.
Every violation is recorded in `errors` (the `standin` fixture fails the test on any) and answered 400 (request)
or 500 (answer).

OpenAPI 3.0 schemas are JSON Schema with `nullable`; they are rewritten to 2020-12 (`type: [t, "null"]`) when
loaded. Documents split over files (OpenSubsonic's) are resolved by relative `$ref` from disk.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "search-apis"


def _convert(node: Any) -> Any:
    """OpenAPI 3.0 schema object -> JSON Schema 2020-12 (nullable; boolean exclusiveMinimum/Maximum)."""
    if isinstance(node, list):
        return [_convert(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v) for k, v in node.items() if k != "nullable"}
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), bool) and out.pop(bound) and limit in out:
            out[bound] = out.pop(limit)
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            return {"anyOf": [out, {"type": "null"}]}
    return out


class ApiDocument:
    """One published OpenAPI document (or a file of one split over files), loaded for validation."""

    def __init__(self, path: Path, prefix: str = "", supplement: dict[str, Any] | None = None) -> None:
        self.path = path.resolve()
        self.uri = self.path.as_uri()
        self.prefix = prefix
        self.doc = json.loads(self.path.read_text(encoding="utf-8"))
        for template, item in (supplement or {}).items():
            if template in self.doc["paths"]:
                raise ValueError(f"{template} is in the document; a supplement only adds what it lacks")
            self.doc["paths"][template] = item
        self.registry: Registry = Registry(retrieve=self._retrieve)  # type: ignore[call-arg]
        self.registry = self.registry.with_resource(self.uri, self._resource(self.doc))

    @staticmethod
    def _resource(contents: Any) -> Resource:
        return Resource.from_contents(_convert(contents), default_specification=DRAFT202012)

    def _retrieve(self, uri: str) -> Resource:
        target = Path(urllib.parse.urlparse(uri).path).resolve()
        if not target.is_relative_to(FIXTURES):
            raise LookupError(uri)
        return self._resource(json.loads(target.read_text(encoding="utf-8")))

    def load(self, relative: str) -> tuple[dict[str, Any], str]:
        """A file referenced from the root document (OpenSubsonic's `./endpoints/x.json`) and its URI."""
        target = (self.path.parent / relative).resolve()
        return json.loads(target.read_text(encoding="utf-8")), target.as_uri()

    def operation(self, method: str, path: str) -> tuple[dict[str, Any], dict[str, str], list[Any], str] | None:
        """(operation, path parameters, path-level parameters, base URI of the operation's file)."""
        if not path.startswith(self.prefix):
            return None
        path = path[len(self.prefix) :]
        for template, item in self.doc["paths"].items():
            pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
            found = re.match(pattern, path)
            if not found:
                continue
            path_item, base = self.load(item["$ref"]) if "$ref" in item else (item, self.uri)
            op = path_item.get(method.lower())
            if op is None:
                return None
            params = {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()}
            return op, params, path_item.get("parameters", []), base
        return None

    def resolve(self, node: Any, base: str) -> tuple[Any, str]:
        """Follow a `$ref` (local or to another file) to the object and its base URI."""
        while isinstance(node, dict) and "$ref" in node:
            target = urllib.parse.urljoin(base, node["$ref"])
            doc_uri, _, pointer = target.partition("#")
            if doc_uri == self.uri:
                contents = self.doc
            else:
                contents = json.loads(Path(urllib.parse.urlparse(doc_uri).path).read_text(encoding="utf-8"))
            for part in [p for p in pointer.split("/") if p]:
                contents = contents[part.replace("~1", "/").replace("~0", "~")]
            node, base = contents, doc_uri
        return node, base

    def validate(self, schema: Any, base: str, value: Any) -> list[str]:
        """Errors of `value` against `schema`, a schema object found in the file at `base`."""
        validator = Draft202012Validator(_absolute(_convert(schema), base), registry=self.registry)
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(value)]


def _absolute(node: Any, base: str) -> Any:
    """Every `$ref` made absolute against the file it was written in (so an inline schema needs no $id)."""
    if isinstance(node, list):
        return [_absolute(v, base) for v in node]
    if not isinstance(node, dict):
        return node
    return {k: urllib.parse.urljoin(base, v) if k == "$ref" else _absolute(v, base) for k, v in node.items()}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    form: dict[str, list[str]] = field(default_factory=dict)
    json: Any = None
    path_params: dict[str, str] = field(default_factory=dict)
    operation_id: str = ""
    operation: dict[str, Any] = field(default_factory=dict)

    @property
    def raw_url(self) -> str:
        query = urllib.parse.urlencode([(k, v) for k, vs in self.query.items() for v in vs])
        return self.path + ("?" + query if query else "")

    def param(self, name: str) -> str | None:
        values = self.query.get(name) or self.form.get(name)
        return values[0] if values else None


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    content_type: str = "application/json"
    raw: bytes | None = None


Handler = Callable[[Request], Answer]


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    try:
        if "integer" in kinds:
            return int(value)
        if "number" in kinds:
            return float(value) if "." in value else int(value)
        if "boolean" in kinds:
            return {"true": True, "false": False}[value.lower()]
    except (ValueError, KeyError):
        return value
    return value


class StandIn:
    """A loopback server answering one app's API by `handler`, validating by `document`."""

    def __init__(
        self,
        document: ApiDocument,
        handler: Handler,
        form_post_credentials: tuple[str, ...] = (),
        anonymous: tuple[str, ...] = (),
    ) -> None:
        self.document = document
        self.handler = handler
        self.form_post_credentials = form_post_credentials
        """Security parameters the app also takes from a form body (OpenSubsonic's formPost extension)."""
        self.anonymous = anonymous
        """Path templates the app serves without its security scheme where the document's global `security`
        does not say so (the caller cites the source)."""
        self.errors: list[str] = []
        self.requests: list[Request] = []
        self.release = threading.Event()
        stand_in = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                stand_in._serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ validation
    def _fail(self, problem: str) -> str:
        self.errors.append(problem)
        return problem

    def _serve(self, http: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(http.path)
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length) if length else b""
        request = Request(
            method=http.command,
            path=parsed.path,
            query=urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in http.headers.items()},
            body=body,
        )
        self.requests.append(request)
        problems = self._check_request(request)
        if problems:
            self.send(http, 400, json.dumps({"stand-in": problems}).encode(), "application/json")
            return
        answer = self.handler(request)
        if answer.raw is not None:
            self.send(http, answer.status, answer.raw, answer.content_type)
            return
        problems = self._check_answer(request, answer)
        if problems:
            self.send(http, 500, json.dumps({"stand-in": problems}).encode(), "application/json")
            return
        payload = json.dumps(answer.body).encode() if answer.body is not None else b""
        self.send(http, answer.status, payload, answer.content_type)

    @staticmethod
    def send(
        http: BaseHTTPRequestHandler, status: int, payload: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        http.send_response(status)
        for key, value in (headers or {}).items():
            http.send_header(key, value)
        http.send_header("Content-Type", kind)
        http.send_header("Content-Length", str(len(payload)))
        http.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            http.wfile.write(payload)

    def _check_request(self, request: Request) -> list[str]:
        found = self.document.operation(request.method, request.path)
        where = f"{request.method} {request.path}"
        if found is None:
            return [self._fail(f"{where}: no such operation in {self.document.path.name}")]
        op, path_params, item_params, base = found
        request.path_params = path_params
        request.operation = op
        request.operation_id = op.get("operationId", "")
        problems: list[str] = []
        # body
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        declared_body, body_base = self.document.resolve(op.get("requestBody"), base)
        if request.body:
            content = (declared_body or {}).get("content", {})
            if content_type not in content:
                problems.append(f"{where}: body of type {content_type!r}; the operation takes {sorted(content)}")
            else:
                schema = content[content_type].get("schema", {})
                if content_type == "application/x-www-form-urlencoded":
                    request.form = urllib.parse.parse_qs(request.body.decode(), keep_blank_values=True)
                    resolved, schema_base = self.document.resolve(schema, body_base)
                    props = resolved.get("properties", {})
                    allowed = set(props) | set(self.form_post_credentials)
                    for name in set(request.form) - allowed:
                        problems.append(f"{where}: form field {name!r} is not a parameter of {request.operation_id}")
                    value = {
                        k: _coerce(v[0], self.document.resolve(props.get(k, {}), schema_base)[0])
                        for k, v in request.form.items()
                        if k in props
                    }
                    problems += [f"{where}: form {p}" for p in self.document.validate(resolved, schema_base, value)]
                else:
                    try:
                        request.json = json.loads(request.body)
                    except json.JSONDecodeError:
                        problems.append(f"{where}: body is not JSON")
                    else:
                        problems += [
                            f"{where}: body {p}" for p in self.document.validate(schema, body_base, request.json)
                        ]
        elif declared_body and declared_body.get("required"):
            problems.append(f"{where}: the operation requires a request body")
        # parameters
        declared: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*item_params, *op.get("parameters", [])]:
            param, _ = self.document.resolve(raw, base)
            declared[(param["in"], param["name"] if param["in"] != "header" else param["name"].lower())] = param
        security_names = self._security_names(op)
        for name in request.query:
            if ("query", name) not in declared and name not in security_names:
                problems.append(f"{where}: query parameter {name!r} is not declared for {request.operation_id}")
        for (place, name), param in declared.items():
            schema, schema_base = self.document.resolve(param.get("schema", {}), base)
            if place == "path":
                values = [path_params.get(name, "")]
            elif place == "query":
                values = request.query.get(name, [])
            elif place == "header":
                values = [request.headers[name]] if name in request.headers else []
            else:
                continue
            if not values:
                if param.get("required"):
                    problems.append(f"{where}: required {place} parameter {name!r} missing")
                continue
            resolved, _ = self.document.resolve(schema, schema_base)
            if resolved.get("type") == "array":
                item_schema, _ = self.document.resolve(resolved.get("items", {}), schema_base)
                value: Any = [_coerce(v, item_schema) for raw in values for v in raw.split(",")]
            else:
                value = _coerce(values[0], resolved)
            problems += [
                f"{where}: {place} parameter {name!r} {p}" for p in self.document.validate(schema, schema_base, value)
            ]
        problems += self._check_security(request, op, where)
        for problem in problems:
            self._fail(problem)
        return problems

    def _schemes(self) -> dict[str, Any]:
        return self.document.doc.get("components", {}).get("securitySchemes", {})

    def _security_names(self, op: dict[str, Any]) -> set[str]:
        names = set()
        for alternative in op.get("security", self.document.doc.get("security", [])):
            for scheme in alternative:
                definition = self._schemes().get(scheme, {})
                if definition.get("in") == "query":
                    names.add(definition["name"])
        return names

    def _check_security(self, request: Request, op: dict[str, Any], where: str) -> list[str]:
        alternatives = op.get("security", self.document.doc.get("security", []))
        if not alternatives or request.path in self.anonymous:
            return []
        failures = []
        for alternative in alternatives:
            missing = []
            for scheme in alternative:
                definition = self._schemes().get(scheme, {})
                if definition.get("type") == "http" and definition.get("scheme", "").lower() == "bearer":
                    if not request.headers.get("authorization", "").startswith("Bearer "):
                        missing.append(f"{scheme} (Authorization: Bearer)")
                elif definition.get("type") == "apiKey" and definition.get("in") == "header":
                    if not request.headers.get(definition["name"].lower()):
                        missing.append(f"{scheme} (header {definition['name']})")
                elif definition.get("type") == "apiKey" and definition.get("in") == "query":
                    name = definition["name"]
                    in_form = name in self.form_post_credentials and name in request.form
                    if name not in request.query and not in_form:
                        missing.append(f"{scheme} (parameter {name})")
                else:
                    missing.append(f"{scheme} (not offered by this stand-in)")
            if not missing:
                return []
            failures.append(" + ".join(missing))
        return [f"{where}: no security alternative met; missing {' | '.join(failures)}"]

    def _check_answer(self, request: Request, answer: Answer) -> list[str]:
        where = f"answer to {request.method} {request.path}"
        found = self.document.operation(request.method, request.path)
        assert found is not None
        op, _, _, base = found
        responses = op.get("responses", {})
        declared = responses.get(str(answer.status)) or responses.get("default")
        if declared is None:
            if answer.status >= 400:
                return []  # an error status the document does not list (401 from an auth layer): body unchecked
            return [self._fail(f"{where}: status {answer.status} is not a documented response")]
        declared, response_base = self.document.resolve(declared, base)
        content = declared.get("content")
        if not content:
            return [] if answer.body is None else [self._fail(f"{where}: the document declares no body")]
        media = content.get(answer.content_type) or content.get(answer.content_type.split(";")[0])
        if media is None:
            return [self._fail(f"{where}: content type {answer.content_type!r} not among {sorted(content)}")]
        schema = media.get("schema", {})
        problems = [f"{where}: {p}" for p in self.document.validate(schema, response_base, answer.body)]
        for problem in problems:
            self._fail(problem)
        return problems

    def check(self, schema_ref: str, value: Any) -> list[str]:
        """Validate `value` against a named schema of the document (e.g. '#/components/schemas/X')."""
        return self.document.validate({"$ref": schema_ref}, self.document.uri, value)


def document(name: str, prefix: str = "", supplement: dict[str, Any] | None = None) -> ApiDocument:
    """A fixture document; `supplement` adds operations the document lacks, each cited where it is written."""
    return ApiDocument(FIXTURES / name, prefix, supplement)


__all__ = ["Answer", "ApiDocument", "Request", "StandIn", "ValidationError", "document"]

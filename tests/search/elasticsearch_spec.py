"""Elasticsearch's published API description at 8.19, read from tests/fixtures/elasticsearch-spec/ (see its
SOURCES.md), and a loopback stand-in that refuses any request the description does not allow.

Two parts of the description are used:
- `specification/_json_spec/<api>.json` (the REST API spec): paths, methods, query parameters with their
  types, whether a body is allowed or required, and the content type;
- the TypeScript request types (`specification/**/*.ts`): the body's shape. A small reader takes the
  classes, type aliases and enums out of those files, and `Types.check` walks a JSON value against a type
  expression: every key must be a declared property (inherited ones included), required properties must be
  present, literals and enums must match, unions match when one member does. Type names the copied files do
  not define are reported, never silently accepted.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from mediasearch.engine.text import fold, tokens, within_one_edit

SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "elasticsearch-spec" / "specification"
PRIMITIVES = {"string": str, "number": (int, float), "boolean": bool, "null": type(None)}
ANY = {"UserDefinedValue", "any", "TDocument"}


# -- the TypeScript request types ------------------------------------------------------------------------


@dataclass
class Klass:
    name: str
    bases: list[str]
    properties: dict[str, tuple[str, bool]]  # name -> (type expression, required)


@dataclass
class Types:
    classes: dict[str, Klass] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    enums: dict[str, set[str]] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)

    # reading ---------------------------------------------------------------------------------------------

    @classmethod
    def load(cls) -> Types:
        types = cls()
        for path in sorted(SPEC.rglob("*.ts")):
            types._read(path.read_text(encoding="utf-8"), prefix=_request_prefix(path))
        return types

    def _read(self, text: str, prefix: str | None) -> None:
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
        text = re.sub(r"(?m)(^|\s)//.*$", r"\1", text)
        for found in re.finditer(r"export\s+(class|interface)\s+(\w+)(<[^{]*?>)?([^{]*)\{", text):
            body, _ = _block(text, found.end())
            name = found.group(2)
            if name == "Request" and prefix:
                name = prefix
            bases = re.findall(r"extends\s+(\w+)", found.group(4))
            self.classes[name] = Klass(name, bases, self._properties(body, name))
        for found in re.finditer(r"export\s+type\s+(\w+)(<[^=]*>)?\s*=(.*?)(?=\nexport\s|\Z)", text, re.DOTALL):
            self.aliases[found.group(1)] = " ".join(found.group(3).split())
        for found in re.finditer(r"export\s+enum\s+(\w+)\s*\{", text):
            body, _ = _block(text, found.end())
            members = set()
            for line in body.split(","):
                member = re.match(r"\s*(\w+)(\s*=\s*'([^']*)')?", line)
                if member:
                    members.add(member.group(3) if member.group(3) is not None else member.group(1))
            self.enums[found.group(1)] = members

    def _properties(self, body: str, owner: str) -> dict[str, tuple[str, bool]]:
        properties: dict[str, tuple[str, bool]] = {}
        position = 0
        pattern = re.compile(r"\n\s*(\w+)(\?)?\s*:\s*")
        while found := pattern.search(body, position):
            start = found.end()
            if body.startswith("{", start):  # an inline object type: a class of its own
                inner, end = _block(body, start + 1)
                nested = f"{owner}.{found.group(1)}"
                self.classes[nested] = Klass(nested, [], self._properties(inner, nested))
                expression, position = nested, end
            else:
                end = start
                depth = 0
                while end < len(body):  # the type runs to the line end, or on over `|` continuations
                    char = body[end]
                    depth += (char in "<([") - (char in ">)]")
                    if char == "\n" and depth <= 0 and not re.match(r"\n\s*\|", body[end:]):
                        break
                    end += 1
                expression, position = " ".join(body[start:end].split()), end
            properties[found.group(1)] = (expression, found.group(2) is None)
        return properties

    def request(self, api_file: str) -> Klass:
        return self.classes[_request_prefix(SPEC / api_file) or ""]

    # checking --------------------------------------------------------------------------------------------

    def check(self, value: Any, expression: str, where: str = "body") -> list[str]:
        """Problems of `value` as the type `expression` (empty: it conforms)."""
        expression = expression.strip()
        alternatives = _split(expression, "|")
        if len(alternatives) > 1:
            problems: list[str] = []
            for alternative in alternatives:
                found = self.check(value, alternative, where)
                if not found:
                    return []
                problems += found
            return [f"{where}: {json.dumps(value)[:80]} matches none of {expression[:100]} ({problems[0]})"]
        if expression.endswith("[]"):
            return self._list(value, expression[:-2], where)
        generic = re.fullmatch(r"(\w+)<(.*)>", expression)
        if generic:
            return self._generic(value, generic.group(1), _split(generic.group(2), ","), where)
        if re.fullmatch(r"'[^']*'", expression):
            return [] if value == expression[1:-1] else [f"{where}: {value!r} is not {expression}"]
        if expression in ANY:
            return []
        if expression in PRIMITIVES:
            kind = PRIMITIVES[expression]
            ok = isinstance(value, kind) and not (expression == "number" and isinstance(value, bool))
            return [] if ok else [f"{where}: {value!r} is not a {expression}"]
        if expression in self.enums:
            members = self.enums[expression]
            ok = str(value).lower() in members if not isinstance(value, dict | list) else False
            return [] if ok else [f"{where}: {value!r} is not one of {sorted(members)} ({expression})"]
        if expression in self.aliases:
            return self.check(value, self.aliases[expression], where)
        if expression in self.classes:
            return self._object(value, self.classes[expression], where)
        self.unknown.add(expression)
        return [f"{where}: type {expression} is not in the copied specification files"]

    def _list(self, value: Any, item: str, where: str) -> list[str]:
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        return [problem for n, element in enumerate(value) for problem in self.check(element, item, f"{where}[{n}]")]

    def _generic(self, value: Any, name: str, arguments: list[str], where: str) -> list[str]:
        if name == "Array":
            return self._list(value, arguments[0], where)
        if name == "Stringified":
            return self.check(value, f"{arguments[0]} | string", where)
        if name in ("Dictionary", "SingleKeyDictionary"):
            if not isinstance(value, dict):
                return [f"{where}: {value!r} is not an object"]
            if name == "SingleKeyDictionary" and len(value) != 1:
                return [f"{where}: {sorted(value)} is not exactly one key"]
            return [p for key, item in value.items() for p in self.check(item, arguments[1], f"{where}.{key}")]
        self.unknown.add(name)
        return [f"{where}: generic {name} is not known"]

    def _object(self, value: Any, klass: Klass, where: str) -> list[str]:
        if not isinstance(value, dict):
            return [f"{where}: {json.dumps(value)[:60]} is not a {klass.name} object"]
        declared = self._all_properties(klass)
        problems = [f"{where}.{key}: not a property of {klass.name}" for key in value if key not in declared]
        problems += [
            f"{where}.{name}: required by {klass.name}"
            for name, (_, required) in declared.items()
            if required and name not in value
        ]
        for key, item in value.items():
            if key in declared:
                problems += self.check(item, declared[key][0], f"{where}.{key}")
        return problems

    def _all_properties(self, klass: Klass) -> dict[str, tuple[str, bool]]:
        merged: dict[str, tuple[str, bool]] = {}
        for base in klass.bases:
            if base in self.classes:
                merged.update(self._all_properties(self.classes[base]))
        merged.update(klass.properties)
        return merged


def _request_prefix(path: Path) -> str | None:
    """`Request` classes are named by their file: `indices/create/IndicesCreateRequest.ts` -> that stem."""
    return path.stem if path.stem.endswith("Request") else None


def _block(text: str, start: int) -> tuple[str, int]:
    """The text up to the brace closing the one opened just before `start`, and the index after it."""
    depth = 1
    for position in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[position], 0)
        if depth == 0:
            return text[start:position], position + 1
    raise ValueError("unbalanced braces")


def _split(expression: str, separator: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in expression:
        depth += (char in "<([{") - (char in ">)]}")
        if char == separator and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [part for part in parts if part]


# -- the REST API spec -----------------------------------------------------------------------------------

# The API name (the JSON file) and the TypeScript request type of its body.
APIS = {
    "info": None,
    "bulk": "_global/bulk/BulkRequest.ts",
    "search": "_global/search/SearchRequest.ts",
    "count": None,
    "indices.create": "indices/create/IndicesCreateRequest.ts",
    "indices.delete": None,
    "indices.get_alias": None,
    "indices.refresh": None,
    "indices.update_aliases": "indices/update_aliases/IndicesUpdateAliasesRequest.ts",
}


@dataclass(frozen=True)
class Endpoint:
    api: str
    pattern: re.Pattern[str]
    methods: tuple[str, ...]
    params: dict[str, dict[str, Any]]
    body: dict[str, Any] | None
    content_types: tuple[str, ...]


def endpoints() -> list[Endpoint]:
    found = []
    for api in APIS:
        description = json.loads((SPEC / "_json_spec" / f"{api}.json").read_text())[api]
        for entry in description["url"]["paths"]:
            pattern = re.compile("".join(_segment(part) for part in re.split(r"(\{\w+\})", entry["path"])))
            found.append(
                Endpoint(
                    api=api,
                    pattern=pattern,
                    methods=tuple(entry["methods"]),
                    params=description.get("params", {}),
                    body=description.get("body"),
                    content_types=tuple(description.get("headers", {}).get("content_type", ())),
                )
            )
    return found


def _segment(part: str) -> str:
    return "[^/]+" if re.fullmatch(r"\{\w+\}", part) else re.escape(part)


def _param_problems(name: str, value: str, spec: dict[str, Any]) -> list[str]:
    kind = spec.get("type")
    if kind == "boolean" and value not in ("true", "false"):
        return [f"parameter {name}={value!r} is not a boolean"]
    if kind == "enum" and value not in spec.get("options", []):
        return [f"parameter {name}={value!r} is not one of {spec.get('options')}"]
    if kind in ("int", "number", "long") and not re.fullmatch(r"-?[0-9]+", value):
        return [f"parameter {name}={value!r} is not a number"]
    return []


@dataclass
class Recorded:
    api: str
    method: str
    path: str
    params: dict[str, str]
    body: Any


class Validator:
    def __init__(self) -> None:
        self.types = Types.load()
        self.endpoints = endpoints()

    def validate(
        self, method: str, target: str, content_type: str | None, raw: bytes
    ) -> tuple[Recorded | None, list[str]]:
        split = urlsplit(target)
        path = split.path
        matches = [e for e in self.endpoints if e.pattern.fullmatch(path)]
        if not matches:
            return None, [f"{method} {path}: no API of the specification has this path"]
        # A literal path (/_aliases) wins over a template (/{index}) as in Elasticsearch's router.
        matches.sort(key=lambda e: e.pattern.pattern.count("[^/]+"))
        endpoint = next((e for e in matches if method in e.methods), None)
        if endpoint is None:
            return None, [f"{method} {path}: the path's API ({matches[0].api}) takes {matches[0].methods}"]
        problems = []
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        for name, value in params.items():
            if name not in endpoint.params:
                problems.append(f"{endpoint.api}: parameter {name} is not in the specification")
            else:
                problems += _param_problems(name, value, endpoint.params[name])
        body: Any = None
        if raw:
            if endpoint.body is None:
                problems.append(f"{endpoint.api}: takes no body")
            if content_type not in endpoint.content_types:
                problems.append(f"{endpoint.api}: content type {content_type} is not {endpoint.content_types}")
            body, body_problems = self._body(endpoint.api, raw)
            problems += body_problems
        elif endpoint.body and endpoint.body.get("required"):
            problems.append(f"{endpoint.api}: a body is required")
        return Recorded(endpoint.api, method, unquote(path), params, body), problems

    def _body(self, api: str, raw: bytes) -> tuple[Any, list[str]]:
        request = APIS[api]
        if api == "bulk":  # NDJSON: an OperationContainer, then (for index/create) the document
            lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
            problems = []
            position = 0
            while position < len(lines):
                action = lines[position]
                problems += self.types.check(action, "OperationContainer", f"bulk line {position}")
                position += 2 if set(action) & {"index", "create", "update"} else 1
            return lines, problems
        body = json.loads(raw)
        if request is None:
            return body, [f"{api}: takes no body"]
        klass = self.types.request(request)
        declared = self.types.classes[klass.name].properties
        if "body" not in declared:
            return body, [f"{api}: the request type declares no body"]
        return body, self.types.check(body, declared["body"][0], api)


# -- the stand-in ----------------------------------------------------------------------------------------


class StandIn:
    """An Elasticsearch node on loopback: validates each request against the specification (a 400 with
    the problems when it does not conform, and they are recorded), and answers in the documented response
    shapes (SearchResponse, BulkResponse, CountResponse, ... of the same specification). Its matching is a
    plain approximation (a word matches a word it begins or is one edit from); it is here to prove the
    engine's requests and its reading of the answers, not Elasticsearch's scoring."""

    def __init__(self, validator: Validator, password: str | None = None) -> None:
        self.validator = validator
        self.password = password
        self.indices: dict[str, dict[str, dict[str, Any]]] = {}
        self.aliases: dict[str, set[str]] = {}  # alias -> indices
        self.requests: list[Recorded] = []
        self.problems: list[str] = []
        self.lock = threading.Lock()
        self.fail_next: str | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> StandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, answer = stand_in.handle(self.command, self.path, self.headers, raw)
                data = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any  # noqa: N815 (http.server's names)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, method: str, target: str, headers: Any, raw: bytes) -> tuple[int, Any]:
        with self.lock:
            if self.password is not None:
                expected = "Basic " + base64.b64encode(f"elastic:{self.password}".encode()).decode()
                if headers.get("Authorization") != expected:
                    return 401, _error("security_exception", "missing authentication credentials", 401)
            content_type = (headers.get("Content-Type") or "").split(";")[0] or None
            recorded, problems = self.validator.validate(method, target, content_type, raw)
            if problems:
                self.problems += problems
                return 400, _error("x_content_parse_exception", "; ".join(problems), 400)
            assert recorded is not None
            self.requests.append(recorded)
            if self.fail_next == recorded.api:
                self.fail_next = None
                return 500, _error("stand_in_failure", "failing as the test asked", 500)
            return getattr(self, "_" + recorded.api.replace(".", "_"))(recorded)

    # The answers, in the specification's response shapes.

    def _info(self, request: Recorded) -> tuple[int, Any]:
        version = {"number": "8.19.5", "build_flavor": "default", "lucene_version": "9.12.2"}
        return 200, {"name": "stand-in", "cluster_name": "docker-cluster", "version": version, "tagline": "..."}

    def _indices_create(self, request: Recorded) -> tuple[int, Any]:
        name = request.path.strip("/")
        if name in self.indices:
            return 400, _error("resource_already_exists_exception", f"index [{name}] already exists", 400)
        self.indices[name] = {}
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def _indices_delete(self, request: Recorded) -> tuple[int, Any]:
        name = request.path.strip("/")
        if self.indices.pop(name, None) is None:
            return 404, _error("index_not_found_exception", f"no such index [{name}]", 404)
        for members in self.aliases.values():
            members.discard(name)
        return 200, {"acknowledged": True}

    def _indices_refresh(self, request: Recorded) -> tuple[int, Any]:
        return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}

    def _indices_get_alias(self, request: Recorded) -> tuple[int, Any]:
        alias = request.path.rsplit("/", 1)[1]
        members = self.aliases.get(alias) or set()
        if not members:
            return 404, {"error": f"alias [{alias}] missing", "status": 404}
        return 200, {name: {"aliases": {alias: {}}} for name in sorted(members)}

    def _indices_update_aliases(self, request: Recorded) -> tuple[int, Any]:
        staged = {alias: set(members) for alias, members in self.aliases.items()}
        for action in request.body["actions"]:
            ((verb, target),) = action.items()
            if target["index"] not in self.indices:
                return 404, _error("index_not_found_exception", f"no such index [{target['index']}]", 404)
            members = staged.setdefault(target["alias"], set())
            members.add(target["index"]) if verb == "add" else members.discard(target["index"])
        self.aliases = staged  # all actions or none
        return 200, {"acknowledged": True}

    def _bulk(self, request: Recorded) -> tuple[int, Any]:
        index = request.path.strip("/").split("/")[0]
        items = []
        for action, document in zip(request.body[0::2], request.body[1::2], strict=True):
            self.indices[index][action["index"]["_id"]] = document
            items.append(
                {"index": {"_index": index, "_id": action["index"]["_id"], "status": 201, "result": "created"}}
            )
        return 200, {"took": 1, "errors": False, "items": items}

    def _count(self, request: Recorded) -> tuple[int, Any]:
        index = request.path.strip("/").split("/")[0]
        shards = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}
        return 200, {"count": len(self.indices[index]), "_shards": shards}

    def _search(self, request: Recorded) -> tuple[int, Any]:
        target = request.path.strip("/").split("/")[0]
        names = self.aliases.get(target) or ({target} if target in self.indices else set())
        if not names:
            return 404, _error("index_not_found_exception", f"no such index [{target}]", 404)
        query = request.body["query"]["bool"]
        hits = []
        for name in sorted(names):
            for id_, document in self.indices[name].items():
                if all(_term(document, clause["term"]) for clause in query.get("filter", [])):
                    score = _score(document, query["must"])
                    if score > 0:
                        hits.append({"_index": name, "_id": id_, "_score": score, "_source": document})
        hits.sort(key=lambda hit: -hit["_score"])
        hits = hits[: request.body.get("size", 10)]
        return 200, {
            "took": 1,
            "timed_out": False,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {
                "total": {"value": len(hits), "relation": "eq"},
                "max_score": hits[0]["_score"] if hits else None,
                "hits": hits,
            },
        }


def _error(kind: str, reason: str, status: int) -> dict[str, Any]:
    return {
        "error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason},
        "status": status,
    }


def _term(document: dict[str, Any], term: dict[str, Any]) -> bool:
    ((field_name, condition),) = term.items()
    return document.get(field_name) == condition["value"]


def _score(document: dict[str, Any], must: list[dict[str, Any]]) -> float:
    """Every must clause (one per word) matches a title, creator or description word by prefix or one edit."""
    fields = {
        "title": tokens(document["title"]),
        "creators": [word for name in document["creators"] for word in tokens(name)],
        "description": tokens(document["description"]),
    }
    total = 0.0
    for clause in must:
        term = fold(clause["bool"]["should"][0]["multi_match"]["query"])
        weights = {"title": 3.0, "creators": 2.0, "description": 1.0}
        best = max(
            (
                weights[name]
                for name, words in fields.items()
                if any(word.startswith(term) or within_one_edit(term, word) for word in words)
            ),
            default=0.0,
        )
        if best == 0.0:
            return 0.0
        total += best
    return total

"""OpenAPI 3.0 and Swagger 2.0 versions of the app's OpenAPI 3.1 spec, for tools that read nothing newer.

FastAPI describes the API in OpenAPI 3.1 only. Salesforce External Services imports 2.0 and 3.0 (request
headers, no response headers, no `not`, simple schemas); Power Platform custom connectors import Swagger
2.0 only (an API key in the `Authorization` header, `operationId`, `summary` and `description` on every
operation, no `oneOf`/`anyOf`). Both functions walk the whole document, every schema wherever it sits, so
routes added later convert with no change here. They are pure: the input is never modified.

3.1 -> 3.0 (`to_openapi_30`), in every schema:
  - `anyOf`/`oneOf` with a null branch, `type: [X, "null"]`, `null` in `enum`: X with `nullable: true`;
  - `anyOf`/`oneOf` of several branches: one plain schema (objects: the union of their properties, required
    only where every branch requires it; strings: the union of their enums; anything else: any value);
  - `allOf` of one schema: that schema; `not`: dropped;
  - a `$ref` with other keywords beside it (ignored next to `$ref` in 3.0): the referenced schema inlined
    with those keywords, except an object that only gains a title or description, and a schema that
    contains itself: those stay a bare `$ref`;
  - `const: v`: `enum: [v]`; `examples: [a, ...]`: `example: a`;
  - `exclusiveMinimum: n` (3.1 number): `minimum: n, exclusiveMinimum: true`; the same for maximum;
  - `contentEncoding: base64`: `format: byte`; `contentMediaType` of a non-text type: `format: binary`;
  - `prefixItems`: `items` (the common schema, or any value); an array always has `items`;
  - keywords 3.0 does not know (`$defs`, `if`, `patternProperties`, ...): dropped;
and in the document: `webhooks`, `jsonSchemaDialect`, `components.pathItems`, `info.summary`,
`info.license.identifier` and mutual-TLS security schemes are dropped (component schemas stay, also those
only webhooks use); response headers are dropped for Salesforce.

3.0 -> 2.0 (`to_swagger_20`, from 3.1 or 3.0): `nullable` becomes `x-nullable`; schemas move to
`definitions`; a request body becomes an `in: body` parameter (forms: `in: formData` parameters), media
types become `consumes`/`produces`; parameters and response headers carry their schema's keywords
themselves; `http` bearer becomes an `apiKey` in the `Authorization` header; cookie parameters, 3.0-only
keywords and anything else 2.0 cannot say are dropped; an operation without `operationId`, `summary` or
`description` gets one made from what it has.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

Json = dict[str, Any]

OPENAPI_30_FILE = "openapi-3.0.json"
SWAGGER_20_FILE = "swagger-2.0.json"

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_METHODS_20 = ("get", "put", "post", "delete", "options", "head", "patch")
_SCHEMAS_30 = "#/components/schemas/"
_SCHEMAS_20 = "#/definitions/"
_SCHEMA_KEYS_30 = frozenset(
    {
        "$ref",
        "title",
        "multipleOf",
        "maximum",
        "exclusiveMaximum",
        "minimum",
        "exclusiveMinimum",
        "maxLength",
        "minLength",
        "pattern",
        "maxItems",
        "minItems",
        "uniqueItems",
        "maxProperties",
        "minProperties",
        "required",
        "enum",
        "type",
        "allOf",
        "items",
        "properties",
        "additionalProperties",
        "description",
        "format",
        "default",
        "nullable",
        "discriminator",
        "readOnly",
        "writeOnly",
        "xml",
        "externalDocs",
        "example",
        "deprecated",
    }
)
_ONLY_30 = frozenset({"nullable", "discriminator", "writeOnly", "deprecated"})
_SCHEMA_KEYS_20 = _SCHEMA_KEYS_30 - _ONLY_30 | {"x-nullable"}
_ANNOTATIONS = frozenset(
    {"title", "description", "example", "readOnly", "writeOnly", "deprecated", "externalDocs"}
)
_SUB_SCHEMA = ("items", "additionalProperties")
_PRIMITIVES_20 = ("string", "number", "integer", "boolean", "array")
_PARAMETER_KEYS_20 = (
    "format",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "enum",
    "multipleOf",
)
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def to_openapi_30(spec_31: Json) -> Json:
    """OpenAPI 3.0.3 for Salesforce External Services: plain schemas, no webhooks, no response headers."""
    return _Downgrade30(spec_31, response_headers=False).document()


def to_swagger_20(spec_31_or_30: Json) -> Json:
    """Swagger 2.0 for Power Platform custom connectors."""
    return _Downgrade20(_Downgrade30(spec_31_or_30, response_headers=True).document()).document()


def render(spec: Json) -> str:
    """The spec as the committed files hold it."""
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"


# --- 3.1 -> 3.0 -------------------------------------------------------------------------------------------


class _Downgrade30:
    def __init__(self, spec: Json, *, response_headers: bool) -> None:
        self.spec = spec
        self.schemas: Json = spec.get("components", {}).get("schemas", {})
        self.response_headers = response_headers
        self._inlining: list[str] = []

    def document(self) -> Json:
        out: Json = {"openapi": "3.0.3"}
        for key, value in self.spec.items():
            if key in ("openapi", "webhooks", "jsonSchemaDialect"):
                continue
            if key == "info":
                out[key] = _info(value, drop=("summary",))
            elif key == "paths":
                out[key] = {path: self.path_item(item) for path, item in value.items()}
            elif key == "components":
                out[key] = self.components(value)
            else:
                out[key] = copy.deepcopy(value)
        out.setdefault("paths", {})
        return out

    # The document's objects, down to their schemas.

    def components(self, components: Json) -> Json:
        convert = {
            "schemas": self.schema,
            "responses": self.response,
            "parameters": self.parameter,
            "requestBodies": self.request_body,
            "headers": self.parameter,
        }
        out: Json = {}
        for key, value in components.items():
            if key == "pathItems":
                continue
            if key in convert:
                out[key] = {name: convert[key](item) for name, item in value.items()}
            elif key == "securitySchemes":
                out[key] = {
                    name: _reference(scheme) if "$ref" in scheme else copy.deepcopy(scheme)
                    for name, scheme in value.items()
                    if scheme.get("type") != "mutualTLS"
                }
            else:
                out[key] = copy.deepcopy(value)
        return out

    def path_item(self, item: Json) -> Json:
        out: Json = {}
        for key, value in item.items():
            if key in METHODS:
                out[key] = self.operation(value)
            elif key == "parameters":
                out[key] = [self.parameter(parameter) for parameter in value]
            else:
                out[key] = copy.deepcopy(value)
        return out

    def operation(self, operation: Json) -> Json:
        out: Json = {}
        for key, value in operation.items():
            if key == "parameters":
                out[key] = [self.parameter(parameter) for parameter in value]
            elif key == "requestBody":
                out[key] = self.request_body(value)
            elif key == "responses":
                out[key] = {status: self.response(response) for status, response in value.items()}
            elif key == "callbacks":
                out[key] = {
                    name: callback if "$ref" in callback else _map(callback, self.path_item)
                    for name, callback in copy.deepcopy(value).items()
                }
            else:
                out[key] = copy.deepcopy(value)
        out.setdefault("responses", {"default": {"description": "Any answer"}})
        return out

    def parameter(self, parameter: Json) -> Json:
        """A parameter or a header object."""
        if "$ref" in parameter:
            return _reference(parameter)
        out: Json = {}
        for key, value in parameter.items():
            if key == "schema":
                out[key] = self.schema(value)
            elif key == "content":
                out[key] = self.content(value)
            else:
                out[key] = copy.deepcopy(value)
        return out

    def request_body(self, body: Json) -> Json:
        if "$ref" in body:
            return _reference(body)
        return {
            key: self.content(value) if key == "content" else copy.deepcopy(value)
            for key, value in body.items()
        }

    def response(self, response: Json) -> Json:
        if "$ref" in response:
            return _reference(response)
        out: Json = {}
        for key, value in response.items():
            if key == "content":
                out[key] = self.content(value)
            elif key == "headers":
                if self.response_headers:
                    out[key] = _map(value, self.parameter)
            else:
                out[key] = copy.deepcopy(value)
        return out

    def content(self, content: Json) -> Json:
        out: Json = {}
        for media_type, media in content.items():
            out[media_type] = {}
            for key, value in media.items():
                if key == "schema":
                    out[media_type][key] = self.schema(value)
                elif key == "encoding":
                    out[media_type][key] = {
                        name: {
                            k: _map(v, self.parameter) if k == "headers" else copy.deepcopy(v)
                            for k, v in encoding.items()
                        }
                        for name, encoding in value.items()
                    }
                else:
                    out[media_type][key] = copy.deepcopy(value)
        return out

    # Schemas.

    def schema(self, raw: Any) -> Json:
        """One 3.1 (or 3.0) schema as a plain 3.0 schema with no `anyOf`, `oneOf` or `not`."""
        if not isinstance(raw, dict):
            return {}  # `true` (anything) and `false` (nothing) have no 3.0 form but `{}`
        source = dict(raw)
        nullable = bool(source.pop("nullable", False))
        nullable |= _take_null_type(source)
        if "const" in source:
            value = source.pop("const")
            if value is None:
                nullable = True
            else:
                source.setdefault("enum", [value])
                source.setdefault("type", _json_type(value))
        if isinstance(source.get("enum"), list) and None in source["enum"]:
            nullable = True
            source["enum"] = [value for value in source["enum"] if value is not None]
            if not source["enum"]:
                del source["enum"]

        union: Json | None = None
        for keyword in ("anyOf", "oneOf"):
            if isinstance(source.get(keyword), list):
                branches = source.pop(keyword)
                nullable |= any(_is_null(branch) for branch in branches)
                merged = self.merge([self.schema(branch) for branch in branches if not _is_null(branch)])
                union = merged if union is None else {**union, **merged}
        if union is not None:
            source.pop("discriminator", None)  # it names branches that are gone
        all_of = source.pop("allOf", None)

        own = self._keywords(source)
        out: Json = {**(union or {}), **own}
        if isinstance(all_of, list):
            parts = [self.schema(part) for part in all_of]
            if len(parts) == 1:
                out = {**parts[0], **out}
            elif parts:
                out["allOf"] = parts
        if nullable:
            out["nullable"] = True
        return self._tidy(out)

    def _keywords(self, source: Json) -> Json:
        """The schema's own keywords in 3.0 terms, sub-schemas converted."""
        out: Json = {}
        for key, value in source.items():
            if key == "properties" and isinstance(value, dict):
                out[key] = _map(value, self.schema)
            elif key in _SUB_SCHEMA and isinstance(value, dict):
                out[key] = self.schema(value)
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
                bound = "minimum" if key == "exclusiveMinimum" else "maximum"
                inclusive = source.get(bound)
                tighter = inclusive is None or (
                    value >= inclusive if bound == "minimum" else value <= inclusive
                )
                if tighter:
                    out[bound] = value
                    out[key] = True
            elif key in ("minimum", "maximum") and key in out:
                continue  # an exclusive bound above already replaced it
            elif key == "examples" and isinstance(value, list):
                if value and "example" not in source:
                    out["example"] = copy.deepcopy(value[0])
            elif key == "prefixItems" and isinstance(value, list):
                if not isinstance(source.get("items"), dict):
                    parts = [self.schema(part) for part in value]
                    out["items"] = parts[0] if parts and all(part == parts[0] for part in parts) else {}
            elif key == "contentEncoding":
                if str(value).lower() in ("base64", "base64url") and "format" not in source:
                    out["format"] = "byte"
            elif key == "contentMediaType":
                plain = source.get("type") == "string" and not {"format", "contentEncoding"} & set(source)
                if plain and not _is_text(str(value)):
                    out["format"] = "binary"
            else:
                out[key] = copy.deepcopy(value)
        return out

    def _tidy(self, schema: Json) -> Json:
        out = {key: value for key, value in schema.items() if key in _SCHEMA_KEYS_30 or key.startswith("x-")}
        if out.get("items") is False or out.get("items") is True:
            del out["items"]
        if out.get("type") == "array" and "items" not in out:
            out["items"] = {}
        if not out.get("required", True):
            del out["required"]
        if "default" in out and out["default"] is None and not out.get("nullable"):
            del out["default"]
        if "$ref" in out and len(out) > 1:
            out = self._ref_with_siblings(out)
        return out

    def _ref_with_siblings(self, schema: Json) -> Json:
        ref = schema["$ref"]
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        only_annotations = all(key in _ANNOTATIONS or key.startswith("x-") for key in siblings)
        target = self.component(ref)
        if target is None or (only_annotations and _is_object(target)):
            return {"$ref": ref}
        return {**target, **siblings}

    def component(self, ref: str) -> Json | None:
        """The 3.0 form of a component schema, or None when it is not one or contains itself."""
        if not ref.startswith(_SCHEMAS_30) or ref in self._inlining:
            return None
        raw = self.schemas.get(_unescape(ref[len(_SCHEMAS_30) :]))
        if not isinstance(raw, dict):
            return None
        self._inlining.append(ref)
        try:
            return self.schema(raw)
        finally:
            self._inlining.pop()

    def merge(self, branches: list[Json]) -> Json:
        """One plain schema that accepts what each branch does (and, where it cannot be exact, more)."""
        if len(branches) == 1:
            return branches[0]
        if not branches:
            return {}
        resolved = [self._resolved(branch) for branch in branches]
        kinds = {_kind(branch) for branch in resolved}
        out: Json
        if kinds == {"object"}:
            properties: dict[str, list[Json]] = {}
            for branch in resolved:
                for name, schema in branch.get("properties", {}).items():
                    properties.setdefault(name, []).append(schema)
            required = [
                name
                for name in resolved[0].get("required", [])
                if all(name in branch.get("required", []) for branch in resolved)
            ]
            out = {
                "type": "object",
                "properties": {name: self.merge(each) for name, each in properties.items()},
            }
            if required:
                out["required"] = required
        elif kinds == {"array"}:
            out = {"type": "array", "items": self.merge([branch.get("items", {}) for branch in resolved])}
        elif len(kinds) == 1 and None not in kinds:
            out = {"type": kinds.pop()}
            if all("enum" in branch for branch in resolved):
                out["enum"] = _unique(value for branch in resolved for value in branch["enum"])
            formats = {branch.get("format") for branch in resolved}
            if len(formats) == 1 and None not in formats:
                out["format"] = formats.pop()
        elif kinds == {"integer", "number"}:
            out = {"type": "number"}
        else:
            out = {}  # nothing plainer says "one of these": any value
        for key in ("title", "description"):
            found = next((branch[key] for branch in resolved if key in branch), None)
            if found is not None:
                out[key] = found
        if any(branch.get("nullable") for branch in resolved):
            out["nullable"] = True
        return out

    def _resolved(self, schema: Json) -> Json:
        if "$ref" not in schema:
            return schema
        target = self.component(schema["$ref"])
        return {} if target is None else {**target, **{k: v for k, v in schema.items() if k != "$ref"}}


def _take_null_type(source: Json) -> bool:
    """Remove `null` from `type`; True when it was there. Several other types become an `anyOf`."""
    kind = source.get("type")
    if kind == "null":
        del source["type"]
        return True
    if not isinstance(kind, list):
        return False
    others = [each for each in kind if each != "null"]
    if len(others) == 1:
        source["type"] = others[0]
    else:
        del source["type"]
        if others and "anyOf" not in source:
            source["anyOf"] = [{"type": each} for each in others]
    return len(others) < len(kind)


def _is_null(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    return (
        schema.get("type") in ("null", ["null"])
        or ("const" in schema and schema["const"] is None)
        or schema.get("enum") == [None]
    )


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def _kind(schema: Json) -> str | None:
    kind = schema.get("type")
    if kind is None and ("properties" in schema or "additionalProperties" in schema):
        return "object"
    return kind if isinstance(kind, str) else None


def _is_object(schema: Json) -> bool:
    return _kind(schema) == "object" or "allOf" in schema


def _is_text(media_type: str) -> bool:
    media_type = media_type.lower()
    return media_type.startswith("text/") or media_type.endswith(("json", "xml")) or "json" in media_type


def _unique(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _unescape(pointer_part: str) -> str:
    return pointer_part.replace("~1", "/").replace("~0", "~")


def _reference(reference: Json) -> Json:
    """A 3.1 reference object without the `summary` and `description` 3.0 does not allow beside `$ref`."""
    return {"$ref": reference["$ref"]}


def _map(items: Json, convert: Callable[[Any], Json]) -> Json:
    return {name: convert(item) for name, item in items.items()}


def _extensions(item: Json) -> Json:
    return {key: copy.deepcopy(value) for key, value in item.items() if key.startswith("x-")}


def _info(info: Json, drop: tuple[str, ...]) -> Json:
    out = {key: copy.deepcopy(value) for key, value in info.items() if key not in drop}
    if isinstance(out.get("license"), dict):
        out["license"].pop("identifier", None)
    return out


# --- 3.0 -> 2.0 -------------------------------------------------------------------------------------------


class _Downgrade20:
    """From a 3.0 document with plain schemas, as `_Downgrade30` makes it."""

    def __init__(self, spec: Json) -> None:
        self.spec = spec
        components = spec.get("components", {})
        self.schemas: Json = components.get("schemas", {})
        self.security = self.security_definitions(components.get("securitySchemes", {}))

    def document(self) -> Json:
        out: Json = {"swagger": "2.0", "info": _info(self.spec.get("info", {}), drop=("summary",))}
        out.update(self.location(self.spec.get("servers", [])))
        out["paths"] = {path: self.path_item(path, item) for path, item in self.spec.get("paths", {}).items()}
        out["definitions"] = _map(self.schemas, self.schema)
        if self.security:
            out["securityDefinitions"] = self.security
        if "security" in self.spec:
            out["security"] = self.requirements(self.spec["security"])
        for key in ("tags", "externalDocs"):
            if key in self.spec:
                out[key] = copy.deepcopy(self.spec[key])
        out.update(_extensions(self.spec))
        return out

    @staticmethod
    def location(servers: list[Json]) -> Json:
        """`host`, `basePath` and `schemes` from the first server; nothing when there is none."""
        if not servers:
            return {}
        url = servers[0].get("url", "/")
        for name, variable in servers[0].get("variables", {}).items():
            url = url.replace("{" + name + "}", str(variable.get("default", "")))
        parts = urlsplit(url)
        out: Json = {}
        if parts.netloc:
            out["host"] = parts.netloc
        out["basePath"] = parts.path.rstrip("/") or "/"
        if parts.scheme in ("http", "https", "ws", "wss"):
            out["schemes"] = [parts.scheme]
        return out

    def resolve(self, item: Json) -> Json:
        """Follow `$ref`s to `#/components/...` (2.0 puts parameters, responses and headers elsewhere)."""
        seen: set[str] = set()
        while "$ref" in item and item["$ref"] not in seen:
            seen.add(item["$ref"])
            target: Any = self.spec
            for part in item["$ref"].removeprefix("#/").split("/"):
                target = target.get(_unescape(part), {}) if isinstance(target, dict) else {}
            item = target
        return item

    # Operations.

    def path_item(self, path: str, item: Json) -> Json:
        item = self.resolve(item)
        out: Json = {}
        if "parameters" in item:
            out["parameters"] = self.parameters(item["parameters"])
        for method, operation in item.items():
            if method in _METHODS_20:
                out[method] = self.operation(path, method, operation)
        out.update(_extensions(item))
        return out

    def operation(self, path: str, method: str, operation: Json) -> Json:
        out: Json = {}
        for key in ("tags", "summary", "description", "externalDocs", "operationId"):
            if key in operation:
                out[key] = copy.deepcopy(operation[key])
        out.setdefault("operationId", _operation_id(method, path))
        out.setdefault("summary", _summary(operation, method, path))
        out.setdefault("description", out["summary"])
        parameters = self.parameters(operation.get("parameters", []))
        consumes: list[str] = []
        if "requestBody" in operation:
            body = self.resolve(operation["requestBody"])
            consumes = list(body.get("content", {}))
            parameters += self.body(body)
        produces: list[str] = []
        responses: Json = {}
        for status, response in operation.get("responses", {}).items():
            response = self.resolve(response)
            produces += [media for media in response.get("content", {}) if media not in produces]
            responses[str(status)] = self.response(response)
        if consumes:
            out["consumes"] = consumes
        if produces:
            out["produces"] = produces
        if parameters:
            out["parameters"] = parameters
        out["responses"] = responses
        if operation.get("deprecated"):
            out["deprecated"] = True
        if "security" in operation:
            out["security"] = self.requirements(operation["security"])
        out.update(_extensions(operation))
        return out

    def parameters(self, parameters: list[Json]) -> list[Json]:
        out = []
        for parameter in map(self.resolve, parameters):
            if parameter.get("in") not in ("query", "header", "path"):
                continue  # 2.0 has no cookie parameters
            schema = parameter.get("schema") or _first_schema(parameter.get("content", {}))
            converted: Json = {"name": parameter["name"], "in": parameter["in"]}
            description = parameter.get("description") or self.resolve(schema).get("description")
            if description:
                converted["description"] = description
            if parameter.get("required") or parameter["in"] == "path":
                converted["required"] = True
            converted.update(self.simple(schema))
            if converted["type"] == "array":
                exploded = parameter.get("explode", parameter.get("style", "form") == "form")
                converted["collectionFormat"] = "multi" if parameter["in"] == "query" and exploded else "csv"
            if parameter.get("allowEmptyValue") and parameter["in"] == "query":
                converted["allowEmptyValue"] = True
            converted.update(_extensions(parameter))
            out.append(converted)
        return out

    def body(self, body: Json) -> list[Json]:
        content = body.get("content", {})
        if not content:
            return []
        media_type = _preferred(content)
        schema = content[media_type].get("schema", {})
        if media_type in _FORMS:
            return self.form(self.resolve_schema(schema), multipart=media_type == "multipart/form-data")
        parameter: Json = {"name": body.get("x-codegen-request-body-name", "body"), "in": "body"}
        if body.get("description"):
            parameter["description"] = body["description"]
        parameter["required"] = bool(body.get("required"))
        parameter["schema"] = self.schema(schema)
        return [parameter]

    def form(self, schema: Json, *, multipart: bool) -> list[Json]:
        out = []
        required = schema.get("required", [])
        for name, field in schema.get("properties", {}).items():
            parameter: Json = {"name": name, "in": "formData"}
            description = self.resolve_schema(field).get("description")
            if description:
                parameter["description"] = description
            if name in required:
                parameter["required"] = True
            if multipart and self.resolve_schema(field).get("format") == "binary":
                parameter["type"] = "file"
            else:
                parameter.update(self.simple(field))
                if parameter["type"] == "array":
                    parameter["collectionFormat"] = "multi"
            out.append(parameter)
        return out

    def response(self, response: Json) -> Json:
        out: Json = {"description": response.get("description", "")}
        content = response.get("content", {})
        if content:
            media_type = _preferred(content)
            media = content[media_type]
            if "schema" in media:
                schema = self.schema(media["schema"])
                binary = schema.get("type") == "string" and schema.get("format") == "binary"
                out["schema"] = {"type": "file"} if binary else schema
            example = self.example(media)
            if example is not None:
                out["examples"] = {media_type: example}
        headers = response.get("headers", {})
        if headers:
            out["headers"] = {}
            for name, header in headers.items():
                header = self.resolve(header)
                schema = header.get("schema") or _first_schema(header.get("content", {}))
                converted = self.simple(schema)
                description = header.get("description") or self.resolve_schema(schema).get("description")
                if description:
                    converted["description"] = description
                out["headers"][name] = converted
        return out

    def example(self, media: Json) -> Any:
        if "example" in media:
            return copy.deepcopy(media["example"])
        for example in media.get("examples", {}).values():
            value = self.resolve(example).get("value")
            if value is not None:
                return copy.deepcopy(value)
        return None

    # Schemas.

    def schema(self, schema: Json) -> Json:
        """A 3.0 schema (no unions left) as a 2.0 schema: `x-nullable`, refs to `definitions`."""
        out: Json = {}
        for key, value in schema.items():
            if key == "$ref":
                out[key] = _SCHEMAS_20 + value.removeprefix(_SCHEMAS_30)
            elif key == "properties":
                out[key] = _map(value, self.schema)
            elif key in _SUB_SCHEMA and isinstance(value, dict):
                out[key] = self.schema(value)
            elif key == "allOf":
                out[key] = [self.schema(part) for part in value]
            elif key == "nullable":
                if value:
                    out["x-nullable"] = True
            elif key in _SCHEMA_KEYS_20 or key.startswith("x-"):
                out[key] = copy.deepcopy(value)
        if "default" in out and out["default"] is None:
            del out["default"]  # 2.0 has no null to default to
        return out

    def resolve_schema(self, schema: Json) -> Json:
        seen: set[str] = set()
        while "$ref" in schema and schema["$ref"] not in seen:
            seen.add(schema["$ref"])
            schema = self.schemas.get(_unescape(schema["$ref"].removeprefix(_SCHEMAS_30)), {})
        return schema

    def simple(self, schema: Json) -> Json:
        """The keywords of a parameter, header or `items` (2.0 gives them no schema): a type, no null."""
        schema = self.resolve_schema(schema)
        kind = schema.get("type")
        if kind not in _PRIMITIVES_20:
            return {"type": "string"}  # an object or any value travels as text
        out: Json = {"type": kind}
        for key in _PARAMETER_KEYS_20:
            if key in schema and schema[key] is not None:
                out[key] = copy.deepcopy(schema[key])
        if kind == "array":
            out["items"] = self.simple(schema.get("items", {}))
        return out

    # Security.

    @staticmethod
    def security_definitions(schemes: Json) -> Json:
        out: Json = {}
        for name, scheme in schemes.items():
            kind = scheme.get("type")
            converted: Json
            if kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
                converted = {"type": "basic"}
            elif kind == "http":
                prefix = str(scheme.get("scheme", "bearer")).title()
                how = f"Send it as the whole header value: `{prefix} <key>`."
                converted = {"type": "apiKey", "in": "header", "name": "Authorization"}
                said = str(scheme.get("description", "")).rstrip()
                said += "." if said and not said.endswith((".", "!", "?")) else ""
                scheme = {**scheme, "description": f"{said} {how}".strip()}
            elif kind == "apiKey" and scheme.get("in") in ("header", "query"):
                converted = {"type": "apiKey", "in": scheme["in"], "name": scheme["name"]}
            elif kind == "oauth2" and scheme.get("flows"):
                converted = _oauth2(scheme["flows"])
            else:
                continue  # openIdConnect, cookies and mutual TLS have no 2.0 form
            if scheme.get("description"):
                converted["description"] = scheme["description"]
            out[name] = converted
        return out

    def requirements(self, requirements: list[Json]) -> list[Json]:
        return [
            copy.deepcopy(requirement)
            for requirement in requirements
            if all(name in self.security for name in requirement)
        ]


def _oauth2(flows: Json) -> Json:
    flow_name, flow = next(iter(flows.items()))
    kind = {"clientCredentials": "application", "authorizationCode": "accessCode"}.get(flow_name, flow_name)
    out: Json = {"type": "oauth2", "flow": kind}
    for key in ("authorizationUrl", "tokenUrl"):
        if key in flow:
            out[key] = flow[key]
    out["scopes"] = copy.deepcopy(flow.get("scopes", {}))
    return out


def _preferred(content: Json) -> str:
    """The media type whose schema 2.0 keeps: JSON if there is one."""
    return next(
        (media for media in content if "json" in media and "problem" not in media), next(iter(content))
    )


def _first_schema(content: Json) -> Json:
    return next((media["schema"] for media in content.values() if "schema" in media), {})


def _operation_id(method: str, path: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", path)
    return method + "".join(word[:1].upper() + word[1:] for word in words)


def _summary(operation: Json, method: str, path: str) -> str:
    description = str(operation.get("description", "")).strip()
    if description:
        first = description.splitlines()[0].split(". ")[0].rstrip(".")
        if len(first) <= 80:
            return first
    return f"{method.upper()} {path}"

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from fastapi import Cookie, FastAPI, Query, UploadFile
from openapi_spec_validator import OpenAPIV2SpecValidator, OpenAPIV30SpecValidator, validate
from pydantic import BaseModel, Field

from registry.cli import spec_text
from registry.cli.openapi_export import (
    OPENAPI_30_FILE,
    SWAGGER_20_FILE,
    render,
    to_openapi_30,
    to_swagger_20,
)

Json = dict[str, Any]

SPEC = Path(__file__).parent.parent / "openapi" / "openapi.json"
DERIVED: dict[str, Callable[[Json], Json]] = {OPENAPI_30_FILE: to_openapi_30, SWAGGER_20_FILE: to_swagger_20}
# Keys whose values are maps of names, not of keywords: a property called `not` is not the keyword.
NAME_MAPS = {"properties", "definitions", "schemas", "paths", "headers", "securityDefinitions", "examples"}


@pytest.fixture(scope="module")
def app_spec() -> Json:
    spec: Json = json.loads(spec_text())
    return spec


def committed(name: str) -> Json:
    spec: Json = json.loads((SPEC.parent / name).read_text())
    return spec


def keywords(tree: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(where, keyword, value) for every key in the document except names in name maps."""
    if isinstance(tree, dict):
        names = path.rsplit("/", 1)[-1] in NAME_MAPS
        for key, value in tree.items():
            if not names:
                yield path, key, value
            yield from keywords(value, f"{path}/{key}")
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from keywords(value, f"{path}/{index}")


def operations(spec: Json) -> Iterator[tuple[str, Json]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
                yield f"{method.upper()} {path}", operation


class TestCommittedSpec:
    def test_matches_the_app(self) -> None:
        assert SPEC.read_text() == spec_text(), "run `mandate-registry openapi write` and commit the result"

    def test_every_operation_is_documented_for_integrators(self) -> None:
        spec = json.loads(spec_text())
        ids = []
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                where = f"{method.upper()} {path}"
                ids.append(operation["operationId"])
                assert operation.get("summary") and operation.get("description"), where
                assert operation.get("tags"), where
                assert len(operation["operationId"]) <= 30 and "_" not in operation["operationId"], where
                for status, answer in operation["responses"].items():
                    if status.startswith(("4", "5")):
                        assert list(answer["content"]) == ["application/problem+json"], where
        assert len(ids) == len(set(ids))

    def test_depends_on_no_environment(self, monkeypatch: object) -> None:
        assert isinstance(monkeypatch, pytest.MonkeyPatch)
        monkeypatch.setenv("REGISTRY_BASE_URL", "https://elsewhere.example")
        monkeypatch.setenv("REGISTRY_DATABASE_URL", "postgresql+psycopg://x@y/z")
        assert spec_text() == SPEC.read_text()


class TestCommittedDerivedSpecs:
    """openapi-3.0.json (Salesforce) and swagger-2.0.json (Power Platform), made by `openapi write`."""

    @pytest.mark.parametrize(
        ("name", "version"),
        [
            ("openapi.json", ("openapi", "3.1.0")),
            (OPENAPI_30_FILE, ("openapi", "3.0.3")),
            (SWAGGER_20_FILE, ("swagger", "2.0")),
        ],
    )
    def test_is_valid(self, name: str, version: tuple[str, str]) -> None:
        spec = committed(name)
        assert spec[version[0]] == version[1]
        validate(spec)  # picks the validator from the version

    @pytest.mark.parametrize("name", list(DERIVED))
    def test_matches_the_app(self, name: str, app_spec: Json) -> None:
        expected = render(DERIVED[name](app_spec))
        assert (SPEC.parent / name).read_text() == expected, "run `mandate-registry openapi write` and commit"

    @pytest.mark.parametrize("name", list(DERIVED))
    def test_has_no_unions_and_no_not(self, name: str) -> None:
        found = [
            f"{where}/{key}"
            for where, key, _ in keywords(committed(name))
            if key in ("anyOf", "oneOf", "not")
        ]
        assert not found

    @pytest.mark.parametrize("name", list(DERIVED))
    def test_has_no_3_1_keywords(self, name: str) -> None:
        only_31 = {"const", "prefixItems", "contentMediaType", "contentEncoding", "$defs", "webhooks"}
        found = [
            f"{where}/{key}"
            for where, key, value in keywords(committed(name))
            if key in only_31
            or (key == "examples" and isinstance(value, list))  # a media type's `examples` is a map
            or (key == "type" and (not isinstance(value, str) or value == "null"))
        ]
        assert not found

    def test_keeps_every_operation_and_schema(self, app_spec: Json) -> None:
        for name in DERIVED:
            spec = committed(name)
            assert [where for where, _ in operations(spec)] == [where for where, _ in operations(app_spec)]
            names = spec["definitions"] if name == SWAGGER_20_FILE else spec["components"]["schemas"]
            assert list(names) == list(app_spec["components"]["schemas"])

    def test_swagger_operations_have_id_summary_and_description(self) -> None:
        ids = []
        for where, operation in operations(committed(SWAGGER_20_FILE)):
            assert (
                operation.get("operationId") and operation.get("summary") and operation.get("description")
            ), where
            ids.append(operation["operationId"])
        assert len(ids) == len(set(ids))

    def test_swagger_uses_an_api_key_in_the_authorization_header(self) -> None:
        spec = committed(SWAGGER_20_FILE)
        schemes = spec["securityDefinitions"]
        assert {(s["type"], s["in"], s["name"]) for s in schemes.values()} == {
            ("apiKey", "header", "Authorization")
        }
        for where, operation in operations(spec):
            for requirement in operation.get("security", []):
                assert set(requirement) <= set(schemes), where

    def test_swagger_fits_power_platform(self) -> None:
        assert (SPEC.parent / SWAGGER_20_FILE).stat().st_size < 1_000_000


# --- One test per conversion rule, on tiny hand-made specs. ----------------------------------------------


def spec_31(schemas: Json, **more: Any) -> Json:
    """A valid 3.1 spec: GET /things answers `Thing`; `more` adds or replaces top-level keys."""
    spec: Json = {
        "openapi": "3.1.0",
        "info": {"title": "T", "version": "1"},
        "paths": {
            "/things": {
                "get": {
                    "operationId": "listThings",
                    "summary": "List things",
                    "description": "All the things.",
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}
                            },
                        }
                    },
                }
            }
        },
        "components": {"schemas": schemas},
    }
    spec.update(more)
    return spec


def both(spec: Json) -> tuple[Json, Json]:
    """Both conversions, each checked with the validator of its version, the input left alone."""
    before = copy.deepcopy(spec)
    validate(spec)
    v30, v20 = to_openapi_30(spec), to_swagger_20(spec)
    assert spec == before, "the input was modified"
    validate(v30, cls=OpenAPIV30SpecValidator)
    validate(v20, cls=OpenAPIV2SpecValidator)
    return v30, v20


def thing(schema: Json, **others: Json) -> tuple[Json, Json]:
    """`Thing` (and other components) in 3.0 and in 2.0."""
    v30, v20 = both(spec_31({"Thing": schema, **others}))
    return v30["components"]["schemas"]["Thing"], v20["definitions"]["Thing"]


def prop(schema: Json, **others: Json) -> tuple[Json, Json]:
    """A property `p` of `Thing` in 3.0 and in 2.0."""
    v30, v20 = thing({"type": "object", "properties": {"p": schema}}, **others)
    return v30["properties"]["p"], v20["properties"]["p"]


COLOUR = {"type": "string", "enum": ["red", "green"], "title": "Colour"}
PERSON = {"type": "object", "properties": {"name": {"type": "string"}}, "title": "Person"}


class TestNullable:
    def test_any_of_with_null_is_the_other_branch_and_nullable(self) -> None:
        v30, v20 = prop({"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}], "title": "P"})
        assert v30 == {"type": "string", "maxLength": 5, "title": "P", "nullable": True}
        assert v20 == {"type": "string", "maxLength": 5, "title": "P", "x-nullable": True}

    def test_one_of_with_null_too(self) -> None:
        assert prop({"oneOf": [{"type": "integer"}, {"type": "null"}]})[0] == {
            "type": "integer",
            "nullable": True,
        }

    def test_a_type_list_with_null(self) -> None:
        assert prop({"type": ["string", "null"]})[0] == {"type": "string", "nullable": True}

    def test_null_in_an_enum(self) -> None:
        assert prop({"enum": ["a", None], "type": "string"})[0] == {
            "enum": ["a"],
            "type": "string",
            "nullable": True,
        }

    def test_a_nullable_reference_to_an_enum_is_inlined(self) -> None:
        v30, v20 = prop(
            {"anyOf": [{"$ref": "#/components/schemas/Colour"}, {"type": "null"}], "description": "D"},
            Colour=COLOUR,
        )
        assert v30 == {**COLOUR, "description": "D", "nullable": True}
        assert v20 == {**COLOUR, "description": "D", "x-nullable": True}

    def test_a_nullable_reference_to_an_object_is_inlined(self) -> None:
        v30, _ = prop({"anyOf": [{"$ref": "#/components/schemas/Person"}, {"type": "null"}]}, Person=PERSON)
        assert v30 == {**PERSON, "nullable": True}

    def test_a_null_default_needs_nullable(self) -> None:
        wrong = spec_31(
            {"Thing": {"type": "object", "properties": {"p": {"type": "string", "default": None}}}}
        )
        v30 = to_openapi_30(wrong)  # 3.1 validators refuse the input too, so only the output is checked
        validate(v30, cls=OpenAPIV30SpecValidator)
        assert v30["components"]["schemas"]["Thing"]["properties"]["p"] == {"type": "string"}
        v30, v20 = prop({"anyOf": [{"type": "string"}, {"type": "null"}], "default": None})
        assert v30 == {"type": "string", "default": None, "nullable": True}
        assert v20 == {"type": "string", "x-nullable": True}  # 2.0 has no null to default to


class TestReferences:
    def test_a_plain_reference_stays(self) -> None:
        v30, v20 = prop({"$ref": "#/components/schemas/Person"}, Person=PERSON)
        assert v30 == {"$ref": "#/components/schemas/Person"}
        assert v20 == {"$ref": "#/definitions/Person"}

    def test_a_reference_to_an_enum_with_a_description_is_inlined(self) -> None:
        v30, _ = prop({"$ref": "#/components/schemas/Colour", "description": "D"}, Colour=COLOUR)
        assert v30 == {**COLOUR, "description": "D"}

    def test_a_reference_to_an_object_with_only_a_description_stays_a_reference(self) -> None:
        v30, _ = prop({"$ref": "#/components/schemas/Person", "description": "D"}, Person=PERSON)
        assert v30 == {"$ref": "#/components/schemas/Person"}

    def test_a_schema_that_contains_itself_is_not_inlined_forever(self) -> None:
        node = {
            "type": "object",
            "properties": {"next": {"anyOf": [{"$ref": "#/components/schemas/Thing"}, {"type": "null"}]}},
        }
        v30, _ = thing(node)
        inner = v30["properties"]["next"]
        assert inner["nullable"] is True and inner["type"] == "object"
        assert inner["properties"]["next"] == {"$ref": "#/components/schemas/Thing"}


class TestUnions:
    def test_objects_merge_their_properties(self) -> None:
        first = {
            "type": "object",
            "properties": {"kind": {"type": "string", "enum": ["a"]}, "n": {"type": "number"}},
            "required": ["kind", "n"],
        }
        second = {
            "type": "object",
            "properties": {"kind": {"type": "string", "enum": ["b"]}},
            "required": ["kind"],
        }
        v30, v20 = thing(
            {
                "oneOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}],
                "discriminator": {"propertyName": "kind"},
            },
            A=first,
            B=second,
        )
        assert v30 == {
            "type": "object",
            "properties": {"kind": {"type": "string", "enum": ["a", "b"]}, "n": {"type": "number"}},
            "required": ["kind"],
        }
        assert v20 == v30

    def test_enums_of_one_type_merge(self) -> None:
        v30, _ = prop({"anyOf": [{"type": "string", "const": "a"}, {"type": "string", "enum": ["b", "a"]}]})
        assert v30 == {"type": "string", "enum": ["a", "b"]}

    def test_integer_or_number_is_a_number(self) -> None:
        assert prop({"anyOf": [{"type": "integer"}, {"type": "number"}]})[0] == {"type": "number"}

    def test_different_types_are_any_value(self) -> None:
        assert prop({"anyOf": [{"type": "string"}, {"type": "integer"}], "title": "Location"})[0] == {
            "title": "Location"
        }

    def test_arrays_merge_their_items(self) -> None:
        v30, _ = prop(
            {
                "anyOf": [
                    {"type": "array", "items": {"type": "string"}},
                    {"type": "array", "items": {"type": "string"}},
                ]
            }
        )
        assert v30 == {"type": "array", "items": {"type": "string"}}

    def test_all_of_one_schema_is_that_schema(self) -> None:
        v30, _ = prop({"allOf": [{"$ref": "#/components/schemas/Colour"}], "description": "D"}, Colour=COLOUR)
        assert v30 == {**COLOUR, "description": "D"}

    def test_not_is_dropped(self) -> None:
        assert prop({"type": "string", "not": {"enum": ["x"]}})[0] == {"type": "string"}


class TestJsonSchemaKeywords:
    def test_const_is_a_one_value_enum(self) -> None:
        assert prop({"const": "mandate.revoked"})[0] == {"enum": ["mandate.revoked"], "type": "string"}
        assert prop({"type": "integer", "const": 3})[0] == {"type": "integer", "enum": [3]}

    def test_examples_become_the_first_example(self) -> None:
        v30, v20 = prop({"type": "string", "examples": ["a", "b"]})
        assert v30 == v20 == {"type": "string", "example": "a"}
        assert prop({"type": "string", "examples": []})[0] == {"type": "string"}
        assert prop({"type": "string", "example": "x", "examples": ["a"]})[0] == {
            "type": "string",
            "example": "x",
        }

    def test_exclusive_bounds_become_booleans(self) -> None:
        v30, v20 = prop({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10})
        assert (
            v30
            == v20
            == {
                "type": "number",
                "minimum": 0,
                "exclusiveMinimum": True,
                "maximum": 10,
                "exclusiveMaximum": True,
            }
        )

    def test_the_tighter_of_two_bounds_wins(self) -> None:
        looser = prop({"type": "integer", "minimum": -5, "exclusiveMinimum": 0})[0]
        assert looser == {"type": "integer", "minimum": 0, "exclusiveMinimum": True}
        tighter = prop({"type": "integer", "minimum": 5, "exclusiveMinimum": 0})[0]
        assert tighter == {"type": "integer", "minimum": 5}

    def test_content_keywords_become_formats(self) -> None:
        assert prop({"type": "string", "contentMediaType": "application/octet-stream"})[0] == {
            "type": "string",
            "format": "binary",
        }
        assert prop({"type": "string", "contentMediaType": "image/png", "contentEncoding": "base64"})[0] == {
            "type": "string",
            "format": "byte",
        }
        assert prop({"type": "string", "contentMediaType": "application/json"})[0] == {"type": "string"}

    def test_prefix_items_become_items(self) -> None:
        same = prop({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "integer"}]})[0]
        assert same == {"type": "array", "items": {"type": "integer"}}
        mixed = prop(
            {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "maxItems": 2}
        )[0]
        assert mixed == {"type": "array", "items": {}, "maxItems": 2}

    def test_an_array_always_has_items(self) -> None:
        assert prop({"type": "array"})[0] == {"type": "array", "items": {}}

    def test_keywords_older_versions_lack_are_dropped(self) -> None:
        v30, _ = prop(
            {
                "type": "object",
                "$comment": "c",
                "$defs": {"X": {}},
                "patternProperties": {"^a": {}},
                "if": {},
                "then": {},
                "dependentRequired": {},
                "x-internal": True,
            }
        )
        assert v30 == {"type": "object", "x-internal": True}

    def test_only_2_0_loses_write_only_deprecated_and_discriminator(self) -> None:
        v30, v20 = prop({"type": "string", "writeOnly": True, "deprecated": True, "readOnly": False})
        assert v30 == {"type": "string", "writeOnly": True, "deprecated": True, "readOnly": False}
        assert v20 == {"type": "string", "readOnly": False}

    def test_boolean_schemas_are_any_value(self) -> None:
        v30, _ = thing({"type": "object", "properties": {"a": True}, "additionalProperties": False})
        assert v30 == {"type": "object", "properties": {"a": {}}, "additionalProperties": False}


class TestDocument:
    def test_webhooks_go_and_their_schemas_stay(self) -> None:
        hook = {
            "post": {
                "requestBody": {
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}}
                },
                "responses": {"200": {"description": "OK"}},
            }
        }
        spec = spec_31(
            {"Thing": PERSON, "Event": {"type": "object", "properties": {"kind": {"const": "x"}}}},
            webhooks={"revoked": hook},
        )
        spec["jsonSchemaDialect"] = "https://spec.openapis.org/oas/3.1/dialect/base"
        spec["info"] |= {"summary": "S", "license": {"name": "MIT", "identifier": "MIT"}}
        v30, v20 = both(spec)
        assert v30["openapi"] == "3.0.3" and v20["swagger"] == "2.0"
        for converted in (v30, v20):
            assert "webhooks" not in converted and "jsonSchemaDialect" not in converted
            assert converted["info"] == {"title": "T", "version": "1", "license": {"name": "MIT"}}
        assert v30["components"]["schemas"]["Event"] == {
            "type": "object",
            "properties": {"kind": {"enum": ["x"], "type": "string"}},
        }
        assert "Event" in v20["definitions"]

    def test_response_headers_go_for_salesforce_and_stay_for_power_platform(self) -> None:
        spec = spec_31({"Thing": PERSON})
        spec["paths"]["/things"]["get"]["responses"]["200"]["headers"] = {
            "Idempotent-Replayed": {
                "description": "A replay",
                "schema": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
            }
        }
        v30, v20 = both(spec)
        assert "headers" not in v30["paths"]["/things"]["get"]["responses"]["200"]
        headers = v20["paths"]["/things"]["get"]["responses"]["200"]["headers"]
        assert headers == {"Idempotent-Replayed": {"type": "boolean", "description": "A replay"}}

    def test_references_lose_3_1_siblings(self) -> None:
        spec = spec_31({"Thing": PERSON})
        spec["components"]["parameters"] = {"Q": {"name": "q", "in": "query", "schema": {"type": "string"}}}
        spec["paths"]["/things"]["get"]["parameters"] = [
            {"$ref": "#/components/parameters/Q", "description": "D"}
        ]
        v30, v20 = both(spec)
        assert v30["paths"]["/things"]["get"]["parameters"] == [{"$ref": "#/components/parameters/Q"}]
        assert v20["paths"]["/things"]["get"]["parameters"] == [
            {"name": "q", "in": "query", "type": "string"}
        ]

    def test_a_3_0_spec_converts_to_2_0_too(self) -> None:
        v30, v20 = both(spec_31({"Thing": {"anyOf": [PERSON, {"type": "null"}]}}))
        assert to_swagger_20(v30) == v20


def operation_20(operation: Json, schemas: Json | None = None, **more: Any) -> tuple[Json, Json]:
    """`operation` as POST /things/{id}: (the 2.0 operation, the whole 2.0 spec)."""
    spec = spec_31(schemas or {"Thing": PERSON}, **more)
    spec["paths"] = {"/things/{id}": {"post": operation}}
    _, v20 = both(spec)
    return v20["paths"]["/things/{id}"]["post"], v20


ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 60}}
OK = {"200": {"description": "OK"}}


class TestSwagger:
    def test_parameters_carry_their_schema_keywords(self) -> None:
        parameters = [
            ID,
            {
                "name": "Idempotency-Key",
                "in": "header",
                "description": "Retry with it.",
                "schema": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
            {
                "name": "status",
                "in": "query",
                "schema": {"anyOf": [{"$ref": "#/components/schemas/Colour"}, {"type": "null"}]},
            },
            {
                "name": "tag",
                "in": "query",
                "schema": {"type": "array", "items": {"type": "string"}, "default": []},
            },
            {
                "name": "limit",
                "in": "query",
                "schema": {"type": "integer", "exclusiveMinimum": 0, "default": 25, "examples": [5]},
            },
            {"name": "session", "in": "cookie", "schema": {"type": "string"}},
        ]
        operation, _ = operation_20(
            {
                "operationId": "o",
                "summary": "S",
                "description": "D",
                "parameters": parameters,
                "responses": OK,
            },
            {"Thing": PERSON, "Colour": COLOUR},
        )
        assert operation["parameters"] == [
            {"name": "id", "in": "path", "required": True, "type": "string", "maxLength": 60},
            {"name": "Idempotency-Key", "in": "header", "description": "Retry with it.", "type": "string"},
            {"name": "status", "in": "query", "type": "string", "enum": ["red", "green"]},
            {
                "name": "tag",
                "in": "query",
                "type": "array",
                "default": [],
                "items": {"type": "string"},
                "collectionFormat": "multi",
            },
            {
                "name": "limit",
                "in": "query",
                "type": "integer",
                "default": 25,
                "minimum": 0,
                "exclusiveMinimum": True,
            },
        ]

    def test_a_json_body_is_a_body_parameter_and_media_types_are_consumes_and_produces(self) -> None:
        problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        operation, _ = operation_20(
            {
                "operationId": "o",
                "summary": "S",
                "description": "D",
                "parameters": [ID],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
                },
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    "422": {"description": "Bad", "content": problem},
                },
            },
            {"Thing": PERSON, "Problem": PERSON},
        )
        assert operation["consumes"] == ["application/json"]
        assert operation["produces"] == ["text/event-stream", "application/problem+json"]
        assert operation["parameters"][1] == {
            "name": "body",
            "in": "body",
            "required": True,
            "schema": {"$ref": "#/definitions/Thing"},
        }
        assert operation["responses"] == {
            "200": {"description": "OK", "schema": {"type": "string"}},
            "422": {"description": "Bad", "schema": {"$ref": "#/definitions/Problem"}},
        }

    def test_a_response_example_is_kept(self) -> None:
        media = {"schema": {"type": "object"}, "examples": {"one": {"value": {"a": 1}}}}
        operation, _ = operation_20(
            {
                "parameters": [ID],
                "responses": {"200": {"description": "OK", "content": {"application/json": media}}},
            }
        )
        assert operation["responses"]["200"]["examples"] == {"application/json": {"a": 1}}

    def test_a_form_body_is_form_parameters(self) -> None:
        upload = {
            "type": "object",
            "properties": {
                "f": {"type": "string", "contentMediaType": "application/octet-stream"},
                "n": {"type": "integer"},
            },
            "required": ["f"],
        }
        operation, _ = operation_20(
            {
                "parameters": [ID],
                "requestBody": {
                    "content": {"multipart/form-data": {"schema": {"$ref": "#/components/schemas/Upload"}}}
                },
                "responses": OK,
            },
            {"Thing": PERSON, "Upload": upload},
        )
        assert operation["consumes"] == ["multipart/form-data"]
        assert operation["parameters"][1:] == [
            {"name": "f", "in": "formData", "required": True, "type": "file"},
            {"name": "n", "in": "formData", "type": "integer"},
        ]

    def test_an_operation_gets_an_id_a_summary_and_a_description(self) -> None:
        operation, _ = operation_20(
            {"parameters": [ID], "description": "Make a thing. It lasts.", "responses": OK}
        )
        assert (operation["operationId"], operation["summary"]) == ("postThingsId", "Make a thing")
        bare, _ = operation_20({"parameters": [ID], "responses": OK})
        assert (bare["summary"], bare["description"]) == ("POST /things/{id}", "POST /things/{id}")

    def test_bearer_becomes_an_api_key_in_the_authorization_header(self) -> None:
        schemes = {
            "HTTPBearer": {"type": "http", "scheme": "bearer", "description": "The key."},
            "Basic": {"type": "http", "scheme": "basic"},
            "OIDC": {
                "type": "openIdConnect",
                "openIdConnectUrl": "https://example.com/.well-known/openid-configuration",
            },
        }
        security: list[dict[str, list[str]]] = [{"HTTPBearer": []}, {"OIDC": []}, {"Basic": []}]
        spec = spec_31({"Thing": PERSON})
        spec["components"]["securitySchemes"] = schemes
        spec["paths"]["/things"]["get"]["security"] = security
        _, v20 = both(spec)
        assert v20["securityDefinitions"] == {
            "HTTPBearer": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "The key. Send it as the whole header value: `Bearer <key>`.",
            },
            "Basic": {"type": "basic"},
        }
        assert v20["paths"]["/things"]["get"]["security"] == [{"HTTPBearer": []}, {"Basic": []}]

    def test_the_first_server_is_host_base_path_and_scheme(self) -> None:
        _, v20 = both(
            spec_31(
                {"Thing": PERSON},
                servers=[{"url": "https://{host}/api/", "variables": {"host": {"default": "r.example"}}}],
            )
        )
        assert (v20["host"], v20["basePath"], v20["schemes"]) == ("r.example", "/api", ["https"])
        _, without = both(spec_31({"Thing": PERSON}))
        assert "host" not in without and "basePath" not in without


class Revoked(BaseModel):
    kind: Literal["mandate.revoked"] = "mandate.revoked"
    weight: float = Field(gt=0, examples=[1.5])
    tags: list[str] | None = None


class Expired(BaseModel):
    kind: Literal["mandate.expired"]


def test_a_fastapi_app_with_constructs_ours_does_not_use_yet_converts() -> None:
    """Webhooks, uploads, cookies, tuples, literals, unions of models: as FastAPI writes them."""
    app = FastAPI()

    @app.webhooks.post("mandate-events")
    def hook(body: Revoked | Expired) -> None: ...

    @app.post("/upload")
    def upload(
        file: UploadFile,
        tag: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies it
        session: Annotated[str | None, Cookie()] = None,
        pair: tuple[int, str] | None = None,
    ) -> dict[str, int]:
        return {}

    v30, v20 = both(app.openapi())
    for converted in (v30, v20):
        assert not [
            key
            for _, key, _ in keywords(converted)
            if key in ("anyOf", "oneOf", "not", "const", "prefixItems")
        ]
    event = v30["components"]["schemas"]["Revoked"]["properties"]
    assert event["weight"] == {
        "type": "number",
        "minimum": 0,
        "exclusiveMinimum": True,
        "title": "Weight",
        "example": 1.5,
    }
    assert [p["type"] for p in v20["paths"]["/upload"]["post"]["parameters"] if p["name"] == "file"] == [
        "file"
    ]

"""The API's request and response models: the wire contract. Flat, mostly non-nullable, with examples."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FieldProblem(BaseModel):
    field: str = Field(
        description="Dotted path of the input field, such as `proxy.name`.", examples=["reference"]
    )
    message: str = Field(
        description="What is wrong and how to put it right.", examples=["The check character does not match."]
    )


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable machine-readable `code`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/invalid_reference",
                    "title": "This is not a valid mandate reference",
                    "status": 422,
                    "detail": "The check character does not match.",
                    "code": "invalid_reference",
                    "instance": "/v1/references/M-7K3Q-9XPD-4",
                    "errors": [{"field": "reference", "message": "The check character does not match."}],
                }
            ]
        }
    )

    type: str = Field(description="A URI reference that identifies the problem type; it never changes.")
    title: str = Field(description="A short, human-readable summary of the problem type.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong in this occurrence.")
    code: str = Field(description="Stable machine-readable code; switch on this, not on the title.")
    instance: str = Field(description="The path of the request that failed.")
    errors: list[FieldProblem] = Field(
        default_factory=list, description="Field-level problems, empty when none apply."
    )


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    status: str = Field(examples=["ready"])
    database: str = Field(examples=["ok"])


class ReferenceCheck(BaseModel):
    reference: str = Field(description="The reference in canonical form.", examples=["M-7K3Q-9XPD-Q"])
    valid: bool = Field(description="Always true: an invalid reference is answered with a problem.")


class ActionInfo(BaseModel):
    action: str = Field(examples=["termination"])
    high_risk: bool = Field(description="Changes or ends the contract; agents should take extra care.")
    label_nl: str = Field(examples=["het contract opzeggen"])
    label_en: str = Field(examples=["end the contract"])


class ActionList(BaseModel):
    items: list[ActionInfo]

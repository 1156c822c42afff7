"""The API's request and response models: the wire contract. Flat, mostly non-nullable, with examples."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictStr

from registry.domain.vocabulary import Action, Binding, DeclineReason, Relation, RequestStatus


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


class VerificationRequest(BaseModel):
    """Give the mandate reference the caller quotes, or your own customer reference; not both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "mandate_reference": "M-7K3Q-9XPD-Q",
                    "code": "4829 1337",
                    "action": "billing",
                    "agent_id": "agent-0042",
                },
                {"customer_reference": "KL-100234", "code": "482913", "customer_email": "anna@example.nl"},
            ]
        },
    )

    mandate_reference: StrictStr | None = Field(
        None,
        max_length=40,
        description="As the caller says it: case, spaces and dashes do not matter.",
        examples=["M-7K3Q-9XPD-Q"],
    )
    customer_reference: StrictStr | None = Field(
        None,
        max_length=100,
        description="Your own reference for the customer; checks their mandates with you.",
        examples=["KL-100234"],
    )
    code: StrictStr = Field(
        max_length=20,
        description="8 digits (a call code) or 6 (the proxy's authenticator app); spaces "
        "and dashes are ignored. Send it as a string.",
        examples=["4829 1337"],
    )
    action: Action | None = Field(None, description="What the caller wants to do now.")
    customer_email: StrictStr | None = Field(
        None,
        max_length=320,
        description="The e-mail address you have on file for the customer; used only "
        "to tell you whether it matches the holder (`binding`: `email_match`).",
        examples=["anna@example.nl"],
    )
    agent_id: StrictStr | None = Field(
        None,
        max_length=100,
        description="Your id for the agent. Holders see only a pseudonym derived from "
        "it, such as `Agent 4F2A`.",
        examples=["agent-0042"],
    )


class VerificationAnswer(BaseModel):
    """`verified` with what the caller may do, or `not_verified` with nothing but the receipt id. A
    `not_verified` answer never says why: wrong code, unknown reference, revoked, expired and locked look
    the same, so that a caller cannot learn anything by guessing."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "result": "verified",
                    "verification_id": "vrf_3kPq9xY2bH7mWc1LtR4sNvZa",
                    "mandate_reference": "M-7K3Q-9XPD-Q",
                    "proxy_name": "Jan de Vries",
                    "relation": "partner",
                    "scope": ["information", "billing"],
                    "valid_until": "2027-11-28T10:00:00Z",
                    "action": "billing",
                    "action_permitted": True,
                    "binding": "unconfirmed",
                },
                {"result": "not_verified", "verification_id": "vrf_8sDf2kLm0PqRt5VwXy7ZaBcE"},
            ]
        }
    )

    result: Literal["verified", "not_verified"]
    verification_id: str = Field(description="The receipt: fetch it later with GET /v1/verifications/{id}.")
    mandate_reference: str | None = Field(None, description="Only when verified.")
    proxy_name: str | None = Field(None, description="Compare it with the name the caller gives.")
    relation: Relation | None = None
    scope: list[Action] | None = Field(None, description="Everything the proxy may do; nothing else.")
    valid_until: str | None = Field(None, description="RFC 3339, UTC.")
    action: Action | None = Field(None, description="The action you asked about, if any.")
    action_permitted: bool | None = Field(None, description="Whether that action is in the scope.")
    binding: Binding | None = Field(
        None,
        description="How the holder is known to be your customer: "
        "`organisation_confirmed`, `email_match` or `unconfirmed` (check the "
        "customer relationship as usual).",
    )


class ProxyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(
        min_length=1, max_length=200, description="As the caller gave it.", examples=["Jan de Vries"]
    )
    relation: Relation = Field(description="How the proxy is related to the customer.")
    email: StrictStr | None = Field(
        None,
        max_length=320,
        description="The proxy hears when the mandate is confirmed.",
        examples=["jan@example.nl"],
    )
    phone: StrictStr | None = Field(None, max_length=32, examples=["+31 6 1234 5678"])


class MandateRequestCreate(BaseModel):
    """What the caller claims: who they are, what they may do, and for which customer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer_reference": "KL-100234",
                    "customer_email": "anna@example.nl",
                    "proxy": {"name": "Jan de Vries", "relation": "partner"},
                    "scope": ["information", "billing"],
                    "agent_id": "agent-0042",
                }
            ]
        },
    )

    customer_reference: StrictStr = Field(
        min_length=1,
        max_length=100,
        description="Your own reference for the customer.",
        examples=["KL-100234"],
    )
    customer_email: StrictStr = Field(
        max_length=320,
        description="The address you have on file for the customer (never the caller's): the confirmation "
        "goes there, and a confirmed mandate is `organisation_confirmed`.",
        examples=["anna@example.nl"],
    )
    language: Literal["nl", "en"] | None = Field(
        None, description="The e-mail's language when the registry does not know the holder's own choice."
    )
    proxy: ProxyIn
    scope: list[Action] = Field(min_length=1, description="What the caller asks to do.")
    valid_until: AwareDatetime | None = Field(
        None, description="RFC 3339 with a time zone; one year from now when left out, at most five."
    )
    note: StrictStr | None = Field(
        None,
        max_length=500,
        description="Shown to the holder in the e-mail, such as the reason for the call.",
    )
    agent_id: StrictStr | None = Field(
        None,
        max_length=100,
        description="Your id for the agent; holders see only a pseudonym such as `Agent 4F2A`.",
    )


class MandateRequestOut(BaseModel):
    """An oral mandate waiting for, or answered by, the holder. `lapsed`: 24 hours passed without answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "mrq_Xb3kP9qLm2TzR8vWc4NsYa1H",
                    "status": "confirmed",
                    "customer_reference": "KL-100234",
                    "scope": ["information", "billing"],
                    "valid_until": "2027-11-28T10:00:00Z",
                    "created_at": "2026-11-28T10:00:00Z",
                    "expires_at": "2026-11-29T10:00:00Z",
                    "decided_at": "2026-11-28T10:03:12Z",
                    "mandate_reference": "M-7K3Q-9XPD-Q",
                    "decline_reason": None,
                }
            ]
        }
    )

    id: str = Field(description="Fetch the status with GET /v1/mandate-requests/{id}.")
    status: RequestStatus
    customer_reference: str | None
    scope: list[Action] = Field(description="As asked while pending; as the holder confirmed it after.")
    valid_until: str = Field(description="RFC 3339, UTC; as asked, or as the holder confirmed it.")
    created_at: str
    expires_at: str = Field(description="An unanswered request lapses at this instant (24 hours).")
    decided_at: str | None = None
    mandate_reference: str | None = Field(
        None, description="Once confirmed: the reference the caller quotes with a code."
    )
    decline_reason: DeclineReason | None = Field(
        None,
        description="`not_me`: the holder says they never gave this mandate; treat the caller with care.",
    )


class MandateOut(BaseModel):
    """One of your mandates, with no more than a verification answer holds: nothing about the holder."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reference": "M-7K3Q-9XPD-Q",
                    "customer_reference": "KL-100234",
                    "proxy_name": "Jan de Vries",
                    "relation": "partner",
                    "scope": ["information", "billing"],
                    "valid_from": "2026-11-28T10:00:00Z",
                    "valid_until": "2027-11-28T10:00:00Z",
                    "status": "active",
                    "basis": "web",
                    "binding": "unconfirmed",
                }
            ]
        }
    )

    reference: str
    customer_reference: str | None
    proxy_name: str
    relation: Relation
    scope: list[Action]
    valid_from: str = Field(description="RFC 3339, UTC.")
    valid_until: str = Field(description="RFC 3339, UTC; the mandate ends at this instant.")
    status: Literal["active", "scheduled", "expired", "revoked"] = Field(
        description="At the moment of the answer: `scheduled` has not started yet."
    )
    basis: Literal["web", "oral_confirmed_by_email"]
    binding: Binding = Field(description="How the holder is known to be your customer, as checks answer it.")


class MandatePage(BaseModel):
    items: list[MandateOut]
    next_cursor: str | None = Field(
        description="Send it as `cursor` for the next page; null on the last page.", examples=[None]
    )


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"url": "https://crm.example.com/hooks/mandates", "event_types": ["mandate.revoked"]}
            ]
        },
    )

    url: StrictStr = Field(max_length=2000, description="A public https URL; redirects are not followed.")
    event_types: list[StrictStr] = Field(
        default_factory=list, max_length=20, description="Only these events; empty for every event."
    )
    description: StrictStr | None = Field(None, max_length=200)


class WebhookEndpointOut(BaseModel):
    id: str = Field(examples=["whe_3kPq9xY2bH7mWc1L"])
    url: str
    description: str | None
    event_types: list[str] = Field(description="Empty: every event.")
    status: Literal["active", "disabled"]
    disabled_reason: str | None
    created_at: str
    secret: str | None = Field(
        None,
        description="Only in the answer that made the endpoint: the `whsec_...` secret to verify signatures "
        "with (Standard Webhooks). Store it; it is never shown again.",
    )


class WebhookEndpointList(BaseModel):
    items: list[WebhookEndpointOut]


class WebhookDeliveryOut(BaseModel):
    id: str = Field(
        description="The `webhook-id` header of every try.", examples=["msg_8sDf2kLm0PqRt5VwXy7ZaBcE"]
    )
    event_type: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: str
    delivered_at: str | None
    next_attempt_at: str | None


class WebhookDeliveryList(BaseModel):
    items: list[WebhookDeliveryOut]


class WebhookPayload(BaseModel):
    """The body of every webhook: thin, with references only; fetch the rest through the API."""

    type: str = Field(examples=["mandate.revoked"])
    timestamp: str = Field(description="RFC 3339, UTC: when it happened.")
    data: dict[str, Any] = Field(
        examples=[{"mandate_reference": "M-7K3Q-9XPD-Q", "customer_reference": "KL-100234"}]
    )

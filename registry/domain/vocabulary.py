"""The domain's words: actions (the scope vocabulary), relations, statuses, bases, bindings.

Labels are kept here, in Dutch and English, so that pages, e-mails and the API all say the same thing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

Language = Literal["nl", "en"]
LANGUAGES: tuple[Language, ...] = ("nl", "en")


class Action(StrEnum):
    information = "information"
    appointments = "appointments"
    orders = "orders"
    billing = "billing"
    changes = "changes"
    termination = "termination"

    @property
    def high_risk(self) -> bool:
        return self in HIGH_RISK_ACTIONS

    def label(self, language: Language) -> str:
        return ACTION_LABELS[self][language]


HIGH_RISK_ACTIONS = frozenset({Action.changes, Action.termination})

ACTION_LABELS: dict[Action, dict[Language, str]] = {
    Action.information: {"nl": "informatie opvragen", "en": "receive information"},
    Action.appointments: {"nl": "afspraken maken en verzetten", "en": "make and change appointments"},
    Action.orders: {
        "nl": "dingen bestellen die naar het eigen adres gaan",
        "en": "order things sent to the holder's own address",
    },
    Action.billing: {"nl": "rekeningen en betalingsregelingen", "en": "bills and payment arrangements"},
    Action.changes: {
        "nl": "contract- of contactgegevens wijzigen",
        "en": "change contract or contact details",
    },
    Action.termination: {"nl": "het contract opzeggen", "en": "end the contract"},
}


class Outcome(StrEnum):
    """What one check told the organisation, as pages and e-mails say it. The API keeps its own fields
    (`result`, `action_permitted`); every page, e-mail and activity row names one of these, so a refused
    action never reads as a plain "verified"."""

    not_verified = "not_verified"  # the code was wrong, expired, used, or the mandate does not hold
    verified = "verified"  # the code was right; no action was asked about
    allowed = "allowed"  # the code was right and the action asked about is allowed
    refused = "refused"  # the code was right but the action asked about is NOT allowed

    @classmethod
    def of(cls, result: str, action: str | None, action_permitted: bool | None) -> Outcome:
        if result != "verified":
            return cls.not_verified
        if action is None:
            return cls.verified
        return cls.allowed if action_permitted else cls.refused


AGENT_WORDS: dict[Language, str] = {"nl": "Medewerker", "en": "Agent"}


def agent_label(pseudonym: str, language: Language) -> str:
    """A stored pseudonym (`Agent 4F2A`, as the API gives it) as a page or e-mail says it: in Dutch
    `Medewerker 4F2A`, since a Dutch reader hears police in "agent"."""
    word, _, tag = pseudonym.partition(" ")
    return f"{AGENT_WORDS[language]} {tag}" if word == AGENT_WORDS["en"] and tag else pseudonym


class Relation(StrEnum):
    partner = "partner"
    parent = "parent"
    child = "child"
    family = "family"
    carer = "carer"
    other = "other"

    def label(self, language: Language) -> str:
        return RELATION_LABELS[self][language]


RELATION_LABELS: dict[Relation, dict[Language, str]] = {
    Relation.partner: {"nl": "partner", "en": "partner"},
    Relation.parent: {"nl": "ouder", "en": "parent"},
    Relation.child: {"nl": "kind", "en": "child"},
    Relation.family: {"nl": "familielid", "en": "family member"},
    Relation.carer: {"nl": "mantelzorger of begeleider", "en": "carer"},
    Relation.other: {"nl": "iemand anders", "en": "someone else"},
}


class Basis(StrEnum):
    web = "web"
    oral_confirmed_by_email = "oral_confirmed_by_email"


class MandateStatus(StrEnum):
    """The stored status. Expiry is never stored as the only truth: see `EffectiveStatus`."""

    pending = "pending"
    active = "active"
    revoked = "revoked"
    expired = "expired"
    declined = "declined"


class EffectiveStatus(StrEnum):
    """What a mandate is at a given instant, decided from the stored status and the clock."""

    pending = "pending"
    scheduled = "scheduled"  # active, but valid_from lies ahead
    active = "active"
    revoked = "revoked"
    expired = "expired"
    declined = "declined"


class Binding(StrEnum):
    organisation_confirmed = "organisation_confirmed"
    email_match = "email_match"
    unconfirmed = "unconfirmed"


class RequestStatus(StrEnum):
    """An oral-mandate request. `lapsed` is decided from the clock: 24 hours without an answer."""

    pending = "pending"
    confirmed = "confirmed"
    declined = "declined"
    lapsed = "lapsed"


class RequestOrigin(StrEnum):
    organisation = "organisation"  # a helpdesk or CRM, with the address it has on file
    proxy = "proxy"  # the proxy, on the web, with an address they typed


class DeclineReason(StrEnum):
    declined = "declined"  # the holder does not want it (now)
    not_me = "not_me"  # the holder never gave this mandate: someone may be pretending

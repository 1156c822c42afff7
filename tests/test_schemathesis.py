"""Schemathesis over the whole spec, with a valid API key holding every scope: every answer conforms to
the spec (status, content type, schema, headers) and nothing is a 5xx, stateless and stateful.

One check is left out: `positive_data_acceptance` expects every schema-valid request to succeed, but the
registry refuses some with 422 for reasons a schema cannot say (a reference whose check character is
wrong; both `mandate_reference` and `customer_reference` given; an end date past five years)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import tempfile
from typing import Any

import hypothesis
import schemathesis
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from registry import migrations
from registry.app import create_app
from registry.db.engine import session_scope
from registry.services import api_keys, codes, holders, mandates, organisations
from registry.wiring import Wiring
from tests.conftest import make_settings

SETTINGS: dict[str, Any] = {
    "max_examples": 30,
    "deadline": None,
    "suppress_health_check": list(hypothesis.HealthCheck),
}


async def _seed(url: str) -> tuple[Any, str]:
    migrations.upgrade(url)
    settings = make_settings(url, webhook_allow_private=True)
    wiring = Wiring.build(settings)
    async with session_scope(wiring.session_factory) as session:
        ctx = wiring.context(session)
        await organisations.create(ctx, "energie-bv", "Energie BV")
        holder = await holders.get_or_create_verified(ctx, "anna@example.nl")
        draft = mandates.Draft(
            "energie-bv", mandates.Proxy("Jan", "partner"), ["information"], customer_reference="KL-1"
        )
        await codes.issue(ctx, await mandates.grant(ctx, holder, draft))
        secret = (await api_keys.create(ctx, "energie-bv", "fuzz", list(api_keys.SCOPES)))[1]
    await wiring.engine.dispose()
    return settings, secret


# Schemathesis reads the spec when the tests are collected; the app gets a database of its own (SQLite:
# the fuzzing is about the contract, and the engines share the code that answers).
DATABASE = f"{tempfile.mkdtemp()}/fuzz.db"
_settings, KEY = asyncio.run(_seed(f"sqlite+aiosqlite:///{DATABASE}"))
SEEDED = sqlite3.connect(":memory:")
with contextlib.closing(sqlite3.connect(DATABASE)) as _seeded:
    _seeded.backup(SEEDED)
# The live status stream stays open while a request is pending; tests/test_oral_flow.py covers it.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_settings)).exclude(
    path_regex=r"/events$"
)
EXCLUDED = [positive_data_acceptance]


def _key_for(case: Any) -> dict[str, str]:
    """The valid key in place of the generated one. A negative case may leave `Authorization` out or
    malformed on purpose, expecting a refusal: then it goes as generated (the key would make it valid)."""
    header = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    negative = header is not None and header.mode == GenerationMode.NEGATIVE
    if negative or "Authorization" not in (case.headers or {}):
        return {}
    return {"Authorization": f"Bearer {KEY}"}


@schema.parametrize()
@hypothesis.settings(**SETTINGS)
def test_every_operation_conforms(case: Any) -> None:
    case.call_and_validate(headers=_key_for(case), excluded_checks=EXCLUDED)


class Calls(schema.as_state_machine()):  # type: ignore[misc]
    """Sequences of calls, linked by the ids that answers hold (inferred from the spec)."""

    def setup(self) -> None:
        """Every sequence starts from the seeded database, whatever ran before it: Hypothesis replays a
        sequence (from its example database too, in a later run) and stops as flaky when the same calls
        answer otherwise, say once the key has counted a hundred failed checks."""
        with contextlib.closing(sqlite3.connect(DATABASE)) as live:
            SEEDED.backup(live)

    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": _key_for(case)}

    def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
        case.validate_response(response, excluded_checks=EXCLUDED)


def test_stateful_sequences_conform() -> None:
    stateful = {**SETTINGS, "max_examples": 20, "stateful_step_count": 6}
    Calls.run(settings=hypothesis.settings(**stateful))

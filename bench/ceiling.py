"""The ceiling: a bare FastAPI POST endpoint with a body like a verification's, and nothing else.

`bench/verify.py` serves it exactly as `mandate-registry serve` serves the registry (same uvicorn options),
so that verify/ceiling measures what the registry's own work costs on this machine, today.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel, Field

from registry.http import logs

app = FastAPI()


class Check(BaseModel):
    mandate_reference: str | None = Field(None, max_length=40)
    customer_reference: str | None = Field(None, max_length=100)
    code: str = Field(max_length=20)
    action: str | None = None


class Answer(BaseModel):
    result: str
    verification_id: str
    mandate_reference: str | None = None


@app.post("/v1/verifications", response_model=Answer)
async def verify(check: Check) -> Answer:
    return Answer(result="verified", verification_id="vrf_ceiling", mandate_reference=check.mandate_reference)


def factory() -> FastAPI:
    logs.install()  # log lines rendered as the registry renders them (bench/verify.py sets the format)
    return app

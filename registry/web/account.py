"""The holder's account: language, all their data as a download, and deleting the account."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from registry.db.unit_of_work import Context
from registry.services import account
from registry.web.deps import HolderDep, form_of, render, signed_out

router = APIRouter(include_in_schema=False)


@router.get("/account")
async def account_page(request: Request, who: HolderDep) -> Response:
    return render(request, "account.html", who, flash=request.query_params.get("done"))


@router.get("/account/data.json")
async def download(who: HolderDep, ctx: Context) -> Response:
    data = await account.export(ctx, who.holder)
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="machtigingenregister.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/account/delete")
async def delete_confirm(request: Request, who: HolderDep) -> Response:
    return render(request, "account_delete.html", who)


@router.post("/account/delete")
async def delete(request: Request, who: HolderDep, ctx: Context) -> Response:
    await form_of(request, who)
    await account.delete(ctx, who.holder)
    return signed_out("/?deleted=1")

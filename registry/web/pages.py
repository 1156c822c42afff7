"""The front page and the problem-type pages that `type` in problem+json points to."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from registry import errors

router = APIRouter(include_in_schema=False)

PAGE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,Arial,sans-serif;font-size:1.125rem;line-height:1.5;max-width:40rem;
margin:2rem auto;padding:0 1rem;color:#1f2937}}a{{color:#1d4ed8}}code{{font-size:1rem}}</style>
</head><body><main>{body}</main></body></html>"""


def _all_errors() -> dict[str, type[errors.RegistryError]]:
    found: dict[str, type[errors.RegistryError]] = {}
    stack: list[type[errors.RegistryError]] = [errors.RegistryError]
    while stack:
        cls = stack.pop()
        found[cls.code] = cls
        stack.extend(cls.__subclasses__())
    return found


@router.get("/problems/{code}", response_class=HTMLResponse)
async def problem_type(code: str) -> HTMLResponse:
    cls = _all_errors().get(code)
    if cls is None:
        return HTMLResponse(
            PAGE.format(lang="en", title="Unknown problem type", body="<h1>Unknown problem type</h1>"),
            status_code=404,
        )
    body = f"<h1>{escape(cls.title)}</h1><p>Problem code <code>{escape(cls.code)}</code>.</p>" + (
        f"<p>{escape(' '.join((cls.__doc__ or '').split()))}</p>" if cls.__doc__ else ""
    )
    return HTMLResponse(PAGE.format(lang="en", title=escape(cls.title), body=body))

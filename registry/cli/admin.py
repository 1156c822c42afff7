"""The registry's contents from the command line: organisations, API keys, mandates, codes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from registry.cli.core import (
    api_key_app,
    authenticator_app,
    code_app,
    friendly,
    in_transaction,
    mandate_app,
    member_app,
    org_app,
)
from registry.models import Mandate, Organisation
from registry.services import (
    ServiceContext,
    api_keys,
    authenticators,
    codes,
    holders,
    mandates,
    members,
    organisations,
)


@org_app.command("create")
@friendly
def org_create(
    slug: Annotated[str, typer.Argument(help="Short name in URLs and the API, such as energie-bv.")],
    name: Annotated[str, typer.Option("--name", help="Display name, such as 'Energie BV'.")],
    language: Annotated[str, typer.Option(help="Default language: nl or en.")] = "nl",
    contact_email: Annotated[
        str | None, typer.Option(help="Where security alerts go (many failed checks with one key).")
    ] = None,
    admin: Annotated[
        str | None, typer.Option("--admin", help="E-mail address of its first console admin (invited).")
    ] = None,
) -> None:
    """Add an organisation to the registry, and invite its first admin to the console."""

    async def work(ctx: ServiceContext) -> Organisation:
        org = await organisations.create(
            ctx, slug, name, default_language=language, contact_email=contact_email
        )
        if admin:
            await members.invite(ctx, slug, admin, "admin")
        return org

    org = in_transaction(work)
    typer.echo(f"created organisation {org.slug} ({org.display_name})")
    if admin:
        typer.echo(f"invited {admin} as its admin: they sign in at /console/sign-in")


@member_app.command("invite")
@friendly
def member_invite(
    email: Annotated[str, typer.Argument(help="The member's work e-mail address.")],
    org: Annotated[str, typer.Option("--org", help="The organisation's slug.")],
    role: Annotated[str, typer.Option(help="admin or agent.")] = "agent",
) -> None:
    """Add a console member to an organisation and e-mail them where to sign in."""
    member = in_transaction(lambda ctx: members.invite(ctx, org, email, role))
    typer.echo(f"invited {member.email} as {member.role} of {org}")


@org_app.command("list")
@friendly
def org_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List every organisation."""
    orgs = in_transaction(organisations.list_all, read_only=True)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "slug": o.slug,
                        "display_name": o.display_name,
                        "active": o.active,
                        "default_language": o.default_language,
                    }
                    for o in orgs
                ],
                indent=2,
            )
        )
        return
    if not orgs:
        typer.echo("no organisations yet: add one with `mandate-registry org create SLUG --name NAME`")
    for o in orgs:
        typer.echo(f"{o.slug:<24} {o.display_name}{'' if o.active else '  (inactive)'}")


@api_key_app.command("create")
@friendly
def api_key_create(
    org: Annotated[str, typer.Option("--org", help="The organisation's slug.")],
    scope: Annotated[
        list[str], typer.Option("--scope", help="Repeat for more: " + ", ".join(api_keys.SCOPES))
    ],
    name: Annotated[str, typer.Option(help="The integration, such as 'Zendesk'.")] = "default",
) -> None:
    """Make an API key. It is printed once, here, and never again."""
    key, secret = in_transaction(lambda ctx: api_keys.create(ctx, org, name, scope))
    typer.echo(secret)
    typer.echo(
        f"key {key.id} ({key.prefix}...) for {org}, scopes {', '.join(key.scopes)}. Store it now: "
        "the registry keeps only a hash.",
        err=True,
    )


@api_key_app.command("list")
@friendly
def api_key_list(org: Annotated[str, typer.Option("--org", help="The organisation's slug.")]) -> None:
    """List an organisation's keys (never the secrets)."""
    keys = in_transaction(lambda ctx: api_keys.list_for(ctx, org), read_only=True)
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        used = f"last used {k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never used"
        typer.echo(f"{k.id:>5}  {k.prefix}...  {k.name:<16} {','.join(k.scopes):<28} {state:<24} {used}")
    if not keys:
        typer.echo(
            f"{org} has no API keys: make one with `mandate-registry api-key create --org {org} "
            "--scope verify`"
        )


@api_key_app.command("revoke")
@friendly
def api_key_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's number from `api-key list`.")],
) -> None:
    """Revoke a key; requests with it are refused at once."""
    key = in_transaction(lambda ctx: api_keys.revoke(ctx, key_id))
    typer.echo(f"revoked key {key.id} ({key.prefix}...)")


@mandate_app.command("grant")
@friendly
def mandate_grant(
    holder: Annotated[str, typer.Option(help="The holder's e-mail address.")],
    org: Annotated[str, typer.Option("--org", help="The organisation's slug.")],
    proxy: Annotated[str, typer.Option(help="The proxy's name.")],
    relation: Annotated[str, typer.Option(help="partner, parent, child, family, carer or other.")],
    scope: Annotated[list[str], typer.Option("--scope", help="Repeat for more actions.")],
    proxy_email: Annotated[str | None, typer.Option(help="The proxy's e-mail address.")] = None,
    customer_reference: Annotated[
        str | None, typer.Option(help="The holder's number at the organisation.")
    ] = None,
    valid_from: Annotated[
        datetime | None, typer.Option(help="Start (ISO 8601 with zone); default now.")
    ] = None,
    valid_until: Annotated[
        datetime | None, typer.Option(help="End (ISO 8601 with zone); default a year.")
    ] = None,
    language: Annotated[str, typer.Option(help="The holder's language for e-mails: nl or en.")] = "nl",
) -> None:
    """Grant a mandate for a holder, as the web pages will (the holder's address counts as verified)."""

    async def work(ctx: ServiceContext) -> Mandate:
        person = await holders.get_or_create_verified(ctx, holder, language)
        draft = mandates.Draft(
            organisation=org,
            proxy=mandates.Proxy(proxy, relation, proxy_email),
            scope=scope,
            valid_from=valid_from,
            valid_until=valid_until,
            customer_reference=customer_reference,
        )
        return await mandates.grant(ctx, person, draft, actor="operator:cli")

    mandate = in_transaction(work)
    typer.echo(mandate.reference)
    typer.echo(
        f"{mandate.proxy_name} may {', '.join(mandate.scope)} until {mandate.valid_until:%Y-%m-%d %H:%M} UTC",
        err=True,
    )


@code_app.command("issue")
@friendly
def code_issue(
    reference: Annotated[str, typer.Argument(help="The mandate reference.")],
    valid: Annotated[str, typer.Option(help="Lifetime: 15m to 7d, such as 30m, 24h, 7d.")] = "24h",
) -> None:
    """Issue a call code for a mandate; the previous code stops working."""
    lifetime = codes.parse_lifetime(valid)

    async def work(ctx: ServiceContext) -> codes.IssuedCode:
        mandate = await mandates.by_reference(ctx, reference)
        return await codes.issue(ctx, mandate, lifetime, actor="operator:cli")

    issued = in_transaction(work)
    typer.echo(issued.code)
    typer.echo(f"{issued.grouped}, valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC", err=True)


@authenticator_app.command("enrol")
@friendly
def authenticator_enrol(reference: Annotated[str, typer.Argument(help="The mandate reference.")]) -> None:
    """Start setting up an authenticator app for the proxy; prints the otpauth:// URI for the app."""

    async def work(ctx: ServiceContext) -> authenticators.Enrolment:
        return await authenticators.enrol(ctx, await mandates.by_reference(ctx, reference))

    enrolment = in_transaction(work)
    typer.echo(enrolment.uri)
    typer.echo(
        f"secret {enrolment.grouped_secret}; activate with `mandate-registry authenticator activate "
        f"{reference} CODE`",
        err=True,
    )


@authenticator_app.command("activate")
@friendly
def authenticator_activate(
    reference: Annotated[str, typer.Argument(help="The mandate reference.")],
    code: Annotated[str, typer.Argument(help="The 6 digits the app shows now.")],
) -> None:
    """Activate the authenticator with its first correct code."""

    async def work(ctx: ServiceContext) -> None:
        await authenticators.activate(ctx, await mandates.by_reference(ctx, reference), code)

    in_transaction(work)
    typer.echo("authenticator active")

"""`parbot invite …` and `parbot members …`: who may use the bot, in which role and scope."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from ..core.services import people
from .common import admin, console, handle_errors, settings, uow

invite_app = typer.Typer(help="One-time invitation codes that bind a Telegram account to a role.",
                         no_args_is_help=True)
members_app = typer.Typer(help="People bound to the bot and their roles.", no_args_is_help=True)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _local(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(ZoneInfo(settings().timezone)).strftime("%Y-%m-%d %H:%M")


def bot_username() -> str:
    """From PARBOT_BOT_USERNAME, else asked of the Bot API (getMe)."""
    if settings().bot_username:
        return settings().bot_username.lstrip("@")
    token = settings().telegram_token
    if token is None:
        return "<bot>"
    import asyncio

    from telegram import Bot

    base = settings().telegram_api_base.rstrip("/")

    async def ask() -> str:
        async with Bot(token.get_secret_value(), base_url=f"{base}/bot") as bot:
            return bot.username

    try:
        return asyncio.run(ask())
    except Exception:  # noqa: BLE001 - no network: the code still works, only the link is incomplete
        return "<bot>"


@invite_app.command("create")
@handle_errors
def invite_create(role: str = typer.Option(..., help="officer, unit_leader, appraiser, province_leader, admin"),
                  unit: Optional[str] = typer.Option(None, help="Unit code (officers, unit leaders, appraisers)."),
                  block: Optional[str] = typer.Option(None, help="Block code (appraisers)."),
                  expires: str = typer.Option("14d", help="Validity: 14d, 48h, 30m."),
                  note: Optional[str] = typer.Option(None, help="Who it is for (kept in the audit).")) -> None:
    """Create a one-time code; it is shown once and only its hash is stored."""
    code, invite = people.create_invite(uow(), caller=admin(), role=role, unit_code=unit, block=block,
                                        expires_in=people.parse_duration(expires), now=_now(), note=note)
    console.print(f"Invite #{invite.id}: {invite.grant.describe()}, valid until {_local(invite.expires_at)}")
    console.print(f"Code: {code}", markup=False)
    console.print(f"Link: https://t.me/{bot_username()}?start={code}", markup=False)


@invite_app.command("revoke")
@handle_errors
def invite_revoke(code_or_id: str = typer.Argument(..., help="The code, its first 6 characters, or #id.")) -> None:
    """Revoke an unused invitation: its code no longer binds anyone."""
    invite = people.revoke_invite(uow(), caller=admin(), code_or_id=code_or_id, now=_now())
    console.print(f"Invite #{invite.id} revoked.")


@invite_app.command("list")
@handle_errors
def invite_list() -> None:
    """Invitations with their role, scope, expiry and state (open, used, expired, revoked)."""
    now = _now()
    table = Table("id", "code", "role", "unit", "block", "status", "expires", "used by")
    for invite in people.list_invites(uow()):
        table.add_row(str(invite.id), f"{invite.code_hint}…", invite.role, invite.unit_code or "",
                      invite.block or "", invite.status(now), _local(invite.expires_at),
                      f"p{invite.used_by}" if invite.used_by else "")
    console.print(table)


@members_app.command("list")
@handle_errors
def members_list() -> None:
    """Everyone bound to the bot, with their roles and scopes."""
    table = Table("person", "telegram id", "name", "username", "role", "unit", "block", "language")
    for person, grant in people.list_members(uow()):
        telegram = "" if person.telegram_id is None else str(person.telegram_id)  # none: joined on Zalo
        table.add_row(f"p{person.id}", telegram, person.name, f"@{person.username}"
                      if person.username else "", grant.role.value, grant.unit_code or "", grant.block or "",
                      person.language)
    console.print(table)


@members_app.command("remove")
@handle_errors
def members_remove(who: str = typer.Argument(..., help="Telegram id, p<person id> or @username."),
                   role: Optional[str] = typer.Option(None, help="Only this role."),
                   unit: Optional[str] = typer.Option(None, help="Only grants on this unit.")) -> None:
    """Take roles away from a person (all of them, or one role / one unit's grants); audited."""
    removed = people.remove_member(uow(), caller=admin(), who=who, now=_now(), role=role, unit_code=unit)
    console.print(f"Removed {removed} role(s) from {who}.")


def register(app: typer.Typer) -> None:
    app.add_typer(invite_app, name="invite")
    app.add_typer(members_app, name="members")

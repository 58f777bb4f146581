"""`parbot invite …` and `parbot members …`: who may use the bot, in which role and scope."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from .localized import App
from .common import admin, console, err_console, handle_errors, lang, say, settings, uow

invite_app = App(no_args_is_help=True)
members_app = App(no_args_is_help=True)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _local(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(ZoneInfo(settings().timezone)).strftime("%Y-%m-%d %H:%M")


def bot_username() -> tuple[str | None, str | None]:
    """The bot's username from PARBOT_BOT_USERNAME, else asked of the Bot API (getMe); with the reason when
    it is unknown (no token, or Telegram did not answer)."""
    if settings().bot_username:
        return settings().bot_username.lstrip("@"), None
    token = settings().telegram_token
    if token is None:
        return None, None
    import asyncio

    from telegram import Bot

    base = settings().telegram_api_base.rstrip("/")

    async def ask() -> str:
        async with Bot(token.get_secret_value(), base_url=f"{base}/bot") as bot:
            return bot.username

    try:
        return asyncio.run(ask()), None
    except Exception as error:  # noqa: BLE001 - no network: the code still works, only the link is missing
        return None, f"{type(error).__name__}: {error}"


@invite_app.command("create")
@handle_errors
def invite_create(role: str = typer.Option(...),
                  unit: Optional[str] = typer.Option(None),
                  block: Optional[str] = typer.Option(None),
                  expires: str = typer.Option("14d"),
                  note: Optional[str] = typer.Option(None)) -> None:
    from ..core.services import people
    from ..i18n.roles import grant_text

    code, invite = people.create_invite(uow(), caller=admin(), role=role, unit_code=unit, block=block,
                                        expires_in=people.parse_duration(expires), now=_now(), note=note)
    units, blocks = people.scope_names(uow(), [invite.grant])
    console.print(say("cli.invite.created", id=invite.id, grant=grant_text(invite.grant, lang(), units, blocks),
                      until=_local(invite.expires_at)), markup=False)
    console.print(say("cli.invite.code", code=code), markup=False)
    username, reason = bot_username()
    if username:
        console.print(say("cli.invite.link", link=f"https://t.me/{username}?start={code}"), markup=False)
    else:
        err_console.print(say("cli.invite.no_username", code=code) if reason is None
                          else say("cli.invite.getme_failed", reason=reason, code=code), markup=False, style="yellow")


@invite_app.command("revoke")
@handle_errors
def invite_revoke(code_or_id: str = typer.Argument(...)) -> None:
    from ..core.services import people

    invite = people.revoke_invite(uow(), caller=admin(), code_or_id=code_or_id, now=_now())
    console.print(say("cli.invite.revoked", id=invite.id), markup=False)


@invite_app.command("list")
@handle_errors
def invite_list() -> None:
    from ..core.services import people

    from ..i18n.roles import role_name

    now = _now()
    table = Table(*say("cli.invite.columns").split("|"))
    for invite in people.list_invites(uow()):
        table.add_row(str(invite.id), f"{invite.code_hint}…", role_name(invite.role, lang()), invite.unit_code or "",
                      invite.block or "", say(f"cli.invite.status.{invite.status(now)}"), _local(invite.expires_at),
                      f"p{invite.used_by}" if invite.used_by else "")
    console.print(table)


@members_app.command("list")
@handle_errors
def members_list() -> None:
    from ..core.services import channels, people
    from ..i18n.roles import role_name

    members = people.list_members(uow())
    if not members:
        console.print(say("cli.members.none"), markup=False)
        return
    table = Table(*say("cli.members.columns").split("|"), *say("cli.members.channel_columns").split("|"))
    held = channels.of_people(uow(), list({p.id: p for p, _g in members}.values()))
    for person, grant in members:
        telegram = "" if person.telegram_id is None else str(person.telegram_id)  # none: joined on Zalo
        table.add_row(f"p{person.id}", telegram, person.name, f"@{person.username}"
                      if person.username else "", role_name(grant.role, lang()), grant.unit_code or "",
                      grant.block or "", say(f"cli.language.{person.language}"),
                      ", ".join(held[person.id].held), ", ".join(held[person.id].chosen))
    console.print(table)


@members_app.command("remove")
@handle_errors
def members_remove(who: str = typer.Argument(...),
                   role: Optional[str] = typer.Option(None),
                   unit: Optional[str] = typer.Option(None)) -> None:
    from ..core.services import people

    removed = people.remove_member(uow(), caller=admin(), who=who, now=_now(), role=role, unit_code=unit)
    console.print(say("cli.members.removed", count=removed, who=who), markup=False)


@members_app.command("merge")
@handle_errors
def members_merge(keep: str = typer.Argument(...), other: str = typer.Argument(...)) -> None:
    from ..core.services import channels, people

    merged = people.merge_members(uow(), caller=admin(), keep=keep, other=other, now=_now())
    console.print(say("cli.members.merged", other=other, keep=keep, name=merged.person.name,
                      channels=", ".join(channels.NAMES[c] for c in merged.channels) or "—",
                      grants=merged.grants, pending=merged.pending), markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(invite_app, name="invite")
    app.add_typer(members_app, name="members")

"""/start (with an invitation code), /help, /lang, per-person command menus, and refusing group chats."""
from __future__ import annotations

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import (Application, CallbackQueryHandler, ChatMemberHandler, CommandHandler, ContextTypes,
                          MessageHandler, filters)

from ...core.conversation.events import Command
from ...core.errors import DomainError
from ...core.links import ACCOUNT_CODE
from ...core.permissions import Grant, Role
from ...core.services import channels, people
from ...i18n import LANGUAGES, t
from ...i18n.roles import grant_text
from .assess import open_workspace, run
from .common import Turn, for_members, log

PRIVATE = filters.ChatType.PRIVATE
GROUPS = filters.ChatType.GROUPS

# Commands each role sees in its menu and in /help, in that order: every feature's in this one table (assess,
# status: handlers/assess.py; appraise, explain: handlers/appraise.py; result, ranking, progress:
# handlers/reports.py), each described by "command.<name>" in the catalogs.
COMMON_COMMANDS = ["help", "lang", "kenh"]
ROLE_COMMANDS: dict[Role, tuple[str, ...]] = {
    Role.OFFICER: ("assess", "status", "explain", "result"),
    Role.UNIT_LEADER: ("assess", "status", "explain", "result", "ranking"),
    Role.APPRAISER: ("appraise",),
    Role.PROVINCE_LEADER: ("ranking", "progress"),
    Role.ADMIN: ("ranking", "progress"),
}


def commands_for(grants: tuple[Grant, ...] | list[Grant]) -> list[str]:
    names: list[str] = []
    for grant in grants:
        names += [c for c in ROLE_COMMANDS.get(grant.role, []) if c not in names]
    return names + COMMON_COMMANDS if names or grants else []


async def set_menu(turn: Turn) -> None:
    """The chat's command menu lists only what this person's roles may use, in their language."""
    names = commands_for(turn.identity.grants)
    commands = [BotCommand(name, t(f"command.{name}", turn.lang)) for name in names]
    scope = BotCommandScopeChat(turn.update.effective_chat.id)
    try:
        if commands:
            await turn.context.bot.set_my_commands(commands, scope=scope)
        else:
            await turn.context.bot.delete_my_commands(scope=scope)
    except TelegramError as exc:  # the menu is a convenience: never fail the conversation for it
        log.warning("command menu not set: %s", exc)


async def default_menu(application: Application) -> None:
    """Before anyone is known, the menu offers /start and /help (a post_init hook)."""
    for lang in LANGUAGES:
        commands = [BotCommand(name, t(f"command.{name}", lang)) for name in ("start", "help")]
        await application.bot.set_my_commands(commands, language_code=None if lang == "vi" else lang)


async def _roles_text(turn: Turn) -> str:
    units, blocks = await turn.run(people.scope_names, turn.identity.grants)
    return "\n".join("• " + grant_text(g, turn.lang, units, blocks) for g in turn.identity.grants)


async def start_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    turn = await Turn.start(update, context)
    user, deps = update.effective_user, turn.deps
    if context.args and ACCOUNT_CODE.match(context.args[0]):
        await _link(turn, context.args[0])
    elif context.args:
        try:
            _, _, added = await turn.run(people.accept_invite, context.args[0], telegram_id=user.id,
                                         chat_id=update.effective_chat.id, name=user.full_name,
                                         username=user.username, language=turn.lang, now=deps.now(),
                                         throttle=deps.invite_throttle)
        except DomainError as error:
            await turn.send(turn.t(f"onboarding.{error.code}", contact=deps.settings.admin_contact)
                            if error.code.startswith("invite.") else turn.error(error))
            return
        turn = await Turn.start(update, context)
        await set_menu(turn)
        await turn.send(turn.t("onboarding.welcome" if added else "onboarding.welcome_back", name=user.first_name,
                               roles=await _roles_text(turn)))
    elif not turn.has_role:
        await turn.no_role()
        return
    else:
        await set_menu(turn)
        await turn.send(turn.t("onboarding.welcome_back", name=user.first_name, roles=await _roles_text(turn)))
    if any(g.role in (Role.OFFICER, Role.UNIT_LEADER) for g in turn.identity.grants):
        await open_workspace(turn)


async def _link(turn: Turn, code: str) -> None:
    """An account code from the person's Zalo chat (/kenh there): this Telegram account becomes theirs."""
    user, chat, deps = turn.update.effective_user, turn.update.effective_chat, turn.deps
    try:
        person, added = await turn.run(channels.link_account, code, channel="telegram", account_id=str(user.id),
                                       chat_id=str(chat.id), name=user.full_name, key=deps.link_secret(),
                                       now=deps.now())
    except DomainError as error:
        await turn.send(turn.error(error))
        return
    turn = await Turn.start(turn.update, turn.context)
    await set_menu(turn)
    await turn.send(turn.t("channel.linked" if added else "channel.linked_already", name=person.name,
                           channel="Telegram"))
    await run(turn.update, turn.context, Command("kenh"))


@for_members
async def help_command(turn: Turn) -> None:
    lines = [turn.t("help.header")] + [f"/{name} — {turn.t(f'command.{name}')}"
                                       for name in commands_for(turn.identity.grants)]
    lines.append(turn.t("help.footer", contact=turn.deps.settings.admin_contact))
    await turn.send("\n".join(lines))


@for_members
async def lang_command(turn: Turn) -> None:
    choice = (turn.context.args[0].lower() if turn.context.args else "")
    if choice not in LANGUAGES:
        await turn.send(turn.t("lang.usage", current=turn.lang, languages=", ".join(LANGUAGES)))
        return
    await turn.run(people.set_language, caller=turn.caller, language=choice)
    turn = await Turn.start(turn.update, turn.context)  # again: the person's language has changed
    await set_menu(turn)
    await turn.send(turn.t("lang.changed"))


async def group_refusal(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    turn = await Turn.start(update, context)
    await turn.send(turn.t("onboarding.private_only"))


async def added_to_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    change = update.my_chat_member
    if change.chat.type == "private":
        return
    if change.new_chat_member.status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR) and \
            change.old_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        turn = await Turn.start(update, context)
        await turn.send(turn.t("onboarding.private_only"))


@for_members
async def unknown(turn: Turn) -> None:
    await turn.send(turn.t("onboarding.unknown_command"))


async def stray_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button no feature recognises (malformed, or from a feature since removed)."""
    turn = await Turn.start(update, context)
    await turn.answer(turn.t("callback.malformed"), alert=True)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("start", start_command, filters=PRIVATE))
    application.add_handler(CommandHandler("help", help_command, filters=PRIVATE))
    application.add_handler(CommandHandler("lang", lang_command, filters=PRIVATE))
    application.add_handler(MessageHandler(GROUPS & filters.COMMAND, group_refusal))
    application.add_handler(ChatMemberHandler(added_to_group, ChatMemberHandler.MY_CHAT_MEMBER))


def register_fallbacks(application: Application) -> None:
    """Registered after every feature module, so they only catch what nothing else handled."""
    application.add_handler(MessageHandler(PRIVATE & filters.COMMAND, unknown))
    application.add_handler(CallbackQueryHandler(stray_callback))

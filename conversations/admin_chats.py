"""The salon's admin chats: `/admin <code>` (and `/admin off`), `/notices off|on`, `/stats`, and
the weekly digest sent from the tick. English plain text, as every message to the salon is.

Only admin chats (ADMIN_CHAT_ID's and those added with a code from `altegio-bot admin-code`)
are answered here; anything else, a wrong or expired code included, goes on as if these
commands did not exist.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot import chain, salon_view, stats_chart
from bot.altegio import errors
from bot.context import BotApplication, Context
from bot.services import Services
from bot.storage import StorageUnavailable
from conversations.guards import private_only

log = logging.getLogger(__name__)

COMMANDS = ("admin", "notices", "stats")


def _help(services: Services, chat_id: int) -> str:
    notices = "on" if salon_view.notices_on(services, chat_id) else "off"
    return "\n".join(
        [
            "This chat is an admin chat of the booking bot.",
            "/stats — bookings through the bot in the last 30 days, and the booking funnel",
            f"/notices off|on — a notice of each booking, move and cancellation (now {notices})",
            "/admin off — this chat stops being an admin chat",
            "A digest of last week comes on Monday mornings while notices are on.",
        ]
    )


async def command(update: Update, context: Context) -> None:
    """/admin, /notices and /stats: answered in admin chats (and /admin with a good code
    anywhere); otherwise passed on, as any command the bot does not know."""
    message, chat = update.message, update.effective_chat
    if message is None or chat is None or not message.text:
        return
    services = context.services
    name, *args = message.text.split()
    name = name[1:].split("@")[0].lower()
    words = [arg.lower() for arg in args]
    admin = salon_view.is_admin(services, chat.id)
    if name == "admin" and len(args) == 1 and words != ["off"]:
        if salon_view.authorize(services, chat.id, args[0]):
            log.info("chat %s became an admin chat", chat.id)
            await message.reply_text(
                "✅ This chat is now an admin chat.\n\n" + _help(services, chat.id)
            )
            raise ApplicationHandlerStop
    elif admin and name == "admin" and words == ["off"]:
        if salon_view.leave(services, chat.id):
            log.info("chat %s is no longer an admin chat", chat.id)
            text = "This chat is no longer an admin chat. A new code from `altegio-bot "
            text += "admin-code` makes it one again."
        else:
            text = "This chat is the admin chat ADMIN_CHAT_ID names: it stays one while it does."
        await message.reply_text(text)
        raise ApplicationHandlerStop
    elif admin and name == "admin" and not args:
        await message.reply_text(_help(services, chat.id))
        raise ApplicationHandlerStop
    elif admin and name == "notices" and words in (["on"], ["off"]):
        salon_view.set_notices(services, chat.id, words == ["on"])
        await message.reply_text(f"Notices are {words[0]} in this chat.")
        raise ApplicationHandlerStop
    elif admin and name == "notices":
        await message.reply_text(_help(services, chat.id))
        raise ApplicationHandlerStop
    elif admin and name == "stats":
        await _stats(context, chat.id)
        raise ApplicationHandlerStop
    # Not an admin chat, or a code that opens nothing: as if the command did not exist.
    await private_only(update, context)


async def _salon_tz(services: Services) -> ZoneInfo | None:
    try:
        return (await services.altegio.company()).tz
    except errors.AltegioError:
        return None


async def _names(services: Services) -> dict[int, str]:
    """A chain's locations by id, in its order, for its counts per location; {} for one
    location, or when the chain cannot be read now (then each is named by its id)."""
    if not chain.is_chain(services):
        return {}
    try:
        return {company.id: company.title for company in await chain.locations(services)}
    except errors.AltegioError:
        return {}


async def _stats(context: Context, chat_id: int) -> None:
    services = context.services
    tz = await _salon_tz(services) or ZoneInfo("UTC")
    result = salon_view.stats(services, tz, names=await _names(services))
    png = await asyncio.to_thread(stats_chart.draw, result.days)
    await context.bot.send_photo(chat_id, png, caption=result.caption, filename="stats.png")


async def send_digests(application: BotApplication) -> int:
    """Last week's digest to each admin chat with notices on, once, on Monday from 09:00 in
    the salon's timezone; how many went out. What was sent is kept, so a restart sends none
    twice."""
    services = application.services
    # Monday somewhere on Earth, up to the Wednesday morning a late digest may still go out, is
    # Sunday to Wednesday in UTC: only then is the salon (and its timezone, from Altegio) asked.
    if services.clock().astimezone(UTC).weekday() not in (6, 0, 1, 2):
        return 0
    tz = await _salon_tz(services)
    if tz is None:
        return 0
    sent = 0
    names: dict[int, str] | None = None
    try:
        for chat_id, monday in salon_view.due_digests(services, tz):
            if names is None:
                names = await _names(services)
            text = salon_view.digest(services, monday, tz, names)
            try:
                await application.bot.send_message(chat_id, text)
            except Forbidden as exc:
                # Not tried again every tick of the day: the chat is not open to the bot.
                log.warning("weekly digest for admin chat %s refused: %s", chat_id, exc)
                salon_view.digest_sent(services, chat_id, monday)
                continue
            except TelegramError as exc:
                log.warning("weekly digest for admin chat %s not delivered: %s", chat_id, exc)
                continue
            salon_view.digest_sent(services, chat_id, monday)
            sent += 1
    except StorageUnavailable as exc:
        log.warning("weekly digest waits for the database: %s", exc)
    return sent

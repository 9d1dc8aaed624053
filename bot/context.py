"""The typed `CallbackContext` every handler receives: services, the clock, the language."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackContext, ExtBot

from bot import salon_view
from bot.altegio.models.company import Company
from bot.i18n import Translator
from bot.persistence import SqlitePersistence
from bot.services import Alerts, Services
from bot.storage import StorageUnavailable
from bot.user_state import UserData

log = logging.getLogger(__name__)

ChatData = dict[str, Any]
BotData = dict[str, Any]


class BotApplication(Application[ExtBot[Any], "Context", UserData, ChatData, BotData, Any]):
    """PTB's `Application` carrying the services, so the context can hand them out typed."""

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services
        self._storage_failing = False
        # Follows the webhook events waiting in the inbox (set by `build_application`).
        self.follow_salon_changes: Callable[[], Coroutine[Any, Any, int]] | None = None
        # Webhook updates kept in the database until handled (`bot/update_inbox.py`).
        self.kept_updates: set[int] = set()
        # With replicas (`bot/replica_state.py`): the users whose chats' turns this process
        # holds now (only their data is written), and those whose data could not be written
        # (kept over the stored copy at their next turn, and written then).
        self.replicated = False
        self.users_in_turn: set[int] = set()
        self.unwritten_users: set[int] = set()

    async def update_persistence(self) -> None:
        """Runs after every update (and on PTB's own schedule and at stop): the SQLite
        persistence writes what changed at once, in one transaction. A busy database leaves
        the changes pending for the next write; the salon hears of it once."""
        if not isinstance(self.persistence, SqlitePersistence):
            await super().update_persistence()
            return
        only = self.users_in_turn if self.replicated else None
        # With replicas: the users this write is for (those in a chat's turn here).
        writing = self._user_ids_to_be_updated_in_persistence & (only or set())
        try:
            self.persistence.write_pending(self, only)
        except StorageUnavailable as exc:
            log.warning("conversation state waits for the database: %s", exc)
            self.unwritten_users |= writing
            await self.storage_trouble(str(exc))
            return
        self.unwritten_users -= writing
        await self.storage_recovered()

    async def storage_trouble(self, cause: str) -> None:
        """Tell the salon (once a trouble) that the database cannot be written."""
        if self._storage_failing:
            return
        self._storage_failing = True
        log.error("the database cannot be written: %s", cause)
        if self.services.storage.sql.dialect == "postgres":
            text = (
                f"⚠️ The booking bot cannot reach its PostgreSQL database ({cause}). Clients "
                "are asked to try again in a minute, and what was booked is stored once it is "
                "back; please check that PostgreSQL runs and can be reached."
            )
        else:
            text = (
                f"⚠️ The booking bot cannot write its database ({cause}). Bookings go on and "
                "are stored once it is free again; please check what holds the file."
            )
        await self.tell_admin(text)

    async def storage_recovered(self) -> None:
        if self._storage_failing and not self.services.pending:
            self._storage_failing = False
            log.warning("the database can be written again")
            await self.tell_admin("✅ The booking bot can write its database again.")

    async def tell_admin(self, text: str, company: Company | None = None) -> bool:
        """A note to the salon's admin chat; whether it reached one. In a chain, the location
        it is about (`company`) is named."""
        admin = self.services.settings.admin_chat_id
        if admin is None:
            return False
        try:
            await self.bot.send_message(admin, text + salon_view.place(self.services, company))
        except TelegramError as exc:
            log.warning("could not tell the admin chat: %s", exc)
            return False
        return True

    async def salon_notice(self, text: str, company: Company | None = None) -> None:
        """A notice of what a client did through the bot to every admin chat with notices on,
        naming its location (`company`) in a chain; a chat that cannot be reached is passed
        over."""
        text += salon_view.place(self.services, company)
        for chat_id in salon_view.notice_chats(self.services):
            try:
                await self.bot.send_message(chat_id, text)
            except TelegramError as exc:
                log.warning("could not send a notice to admin chat %s: %s", chat_id, exc)


class Context(CallbackContext[ExtBot[Any], UserData, ChatData, BotData]):
    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.language_code: str | None = None
        self.chat: int | None = None  # the chat of the update, whose language is kept
        self._language: str | None = None
        self.toast: tuple[str, bool] | None = None
        # Set when a button opens something new (a booking, the list from a confirmation):
        # the message it sits on stays as it is, and the menu comes as a new message.
        self.fresh_menu = False
        self._services: Services | None = None  # at the chat's chosen location (a chain)

    def notify(self, text: str, *, alert: bool = False) -> None:
        """A short note for the client, shown as the answer to the button they tapped."""
        self.toast = (text, alert)

    @classmethod
    def from_update(
        cls, update: object, application: Application[Any, Context, Any, Any, Any, Any]
    ) -> Context:
        context = super().from_update(update, application)
        if isinstance(update, Update) and update.effective_user:
            context.language_code = update.effective_user.language_code
        if isinstance(update, Update) and update.effective_chat:
            context.chat = update.effective_chat.id
        return context

    @property
    def services(self) -> Services:
        """The services at the location the client chose (a chain's), else the bot's own."""
        if self._services is None:
            application = self.application
            if not isinstance(application, BotApplication):
                raise TypeError("the application was not built by bot.app")
            services = application.services
            if services.settings.altegio_group_id is not None and self.chat is not None:
                try:
                    chosen = services.storage.chosen_location(self.chat)
                except StorageUnavailable:
                    return services  # out of reach: the home location's, for this answer
                services = services.at(chosen or 0)
            self._services = services
        return self._services

    def choose_location(self, company_id: int | None) -> None:
        """The client has just chosen a location of the chain (None: forget the choice):
        kept, and used from this very answer on."""
        if self.chat is not None:
            self.services.storage.choose_location(self.chat, company_id)
        self._services = None

    @property
    def alerts(self) -> Alerts:
        """The salon's admin chat, for the workflows: the application carries it."""
        application = self.application
        if not isinstance(application, BotApplication):
            raise TypeError("the application was not built by bot.app")
        return application

    @property
    def language(self) -> str:
        """The language the client chose (`/language`), else their Telegram app's."""
        if self._language is None:
            catalogs = self.services.catalogs
            try:
                chosen = self.services.storage.language(self.chat) if self.chat else None
            except StorageUnavailable:
                chosen = None  # the database out of reach: the Telegram app's language
            if chosen in catalogs.languages:
                self._language = chosen
            else:
                self._language = catalogs.pick(self.language_code)
        return self._language

    def chose_language(self, code: str) -> None:
        """The client has just chosen `code`: speak it from this very answer on."""
        self._language = code

    @property
    def t(self) -> Translator:
        return self.services.catalogs.translator(self.language)

    def now(self) -> datetime:
        return self.services.clock()

"""The typed `CallbackContext` every handler receives: services, the clock, the language."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.altegio.client import AltegioClient
from bot.appointments import ReminderPolicy
from bot.booking import Holds
from bot.i18n import Catalogs, Translator
from bot.persistence import SqlitePersistence
from bot.settings import Settings
from bot.storage import Storage
from bot.updates import FloodGuard

UserData = dict[str, Any]
ChatData = dict[str, Any]
BotData = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Services:
    """What handlers may use: the one owner of each outside world, and the clock."""

    settings: Settings
    altegio: AltegioClient
    storage: Storage
    catalogs: Catalogs
    clock: Callable[[], datetime]
    flood: FloodGuard
    holds: Holds = field(default_factory=Holds)

    @property
    def reminder_policy(self) -> ReminderPolicy:
        return ReminderPolicy(self.settings.reminder_offsets, self.settings.quiet_hours)


class BotApplication(Application[ExtBot[Any], "Context", UserData, ChatData, BotData, Any]):
    """PTB's `Application` carrying the services, so the context can hand them out typed."""

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services

    async def update_persistence(self) -> None:
        """Runs after every update (and on PTB's own schedule and at stop): the SQLite
        persistence writes what changed at once, in one transaction."""
        if isinstance(self.persistence, SqlitePersistence):
            self.persistence.write_pending(self)
        else:
            await super().update_persistence()


class Context(CallbackContext[ExtBot[Any], UserData, ChatData, BotData]):
    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.language_code: str | None = None
        self.toast: tuple[str, bool] | None = None
        # Set when a button opens something new (a booking, the list from a confirmation):
        # the message it sits on stays as it is, and the menu comes as a new message.
        self.fresh_menu = False

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
        return context

    @property
    def services(self) -> Services:
        application = self.application
        if not isinstance(application, BotApplication):
            raise TypeError("the application was not built by bot.app")
        return application.services

    @property
    def language(self) -> str:
        catalogs = self.services.catalogs
        chosen = self.user_data.get("language") if self.user_data is not None else None
        if isinstance(chosen, str) and chosen in catalogs.languages:
            return chosen
        return catalogs.pick(self.language_code)

    @property
    def t(self) -> Translator:
        return self.services.catalogs.translator(self.language)

    def now(self) -> datetime:
        return self.services.clock()

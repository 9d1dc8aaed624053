"""A salon whose catalogue and team are written in Cyrillic (the sandbox's location 1004), asked
in each of the ten languages in Latin letters or Cyrillic, misspelt: the service and the team
member are found, the free times reached, and links open their steps there too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.link_sheet import link_sheet, qr_files
from bot.settings import Settings
from standins.altegio.riga_seed import SANDBOX_CYRILLIC_COMPANY_ID
from standins.telegram.bot_api import BotApiStub
from tests.conftest import Bot
from tests.test_booking_flow import buttons
from tests.test_one_message import TELEGRAM, TOKEN, at_the_day_step, callbacks, times

# "Manicure with Sofia tomorrow after 5", misspelt; the salon calls it "Маникюр классический"
# and her "София Иванова".
SENTENCES = {
    "en": "manicuer with Sofiya tomorrow after 5",
    "ru": "маникур у Софии завтра после 17",
    "uk": "манікур у Софії завтра після 17",
    "de": "Manikür bei Sofia morgen ab 17 Uhr",
    "es": "manicira con Sofía mañana después de las 17",
    "pt_BR": "manicuri com a Sofia amanhã depois das 17",
    "pl": "menikiur u Sofii jutro po 17",
    "lv": "manikirs pie Sofijas rīt pēc 17",
    "lt": "manikiuras pas Sofiją rytoj po 17",
    "et": "manikuur Sofiaga homme pärast 17",
}


@pytest.fixture
async def riga(make_bot: Any) -> Bot:
    made: Bot = await make_bot(company_id=SANDBOX_CYRILLIC_COMPANY_ID)
    return made


@pytest.mark.parametrize("language", list(SENTENCES))
async def test_one_message_against_a_cyrillic_catalogue(riga: Bot, language: str) -> None:
    user = riga.user(language_code=TELEGRAM.get(language, language))
    await user.send(SENTENCES[language])
    offered = times(user)
    assert offered and all(t >= "1700" for t in offered), user.screen()
    assert all(cb.arg.startswith("20261125") for cb in callbacks(user) if cb.action == "tim")
    assert "София Иванова" in user.last.text and "Маникюр классический" in user.last.text


async def test_booked_there_as_altegio_keeps_it(riga: Bot) -> None:
    user = riga.user()
    await user.send("men's haircut with Anna on Friday morning")
    assert "Анна Петрова" in user.last.text and "Мужская стрижка" in user.last.text
    offered = times(user)
    assert offered and all(t < "1200" for t in offered), user.screen()


async def test_links_open_their_steps_there(riga: Bot) -> None:
    user = riga.user(language_code="lv")
    await user.send("/start svc13004")
    assert "Педикюр" in user.last.text, user.screen()
    await user.send("/start stf2301")
    assert "Анна Петрова" in user.last.text
    assert buttons(user)[:2] == ["Женская стрижка", "Мужская стрижка"]
    await user.send("/start svc13005-stf2302")
    assert at_the_day_step(user) and "София Иванова" in user.last.text
    riga.sandbox.withdraw_service(13005)
    riga.clock.advance(seconds=301)  # once the catalogue read before is out of date
    await user.send("/start svc13005")
    assert "Ногти" in buttons(user), user.screen()


async def test_the_link_sheet_names_the_qr_codes_in_latin_letters(tmp_path: Path) -> None:
    from standins.altegio.sandbox import Sandbox
    from tests.conftest import FakeClock

    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "BOT_DB_PATH": str(tmp_path / "bot.sqlite3"),
        "ALTEGIO_COMPANY_ID": str(SANDBOX_CYRILLIC_COMPANY_ID),
    }
    settings = Settings.load(env=env, env_file=Path("/nonexistent"))
    sheet = await link_sheet(
        settings,
        telegram_request=BotApiStub(token=TOKEN),
        altegio_transport=Sandbox(FakeClock().now).transport(),
    )
    urls = {entry.title: entry.url for entry in sheet.entries}
    assert urls["Педикюр"] == "https://t.me/altegio_demo_bot?start=svc13004"
    assert urls["София Иванова"] == "https://t.me/altegio_demo_bot?start=stf2302"
    qr_files(sheet, tmp_path / "qr")
    assert (tmp_path / "qr" / "svc13004-pedikyur.png").exists()

"""One-message booking and deep links, driven as a client would: a sentence typed in the
client's own words and language reaches the free times it asks for, what could not be read is
asked for with the usual menus, and `/start <payload>` opens the step a link names."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import links
from bot.keyboards import Callback, decode
from bot.link_sheet import link_sheet, qr_files, render
from bot.links import Target, read_payload
from bot.settings import Settings
from standins.altegio.sandbox import Sandbox
from standins.telegram.bot_api import BotApiStub
from standins.telegram.users import StubUser
from tests.conftest import Bot, FakeClock, Recording
from tests.test_booking_flow import buttons, finish_contact, plain

# "Manicure with Sofia tomorrow after 5", misspelt, the name often in another script.
SENTENCES = {
    "en": "manicuer with София tomorrow after 5",
    "ru": "маникур у Софии завтра после 17",
    "uk": "манікур у Софії завтра після 17",
    "de": "Manikür bei София morgen ab 17 Uhr",
    "es": "manicira con Sofía mañana después de las 17",
    "pt_BR": "manicuri com a Софія amanhã depois das 17",
    "pl": "menikiur u Sofii jutro po 17",
    "lv": "manikirs pie Sofijas rīt pēc 17",
    "lt": "manikiuras pas Sofiją rytoj po 17",
    "et": "manikuur Sofiaga homme pärast 17",
}
TELEGRAM = {"pt_BR": "pt-br"}
TOKEN = "123456789:the-bot-s-own-token-000000000000"


def callbacks(user: StubUser) -> list[Callback]:
    markup = user.last.message.reply_markup or {}
    found = []
    for row in markup.get("inline_keyboard", []):
        for button in row:
            cb = decode(button.get("callback_data"))
            if cb is not None:
                found.append(cb)
    return found


def times(user: StubUser) -> list[str]:
    """The free times offered, as HHMM."""
    return [cb.arg[-4:] for cb in callbacks(user) if cb.action == "tim"]


@pytest.mark.parametrize("language", list(SENTENCES))
async def test_one_message_reaches_the_free_times_in_every_language(
    bot: Bot, language: str
) -> None:
    user = bot.user(language_code=TELEGRAM.get(language, language))
    await user.send(SENTENCES[language])
    offered = times(user)
    assert offered, user.screen()
    assert all(t >= "1700" for t in offered), offered
    # Sofia Becker on Wednesday 25 November: she works until 20:00, so 19:00 is her last start
    # for a 60-minute classic manicure (the one of the two manicures she does).
    assert all(cb.arg.startswith("20261125") for cb in callbacks(user) if cb.action == "tim")
    assert "Sofia Becker" in user.last.text and "Classic manicure" in user.last.text


async def test_booked_from_one_message_as_altegio_keeps_it(bot: Bot) -> None:
    user = bot.user()
    await user.send("manicure with Sofia tomorrow after 5")
    text = plain(user.last.text)
    assert "I understood: Classic manicure, Sofia Becker" in text and "after 5:00 PM" in text
    await user.tap(user.last.buttons[0][0])
    await finish_contact(user)
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text
    record = next(r for r in bot.sandbox.records(1001) if r["phone"] == "+4915123456789")
    assert record["service_ids"] == [10006] and record["staff_id"] == 2004
    assert record["start"].isoformat().startswith("2026-11-25T17:00")


async def test_a_name_in_another_script_with_a_part_of_the_day(bot: Bot) -> None:
    user = bot.user(language_code="ru")
    await user.send("Женская стрижка у Анны в пятницу утром")
    offered = times(user)
    assert offered and all(t < "1200" for t in offered), user.screen()
    assert "Anna Weber" in user.last.text and "Women's haircut" in user.last.text


async def test_what_could_be_either_is_offered_as_a_choice(bot: Bot) -> None:
    user = bot.user()
    await user.send("haircut tomorrow")
    assert "Which service did you mean?" in user.last.text
    assert buttons(user)[:2] == ["Women's haircut", "Men's haircut"]
    await user.tap("Men's haircut")
    # The day asked for stays: anyone's free times tomorrow, no menu for the team.
    offered = times(user)
    assert offered, user.screen()
    assert "any available team member" in user.last.text


def at_the_day_step(user: StubUser) -> bool:
    """The day step: the earliest free times first (`soon`), or the calendar (`day`)."""
    actions = [cb.action for cb in callbacks(user)]
    return "soon" in actions or "day" in actions


async def test_a_team_member_alone_offers_their_services(bot: Bot) -> None:
    user = bot.user()
    await user.send("Lukas")
    assert "What would you like to book with Lukas Braun?" in user.last.text
    assert buttons(user)[:2] == ["Relaxing massage", "Deep-tissue massage"]
    await user.tap("Relaxing massage")
    assert at_the_day_step(user), user.screen()


async def test_only_a_service_asks_for_the_rest_with_the_menus(bot: Bot) -> None:
    user = bot.user()
    await user.send("pedicure")
    assert "I understood: Pedicure." in user.last.text
    assert buttons(user)[0] == "Any available team member"


async def test_words_it_cannot_read_get_the_usual_answer(bot: Bot) -> None:
    user = bot.user()
    await user.send("what a lovely day")
    assert "Tap the button to start" in user.last.text
    await user.send("hello there")
    assert "Hello! I can book you an appointment" in user.last.text


async def test_typed_at_the_service_step_and_at_the_time_step(bot: Bot) -> None:
    user = bot.user()
    await user.send("/book")
    await user.send("gel manicure with Mia tomorrow")
    first = times(user)
    assert first and "Mia Hoffmann" in user.last.text, user.screen()
    await user.send("after 3")
    assert "I understood: after 3:00 PM." in plain(user.last.text)
    later = times(user)
    assert later and all(t >= "1500" for t in later) and len(later) < len(first)
    await user.send("nonsense words")
    assert "write what you would like" in user.bot_texts[-2]
    assert times(user) == later


async def test_typed_text_at_the_phone_step_is_still_the_phone(bot: Bot) -> None:
    user = bot.user()
    await user.send("manicure with Sofia tomorrow after 5")
    await user.tap(user.last.buttons[0][0])
    await user.send("+49 151 23456789")
    assert "Keep this name" in buttons(user) or "name" in user.last.text.lower()


# --- links ----------------------------------------------------------------------------------


def test_payloads_read_back_and_keep_to_telegram_rules() -> None:
    for target in (
        Target(category_id=501),
        Target(service_id=10006),
        Target(staff_id=2004),
        Target(service_id=10006, staff_id=2004),
    ):
        payload = target.payload()
        assert len(payload) <= 64 and payload.replace("-", "").isalnum()
        assert read_payload(payload) == target
    for bad in ("", "svc", "svcx1", "cat1-stf2", "svc1-stf", "svc1_stf2", "../etc", "x" * 80):
        assert read_payload(bad) is None


async def test_a_link_opens_a_category(bot: Bot) -> None:
    user = bot.user()
    await user.send("/start cat502")
    assert "Choose a service" in user.last.text and "Gel manicure" in buttons(user)


async def test_a_link_opens_a_service(bot: Bot) -> None:
    user = bot.user()
    await user.send("/start svc10008")
    assert "Pedicure" in user.last.text and buttons(user)[0] == "Any available team member"


async def test_a_link_opens_a_team_member(bot: Bot) -> None:
    user = bot.user()
    await user.send("/start stf2005")
    assert "What would you like to book with Lukas Braun?" in user.last.text
    assert buttons(user)[:2] == ["Relaxing massage", "Deep-tissue massage"]
    await user.tap("Deep-tissue massage")
    assert at_the_day_step(user), user.screen()


async def test_a_link_opens_a_service_with_a_team_member(bot: Bot) -> None:
    user = bot.user()
    await user.send("/start svc10006-stf2004")
    assert at_the_day_step(user), user.screen()
    # Her earliest free times come first; Choose a day opens the calendar.
    assert "Sofia Becker" in user.last.text
    await user.tap("Choose a day")
    await user.tap(next(b for b in buttons(user) if b.isdigit()))
    assert "Sofia Becker" in user.last.text and times(user)


async def test_a_link_to_a_withdrawn_service_falls_back_to_the_menu(bot: Bot) -> None:
    bot.sandbox.withdraw_service(10008)
    user = bot.user()
    await user.send("/start svc10008")
    assert "no longer offered online" in user.last.text
    assert "Choose a category" in user.last.text


async def test_a_link_to_a_team_member_who_does_not_do_the_service(bot: Bot) -> None:
    user = bot.user()
    await user.send("/start svc10012-stf2001")
    assert "does not take this service online" in user.last.text
    assert buttons(user)[0] == "Any available team member"


async def test_a_malformed_or_unknown_link_greets_as_usual(bot: Bot) -> None:
    user = bot.user()
    await user.send("/start hello-world")
    assert "that link does not open anything" in user.last.text
    assert buttons(user) == ["Book an appointment", "My appointments"]
    await user.send("/start cat999")
    assert "no longer offered online" in user.last.text


# --- altegio-bot links ----------------------------------------------------------------------


async def test_links_lists_every_bookable_service_and_team_member(tmp_path: Path) -> None:
    sandbox = Sandbox(FakeClock().now)
    sandbox.withdraw_service(10008)
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_DB_PATH": str(tmp_path / "bot.sqlite3")}
    settings = Settings.load(env=env, env_file=Path("/nonexistent"))
    sheet = await link_sheet(
        settings,
        telegram_request=BotApiStub(token=TOKEN),
        altegio_transport=sandbox.transport(),
    )
    assert sheet.username == "altegio_demo_bot" and not sheet.note
    urls = {entry.title: entry.url for entry in sheet.entries}
    assert urls["Classic manicure"] == "https://t.me/altegio_demo_bot?start=svc10006"
    assert urls["Sofia Becker"] == "https://t.me/altegio_demo_bot?start=stf2004"
    assert urls["Nails"] == "https://t.me/altegio_demo_bot?start=cat502"
    assert "Pedicure" not in urls  # withdrawn from online booking
    assert len([e for e in sheet.entries if e.kind == "team member"]) == 5
    written = qr_files(sheet, tmp_path / "qr")
    assert len(written) == len(sheet.entries)
    assert (tmp_path / "qr" / "svc10006-classic-manicure.png").read_bytes()[
        :8
    ] == b"\x89PNG\r\n\x1a\n"
    assert "https://t.me/altegio_demo_bot?start=stf2004" in render(sheet)


def test_links_without_a_token_use_a_placeholder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"BOT_DB_PATH": str(tmp_path / "bot.sqlite3")}
    settings = Settings.load(env=env, env_file=Path("/nonexistent"))
    assert links(settings, tmp_path / "qr") == 0
    out = capsys.readouterr().out
    assert "TELEGRAM_BOT_TOKEN is not set" in out
    assert "https://t.me/your_bot?start=svc10006" in out
    assert "22 QR codes written" in out and len(list((tmp_path / "qr").glob("*.png"))) == 22


async def test_a_link_to_a_team_member_who_left(bot: Bot) -> None:
    bot.sandbox.remove_staff(2005)
    user = bot.user()
    await user.send("/start stf2005")
    assert "no longer takes online bookings" in user.last.text
    assert "Choose a category" in user.last.text


async def test_another_team_member_typed_at_the_time_step_keeps_the_day(bot: Bot) -> None:
    user = bot.user()
    await user.send("women's haircut with Anna on Friday")
    assert "Anna Weber" in user.last.text and times(user)
    await user.send("with Jonas")
    assert "Jonas Richter" in user.last.text, user.screen()
    assert all(cb.arg.startswith("20261127") for cb in callbacks(user) if cb.action == "tim")
    assert times(user)


async def test_what_one_message_costs_in_altegio_requests(
    recorded: tuple[Bot, Recording],
) -> None:
    bot, wire = recorded
    await bot.user().send("manicure with Sofia tomorrow after 5")
    # Cold: the location, catalogue and team to read the words by, Sofia's own services to
    # tell which manicure, then the steps' usual team, days and free times.
    assert len(wire.seen) == 7
    seen = len(wire.seen)
    await bot.user(100002).send("gel manicure tomorrow after 5")
    # Warm (everything but days and free times cached), as tapping through would cost.
    assert [r.url.path.split("/")[3] for r in wire.seen[seen:]] == ["book_dates", "book_times"]


async def test_one_message_with_nobody_named_reaches_anyone_s_times(bot: Bot) -> None:
    user = bot.user()
    await user.send("pedicure tomorrow after 5")
    assert "any available team member" in user.last.text and times(user), user.screen()
    assert all(t >= "1700" for t in times(user))


async def test_after_start_and_at_the_team_step(bot: Bot) -> None:
    user = bot.user(language_code="de")
    await user.send("/start")
    await user.send("Maniküre bei Mia morgen ab 17 Uhr")
    # Mia does both manicures: which one is asked, the rest kept.
    assert "Welche Leistung meinten Sie?" in user.last.text
    assert buttons(user)[:2] == ["Classic manicure", "Gel manicure"]
    await user.tap("Gel manicure")
    assert "Mia Hoffmann" in user.last.text and times(user) == ["1700"], user.screen()
    other = bot.user(100002)
    await other.send("/book")
    await other.tap("Hair")
    await other.tap("Women's haircut")
    await other.send("Anna on Friday in the afternoon")
    offered = times(other)
    assert offered and all("1200" <= t < "1700" for t in offered), other.screen()
    assert "Anna Weber" in other.last.text


async def test_help_says_one_message_will_do(bot: Bot) -> None:
    user = bot.user()
    await user.send("/help")
    assert "just write what you would like" in user.last.text


async def test_a_link_opened_in_the_middle_of_a_booking(bot: Bot) -> None:
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    await user.send("/start svc10008")
    assert "Pedicure" in user.last.text and buttons(user)[0] == "Any available team member"
    await user.send("/start@altegio_demo_bot stf2005")
    assert "What would you like to book with Lukas Braun?" in user.last.text

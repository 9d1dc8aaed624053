"""The Bot API stand-in behaves like Telegram towards a real PTB Application."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, EndPointNotFound, Forbidden, InvalidToken
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from standins.telegram.api_rules import NOT_MODIFIED, QUERY_TOO_OLD
from standins.telegram.bot_api import BotApiStub
from standins.telegram.formatting import parse_formatted
from standins.telegram.users import StubUser

App = Application[Any, Any, Any, Any, Any, Any]
Context = ContextTypes.DEFAULT_TYPE


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def said(description: str) -> str:
    """A pattern for Telegram's `Bad Request: <description>` as PTB words it in the exception."""
    return f"^{re.escape(description.capitalize())}$"


def menu() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Book", callback_data="book"),
                InlineKeyboardButton("Prices", callback_data="prices"),
            ],
            [InlineKeyboardButton("Website", url="https://example.com")],
        ]
    )


async def start(update: Update, context: Context) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        "Hello, <b>Anna</b> &amp; co!", parse_mode=ParseMode.HTML, reply_markup=menu()
    )


async def echo(update: Update, context: Context) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(f"You said: {update.message.text}")


async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    if query.data == "book":
        await query.answer("Loading")
        await query.edit_message_text(
            "Pick a day",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("Back", callback_data="back")]]
            ),
        )
    elif query.data == "back":
        await query.answer()
        await query.edit_message_text("Hello, Anna & co!", reply_markup=menu())
    else:
        await query.answer("That button is no longer valid", show_alert=True)


async def ask_phone(update: Update, context: Context) -> None:
    assert update.message is not None
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton("Share my phone", request_contact=True)], ["Cancel"]],
        resize_keyboard=True,
    )
    await update.message.reply_text("Your phone, please", reply_markup=keyboard)


async def on_contact(update: Update, context: Context) -> None:
    message = update.message
    assert message is not None and message.contact is not None and message.from_user is not None
    whose = "yours" if message.contact.user_id == message.from_user.id else "someone else's"
    await message.reply_text(
        f"Got {message.contact.phone_number} ({whose})", reply_markup=ReplyKeyboardRemove()
    )


async def on_edit(update: Update, context: Context) -> None:
    assert update.edited_message is not None
    await update.edited_message.reply_text(f"Edited to: {update.edited_message.text}")


def build(api: BotApiStub, *, polling: bool = False) -> App:
    builder = ApplicationBuilder().token("123:ABC").request(api).get_updates_request(api)
    if not polling:
        builder = builder.updater(None)
    app = builder.build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("phone", ask_phone))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(filters.CONTACT, on_contact))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, on_edit))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(clock: Clock) -> BotApiStub:
    return BotApiStub(clock=clock)


@pytest.fixture
async def app(api: BotApiStub) -> AsyncIterator[App]:
    application = build(api)
    await application.initialize()
    await application.start()
    yield application
    await application.stop()
    await application.shutdown()


@pytest.fixture
def anna(api: BotApiStub, app: App) -> StubUser:
    return StubUser(api, app)


async def test_get_me_identifies_the_bot(app: App) -> None:
    assert app.bot.username == "altegio_demo_bot"
    assert app.bot.id == 7000000001


async def test_a_token_telegram_does_not_know_is_unauthorized() -> None:
    token = "123456789:the-bot-s-own-token-000000000000"
    api = BotApiStub(token=token)
    known = Bot(token, request=api, get_updates_request=api)
    assert (await known.get_me()).username == "altegio_demo_bot"
    other = Bot("123456789:a-token-nobody-issued-00000000000", request=api)
    with pytest.raises(InvalidToken, match=r"^Unauthorized$"):
        await other.get_me()
    status, body = await api.do_request(f"https://api.telegram.org/bot{token}x/getMe", "POST")
    assert (status, json.loads(body)) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )


async def test_transcript_keeps_both_sides_in_order(
    anna: StubUser, api: BotApiStub, clock: Clock
) -> None:
    await anna.send("/start")
    await anna.send("hi there")

    transcript = anna.transcript
    assert [(m.message_id, m.from_bot, m.text) for m in transcript] == [
        (1, False, "/start"),
        (2, True, "Hello, Anna & co!"),
        (3, False, "hi there"),
        (4, True, "You said: hi there"),
    ]
    assert transcript[0].entities == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert {m.date for m in transcript} == {int(clock.now.timestamp())}
    assert transcript[1].buttons == [["Book", "Prices"], ["Website"]]
    assert anna.last.text == "You said: hi there"
    assert api.transcript(anna.chat_id) == transcript


async def test_html_is_shown_stripped_and_entities_kept(anna: StubUser, app: App) -> None:
    await anna.send("/start")
    message = anna.last.message

    assert message.text == "Hello, Anna & co!"
    assert message.entities == [{"type": "bold", "offset": 7, "length": 4}]

    await app.bot.send_message(anna.chat_id, "<b>not bold</b> &amp;")
    assert anna.last.text == "<b>not bold</b> &amp;"


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("line<br>break", 'Unsupported start tag "br" at byte offset 4'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<a href=https://x.y>x</a>", "Unexpected end of name token at byte offset 8"),
    ],
)
async def test_malformed_html_is_refused(anna: StubUser, app: App, html: str, reason: str) -> None:
    await anna.send("hi")
    with pytest.raises(BadRequest) as refused:
        await app.bot.send_message(anna.chat_id, html, parse_mode=ParseMode.HTML)
    assert re.match(said(f"can't parse entities: {reason}"), refused.value.message)


def test_html_formatting_matches_telegram() -> None:
    text, entities = parse_formatted(
        '<a href="https://t.me/x?a=1&amp;b=2">link</a> <pre><code class="language-py">x</code>'
        "</pre> &lt;&#33;&#x41;&nbsp; <tg-spoiler>s</tg-spoiler> <blockquote expandable>q"
        "</blockquote>",
        "HTML",
    )
    assert text == "link x <!A&nbsp; s q"
    assert entities == [
        {"type": "text_link", "offset": 0, "length": 4, "url": "https://t.me/x?a=1&b=2"},
        {"type": "pre", "offset": 5, "length": 1, "language": "py"},
        {"type": "spoiler", "offset": 17, "length": 1},
        {"type": "expandable_blockquote", "offset": 19, "length": 1},
    ]
    assert parse_formatted("  <i>😀 x</i>\n", "HTML") == (
        "😀 x",
        [{"type": "italic", "offset": 0, "length": 4}],
    )


def test_markdown_v2_demands_escapes() -> None:
    assert parse_formatted(r"*Total:* 10\.50 \(€\)", "MarkdownV2") == (
        "Total: 10.50 (€)",
        [{"type": "bold", "offset": 0, "length": 6}],
    )
    with pytest.raises(ValueError, match=r"Character '\.' is reserved"):
        parse_formatted("Total: 10.50", "MarkdownV2")
    with pytest.raises(ValueError, match="Can't find end of Bold entity at byte offset 0"):
        parse_formatted("*open", "MarkdownV2")


async def test_tap_edits_the_menu_in_place_and_answers(anna: StubUser, api: BotApiStub) -> None:
    await anna.send("/start")
    menu_id = anna.last.message_id

    await anna.tap("Book")

    assert anna.last.message_id == menu_id
    assert anna.last.text == "Pick a day"
    assert anna.last.buttons == [["Back"]]
    assert anna.last.message.edited
    assert len(anna.bot_messages) == 1
    assert anna.answers == ["Loading"]
    assert api.unanswered_queries == []

    await anna.tap("Back")
    assert anna.last.buttons == [["Book", "Prices"], ["Website"]]
    assert anna.answers == ["Loading"]  # a silent answer shows nothing
    assert len(anna.callback_answers) == 2


async def test_screen_numbers_buttons_across_rows(anna: StubUser) -> None:
    await anna.send("/start")
    assert anna.screen() == (
        "Hello, Anna & co!\n[1] Book  [2] Prices\n[3] Website <https://example.com>"
    )
    assert anna.last.label(2) == "Prices"

    await anna.tap_number(1)
    assert anna.last.text == "Pick a day"


async def test_tapping_a_missing_button_lists_what_is_visible(anna: StubUser) -> None:
    await anna.send("/start")
    with pytest.raises(AssertionError, match=r"no button 'Cancel'.*\['Book', 'Prices'\]"):
        await anna.tap("Cancel")


async def test_url_button_opens_the_link_without_an_update(anna: StubUser) -> None:
    await anna.send("/start")
    await anna.tap("Website")
    assert anna.opened_urls == ["https://example.com"]
    assert anna.answers == []


async def test_callback_data_over_64_bytes_is_refused(anna: StubUser, app: App) -> None:
    await anna.send("hi")
    fits = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="é" * 32)]])
    await app.bot.send_message(anna.chat_id, "fits", reply_markup=fits)

    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("no", callback_data="é" * 32 + "x")]])
    with pytest.raises(BadRequest, match=said("BUTTON_DATA_INVALID")):
        await app.bot.send_message(anna.chat_id, "too long", reply_markup=too_long)

    bare = InlineKeyboardMarkup([[InlineKeyboardButton("bare", callback_data="")]])
    with pytest.raises(
        BadRequest,
        match=said(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        ),
    ):
        await app.bot.send_message(anna.chat_id, "bare", reply_markup=bare)
    assert anna.last.text == "fits"


async def test_identical_edit_is_not_modified(anna: StubUser, app: App) -> None:
    await anna.send("/start")
    message_id = anna.last.message_id
    with pytest.raises(BadRequest, match=said(NOT_MODIFIED)):
        await app.bot.edit_message_text(
            "Hello, <b>Anna</b> &amp; co!",
            chat_id=anna.chat_id,
            message_id=message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=menu(),
        )
    with pytest.raises(BadRequest, match=said(NOT_MODIFIED)):
        await app.bot.edit_message_reply_markup(anna.chat_id, message_id, reply_markup=menu())

    # The same text without the markup drops the keyboard, which is a change.
    await app.bot.edit_message_text(
        "Hello, <b>Anna</b> &amp; co!",
        chat_id=anna.chat_id,
        message_id=message_id,
        parse_mode=ParseMode.HTML,
    )
    assert anna.last.buttons == []


async def test_edits_need_the_bots_own_existing_message(anna: StubUser, app: App) -> None:
    await anna.send("hi")
    own = anna.transcript[0].message_id
    for message_id in (own, 99):
        with pytest.raises(BadRequest, match=said("message to edit not found")):
            await app.bot.edit_message_text("x", chat_id=anna.chat_id, message_id=message_id)


async def test_empty_and_too_long_texts_are_refused(anna: StubUser, app: App) -> None:
    await anna.send("hi")
    with pytest.raises(BadRequest, match=said("message text is empty")):
        await app.bot.send_message(anna.chat_id, " \n ")
    with pytest.raises(BadRequest, match=said("message is too long")):
        await app.bot.send_message(anna.chat_id, "x" * 4097)
    # The limit counts what is left after parsing the markup.
    await app.bot.send_message(anna.chat_id, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    assert len(anna.last.text) == 4096


async def test_callback_queries_are_answered_once(
    anna: StubUser, api: BotApiStub, app: App
) -> None:
    await anna.send("/start")
    await anna.tap_data("stale-button")
    assert anna.callback_answers[-1].show_alert
    assert anna.answers == ["That button is no longer valid"]

    query_id = anna.callback_answers[-1].query_id
    with pytest.raises(BadRequest, match=said(QUERY_TOO_OLD)):
        await app.bot.answer_callback_query(query_id)
    with pytest.raises(BadRequest, match=said(QUERY_TOO_OLD)):
        await app.bot.answer_callback_query("12345")


async def test_contact_via_reply_keyboard(anna: StubUser) -> None:
    await anna.send("/phone")
    assert anna.last.reply_keyboard == [["Share my phone"], ["Cancel"]]
    assert "( Share my phone )" in anna.screen()

    await anna.tap("Share my phone")

    contact = anna.transcript[-2].contact
    assert contact == {"phone_number": "+12025550143", "first_name": "Anna", "user_id": 100001}
    assert anna.last.text == "Got +12025550143 (yours)"
    assert anna.last.reply_keyboard is None


async def test_someone_elses_contact(anna: StubUser) -> None:
    await anna.share_contact("+12025550100", user_id=555, first_name="Boris")
    assert anna.transcript[0].contact == {
        "phone_number": "+12025550100",
        "first_name": "Boris",
        "user_id": 555,
    }
    assert anna.last.text == "Got +12025550100 (someone else's)"


async def test_reply_keyboard_button_sends_its_text(anna: StubUser) -> None:
    await anna.send("/phone")
    await anna.tap("Cancel")
    assert anna.last.text == "You said: Cancel"
    assert anna.last.reply_keyboard == [["Share my phone"], ["Cancel"]]


async def test_edited_message_reaches_the_bot(anna: StubUser) -> None:
    await anna.send("hello")
    await anna.edit_last("hello again")
    assert anna.transcript[0].text == "hello again"
    assert anna.transcript[0].edited
    assert anna.last.text == "Edited to: hello again"


async def test_other_messages_reach_the_bot(anna: StubUser, app: App) -> None:
    seen: list[str] = []

    async def note(update: Update, context: Context) -> None:
        assert update.message is not None
        message = update.message
        kind = "sticker" if message.sticker else "photo" if message.photo else "location"
        seen.append(kind)

    app.add_handler(
        MessageHandler(filters.Sticker.ALL | filters.PHOTO | filters.LOCATION, note), group=1
    )
    await anna.send_sticker()
    await anna.send_photo()
    await anna.send_location(52.52, 13.405)
    assert seen == ["sticker", "photo", "location"]
    assert anna.transcript[2].location == {"latitude": 52.52, "longitude": 13.405}


async def test_commands_per_scope_and_language(api: BotApiStub, app: App) -> None:
    await app.bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    await app.bot.set_my_commands([BotCommand("start", "Начать")], language_code="ru")
    await app.bot.set_my_commands(
        [BotCommand("book", "Book")], scope=BotCommandScopeAllPrivateChats(), language_code="en"
    )

    assert api.commands() == [("start", "Start"), ("help", "Help")]
    assert api.commands(language_code="ru") == [("start", "Начать")]
    assert [c.command for c in await app.bot.get_my_commands(language_code="ru")] == ["start"]
    assert await app.bot.get_my_commands(language_code="de") == ()
    assert api.visible_commands(100001, "en") == [("book", "Book")]
    assert api.visible_commands(100001, "ru") == [("start", "Начать")]
    assert api.visible_commands(100001, "de") == [("start", "Start"), ("help", "Help")]

    await app.bot.delete_my_commands(language_code="ru")
    assert api.commands(language_code="ru") == []
    with pytest.raises(BadRequest, match=said("BOT_COMMAND_INVALID")):
        await app.bot.set_my_commands([BotCommand("Start", "Start")])

    await app.bot.set_my_commands([BotCommand("admin", "Admin")], scope=BotCommandScopeChat(100001))
    assert api.visible_commands(100001, "ru") == [("admin", "Admin")]


async def test_bot_cannot_write_first_or_to_a_blocker(anna: StubUser, app: App) -> None:
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await app.bot.send_message(anna.chat_id, "hello?")
    with pytest.raises(BadRequest, match=said("chat not found")):
        await app.bot.send_message(424242, "hello?")
    await anna.send("hi")
    anna.block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await app.bot.send_message(anna.chat_id, "hello?")


async def test_delete_within_48_hours(anna: StubUser, app: App, clock: Clock) -> None:
    await anna.send("/start")
    await anna.send("hi")
    await app.bot.delete_message(anna.chat_id, anna.last.message_id)
    assert anna.last.text == "Hello, Anna & co!"
    assert anna.transcript[-1].deleted
    with pytest.raises(BadRequest, match=said("message to delete not found")):
        await app.bot.delete_message(anna.chat_id, 4)

    clock.now += timedelta(hours=48)
    with pytest.raises(BadRequest, match=said("message can't be deleted for everyone")):
        await app.bot.delete_message(anna.chat_id, 2)


async def test_changes_since_a_mark(anna: StubUser, app: App) -> None:
    await anna.send("/start")
    mark = anna.mark()
    await anna.tap("Book")
    await app.bot.send_chat_action(anna.chat_id, "typing")
    await app.bot.send_message(anna.chat_id, "Done")

    changes = anna.changes_since(mark)
    assert [c.kind for c in changes] == ["answered", "edited", "action", "sent"]
    assert changes[0].answer is not None and changes[0].answer.text == "Loading"
    assert changes[3].message is not None and changes[3].message.text == "Done"
    assert anna.chat_actions == ["typing"]
    with pytest.raises(BadRequest, match=said("wrong parameter action in request")):
        await app.bot.send_chat_action(anna.chat_id, "dancing")


async def test_documents_keep_name_caption_and_bytes(anna: StubUser, app: App) -> None:
    await anna.send("hi")
    sent = await app.bot.send_document(
        anna.chat_id,
        InputFile(b"BEGIN:VCALENDAR", filename="visit.ics"),
        caption="<i>Your visit</i>",
        parse_mode=ParseMode.HTML,
    )
    assert sent.document is not None and sent.document.file_name == "visit.ics"
    [document] = anna.documents
    assert (document.file_name, document.content) == ("visit.ics", b"BEGIN:VCALENDAR")
    assert anna.last.text == "Your visit"
    assert anna.screen() == "📎 visit.ics\nYour visit"

    await app.bot.send_document(anna.chat_id, sent.document.file_id)
    assert anna.documents[-1].content == b"BEGIN:VCALENDAR"


async def test_photos_are_uploaded_as_files_and_answered_with_sizes(
    anna: StubUser, app: App
) -> None:
    await anna.send("hi")
    buffer = io.BytesIO()
    Image.new("RGB", (1600, 800), "white").save(buffer, format="PNG")
    png = buffer.getvalue()
    sent = await app.bot.send_photo(anna.chat_id, png, caption="Chart", filename="chart.png")
    assert [(size.width, size.height) for size in sent.photo] == [
        (90, 45),
        (320, 160),
        (800, 400),
        (1280, 640),
    ]
    [message] = anna.photos
    assert message.photo is not None and message.photo.content == png
    assert anna.screen() == "[photo]\nChart"
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await app.bot.send_photo(anna.chat_id, b"not an image", filename="chart.png")
    small = io.BytesIO()
    Image.new("RGB", (60, 40)).save(small, format="JPEG")
    sent = await app.bot.send_photo(anna.chat_id, small.getvalue())
    assert [(size.width, size.height, size.file_size) for size in sent.photo] == [
        (60, 40, len(small.getvalue()))
    ]


async def test_location_and_venue(anna: StubUser, app: App) -> None:
    await anna.send("hi")
    await app.bot.send_location(anna.chat_id, 52.52, 13.405)
    await app.bot.send_venue(anna.chat_id, 52.52, 13.405, "Salon", "Main St 1")
    assert anna.bot_texts[-2:] == ["📍 52.52, 13.405", "📍 Salon, Main St 1"]


async def test_unknown_method_is_not_found(app: App) -> None:
    with pytest.raises(EndPointNotFound):
        await app.bot.do_api_request("sendTelepathy")


async def test_polling_reads_queued_updates(api: BotApiStub, clock: Clock) -> None:
    app = build(api, polling=True)
    anna = StubUser(api, app)
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0)
    await app.start()
    try:
        api.enqueue(anna.message_update("over the wire"))
        for _ in range(1000):
            if len(anna.bot_messages) == 1:
                break
            await asyncio.sleep(0)
        assert anna.last.text == "You said: over the wire"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    # Stopping confirmed the update, so it is not handed out again.
    assert api.pending_updates == 0


async def test_errors_have_telegrams_shape(api: BotApiStub) -> None:
    url = "https://api.telegram.org/bot123:ABC/"
    status, body = await api.do_request(url + "sendMessage", "POST")
    assert (status, json.loads(body)) == (
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"},
    )
    status, body = await api.do_request(url + "sendTelepathy", "POST")
    assert (status, json.loads(body)) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )

"""The waiting list, driven as clients (and the salon) would, with an injected clock: a wish on a
full day, the salon cancelling and freeing a time, the first in line offered it and the second
after the first lets it pass (No thanks, or the minutes running out), a wish expiring, removed,
and forgotten; the watcher's reads counted and kept within their share of the rate limit."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from bot.altegio import errors
from bot.altegio.limiter import BACKGROUND, NORMAL, RateLimiter
from bot.waitlist_rules import BURST, READS_PER_MINUTE, parse_range
from conversations import salon_news, waiting_list
from standins.altegio.sandbox import SANDBOX_PARTNER_TOKEN, Sandbox
from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot, FakeClock, Recording
from tests.test_appointments import buttons, plain
from tests.test_booking_flow import finish_contact
from tests.test_salon_changes import hooked

ANNA, HAIRCUT = 2001, 10001
FRIDAY = date(2026, 11, 27)
OTHER_PHONE = "+491709999999"
WISH = "🔔 Tell me when something frees up"
FREED = "A time has freed up"

# Each test on a SQLite file and on PostgreSQL.
BOTH_ENGINES = True


def free_times(sandbox: Sandbox, day: date, staff_id: int = ANNA) -> list[datetime]:
    """What Altegio itself says is free for a women's haircut with the team member that day."""
    with httpx.Client(
        transport=sandbox.transport(),
        base_url="https://api.alteg.io/api",
        headers={"Authorization": f"Bearer {SANDBOX_PARTNER_TOKEN}"},
    ) as api:
        data = api.get(
            f"/v1/book_times/1001/{staff_id}/{day.isoformat()}",
            params={"service_ids[]": HAIRCUT},
        ).json()["data"]
    return [datetime.fromisoformat(s["datetime"]) for s in data]


def fill(sandbox: Sandbox, day: date = FRIDAY) -> list[int]:
    """The salon books the whole day by phone; returns the records it made."""
    made = []
    while times := free_times(sandbox, day):
        made.append(sandbox.salon_book(1001, OTHER_PHONE, HAIRCUT, ANNA, times[0]))
    return made


async def wait_for_friday(user: StubUser, period: str = "Only Fri, Nov 27") -> None:
    """Women's haircut with Anna on Friday, which is full: the client asks to be told."""
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap(next(b for b in buttons(user) if b.startswith("Anna Weber")))
    await user.send("Friday")
    assert "There are no free times on Fri, Nov 27" in user.last.text, user.screen()
    await user.tap(WISH)
    assert "when a time frees up for Women's haircut with Anna Weber" in user.last.text
    await user.tap(period)
    assert "you are on the waiting list" in user.last.text, user.screen()


async def tick(bot: Bot) -> int:
    assert bot.app is not None
    return await waiting_list.tick(bot.app)


def offers(user: StubUser) -> list[str]:
    return [text for text in user.bot_texts if FREED in text]


async def two_waiting(bot: Bot) -> tuple[StubUser, StubUser, list[int]]:
    booked = fill(bot.sandbox)
    first, second = bot.user(100001), bot.user(100002, first_name="Ben")
    await wait_for_friday(first)
    await wait_for_friday(second)
    await tick(bot)  # the first read: nothing free, as both saw
    return first, second, booked


async def test_a_cancellation_is_offered_to_the_first_in_line_then_to_the_second(
    bot: Bot, clock: FakeClock
) -> None:
    first, second, booked = await two_waiting(bot)
    assert offers(first) == [] and offers(second) == []
    bot.sandbox.salon_cancel(booked[1])
    clock.advance(minutes=30)
    await tick(bot)
    assert len(offers(first)) == 1 and offers(second) == []
    assert "Women's haircut" in offers(first)[0] and "10 minutes" in offers(first)[0]
    assert plain(first.last.text).count("Friday, November 27") == 1
    # Held from the bot's other clients meanwhile: nobody else is shown it.
    other = bot.user(100003, first_name="Cleo")
    await other.send("/book")
    await other.tap("Hair")
    await other.tap("Women's haircut")
    await other.tap(next(b for b in buttons(other) if b.startswith("Anna Weber")))
    await other.send("Friday")
    assert "Every free time on Fri, Nov 27 is being booked by other clients" in other.last.text
    await first.tap("No thanks")
    assert "goes to the next in line" in first.last.text
    assert len(offers(second)) == 1
    await second.tap("Book it")
    await finish_contact(second, "+49 151 55555555")
    assert "Please check your booking" in second.last.text, second.screen()
    await second.tap("✅ Confirm")
    assert "You are booked" in second.last.text
    # Booked: the time is nobody else's, and the wish is done.
    clock.advance(minutes=30)
    await tick(bot)
    assert offers(first) == []  # the offer let pass reads "the next in line" now
    await second.send("/waitlist")
    assert "waiting list is empty" in second.last.text


async def test_the_minutes_running_out_pass_it_on(bot: Bot, clock: FakeClock) -> None:
    first, second, booked = await two_waiting(bot)
    bot.sandbox.salon_cancel(booked[0])
    clock.advance(minutes=30)
    await tick(bot)
    assert len(offers(first)) == 1
    clock.advance(minutes=9)
    await tick(bot)
    assert offers(second) == []
    clock.advance(minutes=2)
    await tick(bot)
    assert len(offers(second)) == 1
    await first.tap("Book it")
    assert "no longer kept for you" in first.last.text


async def test_book_it_with_the_contact_remembered_is_one_tap_and_confirm(
    bot: Bot, clock: FakeClock
) -> None:
    booked = fill(bot.sandbox)
    user = bot.user()
    # A booking earlier leaves the contact remembered.
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap(next(b for b in buttons(user) if b.startswith("Anna Weber")))
    await user.send("Saturday")
    await user.tap_number(1)
    await finish_contact(user)
    await user.tap("✅ Confirm")
    await wait_for_friday(user)
    await tick(bot)
    bot.sandbox.salon_cancel(booked[2])
    clock.advance(minutes=30)
    await tick(bot)
    await user.tap("Book it")
    assert "Please check your booking" in user.last.text, user.screen()
    await user.tap("✅ Confirm")
    assert "You are booked" in user.last.text


async def test_taken_meanwhile_is_said_as_today(bot: Bot, clock: FakeClock) -> None:
    booked = fill(bot.sandbox)
    user = bot.user()
    await wait_for_friday(user)
    await tick(bot)
    bot.sandbox.salon_cancel(booked[0])
    clock.advance(minutes=30)
    await tick(bot)
    await user.tap("Book it")
    await finish_contact(user)
    start = free_times(bot.sandbox, FRIDAY)[0]
    bot.sandbox.salon_book(1001, "+491708888888", HAIRCUT, ANNA, start)
    await user.tap("✅ Confirm")
    assert "just been taken" in user.last.text


async def test_a_salon_webhook_has_the_day_read_at_once(
    make_bot: Callable[..., Any], clock: FakeClock
) -> None:
    wire = Recording()
    bot = await hooked(make_bot, transport=wire)
    booked = fill(bot.sandbox)
    user = bot.user()
    await wait_for_friday(user)
    await tick(bot)
    clock.advance(minutes=1)  # the day is not due for half an hour
    await tick(bot)
    reads = len(wire.seen)
    await tick(bot)
    assert len(wire.seen) == reads  # nothing due, nothing read
    bot.sandbox.salon_cancel(booked[0])
    assert bot.app is not None
    await salon_news.process(bot.app)
    clock.advance(seconds=10)
    await tick(bot)
    assert len(offers(user)) == 1


async def test_a_wish_ends_with_its_last_day(bot: Bot, clock: FakeClock) -> None:
    fill(bot.sandbox)
    user = bot.user()
    await wait_for_friday(user)
    await user.send("/waitlist")
    assert "1. Women's haircut with Anna Weber, Fri, Nov 27" in user.last.text
    clock.current = datetime(2026, 11, 27, 23, 59, tzinfo=BERLIN)
    await tick(bot)
    await user.send("/waitlist")
    assert "Anna Weber" in user.last.text
    clock.current = datetime(2026, 11, 28, 0, 0, tzinfo=BERLIN)
    await tick(bot)
    await user.send("/waitlist")
    assert "waiting list is empty" in user.last.text


async def test_removing_a_wish_and_forget(bot: Bot) -> None:
    fill(bot.sandbox)
    user = bot.user()
    await wait_for_friday(user)
    await wait_for_friday(user, "The next two weeks (until Mon, Dec 7)")
    await user.tap("My waiting list")
    assert "1. Women's haircut with Anna Weber, Tue, Nov 24 – Mon, Dec 7" in user.last.text
    await user.tap("✖ Remove 2")
    assert "Fri, Nov 27" not in user.last.text and "Dec 7" in user.last.text
    await user.send("/appointments")
    await user.tap("My waiting list")  # reachable from My appointments while there are wishes
    await user.send("/forget")
    await user.tap("Yes, delete my data")
    assert bot.services is not None
    assert bot.services.storage.wishes_of(user.user_id) == []


async def test_anyone_and_a_typed_range(bot: Bot) -> None:
    fill(bot.sandbox)
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap(next(b for b in buttons(user) if b.startswith("Anna Weber")))
    await user.send("Friday")
    await user.tap(WISH)
    await user.tap("Anyone will do")
    assert "any available team member" in user.last.text
    await user.send("whenever")
    assert "could not understand those days" in user.last.text
    await user.send("27.11–29.11")
    assert "Fri, Nov 27 – Sun, Nov 29" in user.last.text


def test_typed_ranges() -> None:
    today = date(2026, 11, 24)
    assert parse_range("27.11–4.12", ["en"], today) == (FRIDAY, date(2026, 12, 4))
    assert parse_range("27.11-4.12", ["en"], today) == (FRIDAY, date(2026, 12, 4))
    assert parse_range("Friday to Sunday", ["en"], today) == (FRIDAY, date(2026, 11, 29))
    assert parse_range("с пятницы по воскресенье", ["ru"], today) in (
        None,
        (FRIDAY, date(2026, 11, 29)),
    )
    assert parse_range("Friday", ["en"], today) == (FRIDAY, FRIDAY)
    assert parse_range("4.12–27.11", ["en"], today) is None


async def test_the_watchers_reads_are_counted_and_bounded(
    recorded: tuple[Bot, Recording], clock: FakeClock
) -> None:
    bot, wire = recorded
    assert bot.services is not None
    for day in range(30):  # thirty wishes of two weeks: ninety days of three services
        first = date(2026, 11, 24) + timedelta(days=day)
        await waiting_list_add(bot, 200000 + day, first, first + timedelta(days=13))
    before = len(wire.seen)
    for _ in range(6 * 5):  # five minutes of ticks
        clock.advance(seconds=10)
        await tick(bot)
    reads = sum(
        "/book_times/" in r.url.path or "/book_dates/" in r.url.path for r in wire.seen[before:]
    )
    assert reads == bot.services.waitlist.reads
    assert READS_PER_MINUTE * 5 - BURST <= reads <= READS_PER_MINUTE * 5 + BURST


async def waiting_list_add(bot: Bot, user_id: int, first: date, last: date) -> None:
    from bot.workflows import waitlist

    assert bot.services is not None
    await waitlist.add(
        bot.services,
        user_id=user_id,
        chat_id=user_id,
        language="en",
        service_ids=[HAIRCUT + (first.day % 3)],
        staff_id=0,
        first=first,
        last=last,
    )


async def test_background_reads_never_queue_nor_take_the_last_place(clock: FakeClock) -> None:
    limiter = RateLimiter(((5, 1.0), (200, 60.0)), monotonic=clock.monotonic, sleep=clock.sleep)
    for _ in range(3):
        async with limiter.slot(NORMAL):
            pass
    async with limiter.slot(BACKGROUND):
        pass  # the fourth in the second: one place is still left
    assert not limiter.spare()
    try:
        async with limiter.slot(BACKGROUND):
            raise AssertionError("a background read took the second's last place")
    except Exception as exc:  # the limiter's own refusal
        assert type(exc).__name__ == "NoSpareRoom"
    async with limiter.slot(NORMAL):
        pass  # a client's request still finds its place at once
    assert clock.slept == []
    assert issubclass(errors.NoSpareRoom, errors.AltegioError)


async def test_a_time_taken_up_but_not_booked_goes_on_after_its_minutes(
    bot: Bot, clock: FakeClock
) -> None:
    first, second, booked = await two_waiting(bot)
    bot.sandbox.salon_cancel(booked[0])
    clock.advance(minutes=30)
    await tick(bot)
    await first.tap("Book it")
    await first.send("/cancel")
    assert any("Nothing was booked" in text for text in first.bot_texts[-2:])
    clock.advance(minutes=12)
    await tick(bot)
    assert offers(second) == []  # still held for the first while they might come back to it
    clock.advance(minutes=4)
    await tick(bot)
    assert len(offers(second)) == 1


async def test_anyone_where_altegio_does_not_merge_everyones_times(
    bot: Bot, clock: FakeClock
) -> None:
    """§10: whether `book_times` for staff 0 merges the team's times is not documented; where
    it answers nothing, each team member's times are read."""
    bot.sandbox.fault(
        "GET",
        "book_times",
        status=200,
        body={"success": True, "data": []},
        times=None,
        path_contains="/1001/0/",
    )
    booked = fill(bot.sandbox)
    jonas = 2002
    while times := free_times(bot.sandbox, FRIDAY, jonas):
        bot.sandbox.salon_book(1001, OTHER_PHONE, HAIRCUT, jonas, times[0])
    user = bot.user()
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap("Any available team member")
    await user.tap("Choose a day")
    await user.send("Friday")
    assert "There are no free times on Fri, Nov 27" in user.last.text, user.screen()
    await user.tap(WISH)
    await user.tap("Only Fri, Nov 27")
    await tick(bot)
    bot.sandbox.salon_cancel(booked[0])
    clock.advance(minutes=30)
    for _ in range(3):  # each team member's times, as the spare room allows
        await tick(bot)
        clock.advance(seconds=10)
    assert len(offers(user)) == 1
    assert "any available team member" in offers(user)[0]


async def test_the_watcher_leaves_the_room_to_clients(
    recorded: tuple[Bot, Recording], clock: FakeClock
) -> None:
    """With clients' requests under way in the second, the watcher sends nothing and tries
    again at the next tick."""
    bot, wire = recorded
    assert bot.services is not None
    await waiting_list_add(bot, 200001, FRIDAY, FRIDAY)
    limiter = bot.services.altegio.limiter
    async with contextlib.AsyncExitStack() as under_way:
        for _ in range(4):  # four of Altegio's five a second: the last place is the clients'
            await under_way.enter_async_context(limiter.slot(NORMAL))
        before = len(wire.seen)
        await tick(bot)
        assert len(wire.seen) == before
        assert bot.services.waitlist.skipped == 1
    clock.advance(seconds=10)
    await tick(bot)
    assert any("/book_dates/" in r.url.path for r in wire.seen[before:])

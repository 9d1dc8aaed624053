"""Free times shared in a rush: while clients queue for Altegio's rate limit, a day's free times
are read once for every client asking for the same within the window; a shared copy never offers
what the bot has booked or holds, a time taken outside the bot drops it (the client refused goes
back to times read afresh, choices kept), and so does the salon's webhook for the day; with
nobody queued every client's times are read fresh, as always."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.altegio.cache import TtlCache
from bot.altegio.models import Slot
from bot.altegio.own_bookings import OwnBookings
from bot.altegio.queue_place import CURRENT, Place, detached
from bot.altegio.shared_times import SharedTimes
from bot.altegio.turns import Turns
from bot.queue_note import rough
from standins.telegram.users import StubUser
from tests.conftest import BERLIN, Bot, FakeClock, Recording
from tests.test_booking_flow import buttons, choose_service, finish_contact, plain
from tests.test_earliest import ANNA, HAIRCUT
from tests.test_salon_changes import follow, hooked

TOMORROW = date(2026, 11, 25)
JONAS = 2002
TIME = re.compile(r"^\d{1,2}:\d{2} [AP]M$")
# Days whose bookable days nobody has read yet: each rush holds reads of six of them.
UNREAD = (date(2026, 12, 1) + timedelta(days=n) for n in itertools.count())


class Gate(Recording):
    """The sandbox over a network that can be held: while closed, requests wait at the wire,
    in flight and holding their places in the rate limit's windows, as when Altegio is slow."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = asyncio.Event()
        self.opened.set()
        self.held = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.opened.is_set():
            self.held += 1
            try:
                await self.opened.wait()
            finally:
                self.held -= 1
        return await super().handle_async_request(request)


@pytest.fixture
async def gated(make_bot: Callable[..., Any]) -> tuple[Bot, Gate]:
    gate = Gate()
    gate.bot = await make_bot(transport=gate)
    return gate.bot, gate


async def idle() -> None:
    """Let every task run until it waits for something (no time passes)."""
    for _ in range(200):
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def rush(bot: Bot, gate: Gate) -> AsyncIterator[list[asyncio.Future[Any]]]:
    """Clients queued for the rate limit: five reads held in flight fill Altegio's second (5
    requests), and a sixth waits its turn, as does every request after them. The block's own
    actions (futures put in the list it gets) run meanwhile; they are all done when it ends."""
    assert bot.services is not None
    altegio = bot.services.altegio
    bot.clock.advance(seconds=2)  # the second's window empty
    gate.opened.clear()
    held = [
        asyncio.ensure_future(altegio.dates([HAIRCUT], 0, day, day))
        for day in itertools.islice(UNREAD, 6)
    ]
    await idle()
    assert gate.held == 5 and altegio.limiter.waiting == 1
    actions: list[asyncio.Future[Any]] = []
    yield actions
    await idle()
    gate.opened.set()
    await asyncio.gather(*held, *actions)


def in_rush(actions: list[asyncio.Future[Any]], *steps: Any) -> None:
    """Each step starts in its turn: one client's read goes before the next client asks."""
    actions.extend(asyncio.ensure_future(step) for step in steps)


def times_read(gate: Gate, day: date = TOMORROW) -> int:
    return sum(
        r.method == "GET" and "/book_times/" in r.url.path and r.url.path.endswith(str(day))
        for r in gate.seen
    )


def times_shown(user: StubUser) -> list[str]:
    return [label for label in buttons(user) if TIME.match(label)]


def at(label: str) -> datetime:
    return datetime.strptime(f"{TOMORROW} {label} +0100", "%Y-%m-%d %I:%M %p %z").astimezone(BERLIN)


async def at_day_step(bot: Bot, user_id: int, staff: str = "Anna Weber") -> StubUser:
    """A client looking at the calendar (its days read), about to type a day."""
    user = bot.user(user_id, first_name=f"Client{user_id}")
    await choose_service(user)
    await user.tap(next(b for b in buttons(user) if b.startswith(staff)))
    await user.tap("Choose a day")
    return user


async def shown_one_list(bot: Bot, gate: Gate, count: int) -> list[StubUser]:
    """Clients at Anna's days who typed "tomorrow" in one rush: one list, shown to them all."""
    users = [await at_day_step(bot, 100001 + i) for i in range(count)]
    async with rush(bot, gate) as actions:
        in_rush(actions, *(user.send("tomorrow") for user in users))
    return users


async def tap_time(user: StubUser, label: str) -> None:
    await user.tap(label.replace(" ", "\u202f"))


def shared_used(bot: Bot) -> int:
    assert bot.services is not None
    return bot.services.altegio.shared_times.used


async def test_many_clients_queued_for_the_same_day_read_its_free_times_once_per_window(
    gated: tuple[Bot, Gate],
) -> None:
    bot, gate = gated
    users = [await at_day_step(bot, 100001 + i) for i in range(12)]
    before = times_read(gate)
    async with rush(bot, gate) as actions:
        in_rush(actions, *(user.send("tomorrow") for user in users))
    assert all("Free times on Wednesday, November 25" in plain(u.last.text) for u in users)
    assert len({tuple(times_shown(u)) for u in users}) == 1  # the same times for all
    assert times_read(gate) == before + 1
    assert shared_used(bot) == len(users) - 1
    assert bot.services is not None
    metrics = bot.services.metrics.exposition().decode()
    assert f"bot_altegio_shared_times_total {len(users) - 1}.0" in metrics
    # Once the window is over, the next rush reads the day again, once.
    bot.clock.advance(seconds=21)
    async with rush(bot, gate) as actions:
        in_rush(actions, *(user.send("tomorrow") for user in users[:4]))
    assert times_read(gate) == before + 2


async def test_with_nobody_queued_each_client_reads_fresh_times(gated: tuple[Bot, Gate]) -> None:
    bot, gate = gated
    users = [await at_day_step(bot, 100001 + i) for i in range(4)]
    before = times_read(gate)
    for user in users:
        await user.send("tomorrow")
        assert "Free times on" in user.last.text
    assert times_read(gate) == before + len(users)
    assert shared_used(bot) == 0


async def test_a_shared_copy_never_offers_a_time_the_bot_holds_or_has_booked(
    gated: tuple[Bot, Gate],
) -> None:
    bot, gate = gated
    first, second, third = [await at_day_step(bot, 100001 + i) for i in range(3)]
    anyone = await at_day_step(bot, 100004, staff="Any available team member")
    async with rush(bot, gate) as actions:
        in_rush(actions, *(u.send("tomorrow") for u in (first, second, third, anyone)))
    offered = times_shown(first)
    chosen = offered[2]
    assert chosen in times_shown(anyone)
    read = times_read(gate)
    await tap_time(first, chosen)  # held for the first client while they book
    async with rush(bot, gate) as actions:
        in_rush(actions, second.send("tomorrow"))
    # Held: the time and those whose hour with Anna would overlap it are hidden.
    hour, held = timedelta(hours=1), at(chosen)
    others = [o for o in offered if at(o) + hour <= held or at(o) >= held + hour]
    assert len(others) < len(offered) - 1
    assert times_shown(second)[: len(others)] == others
    await finish_contact(first)
    await first.tap("✅ Confirm")
    assert "You are booked" in first.last.text
    # Booked: the time and every time overlapping the hour it takes are gone from Anna's copy,
    # with no read. With anyone, asking again for a day both work, each member's times: Anna's
    # copy, and Jonas's read; the times left overlapping it are his.
    async with rush(bot, gate) as actions:
        in_rush(actions, third.send("tomorrow"), anyone.send("tomorrow"))
    booked, hour = at(chosen), timedelta(hours=1)

    def overlapping(user: StubUser) -> list[datetime]:
        shown = [at(label) for label in times_shown(user)]
        assert shown
        return [s for s in shown if booked - hour < s < booked + hour]

    assert not overlapping(third)
    assert times_read(gate) == read + 1
    assert shared_used(bot) == 2 + 1 + 2  # Anna's copy twice, then once, then twice
    assert bot.services is not None
    jonas = await bot.services.altegio.times(JONAS, TOMORROW, [HAIRCUT])
    assert overlapping(anyone) and set(overlapping(anyone)) <= {s.start for s in jonas}


async def test_a_time_taken_outside_the_bot_sends_the_client_back_to_fresh_times(
    gated: tuple[Bot, Gate],
) -> None:
    bot, gate = gated
    _first, second = await shown_one_list(bot, gate, 2)
    chosen = times_shown(second)[1]
    bot.sandbox.salon_book(1001, "+491709999999", HAIRCUT, ANNA, at(chosen))
    await tap_time(second, chosen)
    await finish_contact(second)
    read = times_read(gate)
    await second.tap("✅ Confirm")
    text = plain(second.last.text)
    assert "just been taken" in text
    # Back at the same day's times with the same team member, read afresh, without the time.
    assert "Free times on Wednesday, November 25, 2026 with Anna Weber" in text
    assert times_read(gate) == read + 1
    assert chosen not in times_shown(second)
    assert bot.services is not None
    assert bot.services.altegio.shared_times.stale_refusals == 1
    metrics = bot.services.metrics.exposition().decode()
    assert "bot_altegio_stale_shared_refusals_total 1.0" in metrics
    # The next client in a rush gets the fresh times too.
    third = await at_day_step(bot, 100003)
    async with rush(bot, gate) as actions:
        in_rush(actions, third.send("tomorrow"))
    assert chosen not in times_shown(third)
    await tap_time(second, times_shown(second)[0])
    await second.tap("✅ Confirm")  # the name and phone were kept
    assert "You are booked" in second.last.text


async def test_a_salon_webhook_for_the_day_drops_its_shared_copy(
    make_bot: Callable[..., Any],
) -> None:
    gate = Gate()
    bot = await hooked(make_bot, transport=gate)
    first, second = [await at_day_step(bot, 100001 + i) for i in range(2)]
    async with rush(bot, gate) as actions:
        in_rush(actions, first.send("tomorrow"))
    chosen = times_shown(first)[0]
    read = times_read(gate)
    bot.sandbox.salon_book(1001, "+491709999999", HAIRCUT, ANNA, at(chosen))
    await follow(bot)
    async with rush(bot, gate) as actions:
        in_rush(actions, second.send("tomorrow"))
    assert times_read(gate) == read + 1
    assert chosen not in times_shown(second)


async def test_the_bots_own_booking_coming_back_as_a_webhook_keeps_the_copy(
    make_bot: Callable[..., Any],
) -> None:
    """Its time was taken out of the copy as it was booked: nothing to read again."""
    gate = Gate()
    bot = await hooked(make_bot, transport=gate)
    bot.sandbox.hooks.settings[1001]["self_sending"] = 1  # another app of the salon's asked
    first, second = await shown_one_list(bot, gate, 2)
    chosen = times_shown(first)[0]
    await tap_time(first, chosen)
    await finish_contact(first)
    await first.tap("✅ Confirm")
    assert "You are booked" in first.last.text
    read = times_read(gate)
    assert bot.services is not None
    assert bot.services.storage.hook_events_waiting()  # the booking, as an event
    await follow(bot)
    async with rush(bot, gate) as actions:
        in_rush(actions, second.send("tomorrow"))
    assert times_read(gate) == read
    assert chosen not in times_shown(second)


async def test_a_booking_made_while_a_read_is_under_way_is_kept_out_of_its_copy(
    clock: FakeClock,
) -> None:
    shared = SharedTimes(clock.monotonic, 20.0, OwnBookings(clock.now))
    starts = [datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN) + timedelta(hours=h) for h in range(4)]
    slots = [Slot(s, s.isoformat(), 3600) for s in starts]
    answered = asyncio.Event()

    async def load() -> list[Slot]:
        await answered.wait()
        return slots

    key = (ANNA, TOMORROW, (HAIRCUT,))
    reading = asyncio.ensure_future(shared.read(key, load, queued=True))
    await idle()
    shared.took(ANNA, slots[2].raw, 3600)
    answered.set()
    assert await reading == [slots[0], slots[1], slots[3]]

    async def never() -> list[Slot]:
        raise AssertionError("read again")

    assert await shared.read(key, never, queued=True) == [slots[0], slots[1], slots[3]]
    # A booking's length, where the client's draft did not say, is the copy's.
    shared.took(ANNA, slots[0].raw, None)
    assert await shared.read(key, never, queued=True) == [slots[1], slots[3]]
    assert shared.used == 2
    # A time no copy knows, of unknown length: the day's copies are read afresh.
    shared.took(ANNA, (starts[0] - timedelta(hours=1)).isoformat(), None)
    answered.set()
    assert await shared.read(key, load, queued=True) == slots


async def test_team_and_days_are_read_again_in_the_background_before_they_expire(
    clock: FakeClock,
) -> None:
    cache = TtlCache(clock.monotonic)
    answered = asyncio.Event()
    loads: list[int] = []

    async def load() -> int:
        loads.append(1)
        await answered.wait()
        return len(loads)

    answered.set()
    assert await cache.get("team", 180, load, refresh_ahead=30) == 1
    answered.clear()
    clock.advance(seconds=140)
    assert await cache.get("team", 180, load, refresh_ahead=30) == 1  # not due yet
    assert len(loads) == 1
    clock.advance(seconds=20)
    assert await cache.get("team", 180, load, refresh_ahead=30) == 1  # served, one read begun
    await idle()
    clock.advance(seconds=40)  # expired, the read still under way: the copy meanwhile
    assert await cache.get("team", 180, load, refresh_ahead=30) == 1
    assert len(loads) == 2
    answered.set()
    await idle()
    assert await cache.get("team", 180, load, refresh_ahead=30) == 2
    # Without `refresh_ahead` (nobody queued) an expired copy is read as ever, and waited for.
    clock.advance(seconds=181)
    assert await cache.get("team", 180, load) == 3


async def test_nobody_joins_a_read_under_way_once_its_day_has_changed(clock: FakeClock) -> None:
    """The read may have been answered before the change: the next client reads again."""
    shared = SharedTimes(clock.monotonic, 20.0, OwnBookings(clock.now))
    start = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
    before, after = [Slot(start, start.isoformat(), 3600)], []
    answered = asyncio.Event()
    reads: list[int] = []

    async def load() -> list[Slot]:
        reads.append(1)
        await answered.wait()
        return before if len(reads) == 1 else after

    key = (ANNA, TOMORROW, (HAIRCUT,))
    first = asyncio.ensure_future(shared.read(key, load, queued=True))
    await idle()
    shared.refused([(ANNA, start.isoformat(), (HAIRCUT,), None)])  # taken outside the bot meanwhile
    second = asyncio.ensure_future(shared.read(key, load, queued=True))
    answered.set()
    assert (await first, await second) == (before, after)
    assert len(reads) == 2 and shared.used == 0
    assert shared.stale_refusals == 0  # nobody was shown the time from a shared copy


class Ticks:
    """The update processor's waits, ended by the test: each `release` ends those waiting."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    async def sleep(self, _seconds: float) -> None:
        await self._event.wait()

    def release(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()


async def at_anna_s_days(
    make_bot: Callable[..., Any], **details: Any
) -> tuple[Bot, Gate, Ticks, StubUser]:
    """A bot whose update processor waits on `Ticks`, and a client (whose updates go through
    that processor) at Anna's days, about to type one."""
    ticks, gate = Ticks(), Gate()
    bot: Bot = await make_bot(transport=gate, slow_sleep=ticks.sleep)
    gate.bot = bot
    assert bot.app is not None
    user = StubUser(
        bot.stub, bot.app, user_id=100001, first_name="Anna", through_processor=True, **details
    )
    await choose_service(user)
    await user.tap(next(b for b in buttons(user) if b.startswith("Anna Weber")))
    return bot, gate, ticks, user


async def test_a_client_waiting_in_the_line_sees_their_number_until_their_screen_comes(
    make_bot: Callable[..., Any],
) -> None:
    bot, gate, ticks, user = await at_anna_s_days(make_bot)
    async with rush(bot, gate) as actions:
        in_rush(actions, user.send("tomorrow"))
        await idle()
        ticks.release()  # a second: the note comes, the line as it stands
        await idle()
        note = user.bot_messages[-1]
        assert "You are number 2 in line" in note.body, note.body
        assert "about 5 seconds" in note.body  # (said in rough steps)
    await idle()
    # Their screen came, and the note went.
    assert "Free times on" in user.last.text, user.screen()
    assert not any("in line" in text for text in user.bot_texts)
    assert any(m.deleted and "in line" in m.body for m in user.transcript)


async def test_the_note_speaks_the_clients_language_and_never_comes_without_a_line(
    make_bot: Callable[..., Any],
) -> None:
    bot, gate, ticks, user = await at_anna_s_days(make_bot, language_code="de")
    # Altegio slow, nobody in the line: typing only, no note.
    gate.opened.clear()
    sent = asyncio.ensure_future(user.send("morgen"))
    await idle()
    ticks.release()
    await idle()
    ticks.release()
    await idle()
    assert not any("⏳" in text for text in user.bot_texts)
    gate.opened.set()
    await sent
    async with rush(bot, gate) as actions:
        in_rush(actions, user.send("Freitag"))  # a day not read yet: its times are queued
        await idle()
        ticks.release()
        await idle()
        assert "Nummer 2" in user.bot_messages[-1].body, user.bot_messages[-1].body


async def test_a_read_nobody_waits_for_is_nobodys_place_in_the_line() -> None:
    """A refresh in the background (`detached`) is in the line for no client: the update that
    happened to start it shows no note for it."""
    place = Place()
    token = CURRENT.set(place)
    try:
        turns: Turns[None] = Turns()
        loop = asyncio.get_running_loop()

        async def joins() -> None:
            turns.add(1, "", loop.create_future())

        await detached(joins())
        assert not place.waiting
        turns.add(1, "", loop.create_future())
        assert place.waiting and place.number == 2
    finally:
        CURRENT.reset(token)


def test_the_wait_is_said_in_rough_steps() -> None:
    assert [rough(s) for s in (1, 5, 6, 29, 31, 61, 119, 121, 200)] == [
        5,
        5,
        10,
        30,
        40,
        70,
        120,
        150,
        210,
    ]


async def test_a_rush_is_taken_to_go_on_a_moment_after_its_line_empties(
    gated: tuple[Bot, Gate],
) -> None:
    """Its line empties for a moment between waves: a read then would spend the limit on what
    the copy just read knows. Seconds later, with nobody queued, times are read fresh again."""
    bot, gate = gated
    first, second, third = [await at_day_step(bot, 100001 + i) for i in range(3)]
    async with rush(bot, gate) as actions:
        in_rush(actions, first.send("tomorrow"))
    read = times_read(gate)
    assert bot.services is not None and not bot.services.altegio.limiter.waiting
    await second.send("tomorrow")
    assert times_read(gate) == read and shared_used(bot) == 1
    bot.clock.advance(seconds=6)
    await third.send("tomorrow")
    assert times_read(gate) == read + 1


async def test_a_read_under_way_is_joined_even_with_nobody_queued(clock: FakeClock) -> None:
    """Its answer is as fresh as a second read's would be."""
    shared = SharedTimes(clock.monotonic, 20.0, OwnBookings(clock.now))
    start = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
    slots = [Slot(start, start.isoformat(), 3600)]
    answered = asyncio.Event()
    reads: list[int] = []

    async def load() -> list[Slot]:
        reads.append(1)
        await answered.wait()
        return slots

    key = (ANNA, TOMORROW, (HAIRCUT,))
    first = asyncio.ensure_future(shared.read(key, load, queued=False))
    await idle()
    second = asyncio.ensure_future(shared.read(key, load, queued=False))
    answered.set()
    assert (await first, await second) == (slots, slots)
    assert len(reads) == 1
    # Once answered, with nobody queued, the next client reads afresh.
    assert await shared.read(key, load, queued=False) == slots
    assert len(reads) == 2

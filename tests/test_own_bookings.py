"""What the bot's own bookings tell without asking Altegio: a time they have surely filled is
refused at once, without spending a request of the rate limit on Altegio's refusal, and a time
another client of the bot has just chosen from the same list is not confirmed twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.altegio import errors
from bot.altegio.booking_calls import Appointment, NewBooking
from bot.altegio.limiter import RateLimiter, Unsent
from bot.altegio.own_bookings import REMEMBER, OwnBookings
from tests.conftest import BERLIN, Bot, FakeClock
from tests.test_booking_flow import finish_contact, plain
from tests.test_earliest import ANNA, HAIRCUT
from tests.test_rush_shared_times import (
    TOMORROW,
    Gate,
    idle,
    in_rush,
    rush,
    shown_one_list,
    tap_time,
    times_shown,
)

JONAS, MIA = 2002, 2003
TEN = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
HOUR = timedelta(hours=1)


def span(start: datetime, minutes: int = 60) -> tuple[datetime, datetime]:
    return start, start + timedelta(minutes=minutes)


def test_a_team_members_booking_fills_their_overlapping_times_and_nobody_elses(
    clock: FakeClock,
) -> None:
    own = OwnBookings(clock.now)
    own.add(frozenset({ANNA}), *span(TEN))
    assert own.taken(frozenset({ANNA}), *span(TEN + timedelta(minutes=30)))
    assert not own.taken(frozenset({ANNA}), *span(TEN + HOUR))  # right after it
    assert not own.taken(frozenset({JONAS}), *span(TEN))
    # Anyone of Anna and Jonas: Jonas may be free.
    assert not own.taken(frozenset({ANNA, JONAS}), *span(TEN))


def test_anyone_is_surely_taken_only_when_every_member_is_needed_at_one_moment(
    clock: FakeClock,
) -> None:
    own = OwnBookings(clock.now)
    both = frozenset({ANNA, JONAS})
    own.add(both, *span(TEN))  # Altegio picked one of them
    assert not own.taken(both, *span(TEN))
    own.add(both, *span(TEN + timedelta(minutes=30)))  # and one for this: the other
    # From 10:30 to 11:00 both are busy: a visit over that half hour is impossible.
    assert own.taken(both, *span(TEN + timedelta(minutes=15)))
    assert own.taken(both, *span(TEN + timedelta(minutes=45), 30))
    # Before 10:30 one of them was still free, and after 11:00 again.
    assert not own.taken(both, *span(TEN, 20))
    assert not own.taken(both, *span(TEN + HOUR, 30))
    # Two bookings of Anna alone prove nothing about Jonas.
    anna_only = OwnBookings(clock.now)
    anna_only.add(frozenset({ANNA}), *span(TEN))
    anna_only.add(frozenset({ANNA}), *span(TEN))
    assert not anna_only.taken(both, *span(TEN))
    # Nor do bookings that may have gone to someone outside the two (Mia).
    wider = OwnBookings(clock.now)
    wider.add(frozenset({ANNA, MIA}), *span(TEN))
    wider.add(frozenset({ANNA, MIA}), *span(TEN))
    assert not wider.taken(both, *span(TEN))
    # A booking whose members are not known tells nothing.
    unknown = OwnBookings(clock.now)
    unknown.add(None, *span(TEN))
    assert not unknown.taken(frozenset({ANNA}), *span(TEN))


def test_only_bookings_made_since_the_client_was_shown_the_time_count(clock: FakeClock) -> None:
    """A list read after the booking that still shows the time knows better: the booking may
    have been cancelled since."""
    own = OwnBookings(clock.now)
    own.add(frozenset({ANNA}), *span(TEN))
    booked_at = clock.now()
    clock.advance(seconds=5)
    assert own.taken(frozenset({ANNA}), *span(TEN), since=booked_at - timedelta(seconds=1))
    assert not own.taken(frozenset({ANNA}), *span(TEN), since=clock.now())


def test_notes_lapse_and_are_dropped_with_their_day(clock: FakeClock) -> None:
    own = OwnBookings(clock.now)
    own.add(frozenset({ANNA}), *span(TEN))
    own.add(frozenset({JONAS}), *span(TEN + timedelta(days=1)))
    own.forget(TEN.date())
    assert not own.taken(frozenset({ANNA}), *span(TEN))
    assert own.taken(frozenset({JONAS}), *span(TEN + timedelta(days=1)))
    clock.advance(seconds=REMEMBER.total_seconds() + 1)
    assert not own.taken(frozenset({JONAS}), *span(TEN + timedelta(days=1)))


async def test_a_place_not_used_goes_to_the_next_caller(clock: FakeClock) -> None:
    """A call that, its turn come, is not sent leaves its place in the windows free."""
    limiter = RateLimiter(((1, 60.0),), monotonic=clock.monotonic)
    with pytest.raises(Unsent):
        async with limiter.slot():
            raise Unsent(errors.KnownTaken("filled"))
    async with asyncio.timeout(1):
        async with limiter.slot():
            pass  # at once: the first place was given back
    assert not limiter.spare()


def book_requests(gate: Gate) -> int:
    return sum(r.method == "POST" and "/book_record/" in r.url.path for r in gate.seen)


@pytest.fixture
async def gated(make_bot: Callable[..., Any]) -> tuple[Bot, Gate]:
    gate = Gate()
    gate.bot = await make_bot(transport=gate)
    return gate.bot, gate


async def test_a_time_another_client_has_just_chosen_is_not_confirmed_twice(
    gated: tuple[Bot, Gate],
) -> None:
    bot, gate = gated
    first, second = await shown_one_list(bot, gate, 2)
    chosen = times_shown(first)[1]
    assert chosen in times_shown(second)  # one list, shown to both
    await tap_time(first, chosen)
    await tap_time(second, chosen)  # a moment later, from the same list
    text = plain(second.last.text)
    assert "another client has just chosen that time" in text
    assert "Free times on Wednesday, November 25, 2026 with Anna Weber" in text
    assert chosen not in times_shown(second)
    # The first books it; the second books another time, with one request each.
    before = book_requests(gate)
    await finish_contact(first)
    await first.tap("✅ Confirm")
    assert "You are booked" in first.last.text
    await tap_time(second, times_shown(second)[-1])
    await finish_contact(second)
    await second.tap("✅ Confirm")
    assert "You are booked" in second.last.text
    assert book_requests(gate) == before + 2


async def test_a_time_the_bot_has_just_booked_is_refused_without_a_request(
    gated: tuple[Bot, Gate],
) -> None:
    bot, gate = gated
    first, second = await shown_one_list(bot, gate, 2)
    chosen = times_shown(first)[1]
    await tap_time(first, chosen)
    await finish_contact(first)
    await first.tap("✅ Confirm")
    assert "You are booked" in first.last.text
    # The second client still has the list shown before that booking, and taps the time.
    await tap_time(second, chosen)
    await finish_contact(second)
    before = book_requests(gate)
    await second.tap("✅ Confirm")
    text = plain(second.last.text)
    assert "just been taken" in text
    assert book_requests(gate) == before  # known without asking Altegio
    assert "Free times on Wednesday, November 25, 2026 with Anna Weber" in text
    assert chosen not in times_shown(second)
    assert bot.services is not None
    assert bot.services.altegio.shared_times.known_taken == 1
    metrics = bot.services.metrics.exposition().decode()
    assert "bot_altegio_known_taken_total 1.0" in metrics
    # The choices are kept: another time, and the booking goes through.
    await tap_time(second, times_shown(second)[-1])
    await second.tap("✅ Confirm")
    assert "You are booked" in second.last.text
    assert book_requests(gate) == before + 1


async def test_a_booking_waiting_its_turn_is_refused_when_one_ahead_fills_its_time(
    gated: tuple[Bot, Gate],
) -> None:
    """Checked again once its turn has come: the place goes to the next caller unused."""
    bot, gate = gated
    assert bot.services is not None
    altegio = bot.services.altegio
    free = await altegio.times(ANNA, TOMORROW, [HAIRCUT])
    start = free[1].start
    shown = bot.clock.now()
    bot.clock.advance(seconds=1)
    first = NewBooking(
        "+491701111111",
        "First",
        (Appointment(1, (HAIRCUT,), ANNA, start.isoformat(), 3600),),
    )
    second = NewBooking(
        "+491702222222",
        "Second",
        (Appointment(1, (HAIRCUT,), ANNA, (start + timedelta(minutes=30)).isoformat(), 3600),),
    )
    async with rush(bot, gate) as actions:
        # Both wait behind the rush; the first goes first, and books.
        in_rush(actions, altegio.book(first, shown))
        await idle()
        refused = asyncio.ensure_future(altegio.book(second, shown))
        await idle()
        assert altegio.limiter.waiting >= 2
    with pytest.raises(errors.KnownTaken):
        await refused
    assert book_requests(gate) == 1
    assert altegio.shared_times.known_taken == 1

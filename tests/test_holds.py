"""Times a client of the bot is booking, hidden from its other clients: with a team member
chosen, also the times whose visit would overlap it; with anyone, that very time, and a time
every member who may see to it is held at (by visits with them, or as many with anyone)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.altegio.models import Slot
from bot.holds import Held, Holds, Others, clashes
from standins.telegram.users import StubUser
from tests.conftest import Bot

BOTH_ENGINES = True
NOON = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def slot(minutes: int, length: int | None = 3600) -> Slot:
    start = NOON + timedelta(minutes=minutes)
    return Slot(start, start.isoformat(), length)


def test_a_time_clashes_with_a_hold_it_would_overlap() -> None:
    held = [Held(NOON.isoformat(), 3600)]
    assert clashes(slot(0), held)
    assert clashes(slot(45), held)  # 12:45 to 13:45 overlaps 12:00 to 13:00
    assert not clashes(slot(60), held)  # starts as the held visit ends
    assert clashes(slot(-45), held)  # 11:15 to 12:15
    assert not clashes(slot(-60), held)
    assert not clashes(slot(-45, length=None), held)  # its own length unknown: only the time
    assert not clashes(slot(15), [Held(NOON.isoformat())])  # the hold's length unknown
    assert clashes(slot(0, length=None), [Held(NOON.isoformat())])
    assert not clashes(slot(15), [Held("not a time", 3600)])


def test_with_anyone_and_its_members_unknown_only_the_very_time_is_hidden() -> None:
    holds = Holds()
    holds.keep("f1", 2001, NOON.isoformat(), NOON, 3600)
    holds.keep("f2", 0, NOON.isoformat(), NOON, 3600)
    assert holds.spans_for_others("f3", 2001, NOON) == [Held(NOON.isoformat(), 3600)]
    assert holds.spans_for_others("f3", 0, NOON) == [Held(NOON.isoformat(), 3600)]
    assert holds.spans_for_others("f1", 2001, NOON) == []
    assert holds.held_for_others("f3", 2001, NOON) == {NOON.isoformat()}
    others = holds.others("f3", 0, None, NOON)
    assert others.clash(slot(0))
    assert not others.clash(slot(15))
    assert not others.chosen(slot(15).raw, 3600)


ANNA, JONAS = 2001, 2002


def test_with_anyone_a_time_is_hidden_once_everyone_who_may_see_to_it_is_held() -> None:
    holds = Holds()
    both = frozenset({ANNA, JONAS})
    holds.keep("f1", 0, NOON.isoformat(), NOON, 3600, members=both)
    others = holds.others("f9", 0, both, NOON)
    assert others.each == {ANNA: [], JONAS: []}
    # One held at noon leaves one of two free: the times overlapping it stay (the very time
    # does not: who is free at it is not known).
    assert others.clash(slot(0))
    assert not any(others.clash(slot(m)) for m in (-45, 15, 30, 60))
    holds.keep("f2", 0, slot(15).raw, NOON, 3600, members=both)
    others = holds.others("f9", 0, both, NOON)
    # From 12:15 to 13:00 both are held: a visit then has nobody; from 13:00 one is free.
    assert others.clash(slot(0)) and others.clash(slot(-30))  # an hour meets both at 12:15
    assert others.clash(slot(15)) and others.clash(slot(30))
    assert not others.clash(slot(-60))  # 11:00 to 12:00
    assert not others.clash(slot(60)) and not others.clash(slot(75))
    # A time held with Anna herself: with one held with anyone, nobody is left at 12:30.
    holds.release("f2")
    holds.keep("f3", ANNA, slot(30).raw, NOON, 3600)
    others = holds.others("f9", 0, both, NOON)
    assert others.clash(slot(30))
    assert not others.clash(slot(90))
    # Members held with anyone for services nobody of these offers do not count.
    holds.release("f3")
    holds.keep("f4", 0, slot(30).raw, NOON, 3600, members=frozenset({2005}))
    assert not holds.others("f9", 0, both, NOON).clash(slot(45))


def test_a_time_held_with_the_only_member_who_can_is_theirs() -> None:
    holds = Holds()
    holds.keep("f1", ANNA, NOON.isoformat(), NOON, 3600)  # with anyone, Anna alone works
    alone = holds.others("f9", 0, frozenset({ANNA}), NOON)
    assert alone.clash(slot(30)) and alone.chosen(slot(-30).raw, 3600)
    assert not alone.clash(slot(60))
    # Were Jonas possible too, Anna being held would leave him.
    assert not holds.others("f9", 0, frozenset({ANNA, JONAS}), NOON).clash(slot(30))
    assert Others([]).clash(slot(0)) is False


def times(user: StubUser) -> list[str]:
    return [
        label.replace("\u202f", " ")
        for row in user.last.buttons
        for label in row
        if label[:1].isdigit() and ":" in label
    ]


async def to_times(user: StubUser) -> None:
    await user.send("/book")
    await user.tap("Hair")
    await user.tap("Women's haircut")
    await user.tap(next(b for row in user.last.buttons for b in row if b.startswith("Anna")))
    await user.send("Friday")
    assert "Free times on" in user.last.text, user.screen()


async def test_a_time_held_with_a_team_member_hides_the_times_overlapping_it(
    make_bot: Callable[..., Any],
) -> None:
    bot: Bot = await make_bot()
    first, second = bot.user(), bot.user(100002, first_name="Ben")
    await to_times(first)
    before = times(first)
    assert len(before) >= 6
    await first.tap(before[0].replace(" ", "\u202f"))  # an hour's haircut with Anna
    await to_times(second)
    shown = times(second)
    # The held time and the three quarter-hours after it would overlap it; the rest stays.
    start = datetime.strptime(before[0], "%I:%M %p").replace(tzinfo=UTC)
    overlapping = {(start + timedelta(minutes=m)).strftime("%-I:%M %p") for m in (0, 15, 30, 45)}
    assert not overlapping & set(shown), shown
    kept = [t for t in before if t not in overlapping]
    assert shown[: len(kept)] == kept  # (the page has room for later times now)

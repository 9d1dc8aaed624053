"""Who "any available team member" can be on a day: the days each member works, read in a rush
only, narrow the team to those working that day; nothing known narrows nothing."""

from __future__ import annotations

from datetime import date

from bot.altegio.team_days import TeamDays

MON, SAT = date(2026, 11, 30), date(2026, 11, 28)
ANNA, JONAS = 2001, 2002


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_team_is_narrowed_to_those_working_that_day() -> None:
    clock = Clock()
    days = TeamDays(clock, ttl=180)
    both = frozenset({ANNA, JONAS})
    assert days.narrow(both, SAT) == both  # nothing known
    days.keep(ANNA, date(2026, 11, 24), date(2026, 12, 31), frozenset({SAT}))
    # Jonas's days not known: he stays possible.
    assert days.narrow(both, SAT) == both
    days.keep(JONAS, date(2026, 11, 24), date(2026, 12, 31), frozenset({MON}))
    assert days.narrow(both, SAT) == {ANNA}
    assert days.narrow(both, MON) == {JONAS}
    # A day nobody seems to work says the days read are wrong: everyone stays.
    assert days.narrow(both, date(2026, 11, 29)) == both
    # Beyond the days read, or once they are old, nothing is known.
    assert days.narrow(both, date(2027, 1, 2)) == both
    assert days.works(ANNA, SAT) is True
    clock.now = 180.0
    assert days.works(ANNA, SAT) is None
    assert days.narrow(both, SAT) == both
    assert days.narrow(None, SAT) is None
    assert days.narrow(both, None) == both


def test_a_member_whose_days_were_not_told_is_possible_every_day() -> None:
    days = TeamDays(Clock(), ttl=180)
    days.keep(ANNA, date(2026, 11, 24), date(2026, 12, 31), frozenset({SAT}))
    days.keep(ANNA, date(2026, 11, 24), date(2026, 12, 31), None)
    assert days.works(ANNA, MON) is None

"""Seed data of the sandbox's yoga and pilates studio (location 1003): its private sessions, and
the group classes it runs every week (Altegio's group events, "activities").

Plain frozen data; `activity_endpoints` makes the week's events of it, relative to the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from standins.altegio.seed import Category, Location, Salon, Service, StaffMember

SANDBOX_STUDIO_ID = 1003

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
_MIN = 60


@dataclass(frozen=True)
class WeeklyClass:
    """A group class the studio runs every week at the same wall-clock time."""

    weekday: int
    at: time
    service_id: int
    staff_id: int
    capacity: int


STUDIO = Salon(
    location=Location(
        id=SANDBOX_STUDIO_ID,
        title="Aurora Flow Studio",
        timezone_name="Europe/Berlin",
        country_id=4,
        country="Germany",
        city_id=52,
        city="Berlin",
        address="Oranienstraße 12",
        zip="10999",
        phone="+493012345690",
        site="https://studio-aurora.example/flow",
        coordinate_lat=52.5019,
        coordinate_lon=13.4181,
        short_descr="Yoga and pilates in Kreuzberg",
        currency_short_title="EUR",
        phone_confirmation=False,
        default_notify_by_sms=24,
    ),
    categories=(Category(701, "Private sessions", 60), Category(702, "Group classes", 50)),
    services=(
        Service(12001, "Private yoga session", 701, 60, 60, 60 * _MIN, 100),
        # Group classes: nobody performs them one to one, so `book_services` never lists them;
        # they are booked as seats in an event.
        Service(12101, "Vinyasa Flow", 702, 18, 18, 60 * _MIN, 90, "All levels"),
        Service(12102, "Mat Pilates", 702, 20, 20, 55 * _MIN, 80),
        Service(12103, "Yin Yoga", 702, 16, 16, 75 * _MIN, 70, "Slow and quiet"),
    ),
    staff=(
        StaffMember(
            2201,
            "Mira Hoffmann",
            "Yoga teacher",
            (21, "Senior teacher"),
            4.9,
            40,
            12,
            100,
            "",
            frozenset({12001}),
            dict.fromkeys(range(MON, SAT), ((time(9), time(13)),)),
        ),
        StaffMember(
            2202,
            "Jonas Richter",
            "Pilates teacher",
            None,
            4.7,
            18,
            5,
            90,
            "",
            frozenset({12001}),
            dict.fromkeys(range(TUE, SUN), ((time(9), time(12)),)),
        ),
    ),
)

WEEKLY_CLASSES: tuple[WeeklyClass, ...] = (
    WeeklyClass(MON, time(18), 12101, 2201, 12),
    WeeklyClass(TUE, time(19), 12102, 2202, 10),
    WeeklyClass(WED, time(18), 12101, 2201, 12),
    WeeklyClass(THU, time(19), 12102, 2202, 10),
    WeeklyClass(SAT, time(10), 12103, 2201, 8),
    WeeklyClass(SAT, time(12), 12102, 2202, 10),
)
"""The first Yin Yoga still ahead when the sandbox starts is full; every other class has seats."""
FULL_FIRST = 12103
WEEKS = 5  # this week and the four after it

"""Seed data of the sandbox locations: the demo salon's team, services, schedules and bookings.

Plain frozen data; `salon.SalonState` makes live state of it and the endpoints answer from that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time

SANDBOX_COMPANY_ID = 1001
SANDBOX_SMS_COMPANY_ID = 1002
SANDBOX_CHAIN_ID = 100
"""The chain (Altegio's "group") of 1001, 1002 and the salon in Riga, 1004."""
CHAIN_TITLES = {SANDBOX_CHAIN_ID: "Studio Aurora"}

Schedule = Mapping[int, tuple[tuple[time, time], ...]]
"""Weekday (Monday = 0) to the local working intervals of that day."""


_FORMS = {
    "services_form": ("category", "categories", "both", "yclients"),
    "lengths_form": ("staff_only", "zero", "always"),
}


@dataclass(frozen=True)
class Location:
    id: int
    title: str
    timezone_name: str
    country_id: int
    country: str
    city_id: int
    city: str
    address: str
    zip: str
    phone: str
    site: str
    coordinate_lat: float
    coordinate_lon: float
    short_descr: str
    currency_short_title: str
    phone_confirmation: bool
    allow_change_record: bool = True
    allow_change_record_delay_step: int = 2 * 3600
    allow_delete_record: bool = True
    allow_delete_record_delay_step: int = 2 * 3600
    booking_email_required: bool = False
    booking_comment_required: bool = False
    booking_comment_input_name: str = "Comment"
    privacy_policy: str | None = None
    """The location's own privacy policy (may hold simple HTML); None when it has none."""
    default_notify_by_sms: int = 24
    """The reminder the salon set up in Altegio, in hours before the visit (0 = off); a booking
    that names none gets this one."""
    default_notify_by_email: int = 0
    group_id: int = 0
    """The chain the location belongs to (`main_group_id`, and `GET companies?group_id=`); 0 for
    none."""
    # How the sandbox speaks, not what the salon is: these never reach the wire as fields.
    company_shape: str = "full"
    """`GET company`: "full" (every field the sandbox knows) or "documented" (exactly "Get
    location")."""
    timezone_form: str = "name"
    """`GET company`: "name" (`timezone_name`), "offset" (`timezone` as a string of hours) or
    "offset_int" (the same as a number)."""
    error_form: str = "codes"
    """422 refusals: "codes" (`meta.errors[]`) or "message" (the older `meta.message` only)."""
    error_language: str = "en"
    """The language of refusal messages: "en" or "ru"."""
    seances_form: str = "full"
    """`book_staff_seances`: "full" (the nearest day and its times, looked for from `datetime`
    when given), "no_datetime" (`datetime` ignored, as the docs that dropped it) or "date_only"
    (the day named, `seances` empty). With nothing free: a null day, or `[]` in the other two."""
    activity_form: str = "alt"
    """Group events (`activity_endpoints`): "alt" (`company_id`, ISO `date`) or "yc" (`salon_id`,
    `date` as "YYYY-MM-DD HH:MM:SS" and `timestamp`); `activity_dates_form` is `search_dates`'
    undocumented body: "strings", "objects" (`{date, count}`) or "keyed" (`{"dates": [...]}`);
    `activity_full_code` the code of a full event's 422 (0: `meta.message` only)."""
    activity_dates_form: str = "strings"
    activity_full_code: int = 422
    services_form: str = "category"
    """`book_services`: the categories under "category" (the key of every example), under
    "categories" (the key the prose names), under "both", or "yclients" (`category`, with `sex`
    for `gender` and `active` 0 as in YCLIENTS' examples)."""
    lengths_form: str = "staff_only"
    """`book_services`' `seance_length` when not filtered by `staff_id`: "staff_only" (left out,
    as documented), "zero" (0) or "always" (each service's usual length, as in the example)."""

    def __post_init__(self) -> None:
        for name, choices in _FORMS.items():
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}")


@dataclass(frozen=True)
class Category:
    id: int
    title: str
    weight: int


@dataclass(frozen=True)
class Service:
    id: int
    title: str
    category_id: int
    price_min: int
    price_max: int
    length: int
    """Duration in seconds, unless `staff_lengths` says otherwise for a team member."""
    weight: int
    comment: str = ""
    gender: int = 0
    staff_lengths: Mapping[int, int] = field(default_factory=dict)

    def length_for(self, staff_id: int) -> int:
        return self.staff_lengths.get(staff_id, self.length)


@dataclass(frozen=True)
class StaffMember:
    id: int
    name: str
    specialization: str
    position: tuple[int, str] | None
    rating: float
    votes_count: int
    comments_count: int
    weight: int
    information: str
    service_ids: frozenset[int]
    schedule: Schedule


@dataclass(frozen=True)
class Salon:
    """Everything one location offers; ids are unique across locations, as on the platform."""

    location: Location
    categories: tuple[Category, ...]
    services: tuple[Service, ...]
    staff: tuple[StaffMember, ...]


@dataclass(frozen=True)
class SeedAppointment:
    """A booking that exists when the sandbox starts.

    `working_day` counts the team member's working days from today: 0 is the first one on or
    after today, so the seed lands on a real shift whatever weekday the clock starts on.
    """

    company_id: int
    staff_id: int
    service_ids: tuple[int, ...]
    working_day: int
    at: time
    fullname: str
    phone: str
    comment: str = ""


def _hours(*pairs: tuple[str, str]) -> tuple[tuple[time, time], ...]:
    return tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in pairs)


def _days(days: range | tuple[int, ...], hours: tuple[tuple[time, time], ...]) -> Schedule:
    return dict.fromkeys(days, hours)


MON, TUE, WED, THU, FRI, SAT = range(6)
MON_FRI = range(MON, SAT)
TUE_SAT = range(TUE, SAT + 1)

_MIN = 60

AURORA = Salon(
    location=Location(
        id=SANDBOX_COMPANY_ID,
        title="Studio Aurora",
        timezone_name="Europe/Berlin",
        country_id=4,
        country="Germany",
        city_id=52,
        city="Berlin",
        address="Lindenstraße 21",
        zip="10969",
        phone="+493012345670",
        site="https://studio-aurora.example",
        coordinate_lat=52.5027,
        coordinate_lon=13.3952,
        short_descr="Hair, nails, brows and massage in Kreuzberg",
        currency_short_title="EUR",
        phone_confirmation=False,
        # The demo salons preset no reminder, so a booking that names none gets none.
        default_notify_by_sms=24,
        group_id=SANDBOX_CHAIN_ID,
    ),
    categories=(
        Category(501, "Hair", 60),
        Category(502, "Nails", 50),
        Category(503, "Brows & Lashes", 40),
        Category(504, "Massage", 30),
    ),
    services=(
        Service(
            10001,
            "Women's haircut",
            501,
            40,
            60,
            60 * _MIN,
            100,
            "Wash, cut and blow-dry",
            staff_lengths={2002: 75 * _MIN},
        ),
        Service(10002, "Men's haircut", 501, 28, 28, 30 * _MIN, 90, gender=1),
        Service(10003, "Blow-dry & styling", 501, 30, 45, 45 * _MIN, 80),
        Service(10004, "Full colour", 501, 85, 140, 120 * _MIN, 70, "Price depends on length"),
        Service(10005, "Balayage", 501, 150, 220, 120 * _MIN, 60, "Includes toner"),
        Service(
            10006,
            "Classic manicure",
            502,
            30,
            30,
            45 * _MIN,
            100,
            staff_lengths={2004: 60 * _MIN},
        ),
        Service(10007, "Gel manicure", 502, 42, 48, 60 * _MIN, 90),
        Service(10008, "Pedicure", 502, 45, 45, 60 * _MIN, 80),
        Service(10009, "Brow shaping", 503, 22, 22, 30 * _MIN, 100),
        Service(10010, "Brow lamination", 503, 45, 45, 45 * _MIN, 90),
        Service(10011, "Lash lift & tint", 503, 65, 65, 60 * _MIN, 80),
        Service(10012, "Relaxing massage", 504, 70, 70, 60 * _MIN, 100),
        Service(10013, "Deep-tissue massage", 504, 95, 105, 90 * _MIN, 90),
    ),
    staff=(
        StaffMember(
            2001,
            "Anna Weber",
            "Hair stylist & colourist",
            (11, "Senior stylist"),
            4.9,
            31,
            12,
            100,
            "<p>Colour specialist with twelve years behind the chair.</p>",
            frozenset({10001, 10002, 10003, 10004, 10005}),
            _days(TUE_SAT, _hours(("10:00", "19:00"))),
        ),
        StaffMember(
            2002,
            "Jonas Richter",
            "Stylist & barber",
            None,
            4.6,
            18,
            5,
            90,
            "",
            frozenset({10001, 10002, 10003}),
            _days(MON_FRI, _hours(("09:00", "17:00"))),
        ),
        StaffMember(
            2003,
            "Mia Hoffmann",
            "Nail artist",
            (12, "Nail technician"),
            4.8,
            44,
            20,
            80,
            "<p>Gel, classic and spa pedicure.</p>",
            frozenset({10006, 10007, 10008, 10009}),
            _days(MON_FRI, _hours(("09:00", "13:00"), ("14:00", "18:00"))),
        ),
        StaffMember(
            2004,
            "Sofia Becker",
            "Brow & lash artist",
            (13, "Brow & lash artist"),
            4.7,
            27,
            9,
            70,
            "<p>Evening appointments for brows, lashes and quick manicures.</p>",
            frozenset({10006, 10009, 10010, 10011}),
            _days(TUE_SAT, _hours(("12:00", "20:00"))),
        ),
        StaffMember(
            2005,
            "Lukas Braun",
            "Massage therapist",
            None,
            5.0,
            9,
            4,
            60,
            "",
            frozenset({10012, 10013}),
            {
                **_days((MON, WED, FRI), _hours(("10:00", "16:00"))),
                SAT: _hours(("10:00", "14:00")),
            },
        ),
    ),
)

AURORA_MITTE = Salon(
    location=Location(
        id=SANDBOX_SMS_COMPANY_ID,
        title="Studio Aurora Mitte",
        timezone_name="Europe/Berlin",
        country_id=4,
        country="Germany",
        city_id=52,
        city="Berlin",
        address="Rosenthaler Straße 40",
        zip="10178",
        phone="+493012345680",
        site="https://studio-aurora.example/mitte",
        coordinate_lat=52.5261,
        coordinate_lon=13.4021,
        short_descr="Hair and nails near Hackescher Markt",
        currency_short_title="EUR",
        phone_confirmation=True,
        default_notify_by_sms=24,
        group_id=SANDBOX_CHAIN_ID,
    ),
    categories=(
        Category(601, "Hair", 60),
        Category(602, "Nails", 50),
        Category(603, "Brows & Lashes", 40),
    ),
    services=(
        Service(11001, "Women's haircut", 601, 45, 65, 60 * _MIN, 100, "Wash, cut and blow-dry"),
        Service(11002, "Men's haircut", 601, 30, 30, 30 * _MIN, 90, gender=1),
        Service(11003, "Blow-dry & styling", 601, 32, 45, 45 * _MIN, 80),
        Service(11004, "Classic manicure", 602, 32, 32, 45 * _MIN, 100),
        Service(11005, "Gel manicure", 602, 45, 50, 60 * _MIN, 90),
        Service(11006, "Brow shaping", 603, 24, 24, 30 * _MIN, 100),
    ),
    staff=(
        StaffMember(
            2101,
            "Clara Neumann",
            "Hair stylist",
            (11, "Senior stylist"),
            4.8,
            22,
            7,
            100,
            "<p>Precision cuts and everyday styling.</p>",
            frozenset({11001, 11002, 11003}),
            _days(MON_FRI, _hours(("10:00", "19:00"))),
        ),
        StaffMember(
            2102,
            "Elif Yilmaz",
            "Nail & brow artist",
            None,
            4.9,
            15,
            6,
            90,
            "",
            frozenset({11004, 11005, 11006}),
            _days(TUE_SAT, _hours(("09:00", "17:00"))),
        ),
    ),
)

SALONS: tuple[Salon, ...] = (AURORA, AURORA_MITTE)

BLACKLISTED_PHONES: frozenset[str] = frozenset({"+4915200000666"})
"""Clients the salon has banned from booking online (code 434)."""

SEED_APPOINTMENTS: tuple[SeedAppointment, ...] = (
    SeedAppointment(1001, 2001, (10001,), 0, time(10, 0), "Lea Fischer", "+4915200000101"),
    SeedAppointment(1001, 2001, (10004,), 0, time(14, 0), "Hannah Wolf", "+4915200000102"),
    SeedAppointment(1001, 2001, (10005,), 1, time(11, 0), "Emma Schulz", "+4915200000103"),
    SeedAppointment(1001, 2002, (10001,), 0, time(11, 0), "Paul Keller", "+4915200000104"),
    SeedAppointment(1001, 2002, (10002,), 1, time(9, 0), "Felix Wagner", "+4915200000105"),
    SeedAppointment(1001, 2003, (10007,), 0, time(10, 0), "Marie Koch", "+4915200000106"),
    SeedAppointment(
        1001, 2003, (10008,), 1, time(15, 0), "Clara Lange", "+4915200000107", "First visit"
    ),
    SeedAppointment(1001, 2004, (10011,), 0, time(12, 0), "Laura Krause", "+4915200000108"),
    SeedAppointment(1001, 2004, (10010,), 2, time(18, 0), "Nina Vogel", "+4915200000109"),
    SeedAppointment(1001, 2005, (10013,), 0, time(13, 0), "Tim Schäfer", "+4915200000110"),
    SeedAppointment(1002, 2101, (11001,), 0, time(11, 0), "Julia Meyer", "+4915200000111"),
    SeedAppointment(1002, 2102, (11005,), 1, time(10, 0), "Sarah Braun", "+4915200000112"),
)

"""The demo salon as it stands: its locations (as changed while running), the diary of records,
SMS codes sent, logged-in clients; and the slot arithmetic on them.

Nothing here speaks Altegio's wire format or takes a lock: the endpoint modules read and change
this state, and `Sandbox` holds the lock around each request.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, get_args, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from standins.altegio.activity_seed import STUDIO
from standins.altegio.riga_seed import AVRORA_RIGA
from standins.altegio.seed import (
    BLACKLISTED_PHONES,
    SALONS,
    SEED_APPOINTMENTS,
    Location,
    Salon,
    StaffMember,
)

SLOT_STEP = timedelta(minutes=15)
NEAREST_DELAY = timedelta(minutes=30)
HORIZON_DAYS = 60

Busy = list[tuple[datetime, datetime]]

_CHOICES: dict[str, tuple[str, ...]] = {
    "company_shape": ("full", "documented"),
    "timezone_form": ("name", "offset", "offset_int"),
    "error_form": ("codes", "message"),
    "error_language": ("en", "ru"),
    "seances_form": ("full", "no_datetime", "date_only"),
    "activity_form": ("alt", "yc"),
    "activity_dates_form": ("strings", "objects", "keyed"),
}
_LOCATION_TYPES: dict[str, Any] = get_type_hints(Location)


def digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def instant_at(day: date, moment: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=tz).astimezone(UTC)


@dataclass
class Record:
    record_id: int
    company_id: int
    staff_id: int
    service_ids: list[int]
    start: datetime
    length: int
    phone: str
    fullname: str
    email: str
    comment: str
    master_requested: bool
    hash: str
    api_id: str
    notify_by_sms: int
    notify_by_email: int
    create_date: datetime
    last_change_date: datetime
    deleted: bool = False
    # "online" (booked through the API), or made by the salon: "phone" or "web".
    source: str = "online"
    attendance: int = 0
    activity_id: int = 0  # a seat in a group event (`activity_endpoints`)
    clients_count: int = 1

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.length)


@dataclass
class SmsCode:
    code: str
    expires_at: datetime
    fullname: str


@dataclass
class User:
    id: int
    phone: str
    token: str


class SalonState:
    """Every demo location's live state; `clock` must return timezone-aware datetimes."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.salons = {salon.location.id: salon for salon in (*SALONS, STUDIO, AVRORA_RIGA)}
        self.zones = {cid: ZoneInfo(s.location.timezone_name) for cid, s in self.salons.items()}
        self.records: dict[int, Record] = {}
        self.codes: dict[tuple[int, str], SmsCode] = {}
        self.users: dict[str, User] = {}
        self.blacklisted = {digits(phone) for phone in BLACKLISTED_PHONES}
        self.withdrawn: set[int] = set()
        self.removed: set[int] = set()
        # Client accounts (`client_accounts`): tokens Altegio no longer accepts, with the status
        # it refuses them with; client-card ids by phone digits; how `user/records` names
        # attendance ("attendance", "visit_attendance" or "both").
        self.refused_tokens: dict[str, int] = {}
        self.client_ids: dict[str, int] = {}
        self.attendance_key = "attendance"
        self.user_auth_form = "enveloped"
        self.listing_form = "any"
        # Altegio never gives a record id twice: ids go on from where an earlier run of the
        # sandbox could have left them (a hundred a second), so a bot's database that outlives
        # the sandbox never meets a new appointment under an old one's id.
        self._next_record_id = 100_000_000 + int(self.now().timestamp() * 100) % 900_000_000
        self._next_user_id = 21_733_001
        self._seed()

    def now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            # A naive clock would silently mean the host's timezone.
            raise ValueError("the sandbox clock must return timezone-aware datetimes")
        return now.astimezone(UTC)

    def tz(self, salon: Salon) -> ZoneInfo:
        return self.zones[salon.location.id]

    def new_record_id(self) -> int:
        record_id = self._next_record_id
        self._next_record_id += 1
        return record_id

    # -- inspection and salon-side actions --------------------------------------------------

    def rows(self, company_id: int | None) -> list[dict[str, Any]]:
        """Copies of the stored records, datetimes in the location's timezone."""
        rows = []
        for record in sorted(self.records.values(), key=lambda r: r.record_id):
            if company_id is None or record.company_id == company_id:
                row = asdict(record)
                for key in ("start", "create_date", "last_change_date"):
                    row[key] = row[key].astimezone(self.zones[record.company_id])
                rows.append(row)
        return rows

    def last_sms_code(self, company_id: int, phone: str) -> str | None:
        sent = self.codes.get((company_id, digits(phone)))
        return sent.code if sent else None

    def salon_cancel(self, record_id: int) -> None:
        record = self.records[record_id]
        record.deleted = True
        record.last_change_date = self.now()

    def salon_move(self, record_id: int, new_start: datetime, staff_id: int = 0) -> None:
        record = self.records[record_id]
        record.staff_id = staff_id or record.staff_id
        record.start = new_start.astimezone(UTC)
        record.last_change_date = self.now()

    def add_user_token(self, phone: str, token: str | None = None) -> str:
        user = self.user_for(phone)
        if token is not None and token != user.token:
            del self.users[user.token]
            user.token = token
            self.users[token] = user
        return user.token

    def blacklist(self, phone: str) -> None:
        self.blacklisted.add(digits(phone))

    def configure(self, company_id: int, changes: dict[str, Any]) -> None:
        salon = self.salons.get(company_id)
        if salon is None:
            raise KeyError(f"no location {company_id}")
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in _LOCATION_TYPES:
                raise TypeError(f"a location has no field {name!r}")
            checked[name] = _checked_value(name, value)
        if checked.get("id", company_id) != company_id:
            raise ValueError("a location's id cannot change")
        zone = self.zones[company_id]
        if "timezone_name" in checked:
            try:
                zone = ZoneInfo(checked["timezone_name"])
            except (ZoneInfoNotFoundError, ValueError) as error:
                raise ValueError(f"unknown timezone {checked['timezone_name']!r}") from error
        location = dataclasses.replace(salon.location, **checked)
        self.salons[company_id] = dataclasses.replace(salon, location=location)
        # Schedules are wall-clock times, so the whole location moves with its zone; records
        # keep their instants.
        self.zones[company_id] = zone

    def withdraw_service(self, service_id: int) -> None:
        if all(s.id != service_id for salon in self.salons.values() for s in salon.services):
            raise KeyError(f"no service {service_id}")
        self.withdrawn.add(service_id)

    def remove_staff(self, staff_id: int) -> None:
        if all(m.id != staff_id for salon in self.salons.values() for m in salon.staff):
            raise KeyError(f"no team member {staff_id}")
        self.removed.add(staff_id)

    def user_for(self, phone: str) -> User:
        number = digits(phone)
        for user in self.users.values():
            if user.phone == number:
                return user
        user = User(self._next_user_id, number, secrets.token_hex(16))
        self._next_user_id += 1
        self.users[user.token] = user
        return user

    def code_matches(self, phone: str, code: object, company_ids: Iterable[int]) -> bool:
        if code is None or isinstance(code, bool):
            return False
        given = str(code).strip()
        now = self.now()
        for company_id in company_ids:
            sent = self.codes.get((company_id, digits(phone)))
            if sent is not None and sent.expires_at > now and sent.code == given:
                return True
        return False

    # -- availability ------------------------------------------------------------------------

    def performs(self, member: StaffMember) -> frozenset[int]:
        """What the member may be booked for now: withdrawn services are nobody's."""
        return member.service_ids - self.withdrawn

    def present(self, salon: Salon) -> list[StaffMember]:
        return [m for m in salon.staff if m.id not in self.removed]

    def eligible(self, salon: Salon, service_ids: Sequence[int]) -> list[StaffMember]:
        """Team members who perform every one of the chosen services (and something at all)."""
        return [
            m
            for m in self.present(salon)
            if (performs := self.performs(m)) and all(s in performs for s in service_ids)
        ]

    def length(self, salon: Salon, member: StaffMember, service_ids: Sequence[int]) -> int:
        services = {s.id: s for s in salon.services}
        if not service_ids:
            # Nothing chosen yet: the member's shortest service decides whether they are free.
            return min(services[s].length_for(member.id) for s in self.performs(member))
        return sum(services[s].length_for(member.id) for s in service_ids)

    def shifts(
        self, salon: Salon, member: StaffMember, day: date
    ) -> list[tuple[datetime, datetime]]:
        tz = self.tz(salon)
        hours = member.schedule.get(day.weekday(), ())
        return [(instant_at(day, start, tz), instant_at(day, end, tz)) for start, end in hours]

    def busy(self, staff_id: int, ignore: int | None = None) -> Busy:
        return [
            (r.start, r.end)
            for r in self.records.values()
            if r.staff_id == staff_id and not r.deleted and r.record_id != ignore
        ]

    def free_slots(
        self, salon: Salon, member: StaffMember, day: date, length: int
    ) -> list[datetime]:
        """Grid starts on `day` where the whole visit fits a shift and overlaps no booking."""
        tz = self.tz(salon)
        earliest = self.now() + NEAREST_DELAY
        busy = self.busy(member.id)
        duration = timedelta(seconds=length)
        slots = []
        for start, end in member.schedule.get(day.weekday(), ()):
            # Step in wall time so the grid stays on the quarter-hour across DST changes.
            wall = datetime.combine(day, start)
            shift_end = instant_at(day, end, tz)
            while True:
                slot = wall.replace(tzinfo=tz).astimezone(UTC)
                if slot + duration > shift_end:
                    break
                if slot >= earliest and not any(
                    b_start < slot + duration and slot < b_end for b_start, b_end in busy
                ):
                    slots.append(slot)
                wall += SLOT_STEP
        return slots

    def day_slots(
        self, salon: Salon, members: Iterable[StaffMember], service_ids: Sequence[int], day: date
    ) -> list[tuple[datetime, int]]:
        """Free starts on `day` over several members, one per instant, earliest first."""
        found: dict[datetime, int] = {}
        for member in members:
            length = self.length(salon, member, service_ids)
            for slot in self.free_slots(salon, member, day, length):
                found.setdefault(slot, length)
        return sorted(found.items())

    def first_free_day(
        self, salon: Salon, member: StaffMember, service_ids: Sequence[int], since: date
    ) -> date | None:
        for offset in range(HORIZON_DAYS):
            day = since + timedelta(days=offset)
            if self.day_slots(salon, [member], service_ids, day):
                return day
        return None

    def free_at(
        self, salon: Salon, member: StaffMember, service_ids: Sequence[int], instant: datetime
    ) -> bool:
        day = instant.astimezone(self.tz(salon)).date()
        length = self.length(salon, member, service_ids)
        return instant in self.free_slots(salon, member, day, length)

    def fits(
        self,
        member: StaffMember,
        salon: Salon,
        start: datetime,
        length: int,
        ignore: int | None = None,
    ) -> bool:
        """Whether a booking may start exactly here (off the grid too, as the API allows)."""
        if start <= self.now():
            return False
        end = start + timedelta(seconds=length)
        day = start.astimezone(self.tz(salon)).date()
        if not any(a <= start and end <= b for a, b in self.shifts(salon, member, day)):
            return False
        return not any(
            b_start < end and start < b_end for b_start, b_end in self.busy(member.id, ignore)
        )

    def today(self, salon: Salon) -> date:
        return self.now().astimezone(self.tz(salon)).date()

    # -- seed ------------------------------------------------------------------------------

    def _seed(self) -> None:
        now = self.now()
        for seed in SEED_APPOINTMENTS:
            salon = self.salons[seed.company_id]
            tz = self.tz(salon)
            member = next(m for m in salon.staff if m.id == seed.staff_id)
            day = now.astimezone(tz).date()
            remaining = seed.working_day
            while day.weekday() not in member.schedule or remaining:
                if day.weekday() in member.schedule:
                    remaining -= 1
                day += timedelta(days=1)
            created = now - timedelta(days=3 + seed.working_day)
            record = Record(
                record_id=self.new_record_id(),
                company_id=seed.company_id,
                staff_id=seed.staff_id,
                service_ids=list(seed.service_ids),
                start=instant_at(day, seed.at, tz),
                length=self.length(salon, member, seed.service_ids),
                phone=seed.phone,
                fullname=seed.fullname,
                email="",
                comment=seed.comment,
                master_requested=True,
                hash=secrets.token_hex(16),
                api_id="",
                notify_by_sms=2,
                notify_by_email=0,
                create_date=created,
                last_change_date=created,
            )
            self.records[record.record_id] = record


def _checked_value(name: str, value: object) -> object:
    """`value` if it suits the location field `name` (as JSON would carry it)."""
    kinds = get_args(_LOCATION_TYPES[name]) or (_LOCATION_TYPES[name],)
    for kind in kinds:
        if kind is type(None) and value is None:
            return value
        if kind is bool and isinstance(value, bool):
            return value
        if kind is str and isinstance(value, str):
            if name in _CHOICES and value not in _CHOICES[name]:
                raise ValueError(f"{name} must be one of {', '.join(_CHOICES[name])}")
            return value
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise ValueError(f"{name} cannot be negative")
            return value
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    raise TypeError(f"{name} cannot be {value!r}")

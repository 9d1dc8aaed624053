"""Group events ("activities"): the classes on in a date range, the days that have any, the range
of days a location has events on, the facets to filter them by, and seats booked in one.

A location's range (`search_dates_range`) is kept ten minutes: it decides, for one request
that often, whether the location has classes at all. Lists are kept a minute; an event about to
be booked is read afresh. Filters are sent in the current form (`service_ids[]`, `staff_ids[]`)
and applied again to what comes back, as an older server takes only `service_id`/`staff_id`.
A seat booking is a write like `book_record`: sent once, its lost answer `OutcomeUnknown`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.altegio import errors
from bot.altegio.booking_calls import BOOKING_TIMEOUT
from bot.altegio.location_calls import LocationCalls
from bot.altegio.models.activities import (
    Activity,
    activities_from_wire,
    date_range,
    event_days,
    facets,
)
from bot.altegio.models.lenient import Json
from bot.altegio.models.visits import CreatedRecord, created_records
from bot.altegio.transport import Retry

RANGE_TTL = 600.0
LIST_TTL = 60.0
PAGE = 100
MAX_PAGES = 5


@dataclass(frozen=True, slots=True)
class SeatBooking:
    """`POST activity/{location}/{event}/book`: who, and how many seats."""

    phone: str
    fullname: str
    seats: int = 1
    email: str = ""
    comment: str = ""
    code: str | None = None
    api_id: str = ""
    notify_by_sms: int | None = None
    notify_by_email: int | None = None

    def as_wire(self) -> dict[str, Json]:
        body: dict[str, Json] = {
            "fullname": self.fullname,
            "phone": self.phone,
            "email": self.email,
            "comment": self.comment,
            "type": "mobile",
            "api_id": self.api_id,
            "clients_count": self.seats,
        }
        if self.code:
            body["code"] = self.code
        if self.notify_by_sms is not None:
            body["notify_by_sms"] = self.notify_by_sms
        if self.notify_by_email is not None:
            body["notify_by_email"] = self.notify_by_email
        return body


def _filters(service_id: int, staff_id: int) -> list[tuple[str, str]]:
    params = []
    if service_id:
        params.append(("service_ids[]", str(service_id)))
    if staff_id:
        params.append(("staff_ids[]", str(staff_id)))
    return params


class ActivityCalls(LocationCalls):
    """`activity/{location}/search`, `search_dates`, `search_dates_range`, `filters`, `book`."""

    async def event_range(self) -> tuple[date | None, date | None]:
        """The first and last day the location has events on (None, None: it has none)."""

        async def load() -> tuple[date | None, date | None]:
            try:
                data = await self._request(
                    "GET", f"activity/{self.company_id}/search_dates_range", route="activity.range"
                )
            except (errors.AuthError, errors.NotFound, errors.Rejected):
                # Events this partner may not read, or a server without them: none, for the
                # same ten minutes, so the start menu does not ask again on every /start.
                return None, None
            return date_range(data)

        return await self._cache.get("act:range", RANGE_TTL, load, stale_if_error=True)

    async def activities(
        self,
        first: date,
        last: date,
        service_id: int = 0,
        staff_id: int = 0,
        *,
        fresh: bool = False,
    ) -> list[Activity]:
        """The events from `first` to `last` (local days, both included), earliest first."""
        key = f"act:list:{first}:{last}:{service_id}:{staff_id}"

        async def load() -> list[Activity]:
            tz = await self.zone()
            found: list[Activity] = []
            for page in range(1, MAX_PAGES + 1):
                params = [
                    ("from", first.isoformat()),
                    ("till", last.isoformat()),
                    *_filters(service_id, staff_id),
                    ("page", str(page)),
                    ("count", str(PAGE)),
                ]
                data = await self._request(
                    "GET", f"activity/{self.company_id}/search", params=params, route="activity"
                )
                chunk = activities_from_wire(data, tz)
                found += chunk
                if len(chunk) < PAGE:
                    break
            unique = {a.id: a for a in found}.values()
            return sorted(
                (
                    a
                    for a in unique
                    if (not service_id or a.service_id == service_id)
                    and (not staff_id or a.staff_id == staff_id)
                    and first <= a.start.date() <= last
                ),
                key=lambda a: (a.start, a.id),
            )

        if fresh:
            self._cache.drop(key)
        return await self._cache.get(key, LIST_TTL, load)

    async def activity(self, event_id: int, day: date) -> Activity | None:
        """One event as it stands now (its seats), read afresh from its day's list."""
        found = await self.activities(day, day, fresh=True)
        return next((a for a in found if a.id == event_id), None)

    async def event_dates(
        self, first: date, last: date, service_id: int = 0, staff_id: int = 0
    ) -> list[date]:
        """The days from `first` to `last` that have events (matching the filters)."""
        key = f"act:dates:{first}:{last}:{service_id}:{staff_id}"

        async def load() -> list[date]:
            params = [("from", first.isoformat()), ("till", last.isoformat())]
            data = await self._request(
                "GET",
                f"activity/{self.company_id}/search_dates",
                params=[*params, *_filters(service_id, staff_id)],
                route="activity.dates",
            )
            return [d for d in event_days(data, first.year) if first <= d <= last]

        return await self._cache.get(key, LIST_TTL, load)

    async def class_facets(self) -> dict[str, list[tuple[int, str]]]:
        """The classes (`service`) and instructors (`staff`) the location's events have."""

        async def load() -> dict[str, list[tuple[int, str]]]:
            data = await self._request(
                "GET", f"activity/{self.company_id}/filters", route="activity.filters"
            )
            return facets(data)

        return await self._cache.get("act:facets", self._catalogue_ttl, load)

    async def book_activity(self, event_id: int, booking: SeatBooking) -> CreatedRecord:
        """Book seats; the record it made (`id` and `hash`). Never repeated once sent."""
        try:
            data = await self._request(
                "POST",
                f"activity/{self.company_id}/{event_id}/book",
                body=booking.as_wire(),
                retry=Retry.WRITE,
                route="activity.book",
                wait=BOOKING_TIMEOUT,
            )
        except errors.UnexpectedResponse as exc:
            raise errors.OutcomeUnknown(
                "activity book: an unreadable success", answered=True
            ) from exc
        finally:
            self._cache.drop("act:list:")
        try:
            return created_records([data] if isinstance(data, dict) else data)[0]
        except errors.UnexpectedResponse as exc:
            raise errors.OutcomeUnknown(
                "activity book: no record in the answer", answered=True
            ) from exc

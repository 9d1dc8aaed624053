"""Booking calls: texting a confirmation code, checking and making a booking, moving an
appointment. Each write is sent once: an answer lost on the way raises `OutcomeUnknown`, and
what became of the write is found out from the records, never by sending it again."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from bot.altegio import errors
from bot.altegio.catalogue_calls import forget_times, kept_length, took
from bot.altegio.location_calls import LocationCalls
from bot.altegio.models.lenient import Json
from bot.altegio.models.visits import CreatedRecord, Record, created_records, records_from_wire
from bot.altegio.shared_times import SharedTimes, start_of
from bot.altegio.transport import Retry

# The client's parts log under the one name the client always had, so log lines read as before.
log = logging.getLogger("bot.altegio.client")

# A booking is waited for much longer than a read: an answer given up on leaves its outcome to be
# found out, while Altegio taking half a minute to book is only slow.
BOOKING_TIMEOUT = httpx.Timeout(45.0, connect=5.0)


@dataclass(frozen=True, slots=True)
class Appointment:
    """One appointment of a booking request; `id` is ours, echoed back in Altegio's answer."""

    id: int
    service_ids: tuple[int, ...]
    staff_id: int  # 0 = any team member
    datetime: str  # exactly as `book_times` returned it
    # How long the free time lasts, in seconds, where known (never sent): what a booking takes
    # out of the free times kept.
    length: int | None = None
    # With anyone, who the time was free with, where read member by member (never sent): the
    # one Altegio gives it to is among them.
    members: frozenset[int] | None = None

    def as_wire(self) -> dict[str, Json]:
        return {
            "id": self.id,
            "services": list(self.service_ids),
            "staff_id": self.staff_id,
            "datetime": self.datetime,
        }


@dataclass(frozen=True, slots=True)
class NewBooking:
    phone: str
    fullname: str
    appointments: tuple[Appointment, ...]
    email: str = ""
    comment: str = ""
    code: str | None = None
    api_id: str = ""
    # Hours before the visit for Altegio's own SMS and e-mail reminders; None leaves them as the
    # salon set them up in Altegio (a 0 would switch them off for this booking).
    notify_by_sms: int | None = None
    notify_by_email: int | None = None
    extra: dict[str, Json] = field(default_factory=dict)

    def as_wire(self) -> dict[str, Json]:
        body: dict[str, Json] = {
            "phone": self.phone,
            "fullname": self.fullname,
            "email": self.email,
            "comment": self.comment,
            "type": "mobile",
            "api_id": self.api_id,
            "appointments": [a.as_wire() for a in self.appointments],
        }
        if self.notify_by_sms is not None:
            body["notify_by_sms"] = self.notify_by_sms
        if self.notify_by_email is not None:
            body["notify_by_email"] = self.notify_by_email
        if self.code:
            body["code"] = self.code
        body.update(self.extra)
        return body


class BookingCalls(LocationCalls):
    """`book_code`, `book_check`, `book_record` (to book) and `PUT book_record` (to move)."""

    shared_times: SharedTimes  # set up by `AltegioClient.__init__`

    async def send_code(self, phone: str, fullname: str) -> None:
        """Ask Altegio to text a confirmation code to `phone`."""
        try:
            await self._request(
                "POST",
                f"book_code/{self.company_id}",
                body={"phone": phone, "fullname": fullname},
                retry=Retry.WRITE,
                route="book_code",
            )
        except errors.UnexpectedResponse:
            # A success whose body cannot be read: the code is on its way all the same, and
            # asking again would pay for a second text message.
            log.warning("altegio book_code: an unreadable success, taken as sent")

    async def check(self, appointments: Sequence[Appointment]) -> None:
        """Dry run: raises `Rejected` (`SlotTaken`, `NoStaffAvailable`, ...) when it would fail."""
        try:
            await self._request(
                "POST",
                f"book_check/{self.company_id}",
                body={"appointments": [a.as_wire() for a in appointments]},
                route="book_check",
            )
        except (errors.SlotTaken, errors.NoStaffAvailable):
            self._refused(appointments)
            raise

    async def book(
        self, booking: NewBooking, seen_at: datetime | None = None
    ) -> list[CreatedRecord]:
        """Create the appointments. Never repeated once sent: see `OutcomeUnknown`.

        `seen_at`: when the client was shown the time. A time the bot's own bookings since
        have surely filled (`own_bookings.py`) is refused as `KnownTaken` without a request,
        both before the call waits its turn and once its turn has come."""

        def known_taken() -> None:
            if seen_at is not None and self._known_taken(booking.appointments, seen_at):
                self.shared_times.known()
                raise errors.KnownTaken("book_record: filled by the bot's own bookings")

        known_taken()
        try:
            data = await self._request(
                "POST",
                f"book_record/{self.company_id}",
                body=booking.as_wire(),
                retry=Retry.WRITE,
                route="book_record",
                wait=BOOKING_TIMEOUT,
                before_send=known_taken,
            )
        except errors.KnownTaken:
            raise
        except (errors.SlotTaken, errors.NoStaffAvailable):
            self._refused(booking.appointments)
            raise
        except errors.UnexpectedResponse as exc:
            # A success status with a body nobody can read (an HTML page, cut-off JSON): Altegio
            # most likely booked, but which record it made is unknown.
            raise errors.OutcomeUnknown(
                "book_record: an unreadable success", answered=True
            ) from exc
        # Cached days and team members stay: they may go stale for a minute, but free times are
        # read fresh (or shared for seconds in a rush) and book_record refuses a taken time, so
        # the rate limit is not spent reloading them after each booking. The booking is noted
        # (`own_bookings.py`), and the times kept that it may have filled go without a read:
        # those shared in a rush and those kept for the earliest offer.
        for appointment in booking.appointments:
            length = appointment.length or kept_length(
                self._cache, appointment.staff_id, appointment.datetime, appointment.service_ids
            )
            made = self.shared_times.took(
                appointment.staff_id,
                appointment.datetime,
                length,
                appointment.service_ids,
                members=appointment.members,
            )
            took(self._cache, appointment.staff_id, made, self.shared_times)
        try:
            return created_records(data)
        except errors.UnexpectedResponse as exc:
            # Altegio said yes but named no record: the booking probably exists.
            raise errors.OutcomeUnknown(
                "book_record: success without a record", answered=True
            ) from exc

    def _known_taken(self, appointments: Sequence[Appointment], seen_at: datetime) -> bool:
        """Whether one of the appointments' times is surely filled by bookings the bot made
        after `seen_at`."""
        for appointment in appointments:
            start = start_of(appointment.datetime)
            if start is None or not appointment.length:
                continue
            whose = self.shared_times.whose(
                appointment.staff_id, appointment.service_ids, start.date(), appointment.members
            )
            end = start + timedelta(seconds=appointment.length)
            if whose and self.shared_times.own.taken(whose, start, end, since=seen_at):
                return True
        return False

    def _refused(self, appointments: Sequence[Appointment]) -> None:
        """Altegio found a time taken: the times kept of those team members are read afresh
        (the team, and everyone else's times, stay as they are)."""
        for appointment in appointments:
            start = start_of(appointment.datetime)
            forget_times(
                self._cache,
                appointment.staff_id,
                self.shared_times.concerned(
                    appointment.staff_id,
                    appointment.service_ids,
                    start.date() if start is not None else None,
                    appointment.members,
                ),
            )
        self.shared_times.refused(
            (a.staff_id, a.datetime, a.service_ids, a.members) for a in appointments
        )

    async def reschedule(
        self, record_id: int, new_datetime: str, user_token: str | None = None
    ) -> Record | None:
        """Move an appointment to `new_datetime` (Altegio's own `book_times` value).

        Altegio documents a user token for this call (one source says the partner token is
        enough); without one it answers 401/403, raised as `AuthError`. A success whose body
        names no record (empty, `data: null`, just an id, unreadable) returns None: the move
        was accepted, and the record itself tells where it now stands.
        """
        company = await self.company()
        try:
            data = await self._request(
                "PUT",
                f"book_record/{self.company_id}/{record_id}",
                body={"datetime": new_datetime},
                retry=Retry.WRITE,
                user_token=user_token,
                route="book_record.put",
            )
        except errors.UnexpectedResponse:
            data = None
        finally:
            self._cache.drop("avail:")
            self.shared_times.forget()
        try:
            found = records_from_wire(data, company.tz) if data else []
        except errors.UnexpectedResponse:
            found = []
        if not found or found[0].id != record_id:
            return None
        self._learn(found)
        return found[0]

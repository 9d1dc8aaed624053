"""The Altegio online-booking client: one method per endpoint, one `_request` for the wire.

It knows nothing of Telegram. Reads are retried within bounds and cached where the data rarely
changes; writes are never repeated once they may have reached Altegio.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum

import httpx

from bot.altegio import errors
from bot.altegio.breaker import Breaker
from bot.altegio.cache import TtlCache
from bot.altegio.limiter import NORMAL, URGENT, RateLimiter, Sleep
from bot.altegio.models import (
    BookableDates,
    Catalogue,
    Company,
    CreatedRecord,
    Facts,
    Json,
    Record,
    Slot,
    Staff,
    as_int,
    created_records,
    error_codes,
    records_from_wire,
    unwrap,
)
from bot.altegio.models.policy_text import policy_text

log = logging.getLogger(__name__)

_SECRET_PATH = re.compile(r"(/(?:book_record/\d+|user/records)/\d+/)[^/?\s\"']+")


class _HideRecordHashes(logging.Filter):
    """httpx logs every URL at INFO; record URLs carry a hash that works like a password."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                _SECRET_PATH.sub(r"\1***", str(a)) if isinstance(a, httpx.URL | str) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        record.msg = _SECRET_PATH.sub(r"\1***", str(record.msg))
        return True


_HTTPX_FILTER = _HideRecordHashes()


DEFAULT_BASE_URL = "https://api.alteg.io/api"
# A booking is waited for much longer than a read: an answer given up on leaves its outcome to be
# found out, while Altegio taking half a minute to book is only slow.
BOOKING_TIMEOUT = httpx.Timeout(45.0, connect=5.0)
# The longest pause a 429's Retry-After is kept to (a longer one is taken as this).
MAX_PAUSE = 300.0
ACCEPT = "application/vnd.api.v2+json"


class Retry(Enum):
    READ = "read"  # safe to repeat: timeouts, refused connections, 429 and 5xx are retried
    WRITE = "write"  # repeated only when it certainly never left this process


@dataclass(frozen=True, slots=True)
class Appointment:
    """One appointment of a booking request; `id` is ours, echoed back in Altegio's answer."""

    id: int
    service_ids: tuple[int, ...]
    staff_id: int  # 0 = any team member
    datetime: str  # exactly as `book_times` returned it

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


def utc_now() -> datetime:
    return datetime.now(UTC)


class AltegioClient:
    """Typed access to one Altegio location through the public online-booking API."""

    def __init__(
        self,
        *,
        partner_token: str,
        company_id: int,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        limiter: RateLimiter | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = utc_now,
        jitter: Callable[[], float] = random.random,
        max_attempts: int = 3,
        retry_after_cap: float = 10.0,
        catalogue_ttl: float = 300.0,
        availability_ttl: float = 180.0,
        durations_ttl: float = 1800.0,
        withdrawn_ttl: float = 3600.0,
        facts: Facts | None = None,
        on_facts: Callable[[Facts], None] | None = None,
    ) -> None:
        self.company_id = company_id
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/v1/",
            transport=transport,
            timeout=timeout or httpx.Timeout(10.0, connect=5.0),
            headers={
                "Authorization": f"Bearer {partner_token}",
                "Accept": ACCEPT,
                "Content-Type": "application/json",
                "User-Agent": "altegio-telegram-bot",
            },
        )
        self._partner_token = partner_token
        httpx_log = logging.getLogger("httpx")
        if _HTTPX_FILTER not in httpx_log.filters:
            httpx_log.addFilter(_HTTPX_FILTER)
        self.limiter = limiter or RateLimiter(monotonic=monotonic, sleep=sleep)
        self._sleep = sleep
        self._monotonic = monotonic
        self._clock = clock
        self._jitter = jitter
        self._max_attempts = max(1, max_attempts)
        self._retry_after_cap = retry_after_cap
        self._cache = TtlCache(monotonic)
        self.breaker = Breaker(monotonic)
        self._catalogue_ttl = catalogue_ttl
        self._availability_ttl = availability_ttl
        self._durations_ttl = durations_ttl
        self._withdrawn_ttl = withdrawn_ttl
        # Services and team members Altegio refused or no longer knows, until when: not offered
        # again even while a list read before the refusal is still cached.
        self._withdrawn: dict[tuple[str, int], float] = {}
        self._staff_names: dict[int, str] = {}
        self._facts = facts or Facts()
        self._on_facts = on_facts
        self._quiet_until = 0.0
        self._merged: tuple[Company | None, Facts | None, Company | None] = (None, None, None)
        self.requests_sent = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- the location ------------------------------------------------------------------------

    async def company(self, *, fresh: bool = False) -> Company:
        """The location; `fresh` reads it again now (a salon may have changed a setting), yet
        falls back to the last copy when Altegio does not answer."""

        async def load() -> Company:
            data = await self._request("GET", f"company/{self.company_id}", route="company")
            return Company.from_wire(data)

        if fresh:
            self._cache.expire("company")
        company = await self._cache.get("company", self._catalogue_ttl, load, stale_if_error=True)
        # Read many times an update: the merged copy is kept until either side changes.
        read, facts, merged = self._merged
        if merged is None or read is not company or facts is not self._facts:
            merged = company.with_facts(self._facts)
            self._merged = (company, self._facts, merged)
        return merged

    def forget_company(self) -> None:
        """A setting turned out to differ from the copy held: read it again next time."""
        self._cache.expire("company")

    @property
    def facts(self) -> Facts:
        return self._facts

    def _learn(self, records: Sequence[Record]) -> None:
        """Keep what records tell about the location (phone, currency, rules): `GET company` is
        documented without them."""
        learned = self._facts
        for record in records:
            block_id = as_int(record.company.get("id"))
            if record.company and block_id in (None, self.company_id):
                learned = record.facts.over(learned)
        if learned != self._facts:
            self._facts = learned
            if self._on_facts is not None:
                self._on_facts(learned)

    async def privacy_policy(self) -> str | None:
        """The location's own privacy policy as plain text, or None when it has none.

        The answer's shape is undocumented: the text is looked for as the data itself or under
        a likely key; HTML is reduced to text. A location without one may also answer 404.
        """

        async def load() -> str | None:
            try:
                data = await self._request(
                    "GET", f"privacy_policy/{self.company_id}", route="privacy_policy"
                )
            except (
                errors.NotFound,
                errors.ForeignAnswer,
                errors.AuthError,
                errors.Rejected,
            ) as exc:
                # No such policy, or no such endpoint where this location is served, or no right
                # to read it: booking goes on as where no own policy is set.
                log.info("no privacy policy to show (%s)", type(exc).__name__)
                return None
            return policy_text(data)

        policy: str | None = await self._cache.get(
            "privacy_policy", self._catalogue_ttl, load, stale_if_error=True
        )
        return policy

    # --- the catalogue -----------------------------------------------------------------------

    async def catalogue(self, staff_id: int | None = None) -> Catalogue:
        params: list[tuple[str, str]] = []
        if staff_id:
            params.append(("staff_id", str(staff_id)))

        async def load() -> Catalogue:
            data = await self._request(
                "GET", f"book_services/{self.company_id}", params=params, route="book_services"
            )
            return Catalogue.from_wire(data)

        catalogue = await self._cache.get(
            f"services:{staff_id or 0}", self._catalogue_ttl, load, stale_if_error=True
        )
        gone = self._gone("service")
        if not gone:
            return catalogue
        return Catalogue(
            tuple(s for s in catalogue.services if s.id not in gone), catalogue.categories
        )

    async def durations(self) -> dict[int, tuple[int, int]]:
        """Each service's shortest and longest duration in seconds, over the team.

        `book_services` carries durations only when asked for one team member, so the team's
        own lists are read (in the background of a long cache, as durations rarely change).
        """

        async def load() -> dict[int, tuple[int, int]]:
            found: dict[int, list[int]] = {}
            for service in (await self.catalogue()).services:
                if service.duration:
                    found.setdefault(service.id, []).append(service.duration)
            data = await self._request("GET", f"book_staff/{self.company_id}", route="book_staff")
            members = Staff.list_from_wire(data)
            lists = await asyncio.gather(
                *(self.catalogue(m.id) for m in members), return_exceptions=True
            )
            for listed in lists:
                if isinstance(listed, Catalogue):
                    for service in listed.services:
                        if service.duration:
                            found.setdefault(service.id, []).append(service.duration)
            return {sid: (min(lengths), max(lengths)) for sid, lengths in found.items()}

        durations: dict[int, tuple[int, int]] = await self._cache.get(
            "durations", self._durations_ttl, load, stale_if_error=True, stale_while_loading=True
        )
        return durations

    # --- availability ------------------------------------------------------------------------

    async def staff(self, service_ids: Sequence[int]) -> list[Staff]:
        params = services_param(service_ids)

        async def load() -> list[Staff]:
            data = await self._request(
                "GET", f"book_staff/{self.company_id}", params=params, route="book_staff"
            )
            return Staff.list_from_wire(data)

        key = "avail:staff:" + ",".join(map(str, service_ids))
        members = await self._cache.get(key, self._availability_ttl, load)
        for member in members:
            self._staff_names[member.id] = member.name
        gone = self._gone("staff")
        return [m for m in members if m.id not in gone]

    async def dates(
        self, service_ids: Sequence[int], staff_id: int, date_from: date, date_to: date
    ) -> BookableDates:
        params = [
            *services_param(service_ids),
            ("staff_id", str(staff_id)),
            # `date` too, for servers that predate `date_from`/`date_to` (these override it).
            ("date", date_from.isoformat()),
            ("date_from", date_from.isoformat()),
            ("date_to", date_to.isoformat()),
        ]

        async def load() -> BookableDates:
            data = await self._staff_read(
                staff_id, "GET", f"book_dates/{self.company_id}", params, "book_dates"
            )
            return BookableDates.from_wire(data, span=(date_from, date_to))

        key = f"avail:dates:{staff_id}:{','.join(map(str, service_ids))}:{date_from}:{date_to}"
        return await self._cache.get(key, self._availability_ttl, load)

    async def times(self, staff_id: int, day: date, service_ids: Sequence[int]) -> list[Slot]:
        """Free times on `day`; always fresh, never cached."""
        company = await self.company()
        data = await self._staff_read(
            staff_id,
            "GET",
            f"book_times/{self.company_id}/{staff_id}/{day.isoformat()}",
            services_param(service_ids),
            "book_times",
        )
        return [s for s in Slot.list_from_wire(data, company.tz, day) if s.start.date() == day]

    async def _staff_read(
        self,
        staff_id: int,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]],
        route: str,
    ) -> Json:
        """A read about one team member: Altegio not finding them means they left the online
        booking (fired, hidden, no longer bookable), which the client is told as such."""
        try:
            return await self._request(method, path, params=params, route=route)
        except errors.NotFound as exc:
            if not staff_id or not exc.from_altegio:
                raise
            name = self._staff_names.get(staff_id, "")
            self.withdraw_staff(staff_id)
            raise errors.StaffGone(staff_id, name) from exc

    def withdraw_service(self, service_id: int) -> None:
        """Altegio refused the service (438): it is not offered again for a while, and the lists
        are read afresh."""
        self._withdrawn[("service", service_id)] = self._monotonic() + self._withdrawn_ttl
        self._cache.drop("services:")
        self._cache.drop("durations")
        self._cache.drop("avail:")

    def withdraw_staff(self, staff_id: int) -> None:
        """The team member no longer takes online bookings: not offered again for a while."""
        self._withdrawn[("staff", staff_id)] = self._monotonic() + self._withdrawn_ttl
        self._cache.drop("avail:")

    def _gone(self, kind: str) -> set[int]:
        now = self._monotonic()
        for key in [k for k, until in self._withdrawn.items() if until <= now]:
            del self._withdrawn[key]
        return {ident for (what, ident) in self._withdrawn if what == kind}

    def forget_availability(self) -> None:
        """Drop cached staff and days, e.g. after a slot turned out to be taken."""
        self._cache.drop("avail:")

    # --- booking -----------------------------------------------------------------------------

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
        await self._request(
            "POST",
            f"book_check/{self.company_id}",
            body={"appointments": [a.as_wire() for a in appointments]},
            route="book_check",
        )

    async def book(self, booking: NewBooking) -> list[CreatedRecord]:
        """Create the appointments. Never repeated once sent: see `OutcomeUnknown`."""
        try:
            data = await self._request(
                "POST",
                f"book_record/{self.company_id}",
                body=booking.as_wire(),
                retry=Retry.WRITE,
                route="book_record",
                wait=BOOKING_TIMEOUT,
            )
        except errors.UnexpectedResponse as exc:
            # A success status with a body nobody can read (an HTML page, cut-off JSON): Altegio
            # most likely booked, but which record it made is unknown.
            raise errors.OutcomeUnknown(
                "book_record: an unreadable success", answered=True
            ) from exc
        # Cached days and team members stay: they may go stale for a minute, but free times are
        # always read fresh and book_record refuses a taken time, so the rate limit is not spent
        # reloading them after each booking.
        try:
            return created_records(data)
        except errors.UnexpectedResponse as exc:
            # Altegio said yes but named no record: the booking probably exists.
            raise errors.OutcomeUnknown(
                "book_record: success without a record", answered=True
            ) from exc

    # --- records -----------------------------------------------------------------------------

    async def record(self, record_id: int, record_hash: str, *, urgent: bool = False) -> Record:
        """One appointment by its id and hash. `urgent`: part of a booking the client is
        waiting for, so it goes ahead of other reads."""
        company = await self.company()
        data = await self._request(
            "GET",
            f"book_record/{self.company_id}/{record_id}/{record_hash}",
            route="book_record.get",
            urgent=urgent,
        )
        found = records_from_wire(data, company.tz)
        if not found:
            raise errors.NotFound("record")
        self._learn(found)
        return found[0]

    async def user_records(
        self, record_id: int, record_hash: str, user_token: str | None = None
    ) -> list[Record]:
        """`GET user/records/{id}/{hash}`: with a user token, every appointment of the client
        (Altegio's own list, the second source on a record); without one, the record the hash
        opens."""
        company = await self.company()
        data = await self._request(
            "GET",
            f"user/records/{record_id}/{record_hash}",
            user_token=user_token,
            route="user/records",
        )
        found = records_from_wire(data, company.tz) if data else []
        self._learn(found)
        return found

    async def cancel_record(
        self, record_id: int, record_hash: str, user_token: str | None = None
    ) -> None:
        """Cancel an appointment (`DELETE user/records/{id}/{hash}`)."""
        try:
            await self._request(
                "DELETE",
                f"user/records/{record_id}/{record_hash}",
                retry=Retry.WRITE,
                user_token=user_token,
                route="user/records.delete",
            )
        except errors.UnexpectedResponse as exc:
            # A success nobody can read: most likely cancelled; the record itself will tell.
            raise errors.OutcomeUnknown("cancel: an unreadable success", answered=True) from exc
        finally:
            self._cache.drop("avail:")

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
        try:
            found = records_from_wire(data, company.tz) if data else []
        except errors.UnexpectedResponse:
            found = []
        if not found or found[0].id != record_id:
            return None
        self._learn(found)
        return found[0]

    async def user_auth(self, phone: str, code: str) -> str:
        """Exchange a phone and its SMS code for a user token (`POST user/auth`)."""
        data = await self._request(
            "POST",
            "user/auth",
            body={"phone": phone, "code": code, "company_id": self.company_id},
            retry=Retry.WRITE,
            route="user/auth",
        )
        token = ""
        if isinstance(data, dict):
            token = str(data.get("user_token") or data.get("0") or "")
        if not token:
            raise errors.UnexpectedResponse("user/auth: no token in the answer")
        return token

    async def settle(self, seconds: float) -> None:
        """Wait (on the injected clock) for a write whose answer was lost to take effect."""
        await self._sleep(seconds)

    # --- the wire --------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        route: str,
        params: Sequence[tuple[str, str]] = (),
        body: Json = None,
        retry: Retry = Retry.READ,
        user_token: str | None = None,
        urgent: bool = False,
        wait: httpx.Timeout | None = None,
    ) -> Json:
        """One call through the circuit breaker; see `_send`."""
        self.breaker.check()
        quiet = self._quiet_until - self._monotonic()
        if quiet > 0:
            # Altegio asked for a longer pause than is worth waiting in line for: until it is
            # over, callers hear so at once rather than spending another request on a 429.
            raise errors.RateLimited("Altegio asked for a pause", quiet)
        try:
            data = await self._send(
                method,
                path,
                route=route,
                params=params,
                body=body,
                retry=retry,
                user_token=user_token,
                urgent=urgent,
                wait=wait,
            )
        except (errors.Unavailable, errors.RateLimited):
            self.breaker.failure()
            raise
        except errors.AltegioError:
            self.breaker.success()  # Altegio answered, even if it said no
            raise
        self.breaker.success()
        return data

    async def _send(
        self,
        method: str,
        path: str,
        *,
        route: str,
        params: Sequence[tuple[str, str]] = (),
        body: Json = None,
        retry: Retry = Retry.READ,
        user_token: str | None = None,
        urgent: bool = False,
        wait: httpx.Timeout | None = None,
    ) -> Json:
        """Send one call, retrying where safe, and return the unwrapped `data`.

        `route` names the endpoint in logs: paths can carry a record hash, which is a secret.
        """
        headers = {}
        if user_token:
            headers["Authorization"] = f"Bearer {self._partner_token}, User {user_token}"
        content = json.dumps(body).encode() if body is not None else None
        priority = URGENT if urgent or method != "GET" else NORMAL
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self._max_attempts
            try:
                async with self.limiter.slot(priority):
                    self.requests_sent += 1
                    started = time.perf_counter()
                    response = await self._http.request(
                        method,
                        path,
                        params=list(params),
                        content=content,
                        headers=headers,
                        timeout=wait or httpx.USE_CLIENT_DEFAULT,
                    )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing left this process: safe to try again even for a write.
                log.warning("altegio %s: cannot connect (%s)", route, type(exc).__name__)
                if last:
                    raise errors.Unavailable(f"{route}: cannot connect") from exc
                await self._backoff(attempt, None)
                continue
            except httpx.TransportError as exc:
                log.warning("altegio %s: %s after sending", route, type(exc).__name__)
                if retry is Retry.WRITE:
                    raise errors.OutcomeUnknown(f"{route}: no answer") from exc
                if last:
                    raise errors.Unavailable(f"{route}: no answer") from exc
                await self._backoff(attempt, None)
                continue
            status = response.status_code
            elapsed = (time.perf_counter() - started) * 1000
            log.debug("altegio %s %s -> %s in %.0f ms", method, route, status, elapsed)
            if status == 429 or status >= 500:
                if status >= 500 and retry is Retry.WRITE:
                    raise errors.OutcomeUnknown(f"{route}: HTTP {status}")
                retry_after = _retry_after(response, self._clock())
                if status == 429:
                    # Everyone waits, not only this call: the limit is the whole process's.
                    self.limiter.pause(min(retry_after or 1.0, self._retry_after_cap))
                if last or (retry_after is not None and retry_after > self._retry_after_cap):
                    if status == 429:
                        if retry_after is not None and retry_after > self._retry_after_cap:
                            pause = min(retry_after, MAX_PAUSE)
                            self._quiet_until = self._monotonic() + pause
                        raise errors.RateLimited(f"{route}: HTTP 429", retry_after)
                    raise errors.Unavailable(f"{route}: HTTP {status}")
                if status == 429 and retry is Retry.WRITE:
                    raise errors.RateLimited(f"{route}: HTTP 429", retry_after)
                log.warning("altegio %s: HTTP %s, attempt %s", route, status, attempt)
                await self._backoff(attempt, retry_after)
                continue
            return self._interpret(response, route, retry)

    def _interpret(self, response: httpx.Response, route: str, retry: Retry) -> Json:
        status = response.status_code
        body = _json_body(response)
        if 200 <= status < 300:
            if body is _INVALID:
                raise errors.UnexpectedResponse(f"{route}: body is not JSON")
            if isinstance(body, dict) and body.get("success") is False:
                codes, ids, message = error_codes(body)
                raise _rejection(message or f"{route}: refused", codes, ids)
            data, _meta = unwrap(body)
            return data
        if status == 404 and body is _INVALID:
            # An HTML page: a proxy or a gateway answered, not Altegio. Nothing is learned
            # about the record or the location, and a write may or may not have arrived.
            log.warning("altegio %s: HTTP 404 that is not Altegio's", route)
            if retry is Retry.WRITE:
                raise errors.OutcomeUnknown(f"{route}: HTTP 404 from something else")
            raise errors.ForeignAnswer(f"{route}: HTTP 404 from something else")
        codes, ids, message = error_codes(body if body is not _INVALID else None)
        log.info("altegio %s: HTTP %s codes=%s", route, status, list(codes))
        if 434 in codes:
            raise errors.Blacklisted(message, codes, ids)
        if status in (401, 403):
            raise errors.AuthError(f"{route}: HTTP {status}")
        if status == 404:
            raise errors.NotFound(f"{route}: not found", from_altegio=body is not None)
        raise _rejection(message or f"{route}: HTTP {status}", codes, ids, by_meaning=bool(message))

    async def _backoff(self, attempt: int, retry_after: float | None) -> None:
        if retry_after is not None:
            delay = min(retry_after, self._retry_after_cap)
        else:
            # Full jitter: 0.5 s, 1 s, 2 s ceilings, so many clients do not retry in step.
            delay = min(0.5 * 2 ** (attempt - 1), self._retry_after_cap) * (0.5 + self._jitter())
        await self._sleep(delay)


_INVALID = object()


def _json_body(response: httpx.Response) -> Json:
    if not response.content.strip():
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _INVALID


def _retry_after(response: httpx.Response, now: datetime) -> float | None:
    """`Retry-After` in seconds, given as seconds or as an HTTP date."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP dates are GMT
    return max(0.0, (when - now).total_seconds())


def _rejection(
    message: str, codes: tuple[int, ...], ids: tuple[int, ...], *, by_meaning: bool = True
) -> errors.Rejected:
    for code, kind in errors.CODE_ERRORS.items():
        if code in codes:
            return kind(message, codes, ids)
    if by_meaning and not codes:
        # Altegio's older refusals carry a sentence and no code.
        return errors.refusal_by_meaning(message)(message, codes, ids)
    return errors.Rejected(message, codes, ids)


def services_param(service_ids: Sequence[int]) -> list[tuple[str, str]]:
    return [("service_ids[]", str(i)) for i in service_ids]

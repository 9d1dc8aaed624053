"""The Altegio online-booking client: one method per endpoint, one `_request` for the wire.

It knows nothing of Telegram. Reads are retried within bounds and cached where the data rarely
changes; writes are never repeated once they may have reached Altegio.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, TypeVar

import httpx

from bot.altegio import errors
from bot.altegio.limiter import NORMAL, URGENT, RateLimiter, Sleep
from bot.altegio.models import (
    BookableDates,
    Catalogue,
    Company,
    CreatedRecord,
    Json,
    Record,
    Slot,
    Staff,
    created_records,
    error_codes,
    records_from_wire,
    services_param,
    unwrap,
)

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

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.alteg.io/api"
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
    notify_by_sms: int = 0
    extra: dict[str, Json] = field(default_factory=dict)

    def as_wire(self) -> dict[str, Json]:
        body: dict[str, Json] = {
            "phone": self.phone,
            "fullname": self.fullname,
            "email": self.email,
            "comment": self.comment,
            "type": "mobile",
            "notify_by_sms": self.notify_by_sms,
            "notify_by_email": 0,
            "api_id": self.api_id,
            "appointments": [a.as_wire() for a in self.appointments],
        }
        if self.code:
            body["code"] = self.code
        body.update(self.extra)
        return body


class _Cache:
    """A small TTL cache that also merges concurrent identical reads into one request."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._values: dict[str, tuple[float, Any]] = {}
        self._inflight: dict[str, asyncio.Future[Any]] = {}

    async def get(
        self,
        key: str,
        ttl: float,
        load: Callable[[], Awaitable[T]],
        *,
        stale_if_error: bool = False,
    ) -> T:
        """`stale_if_error`: when the load fails, an expired value is better than nothing (the
        salon's name and phone during an outage)."""
        now = self._monotonic()
        hit = self._values.get(key)
        if hit is not None and hit[0] > now:
            value: T = hit[1]
            return value
        task = self._inflight.get(key)
        if task is None:
            # The load runs in its own task that every caller shields, so one caller giving up
            # (a cancelled update) does not cancel the read for the others waiting on it.
            task = asyncio.ensure_future(self._load(key, ttl, load))
            self._inflight[key] = task
        try:
            result: T = await asyncio.shield(task)
        except errors.AltegioError:
            if stale_if_error and hit is not None:
                stale: T = hit[1]
                return stale
            raise
        return result

    async def _load(self, key: str, ttl: float, load: Callable[[], Awaitable[T]]) -> T:
        try:
            result = await load()
            if ttl > 0:
                self._values[key] = (self._monotonic() + ttl, result)
            return result
        finally:
            del self._inflight[key]

    def drop(self, prefix: str = "") -> None:
        for key in [k for k in self._values if k.startswith(prefix)]:
            del self._values[key]


class Breaker:
    """Stops calling Altegio while it keeps failing, and lets one call through now and then.

    After `threshold` calls in a row end in an outage (after their own retries), every call
    fails at once for `cooldown` seconds; then calls go through again, and the first failure
    opens it anew while the first success closes it.
    """

    def __init__(
        self, monotonic: Callable[[], float], threshold: int = 5, cooldown: float = 30.0
    ) -> None:
        self._monotonic = monotonic
        self._threshold = threshold
        self._cooldown = cooldown
        self._failures = 0
        self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return self._monotonic() < self._open_until

    def check(self) -> None:
        if self.is_open:
            raise errors.CircuitOpen("Altegio keeps failing; not calling it for a while")

    def success(self) -> None:
        self._failures = 0
        self._open_until = 0.0

    def failure(self) -> None:
        self._failures += 1
        if self._failures >= self._threshold:
            if not self.is_open:
                log.warning("Altegio keeps failing: pausing calls for %.0f s", self._cooldown)
            self._open_until = self._monotonic() + self._cooldown
            self._failures = self._threshold - 1  # after the pause, one failure reopens it


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
        jitter: Callable[[], float] = random.random,
        max_attempts: int = 3,
        retry_after_cap: float = 10.0,
        catalogue_ttl: float = 300.0,
        availability_ttl: float = 180.0,
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
        self._jitter = jitter
        self._max_attempts = max(1, max_attempts)
        self._retry_after_cap = retry_after_cap
        self._cache = _Cache(monotonic)
        self.breaker = Breaker(monotonic)
        self._catalogue_ttl = catalogue_ttl
        self._availability_ttl = availability_ttl
        self.requests_sent = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- endpoints -------------------------------------------------------------------------

    async def company(self) -> Company:
        async def load() -> Company:
            data = await self._request("GET", f"company/{self.company_id}", route="company")
            return Company.from_wire(data)

        return await self._cache.get("company", self._catalogue_ttl, load, stale_if_error=True)

    async def catalogue(self, staff_id: int | None = None) -> Catalogue:
        params: list[tuple[str, str]] = []
        if staff_id:
            params.append(("staff_id", str(staff_id)))

        async def load() -> Catalogue:
            data = await self._request(
                "GET", f"book_services/{self.company_id}", params=params, route="book_services"
            )
            return Catalogue.from_wire(data)

        return await self._cache.get(
            f"services:{staff_id or 0}", self._catalogue_ttl, load, stale_if_error=True
        )

    async def staff(self, service_ids: Sequence[int]) -> list[Staff]:
        params = services_param(service_ids)

        async def load() -> list[Staff]:
            data = await self._request(
                "GET", f"book_staff/{self.company_id}", params=params, route="book_staff"
            )
            return Staff.list_from_wire(data)

        key = "avail:staff:" + ",".join(map(str, service_ids))
        return await self._cache.get(key, self._availability_ttl, load)

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
            data = await self._request(
                "GET", f"book_dates/{self.company_id}", params=params, route="book_dates"
            )
            return BookableDates.from_wire(data, span=(date_from, date_to))

        key = f"avail:dates:{staff_id}:{','.join(map(str, service_ids))}:{date_from}:{date_to}"
        return await self._cache.get(key, self._availability_ttl, load)

    async def times(self, staff_id: int, day: date, service_ids: Sequence[int]) -> list[Slot]:
        """Free times on `day`; always fresh, never cached."""
        company = await self.company()
        data = await self._request(
            "GET",
            f"book_times/{self.company_id}/{staff_id}/{day.isoformat()}",
            params=services_param(service_ids),
            route="book_times",
        )
        return [s for s in Slot.list_from_wire(data, company.tz, day) if s.start.date() == day]

    async def send_code(self, phone: str, fullname: str) -> None:
        """Ask Altegio to text a confirmation code to `phone`."""
        await self._request(
            "POST",
            f"book_code/{self.company_id}",
            body={"phone": phone, "fullname": fullname},
            retry=Retry.WRITE,
            route="book_code",
        )

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
        data = await self._request(
            "POST",
            f"book_record/{self.company_id}",
            body=booking.as_wire(),
            retry=Retry.WRITE,
            route="book_record",
        )
        # Cached days and team members stay: they may go stale for a minute, but free times are
        # always read fresh and book_record refuses a taken time, so the rate limit is not spent
        # reloading them after each booking.
        try:
            return created_records(data)
        except errors.UnexpectedResponse as exc:
            # Altegio said yes but named no record: the booking probably exists.
            raise errors.OutcomeUnknown("book_record: success without a record") from exc

    async def record(self, record_id: int, record_hash: str) -> Record:
        company = await self.company()
        data = await self._request(
            "GET",
            f"book_record/{self.company_id}/{record_id}/{record_hash}",
            route="book_record.get",
        )
        found = records_from_wire(data, company.tz)
        if not found:
            raise errors.NotFound("record")
        return found[0]

    async def cancel_record(
        self, record_id: int, record_hash: str, user_token: str | None = None
    ) -> None:
        """Cancel an appointment (`DELETE user/records/{id}/{hash}`)."""
        await self._request(
            "DELETE",
            f"user/records/{record_id}/{record_hash}",
            retry=Retry.WRITE,
            user_token=user_token,
            route="user/records.delete",
        )
        self._cache.drop("avail:")

    async def reschedule(
        self, record_id: int, new_datetime: str, user_token: str | None = None
    ) -> Record:
        """Move an appointment to `new_datetime` (Altegio's own `book_times` value).

        Altegio documents a user token for this call (one source says the partner token is
        enough); without one it answers 401/403, raised as `AuthError`.
        """
        company = await self.company()
        data = await self._request(
            "PUT",
            f"book_record/{self.company_id}/{record_id}",
            body={"datetime": new_datetime},
            retry=Retry.WRITE,
            user_token=user_token,
            route="book_record.put",
        )
        self._cache.drop("avail:")
        found = records_from_wire(data, company.tz) if data else []
        if not found:
            raise errors.UnexpectedResponse("book_record.put: no record in the answer")
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

    def forget_availability(self) -> None:
        """Drop cached staff and days, e.g. after a slot turned out to be taken."""
        self._cache.drop("avail:")

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
    ) -> Json:
        """One call through the circuit breaker; see `_send`."""
        self.breaker.check()
        try:
            data = await self._send(
                method,
                path,
                route=route,
                params=params,
                body=body,
                retry=retry,
                user_token=user_token,
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
    ) -> Json:
        """Send one call, retrying where safe, and return the unwrapped `data`.

        `route` names the endpoint in logs: paths can carry a record hash, which is a secret.
        """
        headers = {}
        if user_token:
            headers["Authorization"] = f"Bearer {self._partner_token}, User {user_token}"
        content = json.dumps(body).encode() if body is not None else None
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self._max_attempts
            try:
                async with self.limiter.slot(NORMAL if method == "GET" else URGENT):
                    self.requests_sent += 1
                    started = time.perf_counter()
                    response = await self._http.request(
                        method, path, params=list(params), content=content, headers=headers
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
                retry_after = _retry_after(response)
                if status == 429:
                    # Everyone waits, not only this call: the limit is the whole process's.
                    self.limiter.pause(min(retry_after or 1.0, self._retry_after_cap))
                if last or (retry_after is not None and retry_after > self._retry_after_cap):
                    if status == 429:
                        raise errors.RateLimited(f"{route}: HTTP 429", retry_after)
                    raise errors.Unavailable(f"{route}: HTTP {status}")
                if status == 429 and retry is Retry.WRITE:
                    raise errors.RateLimited(f"{route}: HTTP 429", retry_after)
                log.warning("altegio %s: HTTP %s, attempt %s", route, status, attempt)
                await self._backoff(attempt, retry_after)
                continue
            return self._interpret(response, route)

    def _interpret(self, response: httpx.Response, route: str) -> Json:
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
        codes, ids, message = error_codes(body if body is not _INVALID else None)
        log.info("altegio %s: HTTP %s codes=%s", route, status, list(codes))
        if 434 in codes:
            raise errors.Blacklisted(message, codes, ids)
        if status in (401, 403):
            raise errors.AuthError(f"{route}: HTTP {status}")
        if status == 404:
            raise errors.NotFound(f"{route}: not found")
        raise _rejection(message or f"{route}: HTTP {status}", codes, ids)

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


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _rejection(message: str, codes: tuple[int, ...], ids: tuple[int, ...]) -> errors.Rejected:
    for code, kind in errors.CODE_ERRORS.items():
        if code in codes:
            return kind(message, codes, ids)
    return errors.Rejected(message, codes, ids)

"""The wire to Altegio: one `_request` that every endpoint call goes through.

A call waits its turn at the limiter (this process's own, or one shared through PostgreSQL)
and passes the circuit breaker; a read is retried on timeouts, refused connections, 429 and 5xx
with jittered back-off (or as long as a 429's Retry-After asks, within a cap), a write only when
it certainly never left this process.
The answer's envelope is unwrapped into its `data`, or mapped to an error named by outcome
(`bot/altegio/errors.py`); a write whose answer was lost raises `OutcomeUnknown`.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import Enum

import httpx

from bot.altegio import errors
from bot.altegio.breaker import Breaker
from bot.altegio.limiter import (
    BACKGROUND,
    NORMAL,
    URGENT,
    Limiter,
    NoSpareRoom,
    RateLimiter,
    Sleep,
    Unsent,
)
from bot.altegio.models.envelope import error_codes, unwrap
from bot.altegio.models.lenient import Json

# The client's parts log under the one name the client always had, so log lines read as before.
log = logging.getLogger("bot.altegio.client")

DEFAULT_BASE_URL = "https://api.alteg.io/api"
# The longest pause a 429's Retry-After is kept to (a longer one is taken as this).
MAX_PAUSE = 300.0
ACCEPT = "application/vnd.api.v2+json"


class Retry(Enum):
    READ = "read"  # safe to repeat: timeouts, refused connections, 429 and 5xx are retried
    WRITE = "write"  # repeated only when it certainly never left this process


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


class Transport:
    """The HTTP side of `AltegioClient`: one long-lived `httpx.AsyncClient` and `_request`."""

    def __init__(
        self,
        *,
        partner_token: str,
        company_id: int,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None,
        timeout: httpx.Timeout | None,
        limiter: Limiter | None,
        sleep: Sleep,
        monotonic: Callable[[], float],
        clock: Callable[[], datetime],
        jitter: Callable[[], float],
        max_attempts: int,
        retry_after_cap: float,
        breaker: Breaker | None = None,
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
        self.limiter: Limiter = limiter or RateLimiter(monotonic=monotonic, sleep=sleep)
        self._sleep = sleep
        self._monotonic = monotonic
        self._clock = clock
        self._jitter = jitter
        self._max_attempts = max(1, max_attempts)
        self._retry_after_cap = retry_after_cap
        # This process's own, or one its replicas share (`bot/shared_guards.py`).
        self.breaker = breaker or Breaker(monotonic)
        # Until when Altegio asked for a pause too long to wait in line for.
        self._quiet_until = 0.0
        self.requests_sent = 0
        # Told each call's route and outcome (the metrics).
        self.on_request: Callable[[str, str], None] | None = None

    async def aclose(self) -> None:
        await self._http.aclose()

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
        background: bool = False,
        before_send: Callable[[], None] | None = None,
    ) -> Json:
        """One call through the circuit breaker; see `_send`. Its outcome is counted under
        the route's name (never the path, which can carry ids and hashes)."""
        try:
            self.breaker.check()
            quiet = self._quiet_until - self._monotonic()
            if quiet > 0:
                # Altegio asked for a longer pause than is worth waiting in line for: until it
                # is over, callers hear so at once rather than spending another request on a 429.
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
                    background=background,
                    before_send=before_send,
                )
            except (errors.NoSpareRoom, errors.KnownTaken):
                raise  # nothing was sent: neither a failure nor a success
            except (errors.Unavailable, errors.RateLimited):
                self.breaker.failure()
                raise
            except errors.AltegioError:
                self.breaker.success()  # Altegio answered, even if it said no
                raise
        except (errors.NoSpareRoom, errors.KnownTaken):
            raise  # not sent, so not counted
        except errors.AltegioError as exc:
            self._count(route, _outcome(exc))
            raise
        self.breaker.success()
        self._count(route, "ok")
        return data

    def _count(self, route: str, outcome: str) -> None:
        if self.on_request is not None:
            self.on_request(route, outcome)

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
        background: bool = False,
        before_send: Callable[[], None] | None = None,
    ) -> Json:
        """Send one call, retrying where safe, and return the unwrapped `data`.

        `route` names the endpoint in logs: paths can carry a record hash, which is a secret.
        `before_send` is called once the call's turn has come, just before it leaves: what it
        raises is raised instead, the call unsent and its place given to the next.
        """
        headers = {}
        if user_token:
            headers["Authorization"] = f"Bearer {self._partner_token}, User {user_token}"
        content = json.dumps(body).encode() if body is not None else None
        priority = URGENT if urgent or method != "GET" else NORMAL
        if background:
            priority = BACKGROUND
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self._max_attempts
            try:
                async with self.limiter.slot(priority):
                    if before_send is not None:
                        try:
                            before_send()
                        except errors.AltegioError as exc:
                            raise Unsent(exc) from exc
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
            except NoSpareRoom:
                raise errors.NoSpareRoom(f"{route}: no spare room") from None
            except Unsent as exc:
                raise exc.instead from None
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


def _outcome(exc: errors.AltegioError) -> str:
    """A call's outcome in one fixed word, for the metrics."""
    if isinstance(exc, errors.CircuitOpen):
        return "breaker_open"
    if isinstance(exc, errors.RateLimited):
        return "rate_limited"
    if isinstance(exc, errors.OutcomeUnknown):
        return "unknown"
    if isinstance(exc, errors.Unavailable):
        return "unavailable"
    if isinstance(exc, errors.Rejected):
        return "refused"
    if isinstance(exc, errors.NotFound):
        return "not_found"
    return "error"


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

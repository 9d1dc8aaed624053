"""The sandbox location: an in-process demo salon that speaks Altegio's online-booking wire format.

It is a server, not a client: `Sandbox.handle` answers `httpx.Request`s, so the real Altegio client
runs against it unchanged through `Sandbox.transport()` or, over a socket, through
`server.make_server()`.

The sandbox reproduces, on purpose and always in the same places, the irregularities a client meets
on the real service, so the client's lenient parsing is exercised on every run:

* `book_staff`: every `id` is a string (`"2001"`); `rating` is a string for team members with an
  even id; `position` is an object for some members and `[]` for the others; `meta` is
  `{"count": N}`.
* `book_services`: `price_min`/`price_max` are strings for services whose id is divisible by 3;
  services and categories carry `gender`; categories come under the key `category` and have
  `api_id` as the string `"0"`; `seance_length` is present only when filtered by `staff_id`.
* `book_dates`: month keys are strings, day numbers are ints, and an empty month map is `[]`.
* `book_code` and `book_check`: `meta` is `{"message": "Created"}` (and `book_code` has no `data`).
* Offsets: `+02:00` (with a colon) in `book_times`, `book_staff_seances` and `company.next_slot`;
  `+0200` (no colon) in record `datetime`, `create_date` and `last_change_date`; record `date` is
  naive local `YYYY-MM-DD HH:MM:SS`. Datetimes are always ISO strings, never Unix integers.
* `GET book_record/{id}/{record_id}/{hash}` is a bare object; `POST user/auth` is enveloped and
  carries the token twice, once under the key `"0"`; `GET user/records` answers 201.
* Record `api_id` is always a string (`""` when none was given); `company.timezone` inside a record
  is a numeric-looking string (the current offset in hours).
* 429 carries no `Retry-After`, as nothing documents one.

Where the reference leaves behaviour open, the sandbox picks: a wrong record hash is a 404 (so ids
cannot be probed); rescheduling or cancelling inside the delay step is a 422 with `meta.message`
only; a repeated cancel is a 404; an appointment naming an unknown team member is a 433 and one
naming a member who does not perform the service is a 438; an SMS code stays valid for its five
minutes however often it is used; with a user token, `user/records` lists every record of that
phone at both locations, cancelled ones included.

On demand it also gives answers the real service can give but the default sandbox does not:

* `Sandbox.configure(company_id, **changes)` changes a location's settings while running. Besides
  the salon's own facts (a new `timezone_name` moves the whole location: schedules are wall-clock
  times in its zone, records keep their instants) these include `booking_email_required` and
  `booking_comment_required` (enforced by `book_record`), `privacy_policy`, the reminder presets
  `default_notify_by_sms`/`default_notify_by_email` (hours; a booking that omits
  `notify_by_sms`/`notify_by_email`, or sends null, gets them; the demo salons text a reminder
  24 hours ahead), and
  how the sandbox speaks, which is never itself on the wire:
  `company_shape` "full" (default: also phone, currency, the `allow_*` rules and the
  `booking_*` settings) or "documented" (exactly Altegio's "Get location" fields, none of those;
  `main_group` is `[]`,
  `groups` is `[]` with `show_groups=1`, `online_sales_form_url` only with `bookform_id`,
  `access` `{}` only with `my=1`); `timezone_form` "name" (default), "offset" (`timezone` as the
  current offset in hours as a string: "-5", "2", "5.5") or "offset_int" (the same as a number),
  for `GET company` only; `error_form` "codes" (default) or "message" (the older 422 form: a
  sentence in `meta.message`, no `errors`, no code; with several failing appointments only the
  first is told; the 434 blacklist stays a 403, with `meta.message` only); `error_language`
  "en" (default) or "ru" for the refusal sentences (dates spelled "27 November 2026" /
  "27 ноября 2026"). In English the "codes" form keeps its earlier wording.
* Group events at the yoga studio 1003 (`activity_endpoints`); the other locations have none.
* `GET privacy_policy/{id}`: `{"text": ...}` when the location has a policy, `data: null` when not
  (the body is undocumented; this is the sandbox's pick).
* `Sandbox.withdraw_service(id)`: nobody performs the service any more; naming it in `book_check`
  or `book_record` is a 438. `Sandbox.remove_staff(id)`: the member leaves the lists and the
  staff-0 unions; naming them in `book_check`/`book_record`, or rescheduling their record, is a
  433. Existing records keep showing both; a record of a withdrawn service can still be moved.
* `Sandbox.fault(method, route, ...)`: canned answers (any status, raw or JSON body, headers) for
  the next matching requests, optionally after handling the request for real (`carry_out`), so an
  answer can be lost after its write happened. `clear_faults()` removes them.

More picks where the reference is silent: a required email that is missing or malformed, or a
required comment that is empty, is a 422 with `meta.message` only (no code is documented), in
both error forms, checked after the name and before the SMS code; a removed team member's
`book_times`, `book_staff_seances` and `book_dates?staff_id=` are a 404 with `meta: []`;
`user/auth` refusals speak in the form of the location named by `company_id`, else of the
default location. The rate limiter comes first, then a fault (before the token is checked),
then the endpoint: a 429 wins over a fault, a fault over a 401, and a limited request does not
use a fault up.

A client's whole account (`client_accounts`): `Sandbox.salon_book` enters a record the salon
made (by phone or on its web page) for a phone, listed by `user/records` with that client's
token beside their online bookings (`online` false for one made by phone); `mark_attendance`
sets a visit's attendance; `revoke_user_token` makes Altegio refuse a token (401 by default,
403 on demand) while a new `user/auth` gives a new one; `attendance_key` names attendance
`attendance` (default), `visit_attendance` or both in `user/records`; `user_auth_form("bare")`
gives `user/auth`'s documented bare `{"user_token"}` instead of the captured envelope;
`listing_form` routes the token's whole list at `user/records/{id}/{hash}` only ("ids") or at the
bare `user/records` only ("bare"), the paths the reference leaves open. Webhooks and
`hooks_settings` are `hooks` (`Sandbox.hooks`).

The test-only views and switches under `/__sandbox/` are described in `server`.

`Sandbox` is the front: the lock, the rate limiter, faults and the routes. The salon's state
and slot arithmetic are `salon.SalonState`; the endpoints are `catalogue_endpoints`,
`booking_endpoints` and `record_endpoints`, in the wire format of `wire`; the demo data is `seed`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import EllipsisType
from typing import Any

import httpx

from standins.altegio.activity_endpoints import route as activity_route
from standins.altegio.booking_endpoints import book_check, book_code, book_record
from standins.altegio.catalogue_endpoints import (
    book_dates,
    book_services,
    book_staff,
    book_staff_seances,
    book_times,
    get_company,
)
from standins.altegio.chain_endpoints import companies
from standins.altegio.client_accounts import (
    mark_attendance,
    revoke_user_token,
    salon_book,
    set_attendance_key,
    set_listing_form,
    set_user_auth_form,
)
from standins.altegio.faults import CLIENT_IP_EXTENSION, FaultBook, RateLimiter, make_fault
from standins.altegio.hooks import Hooks, api_events, hooks_settings, notify
from standins.altegio.record_endpoints import (
    delete_record,
    record_by_hash,
    record_view,
    reschedule,
    user_auth,
    user_records,
)
from standins.altegio.salon import SalonState
from standins.altegio.server import answer_hook
from standins.altegio.wire import Abort, authenticate, fail, json_body, not_found, ok, salon_at

SANDBOX_PARTNER_TOKEN = "sandbox-partner-token"


class Sandbox:
    """The demo salon's state and its Altegio endpoints."""

    def __init__(
        self,
        clock: Callable[[], datetime] | None = None,
        *,
        enforce_rate_limit: bool = False,
        on_sms: Callable[[int, str, str], None] | None = None,
    ) -> None:
        self._on_sms = on_sms
        self._limiter = RateLimiter() if enforce_rate_limit else None
        self._lock = threading.Lock()
        self._faults = FaultBook()
        self._state = SalonState(clock or (lambda: datetime.now(UTC)))
        self.hooks = Hooks(self._lock)

    # -- inspection and salon-side actions --------------------------------------------------

    def records(self, company_id: int | None = None) -> list[dict[str, Any]]:
        """Copies of the stored records, datetimes in the location's timezone."""
        with self._lock:
            return self._state.rows(company_id)

    def last_sms_code(self, company_id: int, phone: str) -> str | None:
        with self._lock:
            return self._state.last_sms_code(company_id, phone)

    def salon_cancel(self, record_id: int) -> None:
        """As if the salon deleted the appointment in its back office."""
        with self._lock:
            self._state.salon_cancel(record_id)
            self._emit(record_id, "delete")
        notify(self.hooks, self._lock)

    def salon_book(
        self,
        company_id: int,
        phone: str,
        service_id: int,
        staff_id: int,
        start: datetime,
        **extra: Any,
    ) -> int:
        """As if the salon entered an appointment booked by phone or on its web page: keywords
        `name`, `source` ("phone" or "web"), `attendance`, `comment` (`client_accounts`). A
        start in the past is a past visit. Returns the record id."""
        with self._lock:
            state = self._state
            record = salon_book(
                state, company_id, phone, service_id, staff_id, start=start, **extra
            )
            self._emit(record.record_id, "create")
        notify(self.hooks, self._lock)
        return record.record_id

    def mark_attendance(self, record_id: int, attendance: int) -> None:
        """As if the salon marked the visit: 2 confirmed, 1 came, 0 waiting, -1 no-show."""
        with self._lock:
            mark_attendance(self._state, record_id, attendance)
            self._emit(record_id, "update")
        notify(self.hooks, self._lock)

    def revoke_user_token(self, token: str, status: int = 401) -> None:
        """Altegio stops accepting the user token, answering `status` (401 or 403)."""
        with self._lock:
            revoke_user_token(self._state, token, status)

    def attendance_key(self, key: str) -> None:
        """How `user/records` names attendance: "attendance", "visit_attendance" or "both"."""
        with self._lock:
            set_attendance_key(self._state, key)

    def user_auth_form(self, form: str) -> None:
        """`user/auth` enveloped as captured (default) or bare `{"user_token"}` as documented."""
        with self._lock:
            set_user_auth_form(self._state, form)

    def listing_form(self, form: str) -> None:
        """How `user/records` lists a client's records: "any" (default), "ids" or "bare"."""
        with self._lock:
            set_listing_form(self._state, form)

    def add_admin_token(self, token: str) -> None:
        """A user token with the location's settings rights, as `hooks_settings` needs."""
        with self._lock:
            self.hooks.admin_tokens.add(token)

    def _emit(self, record_id: int, status: str, *, self_sent: bool = False) -> None:
        record = self._state.records.get(record_id)
        if record is not None:
            self.hooks.emit(self._state, record, status, self_sent=self_sent)

    def salon_move(self, record_id: int, new_start: datetime, staff_id: int = 0) -> None:
        """As if the salon moved the appointment (to team member `staff_id` too, when given);
        the salon may override its own schedule."""
        if new_start.tzinfo is None:
            raise ValueError("new_start must be timezone-aware")
        with self._lock:
            self._state.salon_move(record_id, new_start, staff_id)
            self._emit(record_id, "update")
        notify(self.hooks, self._lock)

    def add_user_token(self, phone: str, token: str | None = None) -> str:
        """Log a client in without an SMS round trip; returns the user token."""
        with self._lock:
            return self._state.add_user_token(phone, token)

    def blacklist(self, phone: str) -> None:
        with self._lock:
            self._state.blacklist(phone)

    def configure(self, company_id: int, **changes: Any) -> None:
        """Change the location's settings while running, as its owner would in Altegio.

        Unknown fields are a TypeError, values of the wrong type a TypeError, unknown choices
        (and a changed `id` or an unknown `timezone_name`) a ValueError; nothing changes then.
        """
        with self._lock:
            self._state.configure(company_id, changes)

    def withdraw_service(self, service_id: int) -> None:
        """As if the salon took the service off online booking; its records keep it."""
        with self._lock:
            self._state.withdraw_service(service_id)

    def remove_staff(self, staff_id: int) -> None:
        """As if the team member left the salon; their records keep them."""
        with self._lock:
            self._state.remove_staff(staff_id)

    def fault(
        self,
        method: str,
        route: str,
        *,
        status: int = 500,
        body: bytes | str | dict[str, Any] | list[Any] | EllipsisType | None = ...,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        carry_out: bool = False,
        times: int | None = 1,
        path_contains: str = "",
    ) -> None:
        """Answer the next `times` matching requests (None: all, until cleared) with a canned
        answer.

        `route` is the first path segment after `/v1/`. `body` is sent as is when bytes or str
        (None is an empty body) and as JSON when a dict or list; left out, it is the envelope
        Altegio would send for `status`. With `carry_out` the request is first handled for real,
        its changes kept, and only its answer replaced: a write that happened but whose answer
        was lost.
        """
        fault = make_fault(
            method,
            route,
            status=status,
            body=body,
            content_type=content_type,
            headers=headers,
            carry_out=carry_out,
            times=times,
            path_contains=path_contains,
        )
        with self._lock:
            self._faults.add(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- transport ---------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        sent: list[tuple[int, str, str]] = []
        with self._lock:
            response = self._respond(request, sent)
        # The callback runs outside the lock so it may call back into the sandbox.
        if self._on_sms is not None:
            for company_id, phone, code in sent:
                self._on_sms(company_id, phone, code)
        notify(self.hooks, self._lock)
        return response

    def _respond(self, request: httpx.Request, sent: list[tuple[int, str, str]]) -> httpx.Response:
        """Hooks first; then the rate limiter, as it stands in front of everything; then a
        fault, which breaks the server before it looks at the token; then the endpoint."""
        path = request.url.path
        hook = path.find("/__sandbox/")
        try:
            if hook != -1:
                status, body = answer_hook(
                    self._state,
                    self._faults,
                    request.method,
                    path[hook + len("/__sandbox/") :],
                    request,
                )
                return httpx.Response(status, json=body)
            if self._limiter is not None:
                client = str(request.extensions.get(CLIENT_IP_EXTENSION, "local"))
                if not self._limiter.allow(client, self._state.now()):
                    fail(429, "Too Many Requests")
        except Abort as abort:
            return httpx.Response(abort.status, json=abort.body)
        fault = self._faults.take(request.method.upper(), path)
        if fault is not None and not fault.carry_out:
            return fault.response()
        try:
            status, body = _route(self._state, self.hooks, request, sent)
            # The write happened even when a fault then loses its answer.
            for record_id, event in api_events(request, body):
                self._emit(record_id, event, self_sent=True)
        except Abort as abort:
            status, body = abort.status, abort.body
        if fault is not None:
            return fault.response()
        return httpx.Response(status, json=body)


def _route(
    state: SalonState, hooks: Hooks, request: httpx.Request, sent: list[tuple[int, str, str]]
) -> tuple[int, Any]:
    """The endpoint a request names, after the partner token is checked."""
    path = request.url.path
    user_token = authenticate(request, SANDBOX_PARTNER_TOKEN)
    version = path.rfind("/v1/")
    if version == -1:
        not_found()
    segments = path[version + len("/v1/") :].strip("/").split("/")
    params = request.url.params
    method = request.method.upper()
    match method, segments:
        case "GET", ["company", cid]:
            return 200, get_company(state, salon_at(state, cid), params)
        case "GET", ["companies"]:  # a chain's locations: `chain_endpoints`
            return 200, companies(state, params)
        case "GET", ["privacy_policy", cid]:
            policy = salon_at(state, cid).location.privacy_policy
            return 200, ok({"text": policy} if policy else None)
        case "GET", ["book_services", cid]:
            return 200, book_services(state, salon_at(state, cid), params)
        case "GET", ["book_staff", cid]:
            return 200, book_staff(state, salon_at(state, cid), params)
        case "GET", ["book_staff_seances", cid, staff_id]:
            return 200, book_staff_seances(state, salon_at(state, cid), staff_id, params)
        case "GET", ["book_dates", cid]:
            return 200, book_dates(state, salon_at(state, cid), params)
        case "GET", ["book_times", cid, staff_id, day]:
            return 200, book_times(state, salon_at(state, cid), staff_id, day, params)
        case "POST", ["book_code", cid]:
            return 201, book_code(state, salon_at(state, cid), json_body(request), sent)
        case "POST", ["book_check", cid]:
            return 201, book_check(state, salon_at(state, cid), json_body(request))
        case "POST", ["book_record", cid]:
            return 201, book_record(state, salon_at(state, cid), json_body(request))
        case "GET", ["book_record", cid, record_id, record_hash]:
            record = record_by_hash(state, cid, record_id, record_hash, user_token)
            return 200, record_view(state, record)
        case "PUT", ["book_record", cid, record_id]:
            body = json_body(request)
            return 200, reschedule(state, cid, record_id, body, user_token)
        case "POST", ["user", "auth"]:
            return 201, user_auth(state, json_body(request))
        case "GET", ["user", "records", *rest]:
            return 201, user_records(state, rest, user_token)
        case "DELETE", ["user", "records", *rest]:
            return 200, delete_record(state, rest, user_token)
        case _, ["activity", cid, *rest]:  # group events: `activity_endpoints`
            return activity_route(state, request, cid, rest)
        case ("GET" | "POST") as verb, ["hooks_settings", cid]:
            sent_settings = json_body(request) if verb == "POST" else None
            return hooks_settings(state, hooks, verb, cid, sent_settings, user_token=user_token)
    not_found()

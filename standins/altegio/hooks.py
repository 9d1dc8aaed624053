"""Altegio's webhooks (§12): `GET`/`POST hooks_settings/{id}` and the `record` events a location
sends to the URLs subscribed.

Nothing goes over the network: each event becomes a `Delivery` (the URL and the JSON body) that
tests drain with `Hooks.deliveries()` or receive through `Hooks.on_delivery(callback)`. The body
is the reference's §12.2 shape, `data` being the B2B record as it stood when the event happened.
Events: `create` (`book_record`, `Sandbox.salon_book`), `update` (`PUT book_record`,
`Sandbox.salon_move`, attendance marked) and `delete` (`DELETE user/records`,
`Sandbox.salon_cancel`). Events caused by API calls reach a subscription only with
`self_sending` 1; the salon's own changes always do.

A receiver registered with `on_delivery` may return an HTTP status (None counts as 200); with
`Hooks.retries = 2` a 429, a 5xx or an exception is retried twice more, as HUB describes, and with
the default 0 never, as ALT-DEV says (each attempt is a call; `deliveries()` lists the event once).
With `Hooks.dst_wrong_offset = True` a record's `datetime` carries the zone's standard-time offset
even in summer, as seen on the real service (`date` stays right). The status is worded as
documented unless `Hooks.status_words` maps it otherwise (`{"create": "record_created", "delete":
"cancel"}`, as receivers have seen it, §12.2), and with `Hooks.delete_as_update = True` a
deletion comes as an `update` whose `data.deleted` is true.

Delivery is neither ordered nor exactly once on the real service; on demand the sandbox shows
both: `duplicate_next(n)` delivers each of the next `n` events twice, `delay_next(n)` holds each
of the next `n` events back until the event after it has been delivered (an older event after a
newer one).

Subscriptions are per location: each location's `hooks_settings` are its own, and each location
posts its own records' events (with its own `company_id`) to its own URLs.
`hooks_settings` needs a user token with the location's settings rights
(`Sandbox.add_admin_token` for every location, `Hooks.grant` for some): none is a 401, a
client's token, or one without rights to that location, a 403. A POST replaces the whole
location's settings and answers 201 echoing them; more than 10 unique URLs, or a URL that is not
HTTPS, is a 422 with `meta.message` only (the reference gives no code: the sandbox's pick).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from standins.altegio.client_accounts import client_id
from standins.altegio.salon import Record, SalonState, digits
from standins.altegio.wire import AVATAR, Json, fail, iso, iso_compact, ok, salon_at, wall

# fmt: off
_FLAGS = (
    "record", "client", "salon", "service", "service_category", "master", "good",
    "goods_operations_sale", "goods_operations_receipt", "goods_operations_consumable",
    "goods_operations_stolen", "goods_operations_move", "finances_operation", "self_sending",
)
# fmt: on
MAX_URLS = 10


@dataclass(frozen=True)
class Delivery:
    url: str
    body: Json


class Hooks:
    """Subscriptions per location and the deliveries made; shares the sandbox's lock."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self.settings: dict[int, Json] = {}
        self.admin_tokens: set[str] = set()
        self.rights: dict[str, set[int]] = {}  # tokens with some locations' rights only
        self._queue: list[Delivery] = []
        self._fresh: list[Delivery] = []
        self._held: list[Delivery] = []
        self._callbacks: list[Callable[[Delivery], int | None]] = []
        self._duplicates = 0
        self._delays = 0
        self.retries = 0
        self.dst_wrong_offset = False
        self.status_words: dict[str, str] = {}
        self.delete_as_update = False

    # -- for tests ---------------------------------------------------------------------------

    def subscribe(self, company_id: int, url: str, *, self_sending: int = 1) -> None:
        """As a POST to `hooks_settings` would: replaces the location's settings."""
        with self._lock:
            self.settings[company_id] = _settings(
                {"urls": [url], "record": 1, "active": 1, "self_sending": self_sending}
            )

    def grant(self, token: str, *company_ids: int) -> None:
        """A user token with the settings rights of these locations only (an administrator of
        some of a chain's locations)."""
        with self._lock:
            self.rights.setdefault(token, set()).update(company_ids)

    def deliveries(self) -> list[Delivery]:
        """The deliveries made since the last call, in delivery order."""
        with self._lock:
            taken, self._queue = self._queue, []
            return taken

    def on_delivery(self, callback: Callable[[Delivery], int | None]) -> None:
        """Called with each delivery, outside the sandbox's lock, after the change is done."""
        with self._lock:
            self._callbacks.append(callback)

    def duplicate_next(self, count: int = 1) -> None:
        with self._lock:
            self._duplicates += count

    def delay_next(self, count: int = 1) -> None:
        with self._lock:
            self._delays += count

    # -- for the sandbox (under its lock) ----------------------------------------------------

    def emit(self, state: SalonState, record: Record, status: str, *, self_sent: bool) -> None:
        config = self.settings.get(record.company_id)
        if not config or not config["active"] or not config["record"]:
            return
        if self_sent and not config["self_sending"]:
            return
        if status == "delete" and self.delete_as_update:
            status = "update"
        body = {
            "company_id": record.company_id,
            "resource": "record",
            "resource_id": record.record_id,
            "status": self.status_words.get(status, status),
            "data": record_event_data(state, record, dst_wrong_offset=self.dst_wrong_offset),
        }
        for url in config["urls"]:
            self._deliver(Delivery(url, body))

    def _deliver(self, delivery: Delivery) -> None:
        if self._delays > 0:
            self._delays -= 1
            self._held.append(delivery)
            return
        copies = 1
        if self._duplicates > 0:
            self._duplicates -= 1
            copies = 2
        sent = [delivery] * copies + self._held
        self._held = []
        self._queue.extend(sent)
        self._fresh.extend(sent)

    def take_fresh(self) -> tuple[int, list[tuple[Callable[[Delivery], int | None], Delivery]]]:
        fresh, self._fresh = self._fresh, []
        return self.retries, [(callback, d) for d in fresh for callback in self._callbacks]


def api_events(request: httpx.Request, body: Any) -> list[tuple[int, str]]:
    """The record events a successful API call raises."""
    path = request.url.path
    version = path.rfind("/v1/")
    segments = path[version + len("/v1/") :].strip("/").split("/") if version != -1 else []
    match request.method.upper(), segments:
        case "POST", ["book_record", _]:
            return [(item["record_id"], "create") for item in body["data"]]
        case "PUT", ["book_record", _, _]:
            return [(body["data"]["id"], "update")]
        case "DELETE", ["user", "records", record_id, *_]:
            return [(int(record_id), "delete")]
    return []


def notify(hooks: Hooks, lock: threading.Lock) -> None:
    """Run the callbacks for deliveries made, outside the lock."""
    with lock:
        retries, calls = hooks.take_fresh()
    for callback, delivery in calls:
        for _ in range(1 + retries):
            try:
                status = callback(delivery)
            except Exception:  # a transport error, as the sender sees it
                continue
            if status is None or not (status == 429 or status >= 500):
                break


def _settings(body: Json) -> Json:
    urls = body.get("urls")
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        fail(422, "urls must be a list of URLs")
    unique = list(dict.fromkeys(urls))
    if len(unique) > MAX_URLS:
        fail(422, f"No more than {MAX_URLS} URLs")
    if any(not u.startswith("https://") for u in unique):
        fail(422, "Webhook URLs must use HTTPS")
    settings: Json = {"urls": unique, "active": _flag(body.get("active", 1))}
    for name in _FLAGS:
        settings[name] = _flag(body.get(name, 0))
    return settings


def _wrong_offset(record: Record, tz: ZoneInfo) -> str:
    """The wall time right, the offset the zone's in January (wrong across DST)."""
    local = record.start.astimezone(tz)
    winter = datetime(local.year, 1, 1, tzinfo=tz).utcoffset() or timedelta()
    return local.replace(tzinfo=timezone(winter)).isoformat(timespec="seconds")


def _flag(value: object) -> int:
    return 1 if value in (1, True, "1") else 0


def hooks_settings(
    state: SalonState, hooks: Hooks, method: str, cid: str, body: Any, *, user_token: str | None
) -> tuple[int, Json]:
    salon = salon_at(state, cid)
    if user_token is None:
        fail(401, "Authentication needed.")
    company_id = salon.location.id
    if user_token not in hooks.admin_tokens and company_id not in hooks.rights.get(user_token, ()):
        fail(403, "Access denied.")
    if method == "POST":
        if not isinstance(body, dict):
            fail(422, "urls must be a list of URLs")
        hooks.settings[company_id] = _settings(body)
        return 201, ok(hooks.settings[company_id])
    current = hooks.settings.get(company_id) or _settings({"urls": [], "active": 0})
    return 200, ok(current)


def record_event_data(state: SalonState, record: Record, *, dst_wrong_offset: bool = False) -> Json:
    """The B2B record (`GET /record/{company_id}/{record_id}`) as a webhook carries it."""
    salon = state.salons[record.company_id]
    tz = state.tz(salon)
    member = next(m for m in salon.staff if m.id == record.staff_id)
    by_id = {s.id: s for s in salon.services}
    services = []
    for service_id in record.service_ids:
        s = by_id[service_id]
        cost = s.price_min
        services.append(
            {
                "id": s.id,
                "title": s.title,
                "cost": cost,
                "cost_to_pay": cost,
                "manual_cost": cost,
                "cost_per_unit": cost,
                "discount": 0,
                "first_cost": cost,
                "amount": 1,
            }
        )
    number = digits(record.phone)
    mine = [r for r in state.records.values() if digits(r.phone) == number and not r.deleted]
    web = record.source == "web"
    return {
        "id": record.record_id,
        "company_id": record.company_id,
        "staff_id": record.staff_id,
        "services": services,
        "staff": {
            "id": member.id,
            "api_id": None,
            "name": member.name,
            "specialization": member.specialization,
            "avatar": AVATAR,
            "rating": member.rating,
            "votes_count": member.votes_count,
        },
        "client": {
            "id": client_id(state, record.phone),
            "name": record.fullname,
            "display_name": record.fullname,
            "phone": "+" + number,
            "email": record.email,
            "card": "",
            "success_visits_count": sum(r.attendance == 1 for r in mine),
            "fail_visits_count": sum(r.attendance == -1 for r in mine),
        },
        "clients_count": 1,
        "date": wall(record.start, tz),
        "datetime": _wrong_offset(record, tz) if dst_wrong_offset else iso(record.start, tz),
        "create_date": iso_compact(record.create_date, tz),
        "last_change_date": iso_compact(record.last_change_date, tz),
        "comment": record.comment,
        "online": record.source != "phone",
        "visit_id": 90_000_000 + record.record_id % 10_000_000,
        "visit_attendance": record.attendance,
        "attendance": record.attendance,
        "confirmed": 1,
        "seance_length": record.length,
        "length": record.length,
        "sms_before": record.notify_by_sms,
        "sms_now": 0,
        "sms_now_text": "",
        "email_now": 0,
        "notified": 0,
        "master_request": 1 if record.master_requested else 0,
        "api_id": record.api_id,
        "from_url": salon.location.site if web else "",
        "review_requested": 0,
        "created_user_id": 0,
        "deleted": record.deleted,
        "paid_full": 0,
        "prepaid": False,
        "prepaid_confirmed": False,
        "activity_id": 0,
        "bookform_id": 0,
        "record_from": "",
        "is_mobile": False,
        "custom_fields": [],
        "record_labels": [],
        "documents": [],
        "goods_transactions": [],
        "short_link": f"https://alteg.io/r/{record.record_id:x}",
        "sms_remain_hours": record.notify_by_sms or None,
        "email_remain_hours": record.notify_by_email or None,
    }

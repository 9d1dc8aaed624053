"""Altegio's webhook deliveries read (reference §12.2): a body checked to be an event of one of the
bot's locations, and a record event keyed as received, so a repeat is known as one.

A delivery carries no signature: the secret is the path it is posted to. A body that is no
Altegio event for the bot's locations is refused (`BadEvent`, whose message never quotes it);
events of other resources are taken and left alone. Plain code: no Telegram here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from bot.altegio.models.lenient import as_int, as_str, parse_datetime
from bot.storage import HookEvent

# §12.2: what `resource` may be; events of any but `record` are taken and left alone.
RESOURCES = frozenset(
    {
        "company",
        "salon",
        "service_category",
        "service",
        "staff",
        "master",
        "client",
        "record",
        "good",
        "finances_operation",
        "schedule",
        "loyalty_card",
    }
)
# `status` as documented (`create`, `update`, `delete`) and as receivers have seen it worded.
# fmt: off
_STATUSES = {
    "create": "create", "created": "create", "record_created": "create", "add": "create",
    "added": "create", "new": "create", "insert": "create",
    "update": "update", "updated": "update", "record_updated": "update", "change": "update",
    "changed": "update", "edit": "update", "edited": "update", "move": "update",
    "moved": "update",
    "delete": "delete", "deleted": "delete", "record_deleted": "delete", "remove": "delete",
    "removed": "delete", "cancel": "delete", "cancelled": "delete", "canceled": "delete",
    "record_cancelled": "delete", "record_canceled": "delete",
}
# fmt: on


class BadEvent(ValueError):
    """A body that is not an Altegio event for the bot's locations; the message never quotes
    it."""


def read_event(raw: bytes, ours: Callable[[int], bool]) -> tuple[int, HookEvent | None]:
    """The location that sent a body (one `ours` takes), and the record event it carries; None
    for an event of another resource (taken, left alone). A body that is no Altegio event for
    the bot's locations raises `BadEvent`."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadEvent("not JSON") from None
    if not isinstance(body, dict):
        raise BadEvent("not a JSON object")
    company_id = as_int(body.get("company_id"))
    if company_id is None or not ours(company_id):
        raise BadEvent("not this location's")
    resource = body.get("resource")
    if not isinstance(resource, str) or not (
        resource in RESOURCES or resource.startswith("goods_operations")
    ):
        raise BadEvent("no known resource")
    status = _STATUSES.get(as_str(body.get("status")).strip().lower())
    if status is None:
        raise BadEvent("no known status")
    if resource != "record":
        return company_id, None
    data = body.get("data")
    record_id = as_int(data.get("id")) if isinstance(data, dict) else None
    if record_id is None:
        raise BadEvent("a record event without data.id")
    named = as_int(body.get("resource_id"))
    if named is not None and named != record_id:
        raise BadEvent("resource_id and data.id differ")
    assert isinstance(data, dict)
    if as_bool_flag(data.get("deleted")):
        status = "delete"
    change = as_str(data.get("last_change_date"))
    when = parse_datetime(change)
    if not change:
        # Without its time, what it says tells one event from another.
        content = json.dumps(data, sort_keys=True, default=str).encode()
        change = "#" + hashlib.sha256(content).hexdigest()[:16]
    key = f"{company_id}:record:{record_id}:{status}:{change}"
    event = HookEvent(key, record_id, status, int(when.timestamp()) if when else 0, body)
    return company_id, event


def as_bool_flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def sender(event: HookEvent) -> int:
    """The location an event kept in the inbox came from (0: not said)."""
    return as_int(event.body.get("company_id")) or 0

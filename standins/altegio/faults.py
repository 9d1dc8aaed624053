"""Answers other than an endpoint's own: Altegio's rate limit, and canned faults (any status,
raw or JSON body, headers) that replace the answer to matching requests."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

import httpx

CLIENT_IP_EXTENSION = "sandbox.client_ip"
"""Request extension through which `serve()` tells the rate limiter who is calling."""


class RateLimiter:
    """Sliding windows per client IP: 5 requests per second and 200 per minute."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[datetime]] = {}

    def allow(self, client: str, now: datetime) -> bool:
        hits = self._hits.setdefault(client, deque())
        while hits and now - hits[0] >= timedelta(minutes=1):
            hits.popleft()
        last_second = sum(1 for hit in hits if now - hit < timedelta(seconds=1))
        if len(hits) >= 200 or last_second >= 5:
            return False
        hits.append(now)
        return True


@dataclass
class Fault:
    """A canned answer that replaces the real one for matching requests."""

    method: str
    route: str
    status: int
    content: bytes
    headers: dict[str, str]
    carry_out: bool
    times: int | None
    path_contains: str

    def matches(self, method: str, route: str | None, path: str) -> bool:
        return method == self.method and route == self.route and self.path_contains in path

    def response(self) -> httpx.Response:
        return httpx.Response(self.status, headers=self.headers, content=self.content)


def _default_fault_body(status: int) -> Any:
    """What Altegio's own envelope would say for `status`; a 204 has no body at all."""
    if status == 204:
        return b""
    if status < 300:
        return {"success": True, "data": None, "meta": []}
    if status == 404:
        return {"success": False, "data": None, "meta": []}
    messages = {
        401: "Authentication needed.",
        403: "Access denied.",
        422: "An error has occurred",
        429: "Too Many Requests",
    }
    if status >= 500:
        message = "Server error"
    else:
        try:
            message = messages.get(status) or HTTPStatus(status).phrase
        except ValueError:
            message = "Error"
    return {"success": False, "data": None, "meta": {"message": message}}


def make_fault(
    method: str,
    route: str,
    *,
    status: int,
    body: Any,
    content_type: str | None,
    headers: dict[str, str] | None,
    carry_out: bool,
    times: int | None,
    path_contains: str,
) -> Fault:
    if not isinstance(method, str) or not method.strip():
        raise ValueError("method must be an HTTP method such as 'POST'")
    if not isinstance(route, str) or not route.strip("/") or "/" in route.strip("/"):
        raise ValueError("route must be the first path segment after /v1/, e.g. 'book_record'")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError("status must be an HTTP status code")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ValueError("times must be a positive number, or None for every request")
    if not isinstance(carry_out, bool):
        raise TypeError("carry_out must be a bool")
    if not isinstance(path_contains, str):
        raise TypeError("path_contains must be a string")
    if content_type is not None and not isinstance(content_type, str):
        raise TypeError("content_type must be a string")
    extra = dict(headers or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
        raise TypeError("headers must map strings to strings")
    if body is ...:
        body = _default_fault_body(status)
    if isinstance(body, dict | list):
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        kind = "application/json"
    elif isinstance(body, str):
        content, kind = body.encode(), "text/html; charset=utf-8"
    elif isinstance(body, bytes) or body is None:
        content, kind = body or b"", "text/html"
    else:
        raise TypeError("body must be bytes, str, a dict or a list")
    if all(key.lower() != "content-type" for key in extra):
        extra = {"Content-Type": content_type or kind, **extra}
    return Fault(
        method=method.strip().upper(),
        route=route.strip("/"),
        status=status,
        content=content,
        headers=extra,
        carry_out=carry_out,
        times=times,
        path_contains=path_contains,
    )


class FaultBook:
    """The faults waiting for their requests, first added first matched."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def clear(self) -> int:
        """Remove every fault; returns how many there were."""
        cleared = len(self._faults)
        self._faults.clear()
        return cleared

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, used up by it, or None."""
        version = path.rfind("/v1/")
        route = path[version + len("/v1/") :].strip("/").split("/")[0] if version != -1 else None
        for fault in self._faults:
            if fault.matches(method, route, path):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                return fault
        return None

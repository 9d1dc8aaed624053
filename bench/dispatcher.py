"""The load balancer in front of the bot's replicas, for the replica simulation: each Telegram
webhook POST goes to the next live replica in turn. A replica that refuses the connection is
taken out for a while (`COOL_DOWN`, as a load balancer's health check would) and the update goes
to the next; one that does not answer in time or answers 5xx is passed over for that update only
(the update goes to the next, as Telegram's redelivery would, though the first may have taken
it). Every delivery is recorded: which replica took which chat's update, and when."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import httpx

# Posts `body` to `url` with `headers`; Telegram's answer status. Raises OSError or
# httpx.HTTPError when the replica cannot be reached or does not answer in time.
Post = Callable[[str, bytes, Mapping[str, str]], Awaitable[int]]
COOL_DOWN = 10.0  # seconds a replica refusing connections is left out


@dataclass(frozen=True, slots=True)
class Delivery:
    """An update a replica took (answered 2xx)."""

    chat_id: int | None
    replica: int
    at: float
    path: str


def chat_of(update: object) -> int | None:
    """The chat an update belongs to (a message's, or a tapped message's), if any."""
    if not isinstance(update, dict):
        return None
    for kind in ("message", "edited_message"):
        if isinstance(update.get(kind), dict):
            return int(update[kind]["chat"]["id"])
    query = update.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict):
            return int(message["chat"]["id"])
        return int(query["from"]["id"])
    return None


class RoundRobin:
    """Round robin over `replicas` (base URLs), skipping those taken out."""

    def __init__(
        self,
        replicas: Sequence[str],
        post: Post,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.replicas = list(replicas)
        self.out: dict[int, float] = {}  # replica: left out until then
        self.deliveries: list[Delivery] = []
        self.failures: list[tuple[int, float, str]] = []  # replica, when, what
        self._post = post
        self._clock = clock
        self._next = 0

    def _turn(self) -> int:
        index = self._next
        self._next = (self._next + 1) % len(self.replicas)
        return index

    async def forward(
        self, path: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, int | None]:
        """Deliver one update; (status, replica) — (502, None) when no replica took it."""
        try:
            chat = chat_of(json.loads(body))
        except ValueError:
            chat = None
        last = 502
        for _ in range(len(self.replicas)):
            index = self._turn()
            if self.out.get(index, 0.0) > self._clock():
                continue
            try:
                status = await self._post(self.replicas[index] + path, body, headers)
            except (OSError, httpx.HTTPError) as exc:
                if isinstance(exc, (OSError, httpx.ConnectError)):
                    self.out[index] = self._clock() + COOL_DOWN
                self.failures.append((index, self._clock(), type(exc).__name__))
                continue
            if status >= 500:
                self.failures.append((index, self._clock(), str(status)))
                last = status
                continue
            if status < 300:
                self.deliveries.append(Delivery(chat, index, self._clock(), path))
            return status, index
        return (502 if last < 500 else last), None


def httpx_post(client: httpx.AsyncClient) -> Post:
    async def post(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        answer = await client.post(url, content=body, headers=dict(headers))
        return answer.status_code

    return post

"""The replica simulation's own parts on small inputs: the dispatcher's round robin and
failover, and the report's counting (the simulation itself is run by hand)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from bench.dispatcher import Delivery, RoundRobin, chat_of
from bench.replica_report import (
    Conversation,
    booked_twice,
    continued_after_kill,
    counting_until,
    expected_reminders,
    offsets_due_at,
    overlapping,
    peaks,
    reminder_tally,
)
from bench.telegram_http import TelegramFront
from bot.reminder_times import parse_offsets
from standins.telegram.bot_api import BotApiStub

BERLIN = ZoneInfo("Europe/Berlin")


def update(chat_id: int) -> bytes:
    message = {"message_id": 1, "date": 1, "chat": {"id": chat_id, "type": "private"}}
    return json.dumps({"update_id": 1, "message": message}).encode()


class Replicas:
    """Replicas as the dispatcher sees them: each answers a status, or cannot be reached."""

    def __init__(self, answers: dict[str, int | Exception]) -> None:
        self.answers = answers
        self.posted: list[str] = []

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        replica = url.split("/")[2]
        self.posted.append(replica)
        answer = self.answers[replica]
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_each_update_goes_to_the_next_replica_in_turn() -> None:
    replicas = Replicas({"a": 200, "b": 200, "c": 200})
    balancer = RoundRobin(["http://a", "http://b", "http://c"], replicas.post, clock=lambda: 5.0)
    taken = [await balancer.forward("/tg/x", update(chat), {}) for chat in (1, 2, 3, 4)]
    assert [replica for _, replica in taken] == [0, 1, 2, 0]
    assert replicas.posted == ["a", "b", "c", "a"]
    assert balancer.deliveries[1] == Delivery(2, 1, 5.0, "/tg/x")


async def test_a_replica_that_cannot_be_reached_is_taken_out_and_the_next_takes_the_update() -> (
    None
):
    replicas = Replicas({"a": 200, "b": httpx.ConnectError("refused"), "c": 200})
    now = [100.0]
    balancer = RoundRobin(["http://a", "http://b", "http://c"], replicas.post, lambda: now[0])
    taken = [await balancer.forward("/tg/x", update(chat), {}) for chat in range(5)]
    assert [replica for _, replica in taken] == [0, 2, 0, 2, 0]
    assert replicas.posted == ["a", "b", "c", "a", "c", "a"]  # b tried once, then left out
    assert balancer.out == {1: 110.0}
    assert [(index, what) for index, _, what in balancer.failures] == [(1, "ConnectError")]
    now[0] = 110.0  # a while later it is tried again
    assert await balancer.forward("/tg/x", update(9), {}) == (200, 2)
    assert replicas.posted[-2:] == ["b", "c"]


async def test_a_replica_too_slow_to_answer_is_passed_over_for_that_update_only() -> None:
    replicas = Replicas({"a": httpx.ReadTimeout("slow"), "b": 200})
    balancer = RoundRobin(["http://a", "http://b"], replicas.post)
    assert await balancer.forward("/tg/x", update(1), {}) == (200, 1)
    assert balancer.out == {}
    assert await balancer.forward("/tg/x", update(2), {}) == (200, 1)
    assert replicas.posted == ["a", "b", "a", "b"]


async def test_a_5xx_passes_the_update_on_without_taking_the_replica_out() -> None:
    replicas = Replicas({"a": 503, "b": 200})
    balancer = RoundRobin(["http://a", "http://b"], replicas.post)
    assert await balancer.forward("/tg/x", update(1), {}) == (200, 1)
    assert await balancer.forward("/tg/x", update(2), {}) == (200, 1)
    assert balancer.out == {}
    assert replicas.posted == ["a", "b", "a", "b"]


async def test_no_replica_left_is_a_502_and_a_refusal_is_passed_back() -> None:
    gone = Replicas({"a": OSError("reset"), "b": httpx.ConnectError("refused")})
    balancer = RoundRobin(["http://a", "http://b"], gone.post, clock=lambda: 0.0)
    assert await balancer.forward("/tg/x", update(1), {}) == (502, None)
    assert await balancer.forward("/tg/x", update(1), {}) == (502, None)
    assert gone.posted == ["a", "b"]  # both left out for a while
    refusing = RoundRobin(["http://a"], Replicas({"a": 403}).post)
    assert await refusing.forward("/tg/x", update(1), {}) == (403, 0)
    assert refusing.deliveries == []


def test_the_chat_of_an_update() -> None:
    tap = {"callback_query": {"id": "1", "from": {"id": 7}, "message": {"chat": {"id": 9}}}}
    assert chat_of(json.loads(update(4))) == 4
    assert chat_of(tap) == 9
    assert chat_of({"callback_query": {"id": "1", "from": {"id": 7}}}) == 7
    assert chat_of({"poll": {}}) is None


def test_peaks_count_the_most_requests_within_any_window() -> None:
    assert peaks([], 1.0) == 0
    assert peaks([0.0, 0.2, 0.9, 1.0, 1.5, 3.0], 1.0) == 3
    assert peaks([0.0, 30.0, 59.9, 60.0], 60.0) == 3


def record(
    record_id: int, staff: int, start: str, minutes: int, **more: object
) -> dict[str, object]:
    row = {"record_id": record_id, "company_id": 1001, "staff_id": staff, "phone": ""}
    return row | {"start": start, "length": minutes * 60, "deleted": False} | more


def test_overlapping_records_of_one_team_member_are_double_bookings() -> None:
    rows = [
        record(1, 10, "2026-12-04T10:00:00+01:00", 60),
        record(2, 10, "2026-12-04T11:00:00+01:00", 30),  # back to back: fine
        record(3, 10, "2026-12-04T11:15:00+01:00", 30),  # inside 2
        record(4, 11, "2026-12-04T10:00:00+01:00", 60),  # another member
        record(5, 10, "2026-12-04T10:30:00+01:00", 30, deleted=True),
        record(6, 10, "2026-12-04T09:30:00+01:00", 120, activity_id=3),  # a class seat
        record(7, 10, "2026-12-04T09:00:00Z", 30),  # 10:00 in Berlin: inside 1
    ]
    assert sorted(overlapping(rows)) == [(2, 3), (7, 1)]


def test_a_client_holding_two_records_booked_twice() -> None:
    rows = [
        record(1, 10, "2026-12-04T10:00:00+01:00", 60, phone="+49 151 00000001"),
        record(2, 11, "2026-12-05T10:00:00+01:00", 60, phone="4915100000001"),
        record(3, 10, "2026-12-04T12:00:00+01:00", 60, phone="+4915100000002"),
        record(4, 10, "2026-12-04T13:00:00+01:00", 60, phone="+4915100000002", deleted=True),
        record(5, 10, "2026-12-04T14:00:00+01:00", 60, phone="+4915100000009"),
        record(6, 10, "2026-12-04T15:00:00+01:00", 60, phone="+4915100000009"),
    ]
    assert booked_twice(rows, ["+4915100000001", "+4915100000002"]) == {"4915100000001": 2}


def test_conversations_under_way_on_the_killed_replica_and_how_they_went_on() -> None:
    deliveries = [
        Delivery(1, 1, 10.0, "/tg/a"),  # on the killed one, then elsewhere, booked
        Delivery(1, 0, 30.0, "/tg/a"),
        Delivery(2, 1, 12.0, "/tg/a"),  # on the killed one, then never again
        Delivery(6, 1, 18.0, "/tg/a"),  # its last update taken back elsewhere: booked
        Delivery(3, 1, 5.0, "/tg/a"),  # on the killed one but finished before the kill
        Delivery(4, 2, 11.0, "/tg/a"),  # never on the killed one
        Delivery(4, 0, 31.0, "/tg/a"),
        Delivery(5, 1, 19.0, "/tg/a"),  # went on elsewhere, not booked
        Delivery(5, 2, 25.0, "/tg/a"),
    ]
    conversations = [
        Conversation(1, True, 40.0),
        Conversation(2, False, 200.0),
        Conversation(3, True, 8.0),
        Conversation(4, True, 40.0),
        Conversation(5, False, 60.0),
        Conversation(6, True, 35.0),
    ]
    assert continued_after_kill(deliveries, conversations, killed=1, killed_at=20.0) == {
        "under_way_with_an_update_on_the_killed_replica": 4,
        "further_updates_on_another_replica": 2,
        "continued_and_booked": 1,
        "booked_in_the_end": 2,
    }


def test_the_offsets_put_a_reminder_of_every_appointment_on_the_grid_at_the_first_due_time() -> (
    None
):
    first_due = datetime(2026, 12, 3, 16, 47, tzinfo=UTC)
    offsets = parse_offsets(
        ",".join(offsets_due_at(first_due, timedelta(minutes=15), timedelta(days=2)))
    )
    booked = datetime(2026, 12, 3, 16, 40, tzinfo=UTC)
    for start in (
        datetime(2026, 12, 3, 19, 0, tzinfo=UTC),
        datetime(2026, 12, 4, 10, 15, tzinfo=UTC),
        datetime(2026, 12, 5, 16, 45, tzinfo=UTC),
    ):
        until = first_due + timedelta(minutes=5)
        assert expected_reminders(start, offsets, BERLIN, (booked, booked), until) == (1, 1)
    beyond = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)  # past the horizon: none due yet
    assert expected_reminders(beyond, offsets, BERLIN, (booked, booked), first_due) == (0, 0)


def test_a_due_time_passing_while_booking_may_or_may_not_have_its_reminder() -> None:
    offsets = (timedelta(minutes=60),)
    start = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    due = start - timedelta(minutes=60)
    between = (due - timedelta(seconds=2), due + timedelta(seconds=2))
    assert expected_reminders(start, offsets, BERLIN, between, start) == (0, 1)


def test_the_reminder_tally_counts_twice_and_lost_against_what_was_due() -> None:
    expected = [(1, 1), (1, 1), (0, 1), (0, 0), (2, 2)]
    received = [1, 2, 1, 0, 1]
    assert reminder_tally(expected, received) == {
        "bookings_with_a_reminder_due": 3,
        "reminders_expected": 4,
        "reminders_received": 5,
        "sent_twice": 1,
        "lost": 1,
    }


@pytest.mark.parametrize("method", ["sendMessage", "SENDMESSAGE"])
async def test_the_telegram_front_answers_with_the_bots_stand_in_and_wakes_the_chat(
    method: str,
) -> None:
    token = "7100000001:AAbenchNorthTokenForTheSimulation01"
    stub = BotApiStub(token=token)
    front = TelegramFront({token: stub})
    stub.open_private_chat(5, {"id": 5, "first_name": "Ann"})
    stub.receive(5, {"id": 5, "is_bot": False, "first_name": "Ann"}, text="/start")
    activity = front.activity(token, 5)
    status, body = await front.answer(token, method, {"chat_id": "5", "text": "Hello"})
    assert status == 200 and json.loads(body)["ok"] is True
    assert activity.said == 1 and activity.woken.is_set()
    assert [m.body for m in stub.transcript(5) if m.from_bot] == ["Hello"]
    assert (await front.answer("1:unknown", method, {}))[0] == 401
    assert await front.answer(token, "setWebhook", {"url": "https://x/tg"}) == (
        200,
        b'{"ok":true,"result":true}',
    )
    assert front.webhooks == {token: "https://x/tg"}


def test_reminders_are_counted_until_a_due_time_well_before_the_next() -> None:
    first = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
    grid, margin = timedelta(minutes=15), timedelta(minutes=3)

    def until(done_minutes: float) -> datetime:
        return counting_until(first, first + timedelta(minutes=done_minutes), grid, margin)

    assert until(-4) == first  # booked before the first: wait for it
    assert until(5) == first
    assert until(11.9) == first
    assert until(12.5) == first + grid  # too near the next: that one
    assert until(31) == first + 2 * grid

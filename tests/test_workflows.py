"""The core's workflows called directly, with no Telegram: what each returns and keeps.

The user-level scenarios (test_booking_flow, test_never_two, ...) show the same rules as a
client meets them; here each outcome is named and what it leaves in storage is checked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.altegio import errors
from bot.altegio.models import Slot
from bot.app import build_services
from bot.draft import Draft
from bot.records import Change, Refusal
from bot.services import Services
from bot.settings import Settings
from bot.storage import Storage, StoredBooking
from bot.workflows import book, cancel, move, remind, unanswered
from bot.workflows.sync import refresh
from standins.altegio.sandbox import Sandbox
from tests.conftest import FakeClock

PHONE = "+4915123456789"
WHO = book.Who(chat_id=100001, user_id=100001, language="de")


class Desk:
    """The salon's admin chat, as the workflows see it."""

    def __init__(self) -> None:
        self.told: list[str] = []
        self.trouble: list[str] = []
        self.noticed: list[str] = []

    async def tell_admin(self, text: str, company: object = None) -> bool:
        self.told.append(text)
        return True

    async def salon_notice(self, text: str, company: object = None) -> None:
        self.noticed.append(text)

    async def storage_trouble(self, cause: str) -> None:
        self.trouble.append(cause)

    async def storage_recovered(self) -> None:
        return None


@pytest.fixture
async def services(clock: FakeClock, sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings.load(env={"ALTEGIO_COMPANY_ID": "1001"}, env_file=Path("/nonexistent"))
    built = build_services(
        settings,
        altegio_transport=sandbox.transport(),
        storage=Storage.open(tmp_path / "bot.sqlite3"),
        clock=clock.now,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        jitter=lambda: 0.5,
    )
    yield built
    await built.altegio.aclose()
    built.storage.close()


@pytest.fixture
def desk() -> Desk:
    return Desk()


async def free_times(services: Services, skip_days: int = 2) -> tuple[int, int, list[Slot]]:
    """A service, one of its team members, and their free times on a day with some."""
    altegio = services.altegio
    service = (await altegio.catalogue()).services[0]
    member = (await altegio.staff([service.id]))[0]
    today = services.clock().date()
    found = await altegio.dates([service.id], member.id, today, today + timedelta(days=30))
    days = sorted(found.booking_dates)[skip_days:]
    for day in days:
        slots = await altegio.times(member.id, day, [service.id])
        if slots:
            return service.id, member.id, slots
    raise AssertionError("the sandbox salon has no free time")


def draft_for(service_id: int, staff_id: int, slot: Slot) -> Draft:
    return Draft(
        service_id=service_id,
        staff_id=staff_id,
        slot=slot.raw,
        slot_length=slot.length,
        phone=PHONE,
        name="Anna Schmidt",
    )


async def booked(services: Services, desk: Desk, skip_days: int = 2) -> StoredBooking:
    service_id, staff_id, slots = await free_times(services, skip_days)
    outcome = await book.book(services, desk, draft_for(service_id, staff_id, slots[0]), WHO, None)
    assert isinstance(outcome, book.Booked), outcome
    stored = services.storage.booking(outcome.record_id)
    assert stored is not None
    return stored


# --- booking ----------------------------------------------------------------------------------


async def test_a_booking_is_kept_with_its_language_contact_and_reminders(
    services: Services, desk: Desk
) -> None:
    service_id, staff_id, slots = await free_times(services)
    draft = draft_for(service_id, staff_id, slots[0])
    outcome = await book.book(services, desk, draft, WHO, None)
    assert isinstance(outcome, book.Booked)
    assert outcome.start == slots[0].start
    assert outcome.staff_name and outcome.title
    stored = services.storage.booking(outcome.record_id)
    assert stored is not None and stored.language == "de" and stored.status == "active"
    contact = services.storage.contact(WHO.user_id)
    assert contact is not None and contact.phone == PHONE
    assert services.storage.attempt(draft.flow) is None  # the call's note ends with it
    later = services.clock() + timedelta(days=60)
    assert any(r.record_id == outcome.record_id for r in services.storage.claim_due(later, 10))


async def test_a_time_taken_meanwhile_is_not_booked_and_read_afresh(
    services: Services, desk: Desk
) -> None:
    service_id, staff_id, slots = await free_times(services)
    first = await book.book(services, desk, draft_for(service_id, staff_id, slots[0]), WHO, None)
    assert isinstance(first, book.Booked)
    again = await book.book(services, desk, draft_for(service_id, staff_id, slots[0]), WHO, None)
    assert isinstance(again, book.NotBooked)
    assert isinstance(again.reason, errors.SlotTaken | errors.NoStaffAvailable)


async def test_a_lost_answer_is_checked_never_called_again(
    services: Services, desk: Desk, sandbox: Sandbox, clock: FakeClock
) -> None:
    service_id, staff_id, slots = await free_times(services)
    draft = draft_for(service_id, staff_id, slots[0])
    sandbox.fault("POST", "book_record", status=504, body="<html>Gateway Time-out</html>")
    outcome = await book.book(services, desk, draft, WHO, None)
    assert isinstance(outcome, book.Checking)
    attempt = services.storage.attempt(draft.flow)
    assert attempt is not None and attempt.state == "checking"
    # The time stays free until the deadline: nothing was booked, and the client hears so.
    news: list[unanswered.News] = []

    async def say(item: unanswered.News) -> None:
        news.append(item)

    for _ in range(15):
        clock.advance(seconds=10)
        await unanswered.resolve(services, desk, say)
    assert [n.became for n in news] == [unanswered.Became.NOT_BOOKED]
    assert not [r for r in sandbox.records() if r["phone"] == PHONE and not r["deleted"]]


async def test_a_second_code_within_the_minute_is_not_sent(services: Services, desk: Desk) -> None:
    service_id, staff_id, slots = await free_times(services)
    draft = draft_for(service_id, staff_id, slots[0])
    assert isinstance(await book.text_code(services, draft, WHO.user_id), book.CodeSent)
    waiting = await book.text_code(services, draft, WHO.user_id)
    assert isinstance(waiting, book.CodeWait) and 0 < waiting.wait <= 60


# --- moving -----------------------------------------------------------------------------------


async def test_a_move_returns_the_new_time_and_keeps_it(services: Services, desk: Desk) -> None:
    old = await booked(services, desk)
    _service_id, _staff_id, slots = await free_times(services, skip_days=3)
    outcome = await move.move(services, desk, old, slots[-1].raw, flow="mv0001", who=WHO, code=None)
    assert isinstance(outcome, move.Moved), outcome
    assert outcome.start == slots[-1].start
    kept = [b for b in services.storage.bookings_for_chat(WHO.chat_id) if b.status == "active"]
    assert len(kept) == 1 and kept[0].start == slots[-1].start


async def test_a_move_to_a_taken_time_leaves_the_appointment(
    services: Services, desk: Desk
) -> None:
    old = await booked(services, desk)
    other = await booked(services, desk, skip_days=3)
    outcome = await move.move(
        services, desk, old, other.start.isoformat(), flow="mv0002", who=WHO, code=None
    )
    assert isinstance(outcome, move.Taken), outcome
    assert services.storage.booking(old.record_id) == old


async def test_a_visit_that_has_begun_is_not_moved(
    services: Services, desk: Desk, clock: FakeClock
) -> None:
    old = await booked(services, desk)
    clock.current = old.start + timedelta(minutes=5)
    outcome = await move.move(
        services, desk, old, old.start.isoformat(), flow="mv0003", who=WHO, code=None
    )
    assert isinstance(outcome, move.Refused) and outcome.refusal is Refusal.PAST


# --- cancelling -------------------------------------------------------------------------------


async def test_a_cancel_drops_the_appointment_and_its_reminders(
    services: Services, desk: Desk, clock: FakeClock
) -> None:
    old = await booked(services, desk)
    fresh = await refresh(services, old)
    company = await services.altegio.company()
    assert isinstance(await cancel.cancel(services, desk, fresh, company), cancel.Cancelled)
    stored = services.storage.booking(old.record_id)
    assert stored is not None and stored.status == "cancelled"
    later = clock.now() + timedelta(days=60)
    assert not [r for r in services.storage.claim_due(later, 10) if r.record_id == old.record_id]


async def test_a_cancel_altegio_cannot_answer_leaves_it_booked(
    services: Services, desk: Desk, sandbox: Sandbox, clock: FakeClock
) -> None:
    old = await booked(services, desk)
    fresh = await refresh(services, old)
    company = await services.altegio.company()
    sandbox.fault("DELETE", "user", status=503, times=None)
    sandbox.fault("DELETE", "record", status=503, times=None)
    outcome = await cancel.cancel(services, desk, fresh, company)
    assert isinstance(outcome, cancel.Unreachable)
    stored = services.storage.booking(old.record_id)
    assert stored is not None and stored.status == "active"


# --- reminding --------------------------------------------------------------------------------


async def test_reminders_are_handed_over_once_and_a_salon_cancel_is_told(
    services: Services, desk: Desk, sandbox: Sandbox, clock: FakeClock
) -> None:
    first = await booked(services, desk)
    second = await booked(services, desk, skip_days=3)
    told: list[remind.Notice] = []

    async def deliver(notice: remind.Notice) -> remind.Delivery:
        told.append(notice)
        return remind.Delivery.DELIVERED

    sandbox.salon_cancel(second.record_id)
    clock.current = second.start - timedelta(hours=1)
    await remind.send_due(services, desk, deliver)
    tells = {(n.fresh.booking.record_id, n.tell) for n in told}
    assert (second.record_id, remind.Tell.SALON_CANCELLED) in tells
    assert all(n.language == "de" for n in told)
    assert first.start < second.start
    count = len(told)
    await remind.send_due(services, desk, deliver)
    assert len(told) == count  # each goes out once


async def test_a_client_who_blocked_the_bot_is_not_reminded_again(
    services: Services, desk: Desk, clock: FakeClock
) -> None:
    old = await booked(services, desk, skip_days=3)
    attempts: list[remind.Notice] = []

    async def blocked(notice: remind.Notice) -> remind.Delivery:
        attempts.append(notice)
        return remind.Delivery.BLOCKED

    clock.current = old.start - timedelta(hours=23)
    assert await remind.send_due(services, desk, blocked) == 0
    clock.current = old.start - timedelta(hours=1)
    await remind.send_due(services, desk, blocked)
    assert len(attempts) == 2  # each reminder tried once, none sent, none retried
    assert await remind.send_due(services, desk, blocked) == 0
    assert len(attempts) == 2


async def test_the_chosen_language_wins_over_the_booking_language(
    services: Services, desk: Desk, clock: FakeClock
) -> None:
    old = await booked(services, desk, skip_days=3)
    services.storage.set_language(WHO.chat_id, "lt")
    told: list[remind.Notice] = []

    async def deliver(notice: remind.Notice) -> remind.Delivery:
        told.append(notice)
        return remind.Delivery.DELIVERED

    clock.current = old.start - timedelta(hours=1)
    await remind.send_due(services, desk, deliver)
    assert told and all(n.language == "lt" for n in told)
    assert told[-1].fresh.change in (Change.SAME, Change.UNCHECKED)


# --- what the bot keeps of a client -----------------------------------------------------------


def test_a_language_chosen_before_it_had_one_home_moves_there(tmp_path: Path) -> None:
    """An earlier database kept the choice in the conversation state: it moves to the chat."""
    path = tmp_path / "old.sqlite3"
    storage = Storage.open(path)
    db = storage.db
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm006_one_language'")
    db.execute("ALTER TABLE bookings DROP COLUMN language")
    storage.save_data("user_data", "user_id", 7, {"language": "lt", "draft": {"flow": "abc123"}})
    storage.save_data("user_data", "user_id", 8, {"done": ["abc124"]})
    storage.close()
    again = Storage.open(path)
    assert again.language(7) == "lt"
    assert again.language(8) is None
    assert again.all_data("user_data", "user_id") == {
        7: {"draft": {"flow": "abc123"}},
        8: {"done": ["abc124"]},
    }
    again.close()


def test_user_data_reads_leniently_and_writes_plain_json() -> None:
    from bot.user_state import UserData

    assert UserData.from_json(None) == UserData()
    assert UserData.from_json({"draft": "x", "done": [1, "ab12"], "booked_at": 5}) == UserData(
        done=["ab12"]
    )
    data = UserData()
    data.put_draft(Draft(flow="abc123"))
    assert data.get_draft() == Draft(flow="abc123")
    data.put_draft(None)
    assert data.as_json() == {"done": ["abc123"]}
    for n in range(10):
        data.put_draft(Draft(flow=f"abc{n:03d}"))
        data.put_draft(None)
    assert len(data.done) == 5 and data.done[-1] == "abc009"


# --- what the salon sees ----------------------------------------------------------------------


async def test_a_booking_found_after_its_answer_was_lost_is_told_to_the_salon(
    services: Services, desk: Desk, sandbox: Sandbox, clock: FakeClock
) -> None:
    token = sandbox.add_user_token(PHONE)
    services.storage.set_user_token(WHO.user_id, token)
    service_id, staff_id, slots = await free_times(services)
    draft = draft_for(service_id, staff_id, slots[0])
    sandbox.fault("POST", "book_record", status=504, body="", carry_out=True)
    assert isinstance(await book.book(services, desk, draft, WHO, None), book.Checking)
    assert desk.noticed == []
    news: list[unanswered.News] = []

    async def say(item: unanswered.News) -> None:
        news.append(item)

    for _ in range(3):
        clock.advance(seconds=15)
        await unanswered.resolve(services, desk, say)
    assert [n.became for n in news] == [unanswered.Became.BOOKED]
    assert len(desk.noticed) == 1 and desk.noticed[0].startswith("🆕 Booked through the bot")
    assert PHONE not in desk.noticed[0]


async def test_a_move_made_by_booking_anew_keeps_when_the_appointment_was_first_booked(
    services: Services, desk: Desk, clock: FakeClock
) -> None:
    old = await booked(services, desk)
    clock.advance(hours=1)
    _service_id, _staff_id, slots = await free_times(services, skip_days=3)
    # No user token and no SMS confirmation: Altegio wants a token for its own reschedule call,
    # so the move books the new time and cancels the old one.
    outcome = await move.move(services, desk, old, slots[-1].raw, flow="mv0004", who=WHO, code=None)
    assert isinstance(outcome, move.Moved), outcome
    active = [b for b in services.storage.bookings_for_chat(WHO.chat_id) if b.status == "active"]
    assert len(active) == 1 and active[0].record_id != old.record_id  # booked anew
    assert active[0].created_at == old.created_at
    assert sorted(services.storage.bookings_created()) == [old.created_at.isoformat()] * len(
        services.storage.bookings_created()
    )
    assert any(n.startswith("🆕") for n in desk.noticed)
    assert len(desk.noticed) == 2  # the booking and its move


async def test_a_visit_found_after_its_answer_was_lost_is_kept_whole(
    services: Services, desk: Desk, sandbox: Sandbox, clock: FakeClock
) -> None:
    token = sandbox.add_user_token(PHONE)
    services.storage.set_user_token(WHO.user_id, token)
    altegio = services.altegio
    visit = [10001, 10003]  # Women's haircut and Blow-dry & styling, with Anna
    today = services.clock().date()
    found = await altegio.dates(visit, 2001, today, today + timedelta(days=30))
    day = sorted(found.booking_dates)[2]
    slot = (await altegio.times(2001, day, visit))[0]
    draft = draft_for(10001, 2001, slot)
    draft.more_services = [10003]
    sandbox.fault("POST", "book_record", status=504, body="", carry_out=True)
    assert isinstance(await book.book(services, desk, draft, WHO, None), book.Checking)
    news: list[unanswered.News] = []

    async def say(item: unanswered.News) -> None:
        news.append(item)

    for _ in range(3):
        clock.advance(seconds=15)
        await unanswered.resolve(services, desk, say)
    assert [n.became for n in news] == [unanswered.Became.BOOKED]
    [kept] = services.storage.bookings_for_chat(WHO.chat_id)
    assert kept.service_ids == (10001, 10003)
    assert kept.length == 105 * 60

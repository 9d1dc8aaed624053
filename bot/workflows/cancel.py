"""The client's own cancel of an appointment, within the salon's rules.

The rules the record carries are checked first; Altegio has the last word. A cancel whose answer
is lost, or that Altegio answers with not-found, is read back from the record: only the record
tells whether the appointment is gone. A visit booked as consecutive appointments is cancelled
part by part (`cancel_visit`), and what stands of it is said, never guessed. Plain code: no
Telegram here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot import funnel, salon_view
from bot.altegio import errors
from bot.altegio.models import Company
from bot.records import Change, Fresh, Refusal, cancel_refusal
from bot.services import Alerts, Services, keep
from bot.storage import Storage, StoredBooking
from bot.workflows.sync import refresh, replan_visit, token_refused

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Cancelled:
    pass


@dataclass(frozen=True, slots=True)
class Refused:
    refusal: Refusal


@dataclass(frozen=True, slots=True)
class VerifyNeeded:
    """What the bot holds no longer lets it change the appointment: the client is to confirm
    their phone (an SMS code), then try again. Nothing changed."""


@dataclass(frozen=True, slots=True)
class Unreachable:
    """Altegio could not be asked, or did not say: the appointment stands as far as is known."""

    reason: errors.AltegioError


def cancelled(storage: Storage, booking: StoredBooking) -> None:
    """The client's own cancel, as the stored copy keeps it: no more reminders."""
    storage.update_booking(booking.record_id, status="cancelled")
    storage.drop_reminders(booking.record_id)


@dataclass(frozen=True, slots=True)
class Partly:
    """A visit of consecutive appointments cancelled in part: what was cancelled, what stands,
    and why the first that stands does (a Cancel again cancels only what stands)."""

    cancelled: tuple[Fresh, ...]
    standing: tuple[Fresh, ...]
    why: Refused | VerifyNeeded | Unreachable


NotCancelled = Refused | VerifyNeeded | Unreachable


async def _located(
    services: Services, booking: StoredBooking, company: Company
) -> tuple[Services, Company]:
    """The services and the location of the appointment's own location (the bot's, unless it
    was kept at another location of the partner)."""
    if not booking.company_id or booking.company_id == company.id:
        return services, company
    services = services.at(booking.company_id)
    return services, await services.altegio.company()


async def cancel(
    services: Services, alerts: Alerts, fresh: Fresh, company: Company
) -> Cancelled | NotCancelled:
    """Cancel the appointment `fresh` was just read as."""
    services, company = await _located(services, fresh.booking, company)
    outcome = await _cancel_one(services, alerts, fresh, company)
    if isinstance(outcome, Cancelled):
        funnel.cancelled(services, fresh.booking.record_id)
        await alerts.salon_notice(salon_view.cancelled_notice(fresh.booking, company.tz), company)
    return outcome


async def cancel_visit(
    services: Services, alerts: Alerts, parts: Sequence[Fresh], company: Company
) -> Cancelled | NotCancelled | Partly:
    """Cancel every standing part of a visit (`parts`, just read, soonest first), each by its
    own hash or the client's user token. The salon's rules are checked for every part first:
    one that may not be cancelled online leaves the whole visit as it is. A part Altegio then
    refuses stands, and the others are cancelled all the same; once Altegio stops answering,
    nothing more is tried."""
    if parts:
        services, company = await _located(services, parts[0].booking, company)
    if len(parts) == 1:
        return await cancel(services, alerts, parts[0], company)
    now = services.clock()
    for fresh in parts:
        refusal = cancel_refusal(fresh.rules(company), fresh.booking.start, now)
        if refusal is not None:
            return Refused(refusal)
    done: list[Fresh] = []
    standing: list[Fresh] = []
    why: NotCancelled | None = None
    for fresh in parts:
        if isinstance(why, Unreachable):
            standing.append(fresh)
            continue
        outcome = await _cancel_one(services, alerts, fresh, company)
        if isinstance(outcome, Cancelled):
            done.append(fresh)
            continue
        standing.append(fresh)
        if why is None or isinstance(outcome, Unreachable):
            why = outcome
    if done:
        funnel.cancelled(services, done[0].booking.record_id)
        gone = [f.booking for f in done]
        await alerts.salon_notice(salon_view.visit_cancelled_notice(gone, company.tz), company)
    if why is None:
        return Cancelled()
    if not done:
        return why
    await replan_visit(services, done[0].booking)
    return Partly(tuple(done), tuple(standing), why)


async def _cancel_one(
    services: Services, alerts: Alerts, fresh: Fresh, company: Company
) -> Cancelled | NotCancelled:
    altegio = services.altegio
    booking = fresh.booking
    refusal = cancel_refusal(fresh.rules(company), booking.start, services.clock())
    if refusal is not None:
        return Refused(refusal)
    token = services.storage.user_token(booking.user_id)
    if token is None and not booking.record_hash:
        return VerifyNeeded()
    try:
        try:
            await altegio.cancel_record(booking.record_id, booking.record_hash, token)
        except errors.AuthError:
            if token is None or not booking.record_hash:
                raise
            # The token is refused; the hash may still do.
            token_refused(services, booking.user_id, token)
            await altegio.cancel_record(booking.record_id, booking.record_hash, None)
    except (errors.NotFound, errors.OutcomeUnknown) as exc:
        # Already gone, or no answer: only the record itself tells whether it is cancelled
        # (a hash that no longer opens it says nothing about the appointment).
        after = await refresh(services, booking)
        if after.change is not Change.DELETED:
            if isinstance(exc, errors.OutcomeUnknown) or after.outage:
                return Unreachable(errors.Unavailable("cancel"))
            if after.verify:
                return VerifyNeeded()
            return Refused(Refusal.BY_ALTEGIO)
    except errors.AuthError:
        if token is not None:
            token_refused(services, booking.user_id, token)
        return VerifyNeeded()
    except errors.Rejected:
        # The salon's rule, enforced by Altegio, which has the last word (its rules may have
        # changed since they were read): its refusal is reported as its own.
        altegio.forget_company()
        return Refused(Refusal.BY_ALTEGIO)
    except errors.AltegioError as exc:
        return Unreachable(exc)
    what = f"the cancel of record {booking.record_id}"
    await keep(services, alerts, what, lambda: cancelled(services.storage, booking))
    log.info("client cancelled record %s", booking.record_id)
    return Cancelled()

"""The client's own cancel of an appointment, within the salon's rules.

The rules the record carries are checked first; Altegio has the last word. A cancel whose answer
is lost, or that Altegio answers with not-found, is read back from the record: only the record
tells whether the appointment is gone. Plain code: no Telegram here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot import funnel, salon_view
from bot.altegio import errors
from bot.altegio.models import Company
from bot.records import Change, Fresh, Refusal, cancel_refusal
from bot.services import Alerts, Services, keep
from bot.storage import Storage, StoredBooking
from bot.workflows.sync import refresh, token_refused

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


async def cancel(
    services: Services, alerts: Alerts, fresh: Fresh, company: Company
) -> Cancelled | Refused | VerifyNeeded | Unreachable:
    """Cancel the appointment `fresh` was just read as."""
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
    funnel.cancelled(services, booking.record_id)
    await alerts.salon_notice(salon_view.cancelled_notice(booking, company.tz))
    return Cancelled()

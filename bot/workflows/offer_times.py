"""The free times a client is offered on a day: Altegio's (shared with other clients in a rush,
`bot/altegio/shared_times.py`), less those already passed and those other clients of the bot
are booking (`bot/holds.py`).

With "any available team member" in a rush, who works that day is learnt first
(`bot/altegio/team_days.py`). When one member alone can see to the visit, the times the others
hold with them are as good as booked. When several can and other clients want the same day
(asked for it within the window copies are shared for), each one's times are read instead
of anyone's (each read shared with the clients who chose that member), so each time knows who
it is free with: the bot's own bookings and its clients' holds then tell which times they
fill, instead of Altegio refusing the times a booking with anyone had filled with the one
member who had them free. A day nobody else wants costs one read, as ever."""

from __future__ import annotations

from datetime import date, datetime

from bot import visit_times
from bot.altegio import team_days
from bot.altegio.models import Slot
from bot.draft import Draft, horizon
from bot.holds import Others
from bot.services import Services


async def free(
    services: Services, draft: Draft, day: date, now: datetime
) -> tuple[list[Slot], bool]:
    """The times on `day` the client of `draft` may choose with its team member (0: anyone),
    and whether others were left out because other clients of the bot are booking them."""
    assert draft.staff_id is not None
    altegio = services.altegio
    staff_id, service_ids = draft.staff_id, draft.service_ids
    working, slots = None, None
    if not staff_id and altegio.in_rush():
        company = await altegio.company()
        first, last = horizon(now.astimezone(company.tz).date())
        await team_days.learn(altegio, service_ids, day, first, last)
        shared = altegio.shared_times
        if shared.contended((0, day, tuple(service_ids))):
            working = shared.whose(0, tuple(service_ids), day)
    if working is not None and len(working) > 1:
        slots = await visit_times.each_members(altegio, sorted(working), day, service_ids)
    if slots is None:  # one read, as ever (or all of them gone meanwhile)
        slots = await visit_times.free_times(altegio, staff_id, day, service_ids)
    others = held(services, draft, day, now)
    ahead = [s for s in slots if s.start > now]
    chosen = [s for s in ahead if not others.clash(s)]
    return chosen, len(chosen) < len(ahead)


def held(services: Services, draft: Draft, day: date, now: datetime) -> Others:
    """What the bot's other clients hold that the times of `draft` on `day` concern."""
    assert draft.staff_id is not None
    members = None
    if not draft.staff_id:
        members = services.altegio.shared_times.whose(0, tuple(draft.service_ids), day)
    return services.holds.others(draft.flow, draft.staff_id, members, now)

"""Deep links that open the right step: `t.me/<bot>?start=<payload>`.

Telegram hands the payload to `/start` as its argument; it may be at most 64 characters of
`A-Za-z0-9_-`. Ours name what to open by Altegio's ids:

    cat501            a category's services
    svc10006          a service (then its team)
    stf2003           a team member (then the services they do)
    svc10006-stf2003  a service with a team member (then their days)
    loc1004           a chain's location (its start menu), chosen for the client
    loc1004-svc13001  any of the above at a chain's location: `loc<id>-` before it
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PAYLOAD = 64
_PAYLOAD = re.compile(
    r"(?:loc(\d{1,12})(?:-|$))?(?:cat(\d{1,12})|svc(\d{1,12})(?:-stf(\d{1,12}))?|stf(\d{1,12}))?"
)


@dataclass(frozen=True, slots=True)
class Target:
    """What a link opens: a category, or a service and/or a team member; at a chain's location
    (`location_id`), or that location's start menu alone."""

    category_id: int | None = None
    service_id: int | None = None
    staff_id: int | None = None
    location_id: int | None = None

    @property
    def opens_step(self) -> bool:
        """Whether it names a step of the booking (not a location alone)."""
        return any(x is not None for x in (self.category_id, self.service_id, self.staff_id))

    def payload(self) -> str:
        at = f"loc{self.location_id}" if self.location_id is not None else ""
        if self.category_id is not None:
            step = f"cat{self.category_id}"
        elif self.service_id is not None and self.staff_id is not None:
            step = f"svc{self.service_id}-stf{self.staff_id}"
        elif self.service_id is not None:
            step = f"svc{self.service_id}"
        elif self.staff_id is not None:
            step = f"stf{self.staff_id}"
        elif at:
            return at
        else:
            raise ValueError("a link opens a location, a category, a service or a team member")
        return f"{at}-{step}" if at else step


def read_payload(payload: str) -> Target | None:
    """The target a `/start` payload names, or None for one that is not ours."""
    text = payload.strip()
    match = _PAYLOAD.fullmatch(text)
    if match is None or not text or text.endswith("-"):
        return None
    location, category, service, with_staff, staff = (int(g) if g else None for g in match.groups())
    if category is not None:
        return Target(category_id=category, location_id=location)
    if service is not None:
        return Target(service_id=service, staff_id=with_staff, location_id=location)
    return Target(staff_id=staff, location_id=location)


def link(username: str, target: Target) -> str:
    return f"https://t.me/{username.lstrip('@')}?start={target.payload()}"

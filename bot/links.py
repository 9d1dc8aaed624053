"""Deep links that open the right step: `t.me/<bot>?start=<payload>`.

Telegram hands the payload to `/start` as its argument; it may be at most 64 characters of
`A-Za-z0-9_-`. Ours name what to open by Altegio's ids:

    cat501            a category's services
    svc10006          a service (then its team)
    stf2003           a team member (then the services they do)
    svc10006-stf2003  a service with a team member (then their days)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PAYLOAD = 64
_PAYLOAD = re.compile(r"(?:cat(\d{1,12})|svc(\d{1,12})(?:-stf(\d{1,12}))?|stf(\d{1,12}))")


@dataclass(frozen=True, slots=True)
class Target:
    """What a link opens: a category, or a service and/or a team member."""

    category_id: int | None = None
    service_id: int | None = None
    staff_id: int | None = None

    def payload(self) -> str:
        if self.category_id is not None:
            return f"cat{self.category_id}"
        if self.service_id is not None and self.staff_id is not None:
            return f"svc{self.service_id}-stf{self.staff_id}"
        if self.service_id is not None:
            return f"svc{self.service_id}"
        if self.staff_id is not None:
            return f"stf{self.staff_id}"
        raise ValueError("a link opens a category, a service or a team member")


def read_payload(payload: str) -> Target | None:
    """The target a `/start` payload names, or None for one that is not ours."""
    match = _PAYLOAD.fullmatch(payload.strip())
    if match is None:
        return None
    category, service, with_staff, staff = (int(g) if g else None for g in match.groups())
    if category is not None:
        return Target(category_id=category)
    if service is not None:
        return Target(service_id=service, staff_id=with_staff)
    return Target(staff_id=staff)


def link(username: str, target: Target) -> str:
    return f"https://t.me/{username.lstrip('@')}?start={target.payload()}"

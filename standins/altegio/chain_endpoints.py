"""A chain's locations, as `GET companies?group_id=` lists them (YC-APIB's companies list): each
location in the shape its own `GET company` gives, in the chain's order.

The sandbox's chain is group 100: 1001 and 1002 in Berlin and 1004 in Riga (`seed.CHAIN_TITLES`);
a location changed while running (`Sandbox.configure`, `group_id` too) is listed as it now is.
Picks where the reference is silent: a group that does not exist lists nothing (`[]`, not a 404);
without `group_id` every location is listed, as the platform's catalogue would; `count` and
`page` page the list (50 a page by default, as documented).
"""

from __future__ import annotations

import httpx

from standins.altegio.catalogue_endpoints import get_company
from standins.altegio.salon import SalonState
from standins.altegio.wire import Json, ok, query_int

DEFAULT_COUNT = 50


def companies(state: SalonState, params: httpx.QueryParams) -> Json:
    group_id = query_int(params, "group_id") if "group_id" in params else None
    salons = [
        salon
        for _, salon in sorted(state.salons.items())
        if group_id is None or salon.location.group_id == group_id
    ]
    count = query_int(params, "count")
    count = count if count > 0 else DEFAULT_COUNT
    page = max(query_int(params, "page"), 1)
    shown = salons[(page - 1) * count : page * count]
    return ok([get_company(state, salon, params)["data"] for salon in shown])
